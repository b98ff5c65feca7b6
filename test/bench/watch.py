"""Workload 6: watch latency with many watchers, then with one more that never reads.

Where it sits: :mod:`test.bench.run` calls :func:`run` after the other server workloads.
``watchers`` streaming HTTPS connections watch all PackageRevisions of the namespace from
the current resourceVersion (as ``kubectl get -w`` does after its list). One writer then
changes a label of one published revision, ``writes`` times, one write at a time: after
each write's response it waits until every watcher has seen that change. The latency of a
watcher for a write is the time from the write's response arriving to the watcher's bytes
arriving (zero when the event came first: both arrive on the same event loop).

The second phase adds one connection that asks for a watch with every existing object as
initial events (no resourceVersion) on a socket with a 4 KiB receive buffer, and never
reads it, so the server's writes to it back up at once; a server whose fan-out waits for
the slowest watcher shows it in the others' latencies.

Each watcher is a bare asyncio protocol (:class:`WatchStream`) that stamps the arrival of
the write's sequence number in the raw bytes: with a hundred watchers on one client event
loop, an HTTP client library's per-event work would otherwise be most of the figure.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import re
import socket
import termios
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import httpx

from test.bench import client, stats

__all__ = [
    "SEQ_LABEL",
    "Outcome",
    "StalledWatch",
    "Tally",
    "WatchStream",
    "latencies_ms",
    "run",
]

SEQ_LABEL: Final = "bench.porch.kpt.dev/seq"
_SEQ_RE: Final = re.compile(rb'"bench\.porch\.kpt\.dev/seq"\s*:\s*"(\d+)"')
_EVENT_TIMEOUT: Final = 10.0
_STALLED_RCVBUF: Final = 4096


def latencies_ms(responded: dict[int, float], seen: Sequence[dict[int, float]]) -> list[float]:
    """Per watcher and write, ms from the write's response to the watcher's event (>= 0);
    writes a watcher never saw are left out (the caller counts them)."""
    out: list[float] = []
    for arrivals in seen:
        for seq, at in arrivals.items():
            if seq in responded:
                out.append(max(0.0, (at - responded[seq]) * 1000))
    return out


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the figures cannot show: events that never came (per phase) and how much the
    server had sent the stalled watcher that it never read (0: it was not stalled)."""

    lost: tuple[int, int]
    stalled_unread_bytes: int


@dataclass
class Tally:
    """What the watchers saw: per watcher, sequence number -> when it was read."""

    watchers: int
    seen: list[dict[int, float]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.seen = [{} for _ in range(self.watchers)]

    def record(self, watcher: int, seq: int, at: float) -> None:
        """Watcher `watcher` read `seq` at `at` (the first time counts)."""
        self.seen[watcher].setdefault(seq, at)
        self.changed.set()

    def missing(self, seq: int) -> int:
        return sum(1 for arrivals in self.seen if seq not in arrivals)

    async def wait_all(self, seq: int, within: float) -> int:
        """Wait until every watcher saw `seq`; the number that did not within `within` s."""
        deadline = time.perf_counter() + within
        while (missing := self.missing(seq)) and time.perf_counter() < deadline:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), deadline - time.perf_counter())
            except TimeoutError:
                break
        return missing


def _watch_path(connection: client.Connection) -> str:
    return f"{client.PORCH}/namespaces/{connection.namespace}/packagerevisions"


class WatchStream(asyncio.Protocol):
    """One watch over its own TLS connection, as light as a client can be.

    Sends the HTTP/1.1 request itself, checks the status line, then only searches the raw
    bytes for sequence labels, each stamped with the time its bytes arrived (no HTTP,
    chunk or JSON decoding: those would add the client's own cost to every figure). A
    label split across two reads is still found: the end of each read is kept for the
    next.
    """

    _TAIL: Final = 128

    def __init__(self, request: bytes, index: int, tally: Tally) -> None:
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self._request = request
        self._index = index
        self._tally = tally
        self._head = b""
        self._tail = b""
        self._in_body = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self._in_body:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self._head.split(b"\r\n", 1)[0].split(b" ")
            if len(status) < 2 or status[1] != b"200":
                if not self.opened.done():
                    self.opened.set_exception(
                        client.ApiError(
                            "WATCH",
                            "packagerevisions",
                            int(status[1]) if len(status) > 1 else 0,
                            self._head[end + 4 :][:300].decode(errors="replace"),
                        )
                    )
                return
            self._in_body = True
            data, self._head = self._head[end + 4 :], b""
            if not self.opened.done():
                self.opened.set_result(None)
        text = self._tail + data
        for match in _SEQ_RE.finditer(text):
            self._tally.record(self._index, int(match.group(1)), now)
        self._tail = text[-self._TAIL :]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(
                ConnectionError(f"the server closed the watch before answering: {exc}")
            )

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _request(connection: client.Connection, resource_version: str | None) -> bytes:
    parsed = urllib.parse.urlsplit(connection.url)
    query = "watch=1" + (f"&resourceVersion={resource_version}" if resource_version else "")
    return (
        f"GET {_watch_path(connection)}?{query} HTTP/1.1\r\n"
        f"Host: {parsed.netloc}\r\n"
        "Accept: application/json\r\n"
        "User-Agent: porch-bench\r\n"
        "\r\n"
    ).encode("ascii")


