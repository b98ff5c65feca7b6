"""Watch streams: storage events to chunked, newline-delimited JSON (apiserver's ``serveWatch``).

Where this sits: the collection GET handler of :mod:`pkg.apiserver.handlers` hands a
``?watch=<true>`` request here after authorization. We open the storage's
``Watcher.watch`` iterator, answer ``200`` with ``Content-Type: application/json`` and
write one ``{"type": ..., "object": ...}`` line per event, each flushed as its own chunk
(the Python client splits on ``\\n``; kubernetes-api-contract.md §3.11).

* The stream ends cleanly (terminating chunk) after ``timeoutSeconds``, or, when the
  client gave none, after a random 30-60 minutes as kube-apiserver does; also when the
  server shuts down (``stopping`` is set).
* When the client disconnects, Sanic cancels the handler; the ``finally`` closes the
  storage iterator (``aclose``) at once, so the storage unregisters its watcher.
* Errors the storage raises before its first event (a bad selector, a resourceVersion
  too old to resume) are answered as an HTTP Status when they come within a moment of the
  request; later ones become an ``ERROR`` event carrying the Status, after which the
  stream ends (clients relist on 410).
* Objects are transformed per event as negotiated: one-row Tables (with the column
  definitions repeated), or PartialObjectMetadata. ``BOOKMARK`` events only reach the
  client if it sent ``allowWatchBookmarks=true`` (the storage honours that).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

from sanic import Request

from pkg.apimachinery import codec, errors
from pkg.apiserver import negotiation, params, responses
from pkg.registry.rest import rest

__all__ = ["FIRST_EVENT_GRACE_SECONDS", "event_body", "serve", "watch_duration"]

FIRST_EVENT_GRACE_SECONDS: Final = 0.1
"""How long to wait for the storage's first event (or error) before sending the headers."""


def watch_duration(options: rest.ListOptions, min_request_timeout: float) -> float:
    """Seconds the watch may run: ``timeoutSeconds``, else min..2*min at random (as kube)."""
    if options.timeout_seconds:
        return float(options.timeout_seconds)
    # Spreads reconnects of many watchers over time; nothing secret depends on it.
    return min_request_timeout * (1.0 + random.random())  # noqa: S311


def event_body(
    event: rest.WatchEvent,
    storage: rest.Storage,
    ctx: rest.RequestContext,
    output: negotiation.Output,
    query: params.Query,
) -> dict[str, Any]:
    """The ``{"type", "object"}`` of one event, its object transformed as negotiated."""
    obj: dict[str, Any]
    if event.type == "ERROR":
        obj = codec.to_dict(event.object)
    elif event.type == "BOOKMARK" and output.target is negotiation.Target.TABLE:
        # A bookmark only carries a resourceVersion: an empty Table holds it.
        meta = getattr(event.object, "metadata", None)
        rv = getattr(meta, "resource_version", None)
        obj = {
            "kind": "Table",
            "apiVersion": f"meta.k8s.io/{output.version}",
            "metadata": {"resourceVersion": rv} if rv else {},
            "columnDefinitions": [],
            "rows": [],
        }
    else:
        obj = responses.object_body(event.object, storage, ctx, output, query)
    return {"type": event.type, "object": obj}


def _line(body: dict[str, Any]) -> bytes:
    return codec.encode_json(body) + b"\n"


async def _cancel(task: asyncio.Future[Any] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def serve(
    request: Request,
    storage: rest.Watcher,
    *,
    ctx: rest.RequestContext,
    options: rest.ListOptions,
    output: negotiation.Output,
    query: params.Query,
    duration: float,
    stopping: asyncio.Event,
    on_stream_start: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run one watch for up to ``duration`` seconds (module docstring). Raises StatusError
    only before the response started; afterwards errors are sent as ERROR events."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration
    iterator: AsyncIterator[rest.WatchEvent] = storage.watch(ctx, options)
    first: asyncio.Future[rest.WatchEvent] = asyncio.ensure_future(anext(iterator))
    pending: asyncio.Future[rest.WatchEvent] | None = first
    stop_wait: asyncio.Future[Any] = asyncio.ensure_future(stopping.wait())
    try:
        # Give the storage a moment to fail with a proper HTTP status (or produce its first
        # event) before the 200 is committed.
        await asyncio.wait({first}, timeout=FIRST_EVENT_GRACE_SECONDS)
        if first.done() and not first.cancelled():
            exc = first.exception()
            if isinstance(exc, StopAsyncIteration):
                pending = None
            elif exc is not None:
                raise exc
        stream = await request.respond(
            status=200,
            content_type=negotiation.JSON,
            headers=responses.warning_headers(ctx.warnings),
        )
        # Send the status line and headers now: the client knows the watch is established
        # even if nothing happens for a long time.
        await stream.send(b"", end_stream=False)
        if on_stream_start is not None:
            await on_stream_start()
        while pending is not None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            waiters: set[asyncio.Future[Any]] = {pending, stop_wait}
            done, _ = await asyncio.wait(
                waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            if pending not in done:
                break  # timeout or server shutdown
            current, pending = pending, None
            try:
                event = current.result()
            except StopAsyncIteration:
                break
            except errors.StatusError as err:
                error_event = rest.WatchEvent("ERROR", err.status)
                await stream.send(_line(event_body(error_event, storage, ctx, output, query)))
                break
            await stream.send(_line(event_body(event, storage, ctx, output, query)))
            pending = asyncio.ensure_future(anext(iterator))
        await stream.eof()
    finally:
        await _cancel(pending)
        await _cancel(stop_wait)
        # Unregister the watcher now, not when the garbage collector finds the iterator.
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
