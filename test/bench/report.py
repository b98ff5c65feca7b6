"""The benchmark's output: the targets, the JSON document and the printed table.

Where it sits: :mod:`test.bench.run` hands the run's :class:`~test.bench.stats.Results` to
:func:`document` (the JSON written to ``_output/bench/results.json``) and :func:`table`
(what ``make bench`` prints). Targets are the goals of issue 7; a missed target is
reported, never failed. :func:`profile_summary` condenses a py-spy profile of the server to
the functions where the time goes.
"""

from __future__ import annotations

import datetime
import re
import subprocess
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from test.bench import stats, workloads

__all__ = [
    "FLOOR_OF_STEP",
    "PORCH_FIGURES_MS",
    "TARGETS",
    "Target",
    "add_ratios",
    "commit",
    "document",
    "figures_json",
    "profile_summary",
    "table",
]

_REPO: Final = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Target:
    """A goal: the figure's `field` must be at most `bound`."""

    name: str
    field: Literal["p50_ms", "p99_ms", "value"]
    bound: float
    goal: str

    def met(self, figure: stats.Summary | stats.Value | None) -> bool | None:
        """Whether `figure` meets the goal; None when it was not measured."""
        if figure is None:
            return None
        measured = figure.value if isinstance(figure, stats.Value) else getattr(figure, self.field)
        return bool(measured <= self.bound)


TARGETS: Final = (
    Target("seed.first_list_s", "value", 10.0, "Ready + first list of all revisions <= 10 s"),
    Target("seed.rss_mb", "value", 400.0, "RSS after the first list <= 400 MB"),
    Target("lifecycle.create", "p50_ms", 30.0, "p50 <= 30 ms"),
    Target("lifecycle.propose", "p50_ms", 15.0, "p50 <= 15 ms"),
    Target("lifecycle.approve", "p50_ms", 30.0, "p50 <= 30 ms"),
    Target("render.update", "p50_ms", 60.0, "PRR update + render p50 <= 60 ms"),
    Target("list.all_json", "p50_ms", 1000.0, "list of all revisions p50 <= 1.0 s"),
    Target("list.all_table", "p50_ms", 1000.0, "list of all revisions p50 <= 1.0 s"),
    Target("list.by_package", "p50_ms", 10.0, "filtered list p50 <= 10 ms"),
    Target("watch.latency", "p99_ms", 50.0, "p99 <= 50 ms"),
    Target("watch.latency_with_stalled", "p99_ms", 50.0, "p99 <= 50 ms with a watcher not reading"),
    Target("ratio.big_to_empty_approve", "value", 1.5, "approve big / empty <= 1.5x"),
    Target("ratio.approve_to_floor", "value", 10.0, "approve <= 10x its git floor"),
)

# Porch's published figures (test/performance README, porchctl-deployment-behaviours.md §7).
PORCH_FIGURES_MS: Final = {
    "lifecycle.create": 457.0,
    "lifecycle.propose": 561.0,
    "lifecycle.approve": 699.0,
    "lifecycle.delete": 3171.0,
}

# The git work each lifecycle step cannot avoid (see test/bench/floor.py).
FLOOR_OF_STEP: Final = {
    "create": "floor.create",
    "update_resources": "floor.create",
    "propose": "floor.ref_update",
    "approve": "floor.approve",
    "propose_delete": "floor.ref_update",
    "delete": "floor.ref_update",
}

Figures = Mapping[str, stats.Summary | stats.Value]


def _p50(figures: Figures, name: str) -> float | None:
    figure = figures.get(name)
    return figure.p50_ms if isinstance(figure, stats.Summary) else None


def add_ratios(results: stats.Results) -> None:
    """Derive ``ratio.approve_to_floor`` and ``ratio.big_to_empty_approve`` (of p50s)."""
    figures = results.figures()
    approve = _p50(figures, "lifecycle.approve")
    for name, other in (
        ("ratio.approve_to_floor", _p50(figures, "floor.approve")),
        ("ratio.big_to_empty_approve", _p50(figures, "lifecycle_empty.approve")),
    ):
        if approve is not None and other:
            results.set_value(name, approve / other, "x")


