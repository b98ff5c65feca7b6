"""Discovery of existing repositories exactly as Porch lists them.

Real repositories Porch's own tests use (`../shared/testdata`), served by a real
`git http-backend`; the expected listings are those of Porch's git backend tests and the
repositories' descriptions (`porch-git-repos/*.md`).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import pytest

from pkg.externalrepo.git import cache, git
from pkg.repository import errors
from pkg.repository import repository as repo_api
from pkg.testing import gitserver, repositories

Published = repo_api.Lifecycle.PUBLISHED
Draft = repo_api.Lifecycle.DRAFT

Row = tuple[str, int, str, repo_api.Lifecycle]


async def _open(
    git_cache: cache.GitCache, url: str, name: str = "repo", **spec: object
) -> git.GitRepository:
    options = git.GitRepositoryOptions(cache=git_cache, retry_delay=0.01)
    return await git.open_repository(
        repositories.repository_object(name, url, **spec),  # type: ignore[arg-type]
        options,
    )


def _rows(revisions: Sequence[repo_api.PackageRevision]) -> set[Row]:
    return {
        (r.key.pkg_key.package_path, r.key.revision, r.key.workspace_name, r.lifecycle)
        for r in revisions
    }


def _serve_tar(server: gitserver.GitServer, name: str, branch: str = "main") -> str:
    archive = repositories.PORCH_GIT_REPOS / f"{name}.tar"
    server.create_from_tar(f"{name}.git", archive, branch=branch)
    return server.repo_url(f"{name}.git")


async def test_test_blueprints_bundle_lists_as_porch(
    git_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    git_server.create_from_bundle("nephio/test-blueprints.git", repositories.TEST_BLUEPRINTS_BUNDLE)
    repo = await _open(
        git_cache, git_server.repo_url("nephio/test-blueprints.git"), name="test-blueprints"
    )
    revisions = await repo.list_package_revisions()

    tags = {
        "basens": [1, 2, 3, 4],
        "bucket": [1],
        "empty": [1],
        "redis-bucket": [1],
        "unready": [1],
        "update": [1, 2],
    }
    expected = {(pkg, n, f"v{n}", Published) for pkg, ns in tags.items() for n in ns}
    expected |= {(pkg, -1, "main", Published) for pkg in tags}
    assert len(revisions) == 16
    assert _rows(revisions) == expected
    assert {r.name for r in revisions} == {
        f"test-blueprints.{pkg}.v{n}" for pkg, ns in tags.items() for n in ns
    } | {f"test-blueprints.{pkg}.main" for pkg in tags}
    latest = {p.key.package_path: p.latest_revision for p in await repo.list_packages()}
    assert latest == {pkg: max(ns) for pkg, ns in tags.items()}

    basens_v2 = next(r for r in revisions if r.name == "test-blueprints.basens.v2")
    assert basens_v2.resource_version == "f9e1d10f9ae59be4547b1dfadcfdd3a15e902e5f"
    assert basens_v2.published_by == "mortent@google.com"
    assert basens_v2.published_at == datetime.datetime(2022, 6, 2, 0, 46, 43, tzinfo=datetime.UTC)
    assert basens_v2.self_lock.git == repo_api.GitLock(
        repo=git_server.repo_url("nephio/test-blueprints.git"),
        directory="basens",
        ref="basens/v2",
        commit="f9e1d10f9ae59be4547b1dfadcfdd3a15e902e5f",
    )
    # No porch annotations in this repository: no task, no placeholder publish info.
    assert basens_v2.tasks == ()
    placeholder = next(r for r in revisions if r.name == "test-blueprints.basens.main")
    assert placeholder.published_by is None
    assert placeholder.key.is_placeholder
    assert sorted(await placeholder.resources()) == [
        "Kptfile",
        "README.md",
        "namespace.yaml",
        "resourcequota.yaml",
    ]
    kptfile = await placeholder.kptfile()
    assert kptfile is not None and "kind: Kptfile" in kptfile


@pytest.mark.parametrize("branch", ["main", "feature", "nested/release"])
async def test_simple_and_drafts_repositories(
    git_server: gitserver.GitServer, git_cache: cache.GitCache, branch: str
) -> None:
    simple = await _open(
        git_cache, _serve_tar(git_server, "simple-repository", branch), branch=branch
    )
    published = {
        ("empty", 1, "v1", Published),
        ("basens", 1, "v1", Published),
        ("basens", 2, "v2", Published),
        ("istions", 1, "v1", Published),
        ("istions", 2, "v2", Published),
        ("empty", -1, branch, Published),
        ("basens", -1, branch, Published),
        ("istions", -1, branch, Published),
    }
    assert _rows(await simple.list_package_revisions()) == published

    drafts = await _open(
        git_cache, _serve_tar(git_server, "drafts-repository", branch), branch=branch
    )
    assert _rows(await drafts.list_package_revisions()) == published | {
        ("bucket", 0, "v1", Draft),
        ("none", 0, "v1", Draft),
        ("pkg-with-history", 0, "v1", Draft),
    }
    history = await drafts.list_package_revisions(
        repo_api.ListPackageRevisionFilter(package_path="pkg-with-history")
    )
    # Old (kpt-era) drafts: the workspace was recorded as "revision"; tasks were a history,
    # of which only the creation task is shown.
    assert [t.type for t in history[0].tasks] == ["init"]
    assert history[0].tasks[0].init is not None
    assert history[0].tasks[0].init.description == "sample description"
    assert history[0].published_by is None


async def test_trivial_repository_has_no_packages(
    git_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    repo = await _open(git_cache, _serve_tar(git_server, "trivial-repository"))
    assert await repo.list_package_revisions() == ()


async def test_empty_repository_needs_create_branch(
    git_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    url = _serve_tar(git_server, "empty-repository")
    with pytest.raises(errors.NotFoundError, match='branch "main" not found in repository'):
        await _open(git_cache, url)

    repo = await _open(git_cache, url, create_branch=True)
    assert await repo.list_package_revisions() == ()
    log = gitserver.git(
        "--git-dir",
        git_server.path("empty-repository.git"),
        "log",
        "--format=%an <%ae>|%cn <%ce>|%s",
        "main",
    )
    assert log.splitlines() == [
        "Package Orchestration Service <porch@kpt.dev>|"
        "Package Orchestration Service <porch@kpt.dev>|Initial commit: Creating main branch"
    ]
    readme = gitserver.git(
        "--git-dir", git_server.path("empty-repository.git"), "show", "main:README.md"
    )
    assert readme == "Created by porch"


async def test_nested_repository_by_directory(
    git_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    url = _serve_tar(git_server, "nested-repository")
    whole = await _open(git_cache, url, name="nested")
    tags = {
        ("catalog/empty", 1),
        ("catalog/gcp/bucket", 1),
        *{("catalog/namespace/basens", n) for n in (1, 2, 3)},
        *{("catalog/namespace/istions", n) for n in (1, 2, 3)},
        ("sample", 1),
        ("sample", 2),
    }
    placeholders = {
        "catalog/empty",
        "catalog/gcp/bucket",
        "catalog/namespace/basens",
        "catalog/namespace/istions",
        "sample",
    }
    assert _rows(await whole.list_package_revisions()) == (
        {(path, n, f"v{n}", Published) for path, n in tags}
        | {(path, -1, "main", Published) for path in placeholders}
        | {
            ("catalog/gcp/bucket", 0, "v2", Draft),
            ("catalog/gcp/cloud-sql", 0, "v1", Draft),
            ("catalog/gcp/spanner", 0, "v1", Draft),
        }
    )
    names = {r.name for r in await whole.list_package_revisions()}
    assert "nested.catalog.namespace.basens.v3" in names
    assert "nested.catalog.gcp.cloud-sql.v1" in names

    gcp = await _open(git_cache, url, name="gcp", directory="/catalog/gcp/")
    assert gcp.key.path == "catalog/gcp"
    assert _rows(await gcp.list_package_revisions()) == {
        ("bucket", 1, "v1", Published),
        ("bucket", -1, "main", Published),
        ("bucket", 0, "v2", Draft),
        ("cloud-sql", 0, "v1", Draft),
        ("spanner", 0, "v1", Draft),
    }
    bucket = next(r for r in await gcp.list_package_revisions() if r.key.revision == 1)
    assert bucket.name == "gcp.bucket.v1"
    assert bucket.self_lock.git is not None
    assert bucket.self_lock.git.directory == "catalog/gcp/bucket"
    assert bucket.self_lock.git.ref == "catalog/gcp/bucket/v1"

    nonexistent = await _open(git_cache, url, name="none", directory="nonexistent")
    assert await nonexistent.list_package_revisions() == ()


async def test_publish_information(
    git_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    repo = await _open(git_cache, _serve_tar(git_server, "publishinfo-repository"))
    by_name: dict[str, git.GitPackageRevision] = {
        r.name: r for r in await repo.list_package_revisions()
    }
    assert set(by_name) == {
        "repo.pkg-with-anno.v1",
        "repo.pkg-without-anno.v1",
        "repo.draft-pkg.v1",
        "repo.pkg-with-anno.main",
        "repo.pkg-without-anno.main",
        "repo.some-pkg.main",
    }
    at = datetime.datetime(2022, 8, 26, 22, 47, 35, tzinfo=datetime.UTC)
    for name in ("repo.pkg-with-anno.v1", "repo.pkg-with-anno.main"):
        assert by_name[name].published_by == "pkg-with-anno-author@example.com"
        assert by_name[name].published_at == at
    # A tag is published by its commit's author, annotations or not.
    assert by_name["repo.pkg-without-anno.v1"].published_by == (
        "pkg-without-anno-author@example.com"
    )
    # On the branch only annotated commits say who published a package.
    for name in ("repo.pkg-without-anno.main", "repo.some-pkg.main", "repo.draft-pkg.v1"):
        assert by_name[name].published_by is None
        assert by_name[name].published_at is None


async def test_manually_tagged_revision(
    git_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    repo = await _open(git_cache, _serve_tar(git_server, "manual-tagged-repository"))
    revisions = {r.key.revision: r for r in await repo.list_package_revisions()}
    assert set(revisions) == {-1, 1, 2}
    assert {r.key.pkg_key.package_path for r in revisions.values()} == {"pkg"}
    # pkg/v2 is an annotated tag: the revision is its commit, the ref value the tag object.
    assert revisions[2].resource_version.startswith("66113e1")
    assert str(revisions[2].ref_target).startswith("3a39674")
    assert revisions[2].key.workspace_name == "v2"
    assert [t.type for t in revisions[1].tasks] == ["init"]
    assert revisions[2].tasks == ()


async def test_invalid_kpt_annotation_is_tolerated(
    git_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    url = _serve_tar(git_server, "nested-repository-with-invalid-kpt-annotation")
    blueprint = await _open(git_cache, url, name="blueprint", directory="blueprint")
    rows = _rows(await blueprint.list_package_revisions())
    assert {(path, n) for path, n, _, _ in rows} == {
        ("bp1", -1),
        ("bp1", 1),
        ("bp1", 2),
        ("bp1", 3),
        ("bp2", -1),
        ("bp2", 1),
        ("bp2", 2),
    }
    by_name: dict[str, git.GitPackageRevision] = {
        r.name: r for r in await blueprint.list_package_revisions()
    }
    # bp1/v3's commit carries a valid annotation naming workspace v3; bp1/v2's is invalid.
    assert set(by_name) >= {"blueprint.bp1.v3", "blueprint.bp1.v2"}
    bp2_v2 = by_name["blueprint.bp2.v2"]
    assert [t.type for t in bp2_v2.tasks] == ["edit"]
    assert bp2_v2.tasks[0].edit is not None
    assert bp2_v2.tasks[0].edit.source_ref is not None

    blueprint2 = await _open(git_cache, url, name="blueprint2", directory="blueprint2")
    assert _rows(await blueprint2.list_package_revisions()) == {
        ("bp10", -1, "main", Published),
        ("bp10", 1, "v1", Published),
    }


async def test_refresh_sees_new_and_pruned_refs(
    git_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    url = _serve_tar(git_server, "drafts-repository")
    repo = await _open(git_cache, url)
    version = await repo.version()
    remote = git_server.path("drafts-repository.git")

    gitserver.git("--git-dir", remote, "tag", "-d", "basens/v1")
    gitserver.git("--git-dir", remote, "branch", "-D", "drafts/bucket/v1")
    gitserver.git("--git-dir", remote, "tag", "newpkg/v3", "main")  # no Kptfile: ignored
    gitserver.git("--git-dir", remote, "tag", "empty/v7", "main")

    # Listing does not fetch.
    assert ("basens", 1, "v1", Published) in _rows(await repo.list_package_revisions())
    assert await repo.version() == version

    await repo.refresh()
    rows = _rows(await repo.list_package_revisions())
    assert ("basens", 1, "v1", Published) not in rows
    assert ("bucket", 0, "v1", Draft) not in rows
    assert ("empty", 7, "v7", Published) in rows
    assert not any(path == "newpkg" for path, *_ in rows)
    assert await repo.version() != version

    # A fetch that changes nothing keeps the version (callers skip re-listing).
    version = await repo.version()
    await repo.refresh()
    assert await repo.version() == version


async def test_repositories_on_one_url_share_the_cache(
    git_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    url = _serve_tar(git_server, "nested-repository")
    gcp = await _open(git_cache, url, name="gcp", directory="catalog/gcp")
    namespace = await _open(git_cache, url, name="ns", directory="catalog/namespace")
    clone_dir = git_cache.root / "git" / cache.cache_dir_name(url)
    assert clone_dir.is_dir()
    assert {r.key.pkg_key.package_path for r in await namespace.list_package_revisions()} == {
        "basens",
        "istions",
    }
    await gcp.close()
    assert clone_dir.is_dir()  # still used by `namespace`
    await namespace.close()
    assert not clone_dir.exists()
