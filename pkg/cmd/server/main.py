"""Entry point of porch-server (console script and cmd/porch-server shim)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("porch-server: not implemented yet", file=sys.stderr)
    return 1