def _address(connection: client.Connection) -> tuple[str, int]:
    parsed = urllib.parse.urlsplit(connection.url)
    return parsed.hostname or "127.0.0.1", parsed.port or 443


async def _open_stream(
    connection: client.Connection, resource_version: str, index: int, tally: Tally
) -> WatchStream:
    """Connect, send the watch request, return the stream (not waiting for the answer)."""
    host, port = _address(connection)
    _, protocol = await asyncio.get_running_loop().create_connection(
        lambda: WatchStream(_request(connection, resource_version), index, tally),
        host,
        port,
        ssl=connection.ssl_context,
        server_hostname=host,
    )
    return protocol


class StalledWatch:
    """A watch of every object from the beginning (initial events: no resourceVersion) on
    a blocking socket that is never read: what the server sends it stays in the kernel's
    buffers, then in the server's, as with a client that hangs."""

    def __init__(self, connection: client.Connection) -> None:
        host, port = _address(connection)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Before connecting, so the window the server sees is small from the start.
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _STALLED_RCVBUF)
        raw.settimeout(10)
        raw.connect((host, port))
        self._socket = connection.ssl_context.wrap_socket(raw, server_hostname=host)
        self._socket.sendall(_request(connection, None))

    def unread_bytes(self) -> int:
        """Bytes the kernel holds for this connection, unread (FIONREAD)."""
        buffer = array.array("i", [0])
        fcntl.ioctl(self._socket.fileno(), termios.FIONREAD, buffer)
        return buffer[0]

    def close(self) -> None:
        self._socket.close()


async def _all_opened(streams: Sequence[WatchStream], within: float) -> None:
    """Wait until every watch is answered with 200; raise the first failure."""
    async with asyncio.timeout(within):
        for stream in streams:
            await stream.opened


async def _writes(
    api: httpx.AsyncClient,
    path: str,
    target: client.JSON,
    sequence: range,
    tally: Tally,
    responded: dict[int, float],
) -> tuple[client.JSON, int]:
    """Write each sequence number into the target's label; wait for the watchers after each.
    Returns the target as last written and how many (watcher, write) events never came."""
    lost = 0
    for seq in sequence:
        metadata = dict(target["metadata"])
        metadata["labels"] = {**(metadata.get("labels") or {}), SEQ_LABEL: str(seq)}
        body = {**target, "metadata": metadata}
        response = await api.put(f"{path}/{metadata['name']}", json=body)
        responded[seq] = time.perf_counter()
        if response.status_code != 200:
            raise client.ApiError("PUT", path, response.status_code, response.text)
        target = response.json()
        lost += await tally.wait_all(seq, _EVENT_TIMEOUT)
    return target, lost


async def _run(
    connection: client.Connection,
    target_name: str,
    watchers: int,
    writes: int,
    results: stats.Results,
    budget_s: float,
) -> Outcome:
    path = _watch_path(connection)
    tally = Tally(watchers)
    lost = [0, 0]
    unread = 0
    streams: list[WatchStream] = []
    async with client.async_client(connection, 2) as writer:
        listed = await writer.get(path, params={"limit": "1"})
        listed.raise_for_status()
        resource_version = listed.json()["metadata"]["resourceVersion"]
        target_response = await writer.get(f"{path}/{target_name}")
        target_response.raise_for_status()
        target: client.JSON = target_response.json()
        try:
            for index in range(watchers):
                streams.append(await _open_stream(connection, resource_version, index, tally))
            await _all_opened(streams, 60)
            # A first write every watcher must see: only then is every watch in place.
            base = 1_000_000
            target, _ = await _writes(writer, path, target, range(base, base + 1), tally, {})
            phases = (
                ("watch.latency", range(writes)),
                ("watch.latency_with_stalled", range(writes, 2 * writes)),
            )
            stalled: StalledWatch | None = None
            try:
                for phase, (name, sequence) in enumerate(phases):
                    if phase == 1:
                        stalled = await asyncio.to_thread(StalledWatch, connection)
                        # Writes nobody measures, so the stalled socket is surely full.
                        target, _ = await _writes(
                            writer, path, target, range(2 * base, 2 * base + 10), tally, {}
                        )
                    responded: dict[int, float] = {}
                    deadline = time.perf_counter() + budget_s / 2
                    for seq in sequence:
                        target, missing = await _writes(
                            writer, path, target, range(seq, seq + 1), tally, responded
                        )
                        lost[phase] += missing
                        if time.perf_counter() > deadline:
                            break
                    for sample in latencies_ms(responded, tally.seen):
                        results.add_sample(name, sample)
                unread = stalled.unread_bytes() if stalled is not None else 0
            finally:
                if stalled is not None:
                    stalled.close()
        finally:
            for stream in streams:
                stream.close()
    return Outcome((lost[0], lost[1]), unread)


def run(
    connection: client.Connection,
    target_name: str,
    watchers: int,
    writes: int,
    results: stats.Results,
    budget_s: float,
) -> Outcome:
    """Both phases (module docstring) into ``watch.latency`` and
    ``watch.latency_with_stalled``."""
    return asyncio.run(_run(connection, target_name, watchers, writes, results, budget_s))
