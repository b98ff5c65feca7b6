"""Progress for porchctl's long operations, shown only on an interactive terminal.

Where this sits: ``rpkg clone`` wraps its (possibly long: the server fetches and renders
the upstream) create request in a :class:`Spinner`; ``repo sync`` walks its repositories
with a :class:`Bar`. Both draw on stderr and only when stdout is a TTY, so scripts,
pipes and the golden tests see exactly Porch's output; the line is erased before
anything else is printed.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from types import TracebackType
from typing import IO, Final

__all__ = ["Bar", "Spinner", "enabled"]

_FRAMES: Final = "|/-\\"
_INTERVAL: Final = 0.1


def enabled() -> bool:
    """Whether progress may be drawn: stdout is a terminal."""
    return sys.stdout.isatty()


class Spinner:
    """``<message> |`` turning until the block ends, with the elapsed seconds."""

    def __init__(self, message: str, stream: IO[str] | None = None) -> None:
        self.message = message
        self.stream = stream if stream is not None else sys.stderr
        self._active = enabled()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Spinner:
        if self._active:
            self._thread = threading.Thread(target=self._run, name="porchctl-spinner", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def _run(self) -> None:
        started = time.monotonic()
        for frame in itertools.cycle(_FRAMES):
            elapsed = int(time.monotonic() - started)
            self.stream.write(f"\r\x1b[K{self.message} {frame} {elapsed}s")
            self.stream.flush()
            if self._stop.wait(_INTERVAL):
                return


class Bar:
    """``<message> [####    ] 3/8`` advanced by :meth:`advance`."""

    def __init__(self, total: int, message: str, stream: IO[str] | None = None) -> None:
        self.total = total
        self.message = message
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self._active = enabled() and total > 1

    def __enter__(self) -> Bar:
        self._draw()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._clear()

    def advance(self) -> None:
        self.done += 1
        self._draw()

    def write(self, stream: IO[str], text: str) -> None:
        """Print a line without tearing the bar."""
        self._clear()
        stream.write(text)
        stream.flush()
        self._draw()

    def _draw(self) -> None:
        if not self._active:
            return
        width = 20
        filled = width * self.done // max(self.total, 1)
        bar = "#" * filled + " " * (width - filled)
        self.stream.write(f"\r\x1b[K{self.message} [{bar}] {self.done}/{self.total}")
        self.stream.flush()

    def _clear(self) -> None:
        if self._active:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
