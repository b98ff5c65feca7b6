"""One repository's sync manager: the one-shot sync of `spec.sync.runOnceAt`.

Porch's v1alpha1 server never clears `runOnceAt`; it records the value it honoured in
`status.observedRunOnceAt`, so each distinct value fires one sync: a past value never observed
at once, a future one at its time. Over the fake repository, driving `SyncManager` directly
as the repository controller does.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Callable

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.cache import cachetesting, sync
from pkg.repository import errors
from pkg.testing import metrics

HOURLY = sync.SyncOptions(repo_sync_frequency=3600, max_jitter=0, retry_initial=0.2)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


async def _until(predicate: Callable[[], bool], limit: float = 5) -> None:
    """Poll the manager's state (it syncs on its own schedule) until `predicate` holds."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 (state of the manager's task)
            await asyncio.sleep(0.01)


def _repository(
    *,
    run_once_at: datetime.datetime | None = None,
    generation: int = 1,
    observed_run_once_at: datetime.datetime | None = None,
) -> configv1alpha1.Repository:
    repo = cachetesting.repository_object("repo", run_once_at=run_once_at, generation=generation)
    if observed_run_once_at is not None:
        repo.status = configv1alpha1.RepositoryStatus(observed_run_once_at=observed_run_once_at)
    return repo


class Env:
    """A sync manager over a fake repository; statuses land in `source.statuses`."""

    def __init__(self) -> None:
        self.backends = cachetesting.FakeBackends()
        self.backends.wrap[("default", "repo")] = cachetesting.BlockingRepository
        self.cache = cachetesting.new_fake_cache(self.backends)
        self.source = cachetesting.MemoryRepositorySource()
        self.manager: sync.SyncManager | None = None

    def start(
        self, repo: configv1alpha1.Repository, meter_provider: MeterProvider | None = None
    ) -> sync.SyncManager:
        self.manager = sync.SyncManager(
            self.cache,
            repo,
            status_writer=self.source,
            limiter=asyncio.Semaphore(1),
            options=HOURLY,
            meter_provider=meter_provider,
        )
        self.manager.start()
        return self.manager

    def status(self) -> configv1alpha1.RepositoryStatus:
        return self.source.statuses[("default", "repo")]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    environment = Env()
    yield environment
    if environment.manager is not None:
        await environment.manager.stop()
    await environment.cache.close()


async def test_past_value_never_observed_fires_once_at_start(env: Env) -> None:
    when = _now() - datetime.timedelta(hours=1)
    manager = env.start(_repository(run_once_at=when))
    await manager.synced.wait()
    await asyncio.sleep(0.3)
    # The start-up sync is the one-shot: one sync, the value observed.
    assert manager.syncs == 1
    assert env.status().observed_run_once_at == when


async def test_observed_value_does_not_fire_again_after_a_restart(env: Env) -> None:
    when = _now() - datetime.timedelta(hours=1)
    manager = env.start(_repository(run_once_at=when, observed_run_once_at=when))
    await manager.synced.wait()
    manager.update(_repository(run_once_at=when))
    await asyncio.sleep(0.3)
    assert manager.syncs == 1
    assert env.status().observed_run_once_at == when


async def test_each_distinct_value_fires_once(env: Env) -> None:
    manager = env.start(_repository())
    await manager.synced.wait()

    first = _now() - datetime.timedelta(minutes=5)
    manager.update(_repository(run_once_at=first, generation=2))
    await _until(lambda: env.status().observed_run_once_at == first)
    # The same value again (an unrelated re-apply) fires nothing.
    manager.update(_repository(run_once_at=first, generation=2))
    await asyncio.sleep(0.3)
    assert manager.syncs == 2

    second = _now() - datetime.timedelta(minutes=1)
    manager.update(_repository(run_once_at=second, generation=3))
    await _until(lambda: env.status().observed_run_once_at == second)
    await asyncio.sleep(0.3)
    assert manager.syncs == 3


async def test_future_value_fires_at_its_time_not_when_set(env: Env) -> None:
    manager = env.start(_repository())
    await manager.synced.wait()

    when = _now() + datetime.timedelta(seconds=2)
    manager.update(_repository(run_once_at=when, generation=2))
    # Only runOnceAt changed: the new generation is recorded, nothing is synced yet.
    await _until(lambda: env.status().observed_generation == 2)
    await asyncio.sleep(0.3)
    assert manager.syncs == 1
    assert env.status().observed_run_once_at is None

    await _until(lambda: manager.syncs == 2, limit=5)
    assert datetime.datetime.now(datetime.UTC) >= when
    assert env.status().observed_run_once_at == when
    await asyncio.sleep(0.3)
    assert manager.syncs == 2


async def test_failed_one_shot_is_retried_with_back_off_then_observed(env: Env) -> None:
    manager = env.start(_repository())
    await manager.synced.wait()
    backend = env.backends.wrapped[("default", "repo")]
    backend.refresh_error = errors.BackendUnavailableError("remote said 503")

    when = _now() - datetime.timedelta(minutes=1)
    manager.update(_repository(run_once_at=when, generation=2))
    await _until(lambda: manager.syncs == 2)
    await asyncio.sleep(0.3)
    # Retried on the error back-off (0.2 s, then 0.4 s), not in a tight loop.
    assert 2 <= manager.syncs <= 4
    assert env.status().observed_run_once_at is None

    backend.refresh_error = None
    await _until(lambda: env.status().observed_run_once_at == when, limit=5)
    settled = manager.syncs
    await asyncio.sleep(0.5)
    assert manager.syncs == settled


async def test_sync_durations_are_recorded_by_outcome(env: Env) -> None:
    reader = InMemoryMetricReader()
    manager = env.start(_repository(), MeterProvider(metric_readers=[reader]))
    await manager.synced.wait()
    points = metrics.histograms_by(reader, "porch.repository.sync.duration", "outcome")
    assert {k: p.count for k, p in points.items()} == {"success": 1}

    backend = env.backends.wrapped[("default", "repo")]
    backend.refresh_error = errors.BackendUnavailableError("remote said 503")
    manager.request_sync()
    await _until(lambda: manager.last_error is not None)
    points = metrics.histograms_by(reader, "porch.repository.sync.duration", "outcome")
    # At least one: the failure is retried on a 0.2 s back-off meanwhile.
    assert points["success"].count == 1 and points["error"].count >= 1
    # Every point carries the outcome only: one series per outcome, whatever the repository.
    assert all(set(p.attributes or {}) == {"outcome"} for p in points.values())
    assert points["error"].sum >= 0 and points["success"].sum > 0
