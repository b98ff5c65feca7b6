"""The cache over real git: Porch's test repositories served by `git http-backend`.

Changes are pushed behind the server's back with the `git` CLI, as a person or another tool
would; the sync (through the repository controller) must pick them up and send
ADDED/MODIFIED/DELETED events. A restart on the same data directory must lose nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.cache import (
    backends,
    cachetesting,
    cachetypes,
    repocache,
    repositorycontroller,
    sync,
    watchermanager,
)
from pkg.externalrepo.git import cache, git
from pkg.meta import metatypes, sqlite
from pkg.repository import repository as repo_api
from pkg.testing import gitserver, repositories

LATEST = "kpt.dev/latest-revision"
BLUEPRINTS = "nephio/test-blueprints.git"


def _cache(git_cache: cache.GitCache, store: metatypes.MetadataStore) -> repocache.RepositoryCache:
    options = git.GitRepositoryOptions(cache=git_cache, retry_delay=0.01)
    return repocache.RepositoryCache(
        opener=backends.BackendFactory({"git": backends.git_opener(options)}),
        metadata=store,
        watcher_manager=watchermanager.WatcherManager(),
    )


def _repository(server: gitserver.GitServer, name: str, path: str) -> configv1alpha1.Repository:
    return repositories.repository_object(name, server.repo_url(path))


async def _drain(watcher: cachetypes.Watcher) -> list[tuple[str, str]]:
    got: list[tuple[str, str]] = []
    for _ in range(watcher.pending):
        event = await anext(watcher)
        assert event.object.metadata is not None
        got.append((event.type, event.object.metadata.name or ""))
    return sorted(got)


async def _until(predicate: Callable[[], bool], limit: float = 10) -> None:
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 (state of the sync task)
            await asyncio.sleep(0.02)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[sqlite.SqliteMetadataStore]:
    opened = await sqlite.SqliteMetadataStore.open(tmp_path / "data" / sqlite.DEFAULT_FILE_NAME)
    yield opened
    await opened.close()


@pytest.fixture
def work(git_server: gitserver.GitServer, tmp_path: Path) -> Path:
    """A working clone of the served test-blueprints repository, to push from."""
    git_server.create_from_bundle(BLUEPRINTS, repositories.TEST_BLUEPRINTS_BUNDLE)
    clone = tmp_path / "work"
    gitserver.git("clone", "--quiet", git_server.path(BLUEPRINTS), clone)
    return clone


async def test_open_lists_blueprints_with_latest_and_metadata(
    git_server: gitserver.GitServer,
    git_cache: cache.GitCache,
    store: sqlite.SqliteMetadataStore,
    work: Path,
) -> None:
    repo_cache = _cache(git_cache, store)
    cached = await repo_cache.open_repository(_repository(git_server, "blueprints", BLUEPRINTS))

    revisions = await cached.list_package_revisions()
    assert len(revisions) == 16
    latest = sorted(r.name for r in revisions if r.is_latest)
    assert latest == [
        "blueprints.basens.v4",
        "blueprints.bucket.v1",
        "blueprints.empty.v1",
        "blueprints.redis-bucket.v1",
        "blueprints.unready.v1",
        "blueprints.update.v2",
    ]
    assert [m.name for m in await store.list("default", "blueprints")] == sorted(
        r.name for r in revisions
    )
    unready = await cached.get_package_revision("blueprints.unready.v1")
    assert unready is not None
    obj = unready.to_api()
    assert obj.metadata is not None and obj.metadata.labels == {LATEST: "true"}
    assert obj.spec is not None and obj.spec.readiness_gates
    assert obj.status is not None and obj.status.conditions
    assert obj.status.self_lock is not None and obj.status.self_lock.git is not None
    assert obj.status.self_lock.git.ref == "unready/v1"
    assert (
        obj.metadata.resource_version
        == gitserver.git(
            "--git-dir", git_server.path(BLUEPRINTS), "rev-parse", "unready/v1^{commit}"
        ).strip()
    )
    facts = cached.facts()
    head = gitserver.git("--git-dir", git_server.path(BLUEPRINTS), "rev-parse", "main").strip()
    assert (facts.package_revision_count, facts.branch_head) == (16, head)
    await repo_cache.close()


async def test_sync_picks_up_tags_and_commits_pushed_with_git(
    git_server: gitserver.GitServer,
    git_cache: cache.GitCache,
    store: sqlite.SqliteMetadataStore,
    work: Path,
) -> None:
    repo_cache = _cache(git_cache, store)
    source = cachetesting.MemoryRepositorySource(
        [_repository(git_server, "blueprints", BLUEPRINTS)]
    )
    controller = repositorycontroller.RepositoryController(
        repo_cache,
        source,
        options=sync.SyncOptions(repo_sync_frequency=0.3, max_jitter=0),
    )
    events = repo_cache.watcher_manager.watch(
        cachetypes.PackageRevisionFilter(namespace="default", package_path="basens")
    )
    controller.start()
    try:
        await controller.wait_until_synced()
        await _drain(events)
        manager = controller.managers[("default", "blueprints")]

        # A new tag: a published revision appears and becomes latest.
        gitserver.git("tag", "basens/v5", "basens/v4", cwd=work)
        gitserver.git("push", "--quiet", "origin", "basens/v5", cwd=work)
        await _until(lambda: events.pending >= 2)
        assert await _drain(events) == [
            ("ADDED", "blueprints.basens.v5"),
            ("MODIFIED", "blueprints.basens.v4"),  # no longer latest
        ]

        # A deleted tag: the revision goes, the previous one is latest again.
        gitserver.git("push", "--quiet", "origin", ":refs/tags/basens/v5", cwd=work)
        await _until(lambda: events.pending >= 2)
        assert await _drain(events) == [
            ("DELETED", "blueprints.basens.v5"),
            ("MODIFIED", "blueprints.basens.v4"),
        ]
        assert await store.get("default", "blueprints.basens.v5") is None

        # A commit on main changing the package: its placeholder is modified.
        (work / "basens" / "extra.yaml").write_text("kind: ConfigMap\nmetadata:\n  name: x\n")
        gitserver.git("add", "basens/extra.yaml", cwd=work)
        gitserver.git("commit", "--quiet", "-m", "extra", cwd=work)
        gitserver.git("push", "--quiet", "origin", "main", cwd=work)
        await _until(lambda: events.pending >= 1)
        assert await _drain(events) == [("MODIFIED", "blueprints.basens.main")]
        cached = repo_cache.get_repository("default", "blueprints")
        assert cached is not None
        main = await cached.get_package_revision("blueprints.basens.main")
        assert main is not None
        assert "extra.yaml" in await main.resources()

        status = source.statuses[("default", "blueprints")]
        head = gitserver.git("rev-parse", "HEAD", cwd=work).strip()
        await _until(lambda: source.statuses[("default", "blueprints")].git_commit_hash == head)
        status = source.statuses[("default", "blueprints")]
        assert status.package_count == 16
        assert manager.last_error is None
    finally:
        await controller.stop()
        await repo_cache.close()


async def test_status_names_the_branch_head_of_a_repository_without_packages(
    git_server: gitserver.GitServer,
    git_cache: cache.GitCache,
    store: sqlite.SqliteMetadataStore,
    tmp_path: Path,
) -> None:
    git_server.create_empty("empty.git")
    clone = tmp_path / "empty-work"
    gitserver.git("clone", "--quiet", git_server.path("empty.git"), clone)
    (clone / "README.md").write_text("# no packages here\n")
    gitserver.git("add", "README.md", cwd=clone)
    gitserver.git("commit", "--quiet", "-m", "readme", cwd=clone)
    gitserver.git("push", "--quiet", "origin", "HEAD:main", cwd=clone)
    repo_cache = _cache(git_cache, store)
    source = cachetesting.MemoryRepositorySource([_repository(git_server, "empty", "empty.git")])
    controller = repositorycontroller.RepositoryController(
        repo_cache,
        source,
        options=sync.SyncOptions(repo_sync_frequency=0.3, max_jitter=0),
    )
    controller.start()
    try:
        await controller.wait_until_synced()
        status = source.statuses[("default", "empty")]
        head = gitserver.git("rev-parse", "HEAD", cwd=clone).strip()
        assert (status.package_count, status.git_commit_hash) == (0, head)

        # A commit pushed behind the server's back: the next sync shows the new head.
        (clone / "README.md").write_text("# still no packages\n")
        gitserver.git("commit", "--quiet", "-am", "again", cwd=clone)
        gitserver.git("push", "--quiet", "origin", "HEAD:main", cwd=clone)
        moved = gitserver.git("rev-parse", "HEAD", cwd=clone).strip()
        await _until(lambda: source.statuses[("default", "empty")].git_commit_hash == moved)
        assert source.statuses[("default", "empty")].package_count == 0
    finally:
        await controller.stop()
        await repo_cache.close()


async def test_restart_on_same_data_dir_loses_no_revision_or_metadata(
    git_server: gitserver.GitServer, tmp_path: Path, work: Path
) -> None:
    data = tmp_path / "data"
    repository = _repository(git_server, "blueprints", BLUEPRINTS)

    async def start() -> tuple[
        sqlite.SqliteMetadataStore, cache.GitCache, repocache.RepositoryCache
    ]:
        store = await sqlite.SqliteMetadataStore.open(data / sqlite.DEFAULT_FILE_NAME)
        git_cache = cache.GitCache(data / "git")
        return store, git_cache, _cache(git_cache, store)

    store, git_cache, repo_cache = await start()
    cached = await repo_cache.open_repository(repository)
    draft = await cached.create_package_revision_draft(
        repo_api.PackageRevisionKey(
            pkg_key=repo_api.PackageKey.from_package_path(cached.key, "fresh"),
            revision=0,
            workspace_name=repo_api.WorkspaceName("ws"),
        )
    )
    await draft.update_resources({"Kptfile": cachetesting.kptfile("fresh")}, None)
    created = await cached.close_package_revision_draft(
        draft,
        meta=metatypes.PackageRevisionMeta.new(
            "default", "blueprints.fresh.ws", "blueprints", labels={"team": "a"}
        ),
    )
    v1 = await cached.get_package_revision("blueprints.basens.v1")
    assert v1 is not None
    await cached.update_package_revision_meta(v1.meta.with_changes(finalizers=["x.io/hold"]))
    before = {r.name: (r.resource_version, r.meta) for r in await cached.list_package_revisions()}
    assert len(before) == 17
    await repo_cache.close()
    await git_cache.close()
    await store.close()

    store, git_cache, repo_cache = await start()
    try:
        reopened = await repo_cache.open_repository(repository)
        after = {
            r.name: (r.resource_version, r.meta) for r in await reopened.list_package_revisions()
        }
        assert after == before
        fresh = await reopened.get_package_revision("blueprints.fresh.ws")
        assert fresh is not None and dict(fresh.labels) == {"team": "a"}
        assert fresh.meta.creation_timestamp == created.meta.creation_timestamp
    finally:
        await repo_cache.close()
        await git_cache.close()
        await store.close()


@pytest.mark.parametrize(
    "archive",
    [
        "simple-repository",
        "drafts-repository",
        "publishinfo-repository",
        "nested-repository",
        "manual-tagged-repository",
        "trivial-repository",
    ],
)
async def test_porch_written_repositories_list_as_the_backend_does(
    git_server: gitserver.GitServer,
    git_cache: cache.GitCache,
    store: sqlite.SqliteMetadataStore,
    archive: str,
) -> None:
    git_server.create_from_tar(f"{archive}.git", repositories.PORCH_GIT_REPOS / f"{archive}.tar")
    repository = _repository(git_server, "repo", f"{archive}.git")
    direct = await git.open_repository(
        repository, git.GitRepositoryOptions(cache=git_cache, retry_delay=0.01)
    )
    expected = sorted(r.name for r in await direct.list_package_revisions())
    await direct.close()
    repo_cache = _cache(git_cache, store)
    try:
        cached = await repo_cache.open_repository(repository)
        revisions = await cached.list_package_revisions()
        assert [r.name for r in revisions] == expected
        assert [m.name for m in await store.list("default", "repo")] == expected
        for revision in revisions:
            obj = revision.to_api()
            assert obj.metadata is not None and obj.metadata.creation_timestamp is not None
        per_package: dict[str, int] = {}
        for r in revisions:
            if r.is_latest:
                path = r.key.pkg_key.package_path
                per_package[path] = per_package.get(path, 0) + 1
                assert r.lifecycle.is_published and r.key.revision > 0
        assert all(count == 1 for count in per_package.values())
    finally:
        await repo_cache.close()
