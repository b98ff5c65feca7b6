"""A whole benchmark run at a tiny size against a real porch-server: every figure of issue 7
comes out, in the JSON and in the table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test.bench import report, run, seed, workloads

pytestmark = pytest.mark.e2e

TINY = workloads.Plan(
    shape=seed.SeedShape(packages=4, revisions=2),
    lifecycle_iterations=2,
    render_iterations=2,
    list_all_repeats=1,
    list_filtered_repeats=5,
    concurrency_clients=2,
    concurrency_iterations=1,
    watchers=3,
    watch_writes=2,
    floor_iterations=2,
)

ISSUE_7_NAMES = {
    "seed.ready_s",
    "seed.first_list_s",
    "seed.rss_mb",
    *(
        f"{prefix}.{step}"
        for prefix in ("lifecycle", "lifecycle_empty")
        for step in workloads.LIFECYCLE_STEPS
    ),
    "render.update",
    "list.all_json",
    "list.all_table",
    "list.by_package",
    "list.latest_label",
    "list.page500",
    "concurrency.ops_per_s",
    "watch.latency",
    "watch.latency_with_stalled",
    "floor.create",
    "floor.approve",
    "ratio.approve_to_floor",
    "ratio.big_to_empty_approve",
}


def test_a_tiny_run_measures_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run.run("small", tmp_path / "out", cache=tmp_path / "cache", plan=TINY)
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    assert document["errors"] == {}
    assert code == 0
    assert document["results"].keys() >= ISSUE_7_NAMES
    assert document["scale"] == "small"
    assert document["machine"]["usable_cores"] >= 1
    assert document["commit"]
    watched = document["results"]["watch.latency"]
    assert watched["n"] == TINY.watchers * TINY.watch_writes
    lifecycle = document["results"]["lifecycle.approve"]
    assert lifecycle["n"] == TINY.lifecycle_iterations
    assert document["targets"].keys() == {t.name for t in report.TARGETS}
    printed = capsys.readouterr().out
    assert "lifecycle.approve" in printed
    assert "results.json" in printed
    assert (tmp_path / "out" / "porch-server.log").exists()
