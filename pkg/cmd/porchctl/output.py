"""Print what a read command fetched, with the printer ``-o`` chose.

Where this sits: ``rpkg get`` and ``repo get`` build an :class:`Output` before they fetch
(a bad ``-o`` fails without a request), then hand it Tables or objects. Printer errors are
reported like Porch reports them (``Error: <msg> ``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from api.meta import v1 as metav1
from pkg.client import errors as clienterrors
from pkg.cmd.porchctl import cmdutil, jsonpath, printers

__all__ = ["Output", "fetch_each"]

T = TypeVar("T")


def fetch_each(
    names: Sequence[str],
    fetch: Callable[[str], T],
    message: Callable[[clienterrors.ApiError, str], str] = lambda err, _name: str(err),
) -> list[T]:
    """``fetch`` every name; if any fail, one error for all of them, as kubectl's resource
    builder reports them (one error as itself, several as ``[a, b]``), printing nothing."""
    found: list[T] = []
    failures: list[str] = []
    for name in names:
        try:
            found.append(fetch(name))
        except clienterrors.ApiError as err:
            failures.append(message(err, name))
    if failures:
        text = failures[0] if len(failures) == 1 else "[" + ", ".join(failures) + "]"
        raise cmdutil.KptError(text)
    return found


class Output:
    """One invocation's printer; flushed after each batch."""

    def __init__(
        self, flags: printers.PrintFlags, *, kind_of: Callable[[Mapping[str, Any]], str]
    ) -> None:
        try:
            self.printer = printers.printer_for(flags, kind_of=kind_of, out=cmdutil.stdout())
        except (printers.UnsupportedFormatError, jsonpath.TemplateError) as err:
            raise cmdutil.KptError(str(err)) from err

    def tables(self, tables: Iterable[metav1.Table], *, kind: str = "") -> None:
        for table in tables:
            self.printer.print_table(table, kind)
        self.printer.flush()

    def objects(self, objects: Iterable[Mapping[str, Any]]) -> None:
        try:
            for obj in objects:
                self.printer.print_object(obj)
        except jsonpath.TemplateError as err:
            raise cmdutil.KptError(str(err)) from err
        finally:
            self.printer.flush()
