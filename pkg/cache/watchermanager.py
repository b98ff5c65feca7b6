"""WatcherManager: fan-out of package revision changes to watchers (`cachetypes.WatcherManager`).

Where this sits: the repository cache (`pkg.cache.repocache`) calls `notify` for every
change it applies (writes through it and refresh diffs); the engine's watch registers a
`Watcher` with `watch` and streams what it yields to the API client. Better than Porch
(porch.md §6), where one stalled client stalled every watcher and the writer:

* `notify` never waits: it filters the event for every watcher and appends it to that
  watcher's bounded queue; each watcher is drained by its own consumer;
* a watcher whose queue is full is ended at once (its iteration stops with
  `WatchEndReason.OVERFLOW`, the client re-lists) and logged; ended watchers are removed
  immediately, so the registry never grows;
* filters (namespace, field and label selectors) are applied to every live event, and a
  MODIFIED that moves an object out of (into) a watcher's selection is delivered as
  DELETED (ADDED);
* every event gets a sequence number; a bounded history lets a watch resume from a number
  (older than the history: `ExpiredError`, the client re-lists). The sequence starts at 1,
  never 0: it is the collection resourceVersion of lists, and clients read "0" as "any".

Metrics (OpenTelemetry API, meter `pkg.cache`): `porch.packagerevision.watchers`, an
up-down counter of registered watchers, and `porch.packagerevision.watch.overflows`, a
counter of watchers ended because their client fell behind.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
from typing import Final

from opentelemetry import metrics

from api.porch import v1alpha1 as porchv1alpha1
from pkg.cache import cachetypes

__all__ = [
    "DEFAULT_HISTORY_SIZE",
    "DEFAULT_QUEUE_SIZE",
    "FIRST_RESOURCE_VERSION",
    "Watcher",
    "WatcherManager",
]

_log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE: Final = 1024
"""Events a watcher may have pending before it is ended (Porch buffered 64, then blocked)."""

DEFAULT_HISTORY_SIZE: Final = 4096
"""Events kept for watches that resume from a sequence number."""

FIRST_RESOURCE_VERSION: Final = 1
"""`current_resource_version()` before any event. Not 0: a list reporting resourceVersion
"0" would make a client's watch from it mean "any" (start from the current state) instead
of "after this list"; events are numbered from 2."""

_METER: Final = "pkg.cache"


@dataclasses.dataclass(frozen=True, slots=True)
class _Recorded:
    sequence: int
    type: cachetypes.EventType
    object: porchv1alpha1.PackageRevision
    old: porchv1alpha1.PackageRevision | None


def _translate(
    recorded: _Recorded, filter: cachetypes.PackageRevisionFilter
) -> cachetypes.WatchEvent | None:
    """The event as a watcher with `filter` sees it, or None when it does not concern it."""
    matches = filter.matches_object
    if recorded.type != "MODIFIED":
        if not matches(recorded.object):
            return None
        return cachetypes.WatchEvent(recorded.type, recorded.object, recorded.sequence)
    now = matches(recorded.object)
    # Without the old state we cannot know whether the watcher saw the object: a DELETED
    # for an object it never saw is harmless, a missed DELETED is not.
    was = matches(recorded.old) if recorded.old is not None else True
    if now:
        kind: cachetypes.EventType = "MODIFIED" if was else "ADDED"
    elif was:
        kind = "DELETED"
    else:
        return None
    return cachetypes.WatchEvent(kind, recorded.object, recorded.sequence)


class Watcher:
    """One registered watch (`cachetypes.Watcher`); created by `WatcherManager.watch`."""

    def __init__(
        self,
        manager: WatcherManager,
        filter: cachetypes.PackageRevisionFilter,
        queue_size: int,
        backlog: list[cachetypes.WatchEvent],
    ) -> None:
        self._manager = manager
        self._filter = filter
        self._queue: collections.deque[cachetypes.WatchEvent] = collections.deque(backlog)
        # Replayed events do not count against the live backlog.
        self._capacity = queue_size + len(backlog)
        self._wakeup = asyncio.Event()
        self._end_reason: cachetypes.WatchEndReason | None = None
        if backlog:
            self._wakeup.set()

    @property
    def filter(self) -> cachetypes.PackageRevisionFilter:
        return self._filter

    @property
    def end_reason(self) -> cachetypes.WatchEndReason | None:
        return self._end_reason

    @property
    def pending(self) -> int:
        """Events queued and not yet consumed."""
        return len(self._queue)

    def _offer(self, recorded: _Recorded) -> None:
        """Queue the event if it concerns this watcher; end the watcher when it is full.

        Called synchronously by `WatcherManager.notify`; never blocks.
        """
        if self._end_reason is not None:
            return
        event = _translate(recorded, self._filter)
        if event is None:
            return
        if len(self._queue) >= self._capacity:
            _log.warning(
                "watch %s fell %d events behind; ending it so that the client re-lists",
                self._describe(),
                len(self._queue),
            )
            self._queue.clear()
            self._end(cachetypes.WatchEndReason.OVERFLOW)
            self._manager._overflowed()
            return
        self._queue.append(event)
        self._wakeup.set()

    def _describe(self) -> str:
        f = self._filter
        parts = [f"namespace={f.namespace or '*'}"]
        parts.extend(
            f"{field}={value}"
            for field, value in (
                ("repository", f.repository),
                ("package", f.package_path),
                ("name", f.name),
            )
            if value is not None
        )
        return "(" + ", ".join(parts) + ")"

    def _end(self, reason: cachetypes.WatchEndReason) -> None:
        if self._end_reason is None:
            self._end_reason = reason
            self._manager._forget(self)
        self._wakeup.set()

    def __aiter__(self) -> Watcher:
        return self

    async def __anext__(self) -> cachetypes.WatchEvent:
        while True:
            if self._queue:
                return self._queue.popleft()
            if self._end_reason is not None:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    async def aclose(self) -> None:
        """Unregister now; events still queued are dropped."""
        self._queue.clear()
        self._end(cachetypes.WatchEndReason.CLOSED)

    async def __aenter__(self) -> Watcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class WatcherManager:
    """Registered watchers, the event sequence and its bounded history.

    Single event loop: `notify` and `watch` are synchronous and must be called from the
    loop the watchers are consumed on. `meter_provider` (default: the global one) receives
    the watcher metrics (module doc).
    """

    def __init__(
        self,
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        history_size: int = DEFAULT_HISTORY_SIZE,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        if queue_size < 1 or history_size < 1:
            raise ValueError("queue_size and history_size must be at least 1")
        self._queue_size = queue_size
        self._history: collections.deque[_Recorded] = collections.deque(maxlen=history_size)
        self._watchers: dict[int, Watcher] = {}
        self._sequence = FIRST_RESOURCE_VERSION
        # Every event after `_floor` is still in the history.
        self._floor = FIRST_RESOURCE_VERSION
        meter = metrics.get_meter(_METER, meter_provider=meter_provider)
        self._active = meter.create_up_down_counter(
            "porch.packagerevision.watchers",
            unit="{watcher}",
            description="Package revision watchers registered (live watches of packagerevisions).",
        )
        self._overflows = meter.create_counter(
            "porch.packagerevision.watch.overflows",
            unit="{watcher}",
            description=(
                "Package revision watchers ended because their client fell behind "
                "(its queue filled up; the client must re-list)."
            ),
        )

    def current_resource_version(self) -> int:
        return self._sequence

    def watcher_count(self) -> int:
        return len(self._watchers)

    def watch(
        self,
        filter: cachetypes.PackageRevisionFilter,
        *,
        queue_size: int | None = None,
        since: int | None = None,
    ) -> Watcher:
        backlog: list[cachetypes.WatchEvent] = []
        if since is not None and since < self._sequence:
            if since < self._floor:
                raise cachetypes.ExpiredError(f"too old resource version: {since} ({self._floor})")
            for recorded in self._history:
                if recorded.sequence > since:
                    event = _translate(recorded, filter)
                    if event is not None:
                        backlog.append(event)
        watcher = Watcher(self, filter, queue_size or self._queue_size, backlog)
        self._watchers[id(watcher)] = watcher
        self._active.add(1)
        return watcher

    def notify(
        self,
        event_type: cachetypes.EventType,
        obj: porchv1alpha1.PackageRevision,
        *,
        old: porchv1alpha1.PackageRevision | None = None,
    ) -> int:
        self._sequence += 1
        recorded = _Recorded(self._sequence, event_type, obj, old)
        if len(self._history) == self._history.maxlen:
            self._floor = self._history[0].sequence
        self._history.append(recorded)
        # A copy: an overflowing watcher removes itself while we iterate.
        for watcher in list(self._watchers.values()):
            watcher._offer(recorded)
        return recorded.sequence

    def close(self) -> None:
        """End every watcher (server shutdown); their iterations stop."""
        for watcher in list(self._watchers.values()):
            watcher._end(cachetypes.WatchEndReason.SHUTDOWN)

    def _forget(self, watcher: Watcher) -> None:
        if self._watchers.pop(id(watcher), None) is not None:
            self._active.add(-1)

    def _overflowed(self) -> None:
        self._overflows.add(1)
