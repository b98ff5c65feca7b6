"""Concurrent writers and remote rejections: exactly one winner, nothing lost, cache intact.

Two porch-py instances are two `GitCache`s on one remote (as two servers would be); the
remote is a real `git http-backend` whose hooks play the part of a server that declines.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import cache, git
from pkg.repository import errors
from pkg.repository import repository as repo_api
from pkg.testing import gitserver, repositories

KPTFILE = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n"
INIT = porchv1alpha1.Task.model_validate({"type": "init", "init": {"description": "d"}})


async def _open(
    server: gitserver.GitServer, git_cache: cache.GitCache, **options: object
) -> git.GitRepository:
    settings: dict[str, object] = {"cache": git_cache, "retry_delay": 0.01}
    settings.update(options)
    return await git.open_repository(
        repositories.repository_object("repo", server.repo_url("repo.git")),
        git.GitRepositoryOptions(**settings),  # type: ignore[arg-type]
    )


def _key(repo: git.GitRepository, package: str, workspace: str) -> repo_api.PackageRevisionKey:
    return repo_api.PackageRevisionKey(
        pkg_key=repo_api.PackageKey.from_package_path(repo.key, package),
        revision=0,
        workspace_name=repo_api.WorkspaceName(workspace),
    )


async def _proposed(
    repo: git.GitRepository, package: str, workspace: str
) -> git.GitPackageRevision:
    draft = await repo.create_package_revision_draft(_key(repo, package, workspace))
    await draft.update_resources({"Kptfile": KPTFILE, "f.yaml": f"{package}: 1\n"}, INIT)
    await draft.update_lifecycle(repo_api.Lifecycle.PROPOSED)
    return await repo.close_package_revision_draft(draft)


def _cache_refs(git_cache: cache.GitCache) -> dict[str, str]:
    """Refs of the cache clone, in the remote's names."""
    clone = next((git_cache.root / "git").iterdir())
    out = gitserver.git("--git-dir", clone, "for-each-ref", "--format=%(refname) %(objectname)")
    result = {}
    for line in out.splitlines():
        name, target = line.split(" ")
        result[name.replace("refs/remotes/origin/", "refs/heads/")] = target
    return result


@pytest.fixture
def server(git_server: gitserver.GitServer) -> gitserver.GitServer:
    git_server.create_from_tar("repo.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar")
    return git_server


