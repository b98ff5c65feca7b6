"""``python -m test.bench --scale small|full``: the benchmark ``make bench`` runs.

Prints the figures as a table with the targets of issue 7 and writes
``_output/bench/results.json`` (see :mod:`test.bench.run`). Exit status 1 only when a
workload failed to run; missing a speed target never fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from test.bench import run

_REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m test.bench", description=__doc__)
    parser.add_argument("--scale", choices=("small", "full"), default="full")
    parser.add_argument(
        "--output",
        type=Path,
        default=_REPO / "_output" / "bench",
        help="folder for results.json, the server log and profiles (default: %(default)s)",
    )
    parser.add_argument(
        "--profile",
        metavar="WORKLOAD",
        choices=("auto", *run.PROFILABLE),
        help="run WORKLOAD once more at the end under py-spy ($PY_SPY or on PATH); "
        "'auto': the workload of the worst missed target",
    )
    parser.add_argument(
        "--only",
        metavar="WORKLOAD[,WORKLOAD...]",
        type=lambda text: [w for w in text.split(",") if w],
        default=[],
        help=f"run only these workloads (and the seed they need): {', '.join(run.WORKLOADS)}",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the run's server data and repositories"
    )
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(run.WORKLOADS)
    if unknown:
        parser.error(f"--only: unknown workloads {sorted(unknown)}")
    return run.run(args.scale, args.output, profile=args.profile, keep=args.keep, only=args.only)


if __name__ == "__main__":
    sys.exit(main())
