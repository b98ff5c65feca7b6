"""Local bare repositories used in place: writes land directly, atomically, safely beside git.

The repositories are real bare repositories under an allowed root; outside writers are the
real `git` CLI pushing into them, as a person sharing the repository with the server would.
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


def _git(repo: Path, *args: str) -> str:
    return gitserver.git("--git-dir", repo, *args)


def _refs(repo: Path) -> dict[str, str]:
    out = _git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The allowed root, holding `repo.git` (Porch's trivial repository: an empty main)."""
    root = tmp_path / "repos"
    server = gitserver.GitServer(root)  # not started: only its repository helpers
    server.create_from_tar("repo.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar")
    return root


async def _open(root: Path, git_cache: cache.GitCache, **options: object) -> git.GitRepository:
    settings: dict[str, object] = {
        "cache": git_cache,
        "allow_local_repositories": True,
        "local_repository_roots": [root],
        "retry_delay": 0.01,
    }
    settings.update(options)
    return await git.open_repository(
        repositories.repository_object("repo", f"file://{root / 'repo.git'}"),
        git.GitRepositoryOptions(**settings),  # type: ignore[arg-type]
    )


def _key(repo: git.GitRepository, package: str, workspace: str) -> repo_api.PackageRevisionKey:
    return repo_api.PackageRevisionKey(
        pkg_key=repo_api.PackageKey.from_package_path(repo.key, package),
        revision=0,
        workspace_name=repo_api.WorkspaceName(workspace),
    )


async def _proposed(repo: git.GitRepository, package: str) -> git.GitPackageRevision:
    draft = await repo.create_package_revision_draft(_key(repo, package, "ws"))
    await draft.update_resources({"Kptfile": KPTFILE}, INIT)
    await draft.update_lifecycle(repo_api.Lifecycle.PROPOSED)
    return await repo.close_package_revision_draft(draft)


def _outside_commit(root: Path, branch: str, file: str) -> tuple[Path, str]:
    """A person's commit on `branch` of repo.git, made in a clone of their own (not pushed
    yet): the clone and the commit."""
    work = root.parent / f"work-{Path(file).name}"
    gitserver.git("clone", "--quiet", "--branch", branch, root / "repo.git", work)
    (work / file).write_text(f"{file}\n")
    gitserver.git("add", file, cwd=work)
    gitserver.git("commit", "--quiet", "-m", f"outside: {file}", cwd=work)
    return work, gitserver.git("rev-parse", "HEAD", cwd=work).strip()


async def test_writes_land_in_the_repository_itself_without_hooks(
    root: Path, git_cache: cache.GitCache
) -> None:
    remote = root / "repo.git"
    # A declining hook: it guards receive-pack, which local writes do not go through.
    (remote / "hooks" / "pre-receive").write_text("#!/bin/sh\nexit 1\n")
    (remote / "hooks" / "pre-receive").chmod(0o755)
    repo = await _open(root, git_cache)
    proposed = await _proposed(repo, "pkg")
    assert _refs(remote)["refs/heads/proposed/pkg/ws"] == proposed.resource_version
    approving = await repo.update_package_revision(proposed)
    await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    published = await repo.close_package_revision_draft(approving)
    refs = _refs(remote)
    assert refs["refs/tags/pkg/v1"] == refs["refs/heads/main"] == published.resource_version
    assert "refs/heads/proposed/pkg/ws" not in refs
    assert await repo.branch_head() == refs["refs/heads/main"]
    assert _git(remote, "fsck", "--no-dangling") == ""
    # No cache clone was made: the repository is used in place.
    assert not (git_cache.root / "git").exists()
    await repo.close()
    assert remote.is_dir()  # closing the last user never deletes the operator's repository


async def test_refresh_rereads_refs_an_outside_push_changed(
    root: Path, git_cache: cache.GitCache
) -> None:
    repo = await _open(root, git_cache)
    await _proposed(repo, "pkg")
    before = await repo.version()
    work, outside = _outside_commit(root, "proposed/pkg/ws", "pkg/extra.yaml")
    gitserver.git("push", "--quiet", "origin", cwd=work)
    # Listing never re-reads on its own; refresh does, with nothing fetched.
    assert await repo.version() == before
    await repo.refresh()
    assert await repo.version() != before
    (listed,) = await repo.list_package_revisions()
    assert listed.resource_version == outside
    assert sorted(await listed.resources()) == ["Kptfile", "extra.yaml"]


