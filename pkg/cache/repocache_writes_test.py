"""The cache over a local git repository under concurrent writes: memory follows every write
by re-listing only the packages that changed, never the whole repository, and still finds
changes made behind its back.

What a user sees is checked: the revisions listed (against a fresh full listing of the same
git state), the metadata each write stored, the watch events; `full_listings` pins that no
write fell back to listing everything. The repositories are real bare repositories used in
place; outside writers are the `git` CLI and a second Repository object on the same URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.porch import v1alpha1 as porchv1alpha1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.cache import backends, cachetypes, repocache, watchermanager
from pkg.externalrepo.git import cache, git
from pkg.meta import memory, metatypes
from pkg.repository import errors
from pkg.repository import repository as repo_api
from pkg.testing import gitserver, repositories

Lifecycle = repo_api.Lifecycle
INIT = porchv1alpha1.Task.model_validate({"type": "init", "init": {"description": "d"}})


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The allowed root, holding `repo.git` (Porch's trivial repository: an empty main)."""
    root = tmp_path / "repos"
    server = gitserver.GitServer(root)  # not started: only its repository helpers
    server.create_from_tar("repo.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar")
    return root


def _options(root: Path, git_cache: cache.GitCache) -> git.GitRepositoryOptions:
    return git.GitRepositoryOptions(
        cache=git_cache,
        allow_local_repositories=True,
        local_repository_roots=[root],
        retry_delay=0.01,
    )


def _repository(root: Path, name: str = "repo") -> configv1alpha1.Repository:
    return repositories.repository_object(name, f"file://{root / 'repo.git'}")


@dataclass
class Env:
    cache: repocache.RepositoryCache
    cached: repocache.CachedRepository
    store: memory.MemoryMetadataStore
    events: cachetypes.Watcher


@pytest.fixture
async def env(root: Path, git_cache: cache.GitCache) -> AsyncIterator[Env]:
    store = memory.MemoryMetadataStore()
    watchers = watchermanager.WatcherManager()
    repo_cache = repocache.RepositoryCache(
        opener=backends.git_opener(_options(root, git_cache)),
        metadata=store,
        watcher_manager=watchers,
    )
    cached = await repo_cache.open_repository(_repository(root))
    yield Env(repo_cache, cached, store, watchers.watch(cachetypes.ANY, queue_size=100_000))
    await repo_cache.close()


def _drain(events: cachetypes.Watcher) -> list[cachetypes.WatchEvent]:
    got = []
    while events.pending:
        got.append(events._queue.popleft())  # type: ignore[attr-defined]
    return got


def _key(
    cached: repocache.CachedRepository, package: str, workspace: str
) -> repo_api.PackageRevisionKey:
    return repo_api.PackageRevisionKey(
        pkg_key=repo_api.PackageKey.from_package_path(cached.key, package),
        revision=0,
        workspace_name=repo_api.WorkspaceName(workspace),
    )


async def _create(
    cached: repocache.CachedRepository, package: str, workspace: str, labels: dict[str, str]
) -> cachetypes.CachedPackageRevision:
    """Create a Draft with metadata, as the engine does."""
    key = _key(cached, package, workspace)
    draft = await cached.create_package_revision_draft(key)
    kptfile = f"apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {package}\n"
    await draft.update_resources({"Kptfile": kptfile}, INIT)
    await draft.update_lifecycle(Lifecycle.DRAFT)
    meta = metatypes.PackageRevisionMeta.new(
        cached.key.namespace, key.k8s_name(), cached.key.name, labels=labels
    )
    return await cached.close_package_revision_draft(draft, meta=meta)


async def _move(
    cached: repocache.CachedRepository,
    old: cachetypes.CachedPackageRevision,
    lifecycle: Lifecycle,
) -> cachetypes.CachedPackageRevision:
    draft = await cached.update_package_revision(old)
    await draft.update_lifecycle(lifecycle)
    return await cached.close_package_revision_draft(draft, meta=old.meta)


async def _lifecycle(cached: repocache.CachedRepository, package: str, writer: str) -> str:
    """One package from creation through approval to deletion; the published name."""
    created = await _create(cached, package, "ws", {"writer": writer})
    proposed = await _move(cached, created, Lifecycle.PROPOSED)
    published = await _move(cached, proposed, Lifecycle.PUBLISHED)
    assert published.key.revision == 1 and published.is_latest
    deletion = await _move(cached, published, Lifecycle.DELETION_PROPOSED)
    await cached.delete_package_revision(deletion)
    return str(published.name)


async def _assert_memory_matches_git(cached: repocache.CachedRepository) -> None:
    """The memory shows what a full listing of the same git state shows. Placeholders are
    compared by name and lifecycle: their commit is the branch head, which a write to
    another package moves without re-listing them."""
    fresh = {r.name: r for r in await cached.backend.list_package_revisions()}
    served = {r.name: r for r in cached.select(cachetypes.ANY)}
    assert sorted(served) == sorted(fresh)
    for name, revision in fresh.items():
        mine = served[name].snapshot
        if revision.key.is_placeholder:
            assert mine.lifecycle == revision.lifecycle, name
            continue
        assert (mine.resource_version, mine.lifecycle, mine.tasks) == (
            revision.resource_version,
            revision.lifecycle,
            revision.tasks,
        ), name


