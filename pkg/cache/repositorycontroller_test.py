"""Repository controller and sync over fake repositories: open, periodic and one-shot
syncs, status, failures and unregistration, as a user of the Repository API sees them."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Callable

import pytest

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.cache import (
    cachetesting,
    cachetypes,
    repocache,
    repositorycontroller,
    sync,
    watchermanager,
)
from pkg.meta import memory
from pkg.repository import errors
from pkg.repository import repository as repo_api

FAST = sync.SyncOptions(repo_sync_frequency=0.2, max_jitter=0, retry_initial=0.05)


def _ready(status: configv1alpha1.RepositoryStatus | None) -> tuple[str, str, str] | None:
    for condition in (status.conditions if status is not None else None) or ():
        if condition.type == "Ready":
            return condition.status, condition.reason, condition.message
    return None


async def _until(predicate: Callable[[], bool], limit: float = 5) -> None:
    """Poll background state (syncs run on their own schedule) until `predicate` holds."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 (no event to wait for: state of other tasks)
            await asyncio.sleep(0.01)


async def _drain(watcher: cachetypes.Watcher) -> list[tuple[str, str]]:
    """(type, name) of the events queued on `watcher`."""
    got: list[tuple[str, str]] = []
    for _ in range(watcher.pending):
        event = await anext(watcher)
        assert event.object.metadata is not None
        got.append((event.type, event.object.metadata.name or ""))
    return got


class Env:
    def __init__(self, options: sync.SyncOptions = FAST) -> None:
        self.backends = cachetesting.FakeBackends()
        self.cache = cachetesting.new_fake_cache(self.backends)
        self.source = cachetesting.MemoryRepositorySource()
        self.controller = repositorycontroller.RepositoryController(
            self.cache, self.source, options=options
        )
        self.events = self.cache.watcher_manager.watch(cachetypes.ANY)

    def status(self, name: str = "repo") -> configv1alpha1.RepositoryStatus | None:
        return self.source.statuses.get(("default", name))


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    environment = Env()
    yield environment
    await environment.controller.stop()


def test_next_sync_time_follows_cron_schedule_else_frequency() -> None:
    last = datetime.datetime(2026, 3, 1, 10, 7, 30, tzinfo=datetime.UTC)
    cron = cachetesting.repository_object("r", schedule="*/15 * * * *")
    assert sync.next_sync_time(cron, last, 600) == last.replace(minute=15, second=0)
    plain = cachetesting.repository_object("r")
    assert sync.next_sync_time(plain, last, 600) == last + datetime.timedelta(minutes=10)
    broken = cachetesting.repository_object("r", schedule="every tuesday")
    assert sync.next_sync_time(broken, last, 600) == last + datetime.timedelta(minutes=10)


async def test_registration_opens_syncs_and_reports_ready(env: Env) -> None:
    await cachetesting.publish(env.backends.fake("repo"), "app", "v1")
    env.source.apply(cachetesting.repository_object("repo", generation=3))

    env.controller.start()
    await env.controller.wait_until_synced()

    assert env.cache.get_repository("default", "repo") is not None
    status = env.status()
    assert status is not None
    assert _ready(status) == ("True", "Ready", "Repository Ready")
    assert status.package_count == 2
    assert status.observed_generation == 3
    assert status.last_full_sync_time is not None and status.next_full_sync_time is not None
    assert status.git_commit_hash is not None  # the placeholder's version (fake: no branch)
    # While the first sync ran the repository showed Reconciling.
    _, first_status = env.source.status_writes[0]
    assert _ready(first_status) == ("False", "Reconciling", "Repository reconciliation in progress")


async def test_periodic_sync_picks_up_external_changes_and_sends_events(env: Env) -> None:
    backend = env.backends.fake("repo")
    env.source.apply(cachetesting.repository_object("repo"))
    env.controller.start()
    await env.controller.wait_until_synced()

    await cachetesting.publish(backend, "app", "v1")
    manager = env.controller.managers[("default", "repo")]
    before = manager.syncs
    await _until(lambda: manager.syncs > before)

    assert sorted(await _drain(env.events)) == [
        ("ADDED", "repo.app.main"),
        ("ADDED", "repo.app.v1"),
    ]
    status = env.status()
    assert status is not None and status.package_count == 2
    # Periodic syncs of a ready repository keep it Ready (no flapping through Reconciling).
    later = [s for _, s in env.source.status_writes[2:]]
    assert all(_ready(s) == ("True", "Ready", "Repository Ready") for s in later)


async def test_run_once_at_in_the_past_syncs_once_and_is_observed() -> None:
    env = Env(sync.SyncOptions(repo_sync_frequency=3600, max_jitter=0))
    try:
        env.source.apply(cachetesting.repository_object("repo"))
        env.controller.start()
        await env.controller.wait_until_synced()
        manager = env.controller.managers[("default", "repo")]
        assert manager.syncs == 1

        when = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        env.source.apply(cachetesting.repository_object("repo", run_once_at=when))
        await _until(lambda: manager.syncs == 2)
        await asyncio.sleep(0.1)

        assert manager.syncs == 2  # once, not again
        status = env.status()
        assert status is not None and status.observed_run_once_at == when
    finally:
        await env.controller.stop()


