"""Where the blocking calls to the cluster's review APIs run, and how their answers are kept.

Where this sits: :class:`pkg.apiserver.authentication.TokenReviewAuthenticator` and
:class:`pkg.apiserver.authorization.WebhookAuthorizer` post TokenReviews and
SubjectAccessReviews with the ``kubernetes`` client, which blocks (urllib3). They run here,
on threads of their own, not on asyncio's default executor: that one has only a few
threads (``min(32, cpus + 4)``) and renders packages, so a cluster that stops answering
(every review then waits for its timeout) would otherwise stall package work along with
authentication. :class:`AnswerCache` keeps the answers for a while (Go's webhook caches),
so a busy client is reviewed once per TTL, not once per request.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextvars
import functools
import time
from collections.abc import Callable, Hashable
from typing import Final, Generic, TypeVar

__all__ = ["MAX_CONCURRENT_REVIEWS", "AnswerCache", "run"]

MAX_CONCURRENT_REVIEWS: Final = 16
"""Reviews in flight at once; more wait for a thread (kube-apiserver answers in
milliseconds, so the limit only matters when it does not answer)."""

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@functools.cache
def _pool() -> concurrent.futures.ThreadPoolExecutor:
    # Created on first use, from the event loop's thread only (``run`` is a coroutine).
    return concurrent.futures.ThreadPoolExecutor(
        max_workers=MAX_CONCURRENT_REVIEWS, thread_name_prefix="porch-review"
    )


async def run(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` on a review thread (with the caller's context, for tracing)."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, fn, *args)
    return await asyncio.get_running_loop().run_in_executor(_pool(), call)


class AnswerCache(Generic[K, V]):
    """Review answers by key, each until its own TTL runs out; at most ``size`` of them,
    the least recently used dropped first. Use it from one event loop."""

    def __init__(self, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._size = size
        self._clock = clock
        self._entries: collections.OrderedDict[K, tuple[float, V]] = collections.OrderedDict()

    def get(self, key: K) -> V | None:
        """The answer kept for ``key``, None when there is none (or it expired)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: K, answer: V, ttl: float) -> None:
        """Keep ``answer`` for ``ttl`` seconds (not at all when ``ttl`` <= 0)."""
        if ttl <= 0:
            return
        self._entries[key] = (self._clock() + ttl, answer)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