async def test_concurrent_writers_on_distinct_packages_never_list_everything(env: Env) -> None:
    cached = env.cached
    await _lifecycle(cached, "base", "setup")
    base_v2 = await _create(cached, "base", "next", {})
    assert cached.full_listings == 1  # the open's
    _drain(env.events)

    async def writer(number: int) -> list[str]:
        return [await _lifecycle(cached, f"w{number}-{i}", str(number)) for i in range(3)]

    published = await asyncio.gather(*(writer(n) for n in range(4)))

    assert cached.full_listings == 1
    await _assert_memory_matches_git(cached)
    # Every revision a writer created reached watchers with the metadata it was created
    # with, first time: never discovered by another writer's re-listing without it.
    added = {
        e.object.metadata.name: e.object
        for e in _drain(env.events)
        if e.type == "ADDED" and e.object.metadata is not None
    }
    for number, names in enumerate(published):
        for name in names:
            obj = added[name]
            assert obj.metadata is not None and obj.metadata.labels is not None
            assert obj.metadata.labels["writer"] == str(number)
    # The untouched revision is served as before; the packages list is right.
    assert await cached.get_package_revision(base_v2.name) is base_v2
    # Deleting the published revisions left each package's placeholder on main.
    packages = await cached.list_packages()
    assert [(p.key.package_path, p.latest_revision) for p in packages] == [
        ("base", 0),
        *sorted((f"w{n}-{i}", 0) for n in range(4) for i in range(3)),
    ]


async def test_concurrent_creates_in_one_package_each_carry_their_metadata(env: Env) -> None:
    cached = env.cached
    _drain(env.events)

    created = await asyncio.gather(
        *(_create(cached, "shared", f"ws{n}", {"n": str(n)}) for n in range(6))
    )

    assert [dict(r.labels) for r in created] == [{"n": str(n)} for n in range(6)]
    events = [(e.type, e.object.metadata) for e in _drain(env.events)]
    # One ADDED per revision, with its labels; no revision first shown without them.
    assert sorted((t, m.name, (m.labels or {}).get("n")) for t, m in events if m) == [
        ("ADDED", f"repo.shared.ws{n}", str(n)) for n in range(6)
    ]
    for n in range(6):
        stored = await env.store.get("default", f"repo.shared.ws{n}")
        assert stored is not None and stored.labels == {"n": str(n)}
    assert cached.full_listings == 1
    await _assert_memory_matches_git(cached)


async def test_a_stale_write_conflicts_and_memory_stays_right(env: Env) -> None:
    cached = env.cached
    draft = await _create(cached, "app", "ws", {})

    async def edit(text: str) -> cachetypes.CachedPackageRevision:
        """A new file in the Draft, written from the snapshot read at first."""
        update = await cached.update_package_revision(draft)
        files = {**await draft.resources(), "file.yaml": text}
        await update.update_resources(files, None)
        await update.update_lifecycle(Lifecycle.DRAFT)
        return await cached.close_package_revision_draft(update, meta=draft.meta)

    first = await edit("one")
    with pytest.raises(errors.ConflictError):
        await edit("two")

    served = await cached.get_package_revision("repo.app.ws")
    assert served is first
    assert (await served.resources())["file.yaml"] == "one"
    assert cached.full_listings == 1
    await _assert_memory_matches_git(cached)


async def test_writes_of_another_user_of_the_repository_are_caught_up_by_package(
    env: Env, root: Path, git_cache: cache.GitCache
) -> None:
    """A second Repository object on the same repository shares the git clone: what it
    writes is known by package, so the cache catches up without listing everything."""
    other = await git.open_repository(_repository(root, "other"), _options(root, git_cache))
    new = await other.create_package_revision_draft(
        repo_api.PackageRevisionKey(
            pkg_key=repo_api.PackageKey.from_package_path(other.key, "side"),
            revision=0,
            workspace_name=repo_api.WorkspaceName("ws"),
        )
    )
    await new.update_resources({"Kptfile": "apiVersion: kpt.dev/v1\nkind: Kptfile\n"}, INIT)
    await new.update_lifecycle(Lifecycle.DRAFT)
    await other.close_package_revision_draft(new)

    # A read catches up...
    assert [r.name for r in await env.cached.list_package_revisions()] == ["repo.side.ws"]
    # ...and so does a write.
    await other.delete_package_revision(next(iter(await other.list_package_revisions())))
    await _create(env.cached, "app", "ws", {})
    assert [r.name for r in env.cached.select(cachetypes.ANY)] == ["repo.app.ws"]
    assert env.cached.full_listings == 1
    await other.close()


async def test_a_change_behind_our_back_is_found_after_a_write(
    env: Env, root: Path, git_cache: cache.GitCache
) -> None:
    """Someone pushes; another user of the clone re-reads the refs (as its sync would).
    The next write through the cache is served at once, and everything is listed again
    off its path: the outside change shows without a refresh of this repository."""
    cached = env.cached
    lib = await _move(cached, await _create(cached, "lib", "ws", {}), Lifecycle.PROPOSED)
    await _move(cached, lib, Lifecycle.PUBLISHED)
    gitserver.git("--git-dir", root / "repo.git", "branch", "drafts/lib/outside", "lib/v1")
    other = await git.open_repository(_repository(root, "other"), _options(root, git_cache))
    await other.refresh()
    await other.close()

    written = await _create(cached, "app", "ws", {"a": "b"})

    assert dict(written.labels) == {"a": "b"}
    listed = [r.name for r in await cached.list_package_revisions()]
    assert listed == ["repo.app.ws", "repo.lib.main", "repo.lib.outside", "repo.lib.ws"]
    assert cached.full_listings == 2  # the open's, and one for the outside change
    await _assert_memory_matches_git(cached)
