"""WatcherManager: filtering on every event, bounded queues, resume, and a stalled watcher.

The last test drives real writes through the cache while one watcher never reads: the
writer and a second watcher must not notice, and the stalled watcher must be ended.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint

from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import labels
from pkg.cache import cachetesting, cachetypes, watchermanager
from pkg.repository import repository as repo_api
from pkg.testing import metrics


def _revision(
    name: str,
    *,
    namespace: str = "default",
    labels: dict[str, str] | None = None,
    lifecycle: porchv1alpha1.PackageRevisionLifecycle = "Draft",
) -> porchv1alpha1.PackageRevision:
    repository, package, workspace = name.split(".")
    return porchv1alpha1.PackageRevision.model_validate(
        {
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {
                "repository": repository,
                "packageName": package,
                "workspaceName": workspace,
                "lifecycle": lifecycle,
            },
        }
    )


def _pending(watcher: watchermanager.Watcher) -> list[tuple[str, str]]:
    got: list[tuple[str, str]] = []
    while watcher.pending:
        event = watcher._queue.popleft()
        assert event.object.metadata is not None
        got.append((event.type, event.object.metadata.name or ""))
    return got


def test_filters_apply_to_every_live_event() -> None:
    manager = watchermanager.WatcherManager()
    in_namespace = manager.watch(cachetypes.PackageRevisionFilter(namespace="default"))
    by_package = manager.watch(cachetypes.PackageRevisionFilter(package_path="app"))
    by_label = manager.watch(cachetypes.PackageRevisionFilter(label_selector=labels.parse("a=b")))

    manager.notify("ADDED", _revision("repo.app.ws"))
    manager.notify("ADDED", _revision("repo.db.ws", labels={"a": "b"}))
    manager.notify("ADDED", _revision("repo.app.ws", namespace="other"))

    assert _pending(in_namespace) == [("ADDED", "repo.app.ws"), ("ADDED", "repo.db.ws")]
    assert _pending(by_package) == [("ADDED", "repo.app.ws"), ("ADDED", "repo.app.ws")]
    assert _pending(by_label) == [("ADDED", "repo.db.ws")]


def test_modification_out_of_or_into_a_selection_is_deleted_or_added() -> None:
    manager = watchermanager.WatcherManager()
    drafts = manager.watch(
        cachetypes.PackageRevisionFilter(lifecycles=frozenset({repo_api.Lifecycle.DRAFT}))
    )
    proposed = manager.watch(
        cachetypes.PackageRevisionFilter(lifecycles=frozenset({repo_api.Lifecycle.PROPOSED}))
    )
    draft = _revision("repo.app.ws")
    manager.notify("ADDED", draft)

    manager.notify("MODIFIED", _revision("repo.app.ws", lifecycle="Proposed"), old=draft)

    assert _pending(drafts) == [("ADDED", "repo.app.ws"), ("DELETED", "repo.app.ws")]
    assert _pending(proposed) == [("ADDED", "repo.app.ws")]


async def test_resume_from_a_sequence_number_and_expired_when_too_old() -> None:
    manager = watchermanager.WatcherManager(history_size=3)
    start = manager.current_resource_version()
    for n in range(5):
        manager.notify("ADDED", _revision(f"repo.app.w{n}"))
    assert manager.current_resource_version() == start + 5 == 6

    resumed = manager.watch(cachetypes.ANY, since=4)
    assert [e.sequence for e in [await anext(resumed), await anext(resumed)]] == [5, 6]
    with pytest.raises(cachetypes.ExpiredError, match="too old resource version: 2"):
        manager.watch(cachetypes.ANY, since=2)
    # The oldest event still held is 4: resuming from 3 replays 4, 5, 6.
    assert len(_pending(manager.watch(cachetypes.ANY, since=3))) == 3


async def test_first_resource_version_is_never_zero_and_resumes() -> None:
    manager = watchermanager.WatcherManager()
    # What a list on a fresh server reports: "0" would tell a client "any", not "after this".
    listed = manager.current_resource_version()
    assert listed >= 1
    from_list = manager.watch(cachetypes.ANY, since=listed)
    assert from_list.pending == 0
    manager.notify("ADDED", _revision("repo.app.ws"))
    event = await anext(from_list)
    assert (event.type, event.sequence) == ("ADDED", listed + 1)
    # A watch from the first list's number registered later still gets the event.
    late = manager.watch(cachetypes.ANY, since=listed)
    assert _pending(late) == [("ADDED", "repo.app.ws")]


async def test_closed_and_overflowing_watchers_are_removed_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    manager = watchermanager.WatcherManager()
    closed = manager.watch(cachetypes.ANY)
    small = manager.watch(cachetypes.ANY, queue_size=2)
    assert manager.watcher_count() == 2

    await closed.aclose()
    assert manager.watcher_count() == 1
    assert closed.end_reason is cachetypes.WatchEndReason.CLOSED
    with caplog.at_level(logging.WARNING, logger="pkg.cache.watchermanager"):
        for n in range(3):
            manager.notify("ADDED", _revision(f"repo.app.w{n}"))

    assert manager.watcher_count() == 0
    assert small.end_reason is cachetypes.WatchEndReason.OVERFLOW
    assert "fell 2 events behind" in caplog.text
    with pytest.raises(StopAsyncIteration):
        await anext(small)


def _number(reader: InMemoryMetricReader, name: str) -> int | float:
    """The current value of the counter `name` (0 when nothing was recorded)."""
    for metric in metrics.metrics_named(reader, name):
        points = metric.data.data_points
        return sum(p.value for p in points if isinstance(p, NumberDataPoint))
    return 0


async def test_watcher_metrics_count_active_and_overflowed_watchers() -> None:
    reader = InMemoryMetricReader()
    manager = watchermanager.WatcherManager(meter_provider=MeterProvider(metric_readers=[reader]))
    active, overflows = "porch.packagerevision.watchers", "porch.packagerevision.watch.overflows"
    closed = manager.watch(cachetypes.ANY)
    manager.watch(cachetypes.ANY, queue_size=1)
    kept = manager.watch(cachetypes.ANY, queue_size=10)
    assert (_number(reader, active), _number(reader, overflows)) == (3, 0)

    await closed.aclose()
    await closed.aclose()  # a second close must not count the watcher twice
    for n in range(2):
        manager.notify("ADDED", _revision(f"repo.app.w{n}"))
    assert (_number(reader, active), _number(reader, overflows)) == (1, 1)

    manager.close()
    assert (_number(reader, active), _number(reader, overflows)) == (0, 1)
    assert kept.end_reason is cachetypes.WatchEndReason.SHUTDOWN


async def test_shutdown_ends_watchers_after_queued_events() -> None:
    manager = watchermanager.WatcherManager()
    watcher = manager.watch(cachetypes.ANY)
    manager.notify("ADDED", _revision("repo.app.ws"))
    manager.close()
    assert [e.type async for e in watcher] == ["ADDED"]
    assert watcher.end_reason is cachetypes.WatchEndReason.SHUTDOWN


async def test_stalled_watcher_slows_neither_writer_nor_other_watchers() -> None:
    """200 writes through the cache with a watcher that never reads (queue of 50)."""
    writes = 200
    backends = cachetesting.FakeBackends()
    manager = watchermanager.WatcherManager()
    cache = cachetesting.new_fake_cache(backends, watcher_manager=manager)
    cached = await cache.open_repository(cachetesting.repository_object("repo"))

    async def write_all() -> float:
        started = time.perf_counter()
        for n in range(writes):
            draft = await cached.create_package_revision_draft(
                repo_api.PackageRevisionKey(
                    pkg_key=repo_api.PackageKey.from_package_path(cached.key, f"p{n}"),
                    revision=0,
                    workspace_name=repo_api.WorkspaceName("ws"),
                )
            )
            await draft.update_resources({"Kptfile": cachetesting.kptfile(f"p{n}")}, None)
            await cached.close_package_revision_draft(draft)
        return time.perf_counter() - started

    baseline = await write_all()  # warm-up and the time without any watcher

    for n in range(writes):
        old = await cached.get_package_revision(f"repo.p{n}.ws")
        assert old is not None
        await cached.delete_package_revision(old)
    stalled = manager.watch(cachetypes.ANY, queue_size=50)
    fast = manager.watch(cachetypes.ANY, queue_size=50)
    received: list[str] = []

    async def consume() -> None:
        async for event in fast:
            assert event.object.metadata is not None
            received.append(event.object.metadata.name or "")
            if len(received) == writes:
                return

    consumer = asyncio.create_task(consume())
    # A writer that waited for the stalled watcher would never get past its 51st event.
    elapsed = await asyncio.wait_for(write_all(), 10)
    await asyncio.wait_for(consumer, 5)

    assert received == [f"repo.p{n}.ws" for n in range(writes)]
    assert stalled.end_reason is cachetypes.WatchEndReason.OVERFLOW
    assert manager.watcher_count() == 1  # the fast one; the stalled one is gone
    print(
        f"\n{writes} writes: {baseline * 1000:.1f} ms without watchers, "
        f"{elapsed * 1000:.1f} ms with a stalled and a fast watcher"
    )