async def test_a_conflicting_ref_fails_the_whole_close_and_changes_nothing(
    root: Path, git_cache: cache.GitCache
) -> None:
    remote = root / "repo.git"
    repo = await _open(root, git_cache)
    proposed = await _proposed(repo, "pkg")
    # Someone else adds a commit to the proposal after we read it.
    work, _ = _outside_commit(root, "proposed/pkg/ws", "late.yaml")
    gitserver.git("push", "--quiet", "origin", cwd=work)
    before = _refs(remote)
    approving = await repo.update_package_revision(proposed)
    await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    # Approval = main moved + tag created + proposal deleted: the stale proposal fails all.
    with pytest.raises(errors.ConflictError, match="proposed/pkg/ws changed"):
        await repo.close_package_revision_draft(approving)
    assert _refs(remote) == before
    assert "refs/tags/pkg/v1" not in before

    # The same for a tag someone created meanwhile (explicit revision number).
    await repo.refresh()
    (current,) = await repo.list_package_revisions()
    _git(remote, "tag", "pkg/v1", before["refs/heads/main"])
    before = _refs(remote)
    approving = await repo.update_package_revision(current)
    await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    with pytest.raises(errors.AlreadyExistsError, match="pkg/v1 already exists"):
        await repo.close_package_revision_draft(approving, revision=1)
    assert _refs(remote) == before


async def test_an_outside_push_racing_an_approval_loses_nothing(
    root: Path, git_cache: cache.GitCache
) -> None:
    remote = root / "repo.git"
    repo = await _open(root, git_cache, retry_attempts=10, retry_delay=0.05)
    proposed = await _proposed(repo, "pkg")
    work, outside = _outside_commit(root, "main", "outside.yaml")
    # git runs `reference-transaction prepared` while it holds the locks of the refs it is
    # updating: this one keeps holding them until told to go (10 s at most).
    held, release = root.parent / "held", root.parent / "release"
    hook = remote / "hooks" / "reference-transaction"
    hook.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = prepared ] || exit 0\ntouch {held}\n'
        f"for i in $(seq 200); do [ -e {release} ] && exit 0; sleep 0.05; done\n"
    )
    hook.chmod(0o755)
    push = await asyncio.create_subprocess_exec(
        "git", "push", "--quiet", "origin", cwd=work, stderr=asyncio.subprocess.PIPE
    )
    try:
        for _ in range(200):
            if held.exists():
                break
            await asyncio.sleep(0.05)
        assert held.exists(), "the outside push never took its locks"
        approving = await repo.update_package_revision(proposed)
        await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
        # Our first attempt meets git's lock on main; the outside push then lands, and the
        # approval is rebuilt on top of it.
        approval = asyncio.ensure_future(repo.close_package_revision_draft(approving))
        await asyncio.sleep(0.2)
        assert not approval.done()
        release.touch()
        published = await approval
    finally:
        release.touch()
        _, stderr = await asyncio.wait_for(push.communicate(), timeout=30)
    assert push.returncode == 0, stderr
    refs = _refs(remote)
    assert refs["refs/heads/main"] == refs["refs/tags/pkg/v1"] == published.resource_version
    # Both writes are on main: the outside commit is the approval's first parent.
    assert _git(remote, "rev-parse", "main^1").strip() == outside
    assert sorted(_git(remote, "ls-tree", "--name-only", "main").split()) == [
        "outside.yaml",
        "pkg",
    ]


async def test_a_lock_held_by_another_writer_fails_the_write_cleanly(
    root: Path, git_cache: cache.GitCache
) -> None:
    remote = root / "repo.git"
    repo = await _open(root, git_cache, retry_attempts=2)
    proposed = await _proposed(repo, "pkg")
    before = _refs(remote)
    # A crashed git left the tag's lock behind: the approval cannot take it.
    lock = remote / "refs" / "tags" / "pkg" / "v1.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("")
    approving = await repo.update_package_revision(proposed)
    await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    with pytest.raises(errors.BackendUnavailableError, match="failed to lock"):
        await repo.close_package_revision_draft(approving, revision=1)
    assert _refs(remote) == before
    assert lock.exists()  # someone else's lock is left alone
    lock.unlink()
    assert (await repo.close_package_revision_draft(approving, revision=1)).key.revision == 1


async def test_self_lock_names_the_repository_as_its_spec_does(
    root: Path, git_cache: cache.GitCache
) -> None:
    # Clones write the self lock into their Kptfile upstream: it must be the registered URL,
    # not the resolved path the server happens to open.
    repo = await _open(root, git_cache)
    try:
        proposed = await _proposed(repo, "pkg")
        assert proposed.self_lock.git is not None
        assert proposed.self_lock.git.repo == f"file://{root / 'repo.git'}"
    finally:
        await repo.close()
