"""Cache directory names, sharing of clones, and background maintenance."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pygit2

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import cache, git
from pkg.repository import repository as repo_api
from pkg.testing import gitserver, repositories

KPTFILE = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n"
INIT = porchv1alpha1.Task.model_validate({"type": "init", "init": {"description": "d"}})


def test_cache_dir_name_is_porchs_and_drops_credentials() -> None:
    assert cache.cache_dir_name("https://github.com/nephio/porch.git") == (
        "https---github.com-nephio-porch.git"
    )
    assert cache.cache_dir_name("https://user:s3cret@example.com:8443/r.git") == (
        "https---example.com-8443-r.git"
    )


async def test_clones_are_shared_and_released(tmp_path: Path) -> None:
    git_cache = cache.GitCache(tmp_path)
    first = git_cache.acquire("https://example.com/r.git")
    second = git_cache.acquire("https://example.com/r.git")
    other = git_cache.acquire("https://example.com/other.git")
    assert first is second and first is not other
    await first.run(first.open)
    assert first.path.is_dir()
    await git_cache.release(first)
    assert first.path.is_dir()
    await git_cache.release(second)
    assert not first.path.exists()
    # A later user gets a fresh clone object.
    assert git_cache.acquire("https://example.com/r.git") is not first
    await git_cache.close()


async def test_a_damaged_cache_is_recloned(tmp_path: Path) -> None:
    git_cache = cache.GitCache(tmp_path)
    clone = git_cache.acquire("https://example.com/r.git")
    clone.path.mkdir(parents=True)
    (clone.path / "HEAD").write_text("garbage")
    repo = await clone.run(clone.open)
    assert repo.is_bare
    assert repo.remotes["origin"].url == "https://example.com/r.git"
    await git_cache.release(clone)
    await git_cache.close()


async def test_gc_runs_in_the_background_after_writes_at_most_once_per_interval(
    tmp_path: Path,
) -> None:
    root = tmp_path / "repos"
    remote = gitserver.GitServer(root).create_from_tar(
        "repo.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar"
    )
    # `gc --auto` packs once more than gc.auto/256 loose objects sit in objects/17: leave two
    # there (unreachable filler, found deterministically) so that this repository needs it.
    filler = pygit2.Repository(str(remote))
    in_17 = [
        o for o in (filler.create_blob(f"filler {i}") for i in range(5000)) if str(o)[:2] == "17"
    ]
    assert len(in_17) >= 2
    filler.free()
    gitserver.git("--git-dir", remote, "config", "gc.auto", "1")
    started, release, runs = tmp_path / "started", tmp_path / "release", tmp_path / "runs"
    # git runs pre-auto-gc when `gc --auto` decided to work; this one waits to be released.
    hook = remote / "hooks" / "pre-auto-gc"
    hook.write_text(
        f"#!/bin/sh\necho run >> {runs}\ntouch {started}\n"
        f"for i in $(seq 200); do [ -e {release} ] && exit 0; sleep 0.05; done\n"
    )
    hook.chmod(0o755)
    git_cache = cache.GitCache(tmp_path / "cache", gc_interval=3600)
    repo = await git.open_repository(
        repositories.repository_object("repo", f"file://{remote}"),
        git.GitRepositoryOptions(
            cache=git_cache, allow_local_repositories=True, local_repository_roots=[root]
        ),
    )

    async def write(workspace: str) -> str:
        draft = await repo.create_package_revision_draft(
            repo_api.PackageRevisionKey(
                pkg_key=repo_api.PackageKey.from_package_path(repo.key, "pkg"),
                revision=0,
                workspace_name=repo_api.WorkspaceName(workspace),
            )
        )
        await draft.update_resources({"Kptfile": KPTFILE}, INIT)
        return (await repo.close_package_revision_draft(draft)).resource_version

    first = await write("one")
    loose = remote / "objects" / first[:2] / first[2:]
    for _ in range(500):
        if started.exists():
            break
        await asyncio.sleep(0.02)
    assert started.exists(), "no gc started after the write"
    # The write has returned while gc is still held in its hook: gc is off the request path.
    assert loose.exists()
    await write("two")  # within the interval: no second gc
    release.touch()
    async with asyncio.timeout(30):
        await git_cache.wait_for_maintenance()
    assert runs.read_text() == "run\n"
    # gc packed the draft commit (and removed its loose copy); the repository is intact.
    assert not loose.exists()
    assert list((remote / "objects" / "pack").glob("*.pack"))
    assert gitserver.git("--git-dir", remote, "cat-file", "-t", first).strip() == "commit"
    assert gitserver.git("--git-dir", remote, "fsck", "--no-dangling") == ""
    await repo.close()
    await git_cache.close()
