"""Entry point of porchctl (console script and cmd/porchctl shim)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("porchctl: not implemented yet", file=sys.stderr)
    return 1
