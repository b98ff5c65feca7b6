"""Per-object try-locks: at most one write in flight per package revision (porch.md §3.1).

Where it sits: the engine (`pkg.engine.engine.CaDEngine`) takes the lock of a revision around
every create, update, approval, resources update and delete. A second request for the same
object does not queue: it fails at once with `InProgressError` (409), as Porch's `TryLock`.

Unlike Porch's per-package mutex map, which only grows, the table holds only locks that are
held: releasing removes the entry, so its size is the number of writes in flight. The engine
runs on one event loop, but the table is guarded by a thread lock so that it stays correct if
an embedding program calls it from several threads.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from pkg.engine import errors as engineerrors

__all__ = ["LockTable"]


class LockTable:
    """Names of objects currently being written."""

    def __init__(self) -> None:
        self._held: set[str] = set()
        self._mutex = threading.Lock()

    def __len__(self) -> int:
        return len(self._held)

    @contextlib.contextmanager
    def hold(self, key: str, message: str) -> Iterator[None]:
        """Hold `key` for the duration of the block; raise `InProgressError(message)` at once
        when another caller holds it."""
        with self._mutex:
            if key in self._held:
                raise engineerrors.InProgressError(message)
            self._held.add(key)
        try:
            yield
        finally:
            with self._mutex:
                self._held.discard(key)
