"""How porchctl commands fail, and small helpers they share.

Where this sits: every command raises one of the errors below (or lets a
:mod:`pkg.client.errors` error through); :func:`render_error` in ``main`` turns it into
exactly what Porch's porchctl prints, with exit code 1:

* :class:`KptError` (Porch wraps these with kpt's ``errors.E``) and client errors:
  ``Error: <message> `` -- note the trailing space before the newline;
* :class:`PlainError` (Porch returns a bare ``fmt.Errorf`` and kubectl's ``CheckErr``
  prints it): ``error: <message>``;
* a command that acted on several names collects each failure
  (``<name> failed (<err>)`` on stderr as it goes) and ends with
  ``Error: errors:\\n  <err1>\\n  <err2> ``: :class:`Failures`.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Sequence
from typing import IO, Final

import click

from pkg.client import errors as clienterrors

__all__ = [
    "Failures",
    "KptError",
    "PlainError",
    "join_errors",
    "parse_go_duration",
    "render_error",
]


class KptError(Exception):
    """A command failure Porch reports as ``Error: <message> ``."""


class PlainError(Exception):
    """A failure Porch reports through kubectl's CheckErr: ``error: <message>``."""


class Failures:
    """Collects per-name failures of a multi-argument command (propose, approve, del ...)."""

    def __init__(self, err: IO[str]) -> None:
        self._err = err
        self.messages: list[str] = []

    def add(self, name: str, error: BaseException | str) -> None:
        """Record a failure and report it at once as ``<name> failed (<err>)``."""
        message = str(error)
        self.messages.append(message)
        self._err.write(f"{name} failed ({message})\n")
        self._err.flush()

    def raise_if_any(self) -> None:
        if self.messages:
            raise KptError(join_errors(self.messages))


def join_errors(messages: Sequence[str]) -> str:
    """Porch's ``errors:\\n  a\\n  b`` aggregate text."""
    return "errors:\n  " + "\n  ".join(messages)


def render_error(err: BaseException, *, stack_trace: bool = False) -> str:
    """The stderr text porchctl prints for ``err`` (always exit code 1)."""
    trace = "".join(traceback.format_exception(err)) if stack_trace else ""
    if isinstance(err, PlainError | click.UsageError):
        message = _usage_message(err) if isinstance(err, click.UsageError) else str(err)
        if not message.startswith("error: "):
            message = f"error: {message}"
        return trace + message + ("" if message.endswith("\n") else "\n")
    if isinstance(err, KptError | clienterrors.ClientError):
        return f"{trace}Error: {err} \n"
    # Anything else is a porchctl bug; say what it was, the way Porch's runtime does.
    return f"{trace}Error: {type(err).__name__}: {err} \n"


def _usage_message(err: click.UsageError) -> str:
    # pflag's wording for unknown flags, which scripts may match on.
    if isinstance(err, click.NoSuchOption):
        name = err.option_name
        if name.startswith("--"):
            return f"unknown flag: {name}"
        return f"unknown shorthand flag: '{name[1:2]}' in {name}"
    return err.format_message()


_DURATION: Final = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS: Final = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_go_duration(text: str) -> float:
    """Seconds in a Go ``time.ParseDuration`` string (``90s``, ``-1m``, ``2h30m``, ``1.5h``)."""
    original = text
    sign = 1.0
    if text[:1] in ("+", "-"):
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    if not text:
        raise ValueError(f'time: invalid duration "{original}"')
    total = 0.0
    pos = 0
    while pos < len(text):
        match = _DURATION.match(text, pos)
        if match is None or match.group(1) in ("", "."):
            raise ValueError(f'time: invalid duration "{original}"')
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    return sign * total


def write(stream: IO[str], text: str) -> None:
    """Write and flush (progress and per-name results must show up as they happen)."""
    stream.write(text)
    stream.flush()


def stdout() -> IO[str]:
    return sys.stdout


def stderr() -> IO[str]:
    return sys.stderr