async def test_two_servers_racing_on_one_draft(server: gitserver.GitServer, tmp_path: Path) -> None:
    caches = [cache.GitCache(tmp_path / "a"), cache.GitCache(tmp_path / "b")]
    first, second = [await _open(server, c) for c in caches]
    draft = await first.create_package_revision_draft(_key(first, "pkg", "ws"))
    await draft.update_resources({"Kptfile": KPTFILE}, INIT)
    await first.close_package_revision_draft(draft)
    await second.refresh()
    snapshots = [
        (await repo.list_package_revisions(repo_api.ListPackageRevisionFilter("pkg")))[0]
        for repo in (first, second)
    ]
    assert snapshots[0].resource_version == snapshots[1].resource_version

    async def write(repo: git.GitRepository, snapshot: git.GitPackageRevision, name: str) -> str:
        editing = await repo.update_package_revision(snapshot)
        await editing.update_resources({"Kptfile": KPTFILE, name: "x\n"}, None)
        return (await repo.close_package_revision_draft(editing)).resource_version

    results = await asyncio.gather(
        write(first, snapshots[0], "a.yaml"),
        write(second, snapshots[1], "b.yaml"),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1, results
    assert len(losers) == 1 and isinstance(losers[0], errors.ConflictError), results
    # The winner's commit is the branch head: nothing was overwritten.
    assert server.refs("repo.git")["refs/heads/drafts/pkg/ws"] == winners[0]
    for repo, git_cache in zip((first, second), caches, strict=True):
        await repo.refresh()
        assert _cache_refs(git_cache) == server.refs("repo.git")
        await repo.close()
        await git_cache.close()


async def test_racing_approvals_of_different_packages_both_land(
    server: gitserver.GitServer, tmp_path: Path
) -> None:
    caches = [cache.GitCache(tmp_path / "a"), cache.GitCache(tmp_path / "b")]
    first, second = [await _open(server, c) for c in caches]
    proposals = [await _proposed(first, "one", "ws"), await _proposed(second, "two", "ws")]

    async def approve(repo: git.GitRepository, proposed: git.GitPackageRevision) -> int:
        approving = await repo.update_package_revision(proposed)
        await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
        return (await repo.close_package_revision_draft(approving)).key.revision

    revisions = await asyncio.gather(approve(first, proposals[0]), approve(second, proposals[1]))
    assert list(revisions) == [1, 1]
    refs = server.refs("repo.git")
    # Both approvals are on main: the loser of the race rebuilt on the winner's commit.
    history = gitserver.git("--git-dir", server.path("repo.git"), "log", "--format=%s", "main")
    assert "Approving package revision one/1" in history
    assert "Approving package revision two/1" in history
    for tag in ("refs/tags/one/v1", "refs/tags/two/v1"):
        merged = gitserver.git(
            "--git-dir",
            server.path("repo.git"),
            "merge-base",
            "--is-ancestor",
            refs[tag],
            "main",
            check=False,
        )
        assert merged == ""
    assert sorted(
        gitserver.git(
            "--git-dir", server.path("repo.git"), "ls-tree", "--name-only", "main"
        ).split()
    ) == ["one", "two"]
    for repo, git_cache in zip((first, second), caches, strict=True):
        await repo.close()
        await git_cache.close()


async def test_approving_the_same_revision_number_twice(
    server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    repo = await _open(server, git_cache)
    a = await _proposed(repo, "pkg", "a")
    b = await _proposed(repo, "pkg", "b")
    approving = await repo.update_package_revision(a)
    await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    assert (await repo.close_package_revision_draft(approving, revision=1)).key.revision == 1
    before = server.refs("repo.git")
    approving = await repo.update_package_revision(b)
    await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    with pytest.raises(errors.AlreadyExistsError, match="pkg/v1 already exists"):
        await repo.close_package_revision_draft(approving, revision=1)
    assert server.refs("repo.git") == before
    # With automatic numbering the next free number is taken.
    assert (await repo.close_package_revision_draft(approving)).key.revision == 2


async def test_push_declined_by_pre_receive_hook_leaves_cache_consistent(
    server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    repo = await _open(server, git_cache, retry_attempts=1)
    proposed = await _proposed(repo, "pkg", "ws")
    before = server.refs("repo.git")
    server.install_hook("repo.git", "pre-receive", "#!/bin/sh\necho 'main is frozen' >&2\nexit 1\n")

    approving = await repo.update_package_revision(proposed)
    await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    with pytest.raises(errors.ForbiddenError, match="pre-receive hook declined"):
        await repo.close_package_revision_draft(approving)
    assert server.refs("repo.git") == before
    assert _cache_refs(git_cache) == before
    listed = await repo.list_package_revisions()
    assert [(r.name, r.lifecycle) for r in listed] == [("repo.pkg.ws", repo_api.Lifecycle.PROPOSED)]

    # Once the remote accepts again, the same draft goes through.
    (server.path("repo.git") / "hooks" / "pre-receive").unlink()
    published = await repo.close_package_revision_draft(approving)
    assert published.key.revision == 1
    assert _cache_refs(git_cache) == server.refs("repo.git")


async def test_transient_hook_failure_is_retried(
    server: gitserver.GitServer, git_cache: cache.GitCache, tmp_path: Path
) -> None:
    marker = tmp_path / "declined-once"
    server.install_hook(
        "repo.git",
        "pre-receive",
        f"#!/bin/sh\nif [ ! -e {marker} ]; then touch {marker}; exit 1; fi\nexit 0\n",
    )
    repo = await _open(server, git_cache, retry_attempts=3)
    proposed = await _proposed(repo, "pkg", "ws")  # first push declined, second accepted
    assert marker.exists()
    assert server.refs("repo.git")["refs/heads/proposed/pkg/ws"] == proposed.resource_version


async def test_a_push_the_remote_declines_in_part_changes_nothing(
    server: gitserver.GitServer, git_cache: cache.GitCache, tmp_path: Path
) -> None:
    repo = await _open(server, git_cache, retry_attempts=1)
    proposed = await _proposed(repo, "pkg", "ws")
    before = server.refs("repo.git")
    # The `update` hook runs per ref: it declines the tag, not main or the branch deletion.
    # The push is atomic, so the remote applies none of the three.
    server.install_hook(
        "repo.git",
        "update",
        '#!/bin/sh\ncase "$1" in refs/tags/*) echo "no tags here" >&2; exit 1;; esac\nexit 0\n',
    )
    updated = tmp_path / "updated-refs"
    server.install_hook("repo.git", "post-update", f'#!/bin/sh\necho "$@" >> {updated}\n')
    approving = await repo.update_package_revision(proposed)
    await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    with pytest.raises(errors.ForbiddenError, match=r"hook declined.*no tags here"):
        await repo.close_package_revision_draft(approving)
    assert not updated.exists()  # no ref was ever updated on the remote
    assert server.refs("repo.git") == before
    assert _cache_refs(git_cache) == before