def commit(repo: Path = _REPO) -> str:
    """HEAD's hash, with ``-dirty`` when tracked files differ from it (``git describe``)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def figures_json(results: stats.Results) -> dict[str, dict[str, Any]]:
    """The ``results`` member of the JSON document."""
    figures = results.figures()
    return {name: figures[name].as_json() for name in sorted(figures)}


def document(
    scale: str,
    results: stats.Results,
    *,
    commit_id: str,
    machine_info: Mapping[str, Any],
    duration_s: float,
) -> dict[str, Any]:
    """The JSON document of issue 7 (plus ``date``, ``duration_s`` and ``errors``: which
    workload gave no figures and why)."""
    figures = results.figures()
    return {
        "scale": scale,
        "commit": commit_id,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "duration_s": round(duration_s, 1),
        "machine": dict(machine_info),
        "results": figures_json(results),
        "targets": {
            target.name: {"goal": target.goal, "met": target.met(figures.get(target.name))}
            for target in TARGETS
        },
        "errors": dict(results.errors),
    }


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _floor_ratio(name: str, figures: Figures) -> str:
    prefix, _, step = name.partition(".")
    if prefix not in ("lifecycle", "lifecycle_empty") or step not in FLOOR_OF_STEP:
        return ""
    mine, floor = _p50(figures, name), _p50(figures, FLOOR_OF_STEP[step])
    if mine is None or not floor:
        return ""
    return f"{mine / floor:.1f}x"


def table(document_: Mapping[str, Any]) -> str:
    """The figures as an aligned text table, with targets, ratio to the git floor and
    Porch's own figure where there is one."""
    results: Mapping[str, Mapping[str, Any]] = document_["results"]
    targets: Mapping[str, Mapping[str, Any]] = document_["targets"]
    figures: dict[str, stats.Summary | stats.Value] = {
        name: stats.Value(**body) if "value" in body else stats.Summary(**body)
        for name, body in results.items()
    }
    header = ("figure", "p50", "p95", "p99", "max", "n", "x floor", "Porch", "target", "")
    rows: list[tuple[str, ...]] = [header]
    for name in sorted(figures, key=_order):
        figure = figures[name]
        target = targets.get(name)
        verdict = "" if target is None else {True: "met", False: "MISSED", None: "-"}[target["met"]]
        if isinstance(figure, stats.Value):
            cells: tuple[str, ...] = (
                name,
                f"{figure.value:,.2f} {figure.unit}",
                "",
                "",
                "",
                "",
            )
        else:
            cells = (
                name,
                f"{_ms(figure.p50_ms)} ms",
                _ms(figure.p95_ms),
                _ms(figure.p99_ms),
                _ms(figure.max_ms),
                str(figure.n),
            )
        porch = PORCH_FIGURES_MS.get(name)
        rows.append(
            (
                *cells,
                _floor_ratio(name, figures),
                f"{porch:,.0f} ms" if porch else "",
                target["goal"] if target else "",
                verdict,
            )
        )
    for target_name, target in targets.items():
        if target_name not in figures:
            rows.append((target_name, "not measured", "", "", "", "", "", "", target["goal"], "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for row in rows:
        cells_out = [
            cell.ljust(widths[i]) if i in (0, 8, 9) else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells_out).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    machine_info = document_["machine"]
    lines.append("")
    lines.append(
        f"scale {document_['scale']}, commit {document_['commit']}, "
        f"{machine_info['usable_cores']} cores ({machine_info['cpu_model']}), "
        f"Python {machine_info['python']}, {document_['duration_s']} s; "
        f"other processes used {100 * machine_info.get('others_cpu_share', 0):.0f}% of the "
        "CPU meanwhile"
    )
    for workload, error in document_.get("errors", {}).items():
        lines.append(f"ERROR in {workload}: {error}")
    return "\n".join(lines)


_SECTIONS: Final = (
    "seed",
    "lifecycle",
    "lifecycle_empty",
    "render",
    "list",
    "concurrency",
    "watch",
    "floor",
    "ratio",
)


def _order(name: str) -> tuple[int, int, str]:
    section, _, step = name.partition(".")
    rank = _SECTIONS.index(section) if section in _SECTIONS else len(_SECTIONS)
    steps = workloads.LIFECYCLE_STEPS
    return rank, steps.index(step) if step in steps else len(steps), name


_FRAME_RE: Final = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
_PROJECT_DIRS: Final = ("pkg/", "api/")


def _function_of(frame: str) -> tuple[str, bool]:
    """``Class.method (file)`` without the line, and whether it is the project's code."""
    match = _FRAME_RE.match(frame)
    if match is None:
        return frame, False
    file = match.group("file")
    mine = file.startswith((*_PROJECT_DIRS, str(_REPO) + "/"))
    return f"{match.group('function')} ({file})", mine


def profile_summary(collapsed: str, top: int = 20) -> str:
    """Where the samples of a py-spy ``--format raw`` profile went (one line per stack:
    ``frame;frame;... count``, each frame ``function (file:line)``).

    Three views: the project's functions by samples with them on the stack (inclusive:
    where a fix can be made), every function by samples at the top of the stack (self),
    and the busiest lines.
    """
    inclusive: Counter[str] = Counter()
    self_function: Counter[str] = Counter()
    self_line: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = [f for f in stack.split(";") if f]
        if not frames or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        self_line[frames[-1]] += count
        self_function[_function_of(frames[-1])[0]] += count
        on_stack = {_function_of(frame) for frame in frames}
        for function, mine in on_stack:
            if mine:
                inclusive[function] += count
    if not total:
        return "no samples"

    def block(title: str, counter: Counter[str]) -> list[str]:
        return [
            "",
            title,
            *(f"  {100 * n / total:5.1f}%  {name}" for name, n in counter.most_common(top)),
        ]

    return "\n".join(
        [
            f"{total} samples",
            *block("the project's functions, inclusive (on the stack):", inclusive),
            *block("functions, self (top of the stack):", self_function),
            *block("lines, self:", self_line),
        ]
    )
