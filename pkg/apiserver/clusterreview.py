"""Where the blocking calls to the cluster's review APIs run.

Where this sits: :class:`pkg.apiserver.authentication.TokenReviewAuthenticator` and
:class:`pkg.apiserver.authorization.WebhookAuthorizer` post TokenReviews and
SubjectAccessReviews with the ``kubernetes`` client, which blocks (urllib3). They run here,
on threads of their own, not on asyncio's default executor: that one has only a few
threads (``min(32, cpus + 4)``) and renders packages, so a cluster that stops answering
(every review then waits for its timeout) would otherwise stall package work along with
authentication.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
from collections.abc import Callable
from typing import Final, TypeVar

__all__ = ["MAX_CONCURRENT_REVIEWS", "run"]

MAX_CONCURRENT_REVIEWS: Final = 16
"""Reviews in flight at once; more wait for a thread (kube-apiserver answers in
milliseconds, so the limit only matters when it does not answer)."""

T = TypeVar("T")


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
