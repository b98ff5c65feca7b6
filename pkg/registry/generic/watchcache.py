"""Watch machinery of the generic store: the event history and one stream per watcher.

Where this sits: :class:`pkg.registry.generic.store.Store` appends every committed write
to its :class:`History` and offers it to each open :class:`WatchStream`; the API server (or
an in-process consumer) iterates a stream and closes it when the client goes away. After
kube-apiserver's watch cache (``k8s.io/apiserver/pkg/storage/cacher``):

* the history is a bounded ring of the last events; a watch may resume from any
  resourceVersion the ring still covers, an older one is 410 Expired ("too old resource
  version") so that the client lists again;
* each watcher has a bounded queue; a watcher that falls behind by more than its queue is
  closed (its stream ends, the client resumes from its last resourceVersion) and never
  slows a writer down;
* selectors are applied per event to the old and the new state, so an object that stops
  matching is sent as DELETED and one that starts matching as ADDED;
* BOOKMARK events are produced only for watchers that asked for them.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal

from pydantic import BaseModel

from pkg.apimachinery import errors
from pkg.registry.rest import rest

__all__ = [
    "INITIAL_EVENTS_END_ANNOTATION",
    "Event",
    "EventType",
    "History",
    "Matcher",
    "WatchStream",
    "translate",
]

EventType = Literal["ADDED", "MODIFIED", "DELETED"]

INITIAL_EVENTS_END_ANNOTATION: Final = "k8s.io/initial-events-end"
"""Set to "true" on the BOOKMARK that ends the initial events of ``sendInitialEvents``."""

Matcher = Callable[[BaseModel], bool]
"""Whether an object state passes a watcher's namespace and selectors."""


@dataclass(frozen=True, slots=True)
class Event:
    """One committed change of one object.

    ``object`` is the state after the write (for DELETED: the last state, carrying the
    deletion's resourceVersion); ``prev_object`` the state before it (None for ADDED).
    Both are the store's own instances: never mutate them.
    """

    type: EventType
    resource_version: int
    object: BaseModel
    prev_object: BaseModel | None


def translate(event: Event, matches: Matcher) -> rest.WatchEvent | None:
    """The event as a watcher with ``matches`` sees it, or None when it concerns it not.

    A modification that moves an object out of the watcher's selection is a DELETED, one
    that moves it in is an ADDED (as the real apiserver does).
    """
    if event.type == "ADDED":
        return rest.WatchEvent("ADDED", event.object) if matches(event.object) else None
    if event.type == "DELETED":
        return rest.WatchEvent("DELETED", event.object) if matches(event.object) else None
    was = event.prev_object is not None and matches(event.prev_object)
    now = matches(event.object)
    if was and now:
        return rest.WatchEvent("MODIFIED", event.object)
    if now:
        return rest.WatchEvent("ADDED", event.object)
    if was:
        return rest.WatchEvent("DELETED", event.object)
    return None


class History:
    """The last ``capacity`` events of one resource, for watches that resume.

    ``floor`` is the resourceVersion after which every event is still held: a watch from
    resourceVersion N >= floor replays the events after N; N < floor is 410 Expired.
    """

    def __init__(self, capacity: int, floor: int) -> None:
        if capacity < 1:
            raise ValueError("history capacity must be at least 1")
        self._events: collections.deque[Event] = collections.deque()
        self._capacity = capacity
        self._floor = floor

    @property
    def floor(self) -> int:
        return self._floor

    def append(self, event: Event) -> None:
        if len(self._events) == self._capacity:
            self._floor = self._events.popleft().resource_version
        self._events.append(event)

    def since(self, resource_version: int) -> list[Event]:
        """The events after ``resource_version``; raises 410 Expired when some are gone."""
        if resource_version < self._floor:
            raise errors.new_resource_expired(
                f"too old resource version: {resource_version} ({self._floor})"
            )
        return [e for e in self._events if e.resource_version > resource_version]


class WatchStream(AsyncIterator[rest.WatchEvent]):
    """One watcher's stream: queued events first, then live ones as they are offered.

    Objects are copied on the way out, so a consumer may change what it receives. Close
    with :meth:`aclose` (or ``async with``): the stream leaves its store at once. A stream
    also ends (StopAsyncIteration) after its queue overflowed or its store closed it.
    """

    def __init__(
        self,
        *,
        matches: Matcher,
        queued: Iterable[rest.WatchEvent],
        capacity: int,
        on_close: Callable[[WatchStream], None],
        bookmark: Callable[[], BaseModel] | None,
        bookmark_interval: float,
    ) -> None:
        self._matches = matches
        self._queue: collections.deque[rest.WatchEvent] = collections.deque(queued)
        # The replayed and initial events do not count against the live backlog.
        self._capacity = capacity + len(self._queue)
        self._on_close = on_close
        self._bookmark = bookmark
        self._bookmark_interval = bookmark_interval
        self._wakeup = asyncio.Event()
        self._closed = False
        self.overflowed = False
        """True when the stream was closed because its consumer fell behind."""

    @property
    def closed(self) -> bool:
        return self._closed

    def offer(self, event: Event) -> None:
        """Queue ``event`` if it concerns this watcher; close the stream when it is full.

        Called synchronously by the store right after a commit; never blocks.
        """
        if self._closed:
            return
        translated = translate(event, self._matches)
        if translated is None:
            return
        if len(self._queue) >= self._capacity:
            # A consumer this far behind would make the writer wait or the server hoard
            # memory; dropping it is what kube-apiserver does, and the client resumes.
            self._queue.clear()
            self.overflowed = True
            self._close()
            return
        self._queue.append(translated)
        self._wakeup.set()

    def end(self) -> None:
        """Stop after the events already queued (the store is shutting down)."""
        self._close()

    def __aiter__(self) -> WatchStream:
        return self

    async def __anext__(self) -> rest.WatchEvent:
        while True:
            if self._queue:
                event = self._queue.popleft()
                return rest.WatchEvent(event.type, event.object.model_copy(deep=True))
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            if self._bookmark is None:
                await self._wakeup.wait()
                continue
            try:
                await asyncio.wait_for(self._wakeup.wait(), self._bookmark_interval)
            except TimeoutError:
                # Nothing queued: every event up to the store's current resourceVersion
                # has been delivered, which is what a bookmark promises.
                return rest.WatchEvent("BOOKMARK", self._bookmark())

    async def aclose(self) -> None:
        """Leave the store now; events still queued are dropped."""
        self._queue.clear()
        self._close()

    async def __aenter__(self) -> WatchStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._on_close(self)
        self._wakeup.set()
