"""Watch of packagerevisions: initial events, resume from a list, 410, selectors, bookmarks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from api.meta import v1 as metav1
from pkg.apimachinery import errors, fields, labels
from pkg.cache import cachetesting
from pkg.registry.porch import porchtesting, watch
from pkg.registry.rest import rest

NS = "default"
QUIET = 0.2


@pytest.fixture
def porch() -> porchtesting.Porch:
    return porchtesting.Porch(porchtesting.new_engine(history_size=8))


class Events:
    """A watch stream read one event at a time without ever cancelling a pending read
    (cancelling an async generator's ``anext`` would close the generator)."""

    def __init__(self, stream: AsyncIterator[rest.WatchEvent]) -> None:
        self.stream = stream
        self._pending: asyncio.Future[rest.WatchEvent] | None = None

    async def event(self, wait: float = 5) -> rest.WatchEvent | None:
        """The next event, or None when none comes within ``wait`` seconds."""
        if self._pending is None:
            self._pending = asyncio.ensure_future(anext(self.stream))
        done, _ = await asyncio.wait({self._pending}, timeout=wait)
        if not done:
            return None
        pending, self._pending = self._pending, None
        return pending.result()

    async def next(self) -> rest.WatchEvent:
        event = await self.event()
        assert event is not None, "no event within 5 s"
        return event

    async def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await self._pending
        await self.stream.aclose()  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def _watch(
    porch: porchtesting.Porch,
    namespace: str | None = NS,
    *,
    bookmark_interval: float = watch.BOOKMARK_INTERVAL_SECONDS,
    **options: object,
) -> AsyncIterator[Events]:
    events = Events(
        watch.watch_package_revisions(
            porch.engine,
            porchtesting.context(namespace),
            rest.ListOptions(**options),  # type: ignore[arg-type]
            bookmark_interval=bookmark_interval,
        )
    )
    try:
        yield events
    finally:
        await events.close()


async def _next(stream: Events) -> tuple[str, str]:
    event = await stream.next()
    meta = getattr(event.object, "metadata", None)
    assert isinstance(meta, metav1.ObjectMeta)
    return event.type, meta.name or ""


async def _quiet(stream: Events) -> None:
    event = await stream.event(QUIET)
    assert event is None, f"unexpected {event.type if event else ''} event"


async def test_no_resource_version_starts_with_the_current_revisions(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("a")
    await porch.create("b")
    await porch.create("c", namespace="elsewhere")
    for rv, lifecycle in ((None, "Proposed"), ("0", "Draft")):
        async with _watch(porch, resource_version=rv) as stream:
            assert {await _next(stream), await _next(stream)} == {
                ("ADDED", "repo.a.ws"),
                ("ADDED", "repo.b.ws"),
            }
            await _quiet(stream)
            await porch.lifecycle("repo.a.ws", lifecycle)
            assert await _next(stream) == ("MODIFIED", "repo.a.ws")


async def test_a_watch_from_a_list_sees_exactly_what_came_after(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("a")
    listed = await porch.list()
    await porch.create("b")  # after the list, before the watch
    async with _watch(porch, resource_version=listed.resource_version) as stream:
        assert await _next(stream) == ("ADDED", "repo.b.ws")
        await _quiet(stream)
        assert isinstance(porch.revisions, rest.GracefulDeleter)
        await porch.revisions.delete(porchtesting.context(NS), "repo.a.ws", metav1.DeleteOptions())
        assert await _next(stream) == ("DELETED", "repo.a.ws")


async def test_a_resource_version_older_than_the_history_is_expired(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("first")
    old = (await porch.list()).resource_version
    for i in range(10):
        await porch.create(f"churn-{i}")
    with pytest.raises(errors.StatusError) as info:
        async with _watch(porch, resource_version=old) as stream:
            await stream.next()
    assert (info.value.code, info.value.reason) == (410, "Expired")
    assert info.value.message.startswith(f"too old resource version: {old} (")
    assert porch.engine.watcher_manager.watcher_count() == 0


async def test_an_object_resource_version_cannot_be_resumed_from(
    porch: porchtesting.Porch,
) -> None:
    created = await porch.create("a")
    commit = created.metadata.resource_version if created.metadata else None
    assert commit and not commit.isdigit()
    with pytest.raises(errors.StatusError) as info:
        async with _watch(porch, resource_version=commit) as stream:
            await stream.next()
    assert (info.value.code, info.value.reason) == (410, "Expired")
    assert info.value.message.startswith(f"too old resource version: {commit} (")


async def test_selectors_apply_to_live_events(porch: porchtesting.Porch) -> None:
    await porch.create("a", labels={"team": "blue"})
    start = (await porch.list()).resource_version
    async with _watch(
        porch,
        resource_version=start,
        field_selector=fields.parse("spec.repository=repo"),
        label_selector=labels.parse("team=blue"),
    ) as stream:
        await porch.create("b", repository="other", labels={"team": "blue"})
        await porch.create("c", labels={"team": "red"})
        await porch.create("d", labels={"team": "blue"})
        assert await _next(stream) == ("ADDED", "repo.d.ws")
        current = await porch.get("repo.a.ws")
        moved = current.model_copy(deep=True)
        assert moved.metadata is not None
        moved.metadata.labels = {"team": "red"}
        await porch.put(moved)
        assert await _next(stream) == ("DELETED", "repo.a.ws")
        await _quiet(stream)


async def test_a_change_the_initial_list_already_shows_is_not_sent_twice(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("a")
    # Written behind the server's back: the watch's initial list finds the repository
    # changed, refreshes it (ADDED, after the list's resourceVersion) and lists the new state.
    backend = porch.fake.backends.fake("repo", namespace=NS)
    await cachetesting.draft(backend, "b", "ws")
    async with _watch(porch) as stream:
        assert {await _next(stream), await _next(stream)} == {
            ("ADDED", "repo.a.ws"),
            ("ADDED", "repo.b.ws"),
        }
        await _quiet(stream)


async def test_bookmarks_only_when_asked(porch: porchtesting.Porch) -> None:
    await porch.create("a")
    async with _watch(porch, bookmark_interval=0.05) as stream:
        assert await _next(stream) == ("ADDED", "repo.a.ws")
        await _quiet(stream)

    listed = await porch.list()
    async with _watch(porch, allow_watch_bookmarks=True, bookmark_interval=0.05) as stream:
        assert await _next(stream) == ("ADDED", "repo.a.ws")
        end = await stream.next()
        assert end.type == "BOOKMARK"
        meta = getattr(end.object, "metadata", None)
        assert isinstance(meta, metav1.ObjectMeta)
        assert meta.annotations == {"k8s.io/initial-events-end": "true"}
        assert meta.resource_version == listed.resource_version
        await porch.create("b", namespace="elsewhere")  # moves the sequence on
        later = await stream.next()
        assert later.type == "BOOKMARK"
        later_meta = getattr(later.object, "metadata", None)
        assert isinstance(later_meta, metav1.ObjectMeta) and later_meta.annotations is None
        assert later_meta.resource_version == str(
            porch.engine.watcher_manager.current_resource_version()
        )
        assert int(later_meta.resource_version) > int(listed.resource_version)


async def test_send_initial_events_ends_with_the_annotated_bookmark(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("a")
    listed = await porch.list()
    async with _watch(
        porch,
        resource_version=listed.resource_version,
        send_initial_events=True,
        allow_watch_bookmarks=True,
        resource_version_match="NotOlderThan",
    ) as stream:
        assert await _next(stream) == ("ADDED", "repo.a.ws")
        assert (await stream.next()).type == "BOOKMARK"


async def test_closing_the_stream_unregisters_the_watcher(porch: porchtesting.Porch) -> None:
    await porch.create("a")
    manager = porch.engine.watcher_manager
    async with _watch(porch) as stream:
        await _next(stream)
        assert manager.watcher_count() == 1
    assert manager.watcher_count() == 0


async def test_a_bad_selector_fails_before_the_first_event(porch: porchtesting.Porch) -> None:
    with pytest.raises(errors.StatusError) as info:
        async with _watch(porch, field_selector=fields.parse("spec.nosuch=x")) as stream:
            await stream.next()
    assert (info.value.code, info.value.message) == (
        400,
        'unknown fieldSelector field "spec.nosuch"',
    )
    assert porch.engine.watcher_manager.watcher_count() == 0