async def test_run_once_at_in_the_future_fires_then() -> None:
    env = Env(sync.SyncOptions(repo_sync_frequency=3600, max_jitter=0))
    try:
        when = datetime.datetime.now(datetime.UTC).replace(microsecond=0) + datetime.timedelta(
            seconds=1
        )
        env.source.apply(cachetesting.repository_object("repo", run_once_at=when))
        env.controller.start()
        await env.controller.wait_until_synced()
        manager = env.controller.managers[("default", "repo")]
        await _until(lambda: manager.syncs == 2, limit=3)
        assert datetime.datetime.now(datetime.UTC) >= when
        status = env.status()
        assert status is not None and status.observed_run_once_at == when
    finally:
        await env.controller.stop()


async def test_generation_change_syncs_at_once() -> None:
    env = Env(sync.SyncOptions(repo_sync_frequency=3600, max_jitter=0))
    try:
        env.source.apply(cachetesting.repository_object("repo", generation=1))
        env.controller.start()
        await env.controller.wait_until_synced()
        manager = env.controller.managers[("default", "repo")]

        env.source.apply(cachetesting.repository_object("repo", generation=2, deployment=True))
        await _until(lambda: manager.syncs == 2)
        status = env.status()
        assert status is not None and status.observed_generation == 2
        cached = env.cache.get_repository("default", "repo")
        assert cached is not None and cached.repository.spec is not None
        assert cached.repository.spec.deployment is True
    finally:
        await env.controller.stop()


async def test_failing_repository_shows_error_retries_and_leaves_others_alone(env: Env) -> None:
    env.backends.wrap[("default", "flaky")] = cachetesting.BlockingRepository
    env.source.apply(cachetesting.repository_object("flaky"))
    env.source.apply(cachetesting.repository_object("good"))
    env.controller.start()
    await env.controller.wait_until_synced()
    flaky = env.backends.wrapped[("default", "flaky")]
    flaky.refresh_error = errors.BackendUnavailableError("remote said 503")

    await _until(lambda: _ready(env.status("flaky")) == ("False", "Error", "remote said 503"))
    manager = env.controller.managers[("default", "flaky")]
    assert isinstance(manager.last_error, errors.BackendUnavailableError)
    assert _ready(env.status("good")) == ("True", "Ready", "Repository Ready")

    flaky.refresh_error = None
    await _until(lambda: _ready(env.status("flaky")) == ("True", "Ready", "Repository Ready"))


async def test_unsupported_repository_reports_error_without_crashing_controller(env: Env) -> None:
    from pkg.cache import backends

    env.cache = repocache.RepositoryCache(
        opener=backends.BackendFactory({"git": env.backends}),
        metadata=env.cache._store,
        watcher_manager=env.cache.watcher_manager,
    )
    env.controller = repositorycontroller.RepositoryController(env.cache, env.source, options=FAST)
    env.source.apply(cachetesting.repository_object("oci-one", repo_type="oci"))
    env.source.apply(cachetesting.repository_object("git-one"))
    env.controller.start()
    await env.controller.wait_until_synced()
    ready = _ready(env.status("oci-one"))
    assert ready is not None and ready[:2] == ("False", "Error")
    assert 'type "oci" is not supported' in ready[2]
    assert _ready(env.status("git-one")) == ("True", "Ready", "Repository Ready")


async def test_unregistering_closes_the_repository_and_removes_its_revisions(env: Env) -> None:
    await cachetesting.publish(env.backends.fake("repo"), "app", "v1")
    env.source.apply(cachetesting.repository_object("repo"))
    env.controller.start()
    await env.controller.wait_until_synced()
    await _drain(env.events)

    env.source.delete("default", "repo")
    await _until(lambda: env.cache.get_repository("default", "repo") is None)

    assert sorted(await _drain(env.events)) == [
        ("DELETED", "repo.app.main"),
        ("DELETED", "repo.app.v1"),
    ]
    assert await env.cache._store.list("default", "repo") == []
    assert ("default", "repo") not in env.controller.managers


async def test_relist_after_watch_ends_reconciles_missed_changes(env: Env) -> None:
    env.source.apply(cachetesting.repository_object("kept"))
    env.source.apply(cachetesting.repository_object("dropped"))
    env.controller.start()
    await env.controller.wait_until_synced()

    # Changes the watch does not deliver (it ends first).
    env.source.end_watches()
    env.source.objects.pop(("default", "dropped"))
    env.source.objects[("default", "new")] = cachetesting.repository_object("new")

    await _until(lambda: env.cache.get_repository("default", "new") is not None)
    await _until(lambda: env.cache.get_repository("default", "dropped") is None)
    assert env.cache.get_repository("default", "kept") is not None


async def test_at_most_max_concurrent_syncs_run_at_once() -> None:
    backends = cachetesting.FakeBackends()
    running = 0
    peak = 0

    async def slow_opener(repo: configv1alpha1.Repository) -> repo_api.Repository:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await asyncio.sleep(0.05)
            return await backends(repo)
        finally:
            running -= 1

    cache = repocache.RepositoryCache(
        opener=slow_opener,
        metadata=memory.MemoryMetadataStore(),
        watcher_manager=watchermanager.WatcherManager(),
    )
    source = cachetesting.MemoryRepositorySource(
        [cachetesting.repository_object(f"r{n}") for n in range(6)]
    )
    controller = repositorycontroller.RepositoryController(
        cache,
        source,
        options=sync.SyncOptions(repo_sync_frequency=3600, max_concurrent_syncs=2),
    )
    controller.start()
    try:
        await controller.wait_until_synced()
    finally:
        await controller.stop()
    assert len(cache.repositories()) == 6
    assert peak == 2
