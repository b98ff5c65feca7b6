"""Watch of ``packagerevisions``: the engine's watcher as a stream of REST watch events.

Where this sits: :meth:`pkg.registry.porch.packagerevision.PackageRevisionStorage.watch`
returns :func:`watch_package_revisions`; the API server (``pkg.apiserver.watch``) iterates
it, writes each event (as an object, a one-row Table or PartialObjectMetadata) and closes
it when the client goes or the timeout expires, which unregisters the watcher at once.

Resource versions: objects carry their git commit (plus their metadata version once metadata
changed) as ``metadata.resourceVersion`` (opaque); the collection resourceVersion of a list,
and of every BOOKMARK here, is the sequence number of the cache's WatcherManager, which
starts at 1, so a list never reports "0". So (kubernetes-api-contract.md §3.11):

* unset or ``"0"``: synthetic ADDED events for every matching revision, then live events
  (``sendInitialEvents=true`` does the same whatever the resourceVersion);
* a sequence number from a list or bookmark: the events after it, replayed from the
  manager's history, then live events; one older than the history is 410 Expired, so the
  client lists again;
* anything else (a commit id copied from an object, say) cannot be resumed from: 410
  Expired as well.

Field and label selectors apply to every event (the manager filters; an object that stops
matching arrives as DELETED). BOOKMARKs are sent only with ``allowWatchBookmarks=true``:
one after the initial events, annotated ``k8s.io/initial-events-end: "true"``, then one
every minute without events, carrying the current sequence number. A watcher that falls too
far behind is ended by the manager; the stream then ends and the client re-lists. Better
than Porch (porch.md §6): selectors are applied to live events, a resourceVersion is
honoured, and one slow client stalls nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Final

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import errors
from pkg.cache import cachetypes
from pkg.engine import engine
from pkg.registry.porch import fieldselector, packagecommon
from pkg.registry.rest import rest

__all__ = ["BOOKMARK_INTERVAL_SECONDS", "INITIAL_EVENTS_END", "watch_package_revisions"]

BOOKMARK_INTERVAL_SECONDS: Final = 60.0
"""How long a quiet watch that allows bookmarks waits before it sends one (as Porch)."""

INITIAL_EVENTS_END: Final = "k8s.io/initial-events-end"
"""Annotation of the BOOKMARK that ends the initial events."""

_SPAN: Final = "[START]::packageRevisions::Watch"


def _bookmark(resource_version: str, *, initial_end: bool = False) -> rest.WatchEvent:
    return rest.WatchEvent(
        "BOOKMARK",
        porchv1alpha1.PackageRevision(
            api_version=porchv1alpha1.API_VERSION,
            kind="PackageRevision",
            metadata=metav1.ObjectMeta(
                resource_version=resource_version,
                annotations={INITIAL_EVENTS_END: "true"} if initial_end else None,
            ),
        ),
    )


def _wants_initial_events(options: rest.ListOptions) -> bool:
    if options.send_initial_events is not None:
        return options.send_initial_events
    return options.resource_version in (None, "", "0")


def _key(obj: porchv1alpha1.PackageRevision) -> tuple[str, str]:
    meta = obj.metadata or metav1.ObjectMeta()
    return meta.namespace or "", meta.name or ""


async def watch_package_revisions(
    cad: engine.CaDEngine,
    ctx: rest.RequestContext,
    options: rest.ListOptions,
    *,
    bookmark_interval: float = BOOKMARK_INTERVAL_SECONDS,
) -> AsyncIterator[rest.WatchEvent]:
    """The watch stream of a ``packagerevisions`` request (module docstring).

    Raises before the first event: 400 for a bad selector, 410 Expired for a
    resourceVersion that cannot be resumed from.
    """
    info = porchv1alpha1.PACKAGE_REVISIONS
    initial: list[porchv1alpha1.PackageRevision] = []
    with packagecommon.operation(_SPAN, ctx, info):
        filter = fieldselector.package_revision_filter(options, ctx.namespace)
        ectx = packagecommon.engine_context(ctx)
        manager = cad.watcher_manager
        wants_initial = _wants_initial_events(options)
        if wants_initial:
            listed = await cad.list_package_revisions(ectx, filter)
            initial, start = listed.items, listed.resource_version
        else:
            start = options.resource_version or "0"
            if not start.isdigit():
                raise errors.new_resource_expired(
                    f"too old resource version: {start} ({manager.current_resource_version()})"
                )
        # Events after `start` that the manager still holds are queued first.
        watcher = cad.watch_package_revisions(ectx, filter, start)
        replayed_up_to = manager.current_resource_version()

    try:
        # A replayed event may show a state the initial list already did: skip those.
        listed_state = {_key(obj): obj for obj in initial}
        for obj in initial:
            yield rest.WatchEvent("ADDED", obj)
        if wants_initial and options.allow_watch_bookmarks:
            yield _bookmark(start, initial_end=True)
        async for event in _events(watcher, options, bookmark_interval, manager):
            if isinstance(event, rest.WatchEvent):
                yield event
                continue
            if (
                event.sequence <= replayed_up_to
                and event.type != "DELETED"
                and listed_state.pop(_key(event.object), None) == event.object
            ):
                continue
            yield rest.WatchEvent(event.type, event.object)
    finally:
        await watcher.aclose()


async def _events(
    watcher: cachetypes.Watcher,
    options: rest.ListOptions,
    bookmark_interval: float,
    manager: cachetypes.WatcherManager,
) -> AsyncIterator[cachetypes.WatchEvent | rest.WatchEvent]:
    """The watcher's events, with a BOOKMARK after every ``bookmark_interval`` seconds
    without one when bookmarks are allowed. Ends when the watcher ends."""
    pending: asyncio.Future[cachetypes.WatchEvent] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(watcher))
            timeout = bookmark_interval if options.allow_watch_bookmarks else None
            done, _ = await asyncio.wait({pending}, timeout=timeout)
            if not done:
                # Nothing is queued: every event up to now was delivered or filtered out.
                yield _bookmark(str(manager.current_resource_version()))
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield event
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
