"""Listing one package after a write, and the write journal, against a fresh full listing.

The cache re-lists only the package a write touched (`list_package_revisions` with a
package filter) and asks `changes_since` which packages changed; both must agree with what
a full listing of the same state shows. The repositories are local bare repositories under
an allowed root; outside writers use the real `git` CLI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import cache, git
from pkg.repository import repository as repo_api
from pkg.testing import gitserver, repositories

INIT = porchv1alpha1.Task.model_validate({"type": "init", "init": {"description": "d"}})
Lifecycle = repo_api.Lifecycle


def _kptfile(name: str) -> str:
    return f"apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {name}\n"


def _git(repo: Path, *args: str) -> str:
    return gitserver.git("--git-dir", repo, *args)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The allowed root, holding `repo.git` (Porch's trivial repository: an empty main)."""
    root = tmp_path / "repos"
    server = gitserver.GitServer(root)  # not started: only its repository helpers
    server.create_from_tar("repo.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar")
    return root


async def _open(
    root: Path, git_cache: cache.GitCache, name: str = "repo", directory: str | None = None
) -> git.GitRepository:
    return await git.open_repository(
        repositories.repository_object(name, f"file://{root / 'repo.git'}", directory=directory),
        git.GitRepositoryOptions(
            cache=git_cache,
            allow_local_repositories=True,
            local_repository_roots=[root],
            retry_delay=0.01,
        ),
    )


def _key(repo: git.GitRepository, package: str, workspace: str) -> repo_api.PackageRevisionKey:
    return repo_api.PackageRevisionKey(
        pkg_key=repo_api.PackageKey.from_package_path(repo.key, package),
        revision=0,
        workspace_name=repo_api.WorkspaceName(workspace),
    )


async def _create(
    repo: git.GitRepository, package: str, workspace: str, lifecycle: Lifecycle = Lifecycle.DRAFT
) -> git.GitPackageRevision:
    draft = await repo.create_package_revision_draft(_key(repo, package, workspace))
    await draft.update_resources({"Kptfile": _kptfile(package.rsplit("/", 1)[-1])}, INIT)
    await draft.update_lifecycle(lifecycle)
    return await repo.close_package_revision_draft(draft)


async def _move(
    repo: git.GitRepository, old: git.GitPackageRevision, lifecycle: Lifecycle
) -> git.GitPackageRevision:
    draft = await repo.update_package_revision(old)
    await draft.update_lifecycle(lifecycle)
    return await repo.close_package_revision_draft(draft)


def _state(revision: git.GitPackageRevision) -> tuple[object, ...]:
    """Everything a listed revision shows."""
    return (
        revision.name,
        revision.key,
        revision.lifecycle,
        revision.resource_version,
        revision.remote_ref,
        revision.ref_target,
        revision.package_tree,
        revision.kptfile_blob,
        revision.published_by,
        revision.published_at,
        revision.self_lock,
        revision.tasks,
    )


async def _assert_package_listings_match(repo: git.GitRepository, packages: set[str]) -> None:
    """Each package's own listing (taken first: the full listing of this state is not built
    yet) equals its part of a full listing; `packages` may name packages that are gone."""
    assert repo._listing is None or repo._listing.version != await repo.version()
    alone = {
        path: await repo.list_package_revisions(
            repo_api.ListPackageRevisionFilter(package_path=path)
        )
        for path in sorted(packages)
    }
    full = await repo.list_package_revisions()
    for path, listed in alone.items():
        expected = [r for r in full if r.key.pkg_key.package_path == path]
        assert [_state(r) for r in listed] == [_state(r) for r in expected], path
        assert await repo.list_packages(path) == [
            p for p in await repo.list_packages() if p.key.package_path == path
        ]
    # Every package of the full listing was asked for.
    assert {r.key.pkg_key.package_path for r in full} <= packages


