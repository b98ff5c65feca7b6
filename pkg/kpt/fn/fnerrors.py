"""Errors a KRM function raises, shared by the function runtimes and the builtin functions.

Where it sits: the builtin functions (`pkg.kpt.fn.builtins`) raise `FunctionError` when they fail
the way a catalog function process fails (non-zero exit, text on stderr, result items in the output
ResourceList). The function runtimes (`pkg.kpt.fn.runtime`) turn it into a `FunctionRunResult`
with exit code 1, and the renderer (`pkg.kpt.render`) records it in the step's renderStatus
exactly as kpt records a failed container.

Exception tree::

    FunctionError          a function ran and failed (exit code 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["FunctionError"]


class FunctionError(Exception):
    """A KRM function failed.

    `stderr` is what the function process would have written to stderr (kpt stores it in the
    step's `stderr`), `results` are the result items of the output ResourceList (each a mapping
    with `message`, `severity`, `resourceRef`, `field`, `file`, `tags`), in order.
    """

    def __init__(self, stderr: str, results: Sequence[Any] = ()) -> None:
        super().__init__(stderr)
        self.stderr = stderr
        self.results: list[Any] = list(results)
