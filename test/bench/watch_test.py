from __future__ import annotations

import asyncio

import pytest

from test.bench import client, watch

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


def _event(seq: int) -> bytes:
    line = (
        '{"type":"MODIFIED","object":{"metadata":{"name":"seed.pkg-0000.v1",'
        f'"labels":{{"{watch.SEQ_LABEL}":"{seq}"}}}}}}}}\n'
    ).encode()
    return f"{len(line):x}\r\n".encode() + line + b"\r\n"


async def test_a_stream_stamps_each_sequence_once_even_when_split_across_reads() -> None:
    tally = watch.Tally(1)
    stream = watch.WatchStream(b"", 0, tally)
    first, second = _event(1), _event(2)
    cut = first.index(b"seq") + 2
    stream.data_received(HEAD[:10])
    assert not stream.opened.done()
    stream.data_received(HEAD[10:] + first[:cut])
    assert stream.opened.done()
    assert tally.seen[0] == {}
    stream.data_received(first[cut:])
    stream.data_received(second)
    # Later reads keep the tail of earlier ones; a sequence is stamped only the first time.
    stamped = dict(tally.seen[0])
    stream.data_received(b"0\r\n\r\n")
    assert tally.seen[0] == stamped
    assert sorted(stamped) == [1, 2]
    assert stamped[1] <= stamped[2]


async def test_a_refused_watch_fails_with_the_status() -> None:
    stream = watch.WatchStream(b"", 0, watch.Tally(1))
    stream.data_received(b"HTTP/1.1 410 Gone\r\nContent-Length: 7\r\n\r\nexpired")
    with pytest.raises(client.ApiError, match="410"):
        await stream.opened


async def test_a_closed_connection_before_the_answer_fails_the_stream() -> None:
    stream = watch.WatchStream(b"", 0, watch.Tally(1))
    stream.connection_lost(None)
    with pytest.raises(ConnectionError):
        await stream.opened


async def test_waiting_for_all_watchers_counts_those_that_never_saw_the_write() -> None:
    tally = watch.Tally(3)
    tally.record(0, 7, 1.0)

    async def later() -> None:
        await asyncio.sleep(0.01)
        tally.record(1, 7, 2.0)

    task = asyncio.create_task(later())
    assert await tally.wait_all(7, 0.2) == 1
    await task
    tally.record(2, 7, 3.0)
    assert await tally.wait_all(7, 0.2) == 0


def test_latency_runs_from_the_response_and_never_below_zero() -> None:
    responded = {1: 10.0, 2: 20.0}
    seen = [{1: 10.005, 2: 19.999}, {1: 10.010}, {3: 30.0}]
    assert watch.latencies_ms(responded, seen) == pytest.approx([5.0, 0.0, 10.0])