async def test_one_package_lists_as_the_full_listing_shows_it_after_every_write(
    root: Path, git_cache: cache.GitCache
) -> None:
    remote = root / "repo.git"
    repo = await _open(root, git_cache)
    packages = {"app", "db", "team/web", "app/sub", "gone"}
    await repo.list_package_revisions()

    app = await _create(repo, "app", "ws1")
    await _assert_package_listings_match(repo, packages)
    app = await _move(repo, app, Lifecycle.PROPOSED)
    await _assert_package_listings_match(repo, packages)
    app_v1 = await _move(repo, app, Lifecycle.PUBLISHED)  # tag, merge commit, placeholder
    await _assert_package_listings_match(repo, packages)
    web = await _create(repo, "team/web", "ws", Lifecycle.PROPOSED)
    await _move(repo, web, Lifecycle.PUBLISHED)
    await _create(repo, "app", "ws2")  # a second workspace beside the published one
    db = await _create(repo, "db", "ws", Lifecycle.PROPOSED)
    await _move(repo, db, Lifecycle.PUBLISHED)
    await _assert_package_listings_match(repo, packages)

    # Deletion proposals of a tag and of a placeholder.
    await _move(repo, app_v1, Lifecycle.DELETION_PROPOSED)
    placeholder = next(r for r in await repo.list_package_revisions() if r.name == "repo.db.main")
    await _move(repo, placeholder, Lifecycle.DELETION_PROPOSED)
    await _assert_package_listings_match(repo, packages)

    # From outside: a second tag naming revision 1 (`app/1`: the first of the two wins),
    # a package nested in `app` on main (not a placeholder: discovery does not descend
    # into a package) with a tag of its own under `app/`'s prefix, and a package that is
    # then deleted again.
    _git(remote, "tag", "app/1", "app/v1")
    work = root.parent / "work"
    gitserver.git("clone", "--quiet", "--branch", "main", remote, work)
    (work / "app" / "sub").mkdir(parents=True)
    (work / "app" / "sub" / "Kptfile").write_text(_kptfile("sub"))
    (work / "gone").mkdir()
    (work / "gone" / "Kptfile").write_text(_kptfile("gone"))
    gitserver.git("add", ".", cwd=work)
    gitserver.git("commit", "--quiet", "-m", "outside: nested and gone", cwd=work)
    gitserver.git("tag", "app/sub/v1", cwd=work)
    gitserver.git("push", "--quiet", "origin", "main", "app/sub/v1", cwd=work)
    await repo.refresh()
    await _assert_package_listings_match(repo, packages)
    listed = {r.name for r in await repo.list_package_revisions()}
    assert {"repo.app.sub.v1", "repo.gone.main"} <= listed
    assert "repo.app.sub.main" not in listed

    gone = next(r for r in await repo.list_package_revisions() if r.name == "repo.gone.main")
    await repo.delete_package_revision(gone)
    await _assert_package_listings_match(repo, packages)
    assert (
        await repo.list_package_revisions(repo_api.ListPackageRevisionFilter(package_path="gone"))
        == []
    )
    await repo.close()


async def test_one_package_of_a_repository_directory(root: Path, git_cache: cache.GitCache) -> None:
    top = await _open(root, git_cache)
    await _move(top, await _create(top, "team/web", "ws", Lifecycle.PROPOSED), Lifecycle.PUBLISHED)
    await _create(top, "other", "ws")
    team = await _open(root, git_cache, "team", directory="team")
    await _create(team, "api", "ws")
    await _assert_package_listings_match(team, {"web", "api", "other", "team/web"})
    names = [r.name for r in await team.list_package_revisions()]
    assert names == ["team.api.ws", "team.web.main", "team.web.ws"]
    await team.close()
    await top.close()


async def test_changes_since_names_the_packages_written_by_every_user_of_the_clone(
    root: Path, git_cache: cache.GitCache
) -> None:
    repo = await _open(root, git_cache)
    start = await repo.version()
    assert await repo.changes_since(start) == (start, frozenset())

    app = await _create(repo, "app", "ws", Lifecycle.PROPOSED)
    after_app = await repo.version()
    assert await repo.changes_since(start) == (after_app, frozenset({"app"}))
    await _move(repo, app, Lifecycle.PUBLISHED)  # moves the branch too: still only `app`
    await _create(repo, "team/web", "ws")
    now = await repo.version()
    assert await repo.changes_since(start) == (now, frozenset({"app", "team/web"}))
    assert await repo.changes_since(after_app) == (now, frozenset({"app", "team/web"}))

    # Another Repository object on the same repository shares the clone and its journal;
    # its directory decides how package paths read.
    team = await _open(root, git_cache, "team", directory="team")
    await _create(team, "api", "ws")
    now = await repo.version()
    assert await repo.changes_since(start) == (now, frozenset({"app", "team/web", "team/api"}))
    assert await team.changes_since(start) == (now, frozenset({"web", "api"}))

    # A push from outside, once re-read, is no write of ours: nothing can be told.
    _git(root / "repo.git", "branch", "drafts/outside/ws", "main")
    await repo.refresh()
    now = await repo.version()
    assert await repo.changes_since(start) == (now, None)
    assert await repo.changes_since("not-a-version") == (now, None)
    # ...but writes after it are known again from the re-read version on.
    reread = now
    await _create(repo, "db", "ws")
    assert await repo.changes_since(reread) == (await repo.version(), frozenset({"db"}))
    await team.close()
    await repo.close()
