from __future__ import annotations

import json
from typing import Any

import pytest

from test.bench import report, run, stats, workloads

MACHINE = {
    "usable_cores": 2,
    "cpu_model": "Test CPU",
    "python": "3.11.7",
    "others_cpu_share": 0.25,
}


def _results() -> stats.Results:
    results = stats.Results()
    for ms in (40.0, 50.0, 60.0):
        results.add_sample("lifecycle.approve", ms)
        results.add_sample("lifecycle_empty.approve", ms / 2)
        results.add_sample("floor.approve", ms / 10)
        results.add_sample("lifecycle.create", ms / 5)
    results.set_value("seed.first_list_s", 12.5, "s")
    results.errors["watch"] = "TimeoutError: not every watch opened within 60 s"
    return results


def _document() -> dict[str, Any]:
    results = _results()
    report.add_ratios(results)
    return report.document(
        "small", results, commit_id="abc", machine_info=MACHINE, duration_s=12.34
    )


def test_ratios_compare_p50s() -> None:
    figures = _document()["results"]
    assert figures["ratio.approve_to_floor"] == {"value": 10.0, "unit": "x"}
    assert figures["ratio.big_to_empty_approve"] == {"value": 2.0, "unit": "x"}


def test_the_document_has_the_shape_of_issue_7_and_survives_json() -> None:
    document = json.loads(json.dumps(_document()))
    assert {"scale", "commit", "machine", "results", "targets"} <= document.keys()
    assert document["results"]["lifecycle.approve"] == {
        "p50_ms": 50.0,
        "p95_ms": 59.0,
        "p99_ms": 59.8,
        "max_ms": 60.0,
        "n": 3,
    }
    targets = document["targets"]
    assert {t.name for t in report.TARGETS} == targets.keys()
    assert targets["lifecycle.approve"] == {"goal": "p50 <= 30 ms", "met": False}
    assert targets["lifecycle.create"]["met"] is True
    assert targets["ratio.approve_to_floor"]["met"] is True  # 10x is within "<= 10x"
    assert targets["seed.first_list_s"]["met"] is False
    # Not measured is neither met nor missed.
    assert targets["watch.latency"]["met"] is None
    assert document["errors"] == {"watch": "TimeoutError: not every watch opened within 60 s"}


@pytest.mark.parametrize(
    ("name", "figure", "met"),
    [
        pytest.param("lifecycle.propose", stats.Summary(15.0, 90, 99, 100, 5), True, id="at-bound"),
        pytest.param("lifecycle.propose", stats.Summary(15.1, 15, 15, 15, 5), False, id="over"),
        pytest.param("watch.latency", stats.Summary(1, 2, 51, 60, 5), False, id="p99-over"),
        pytest.param("seed.rss_mb", stats.Value(399.0, "MB"), True, id="value"),
    ],
)
def test_a_target_reads_its_own_figure(
    name: str, figure: stats.Summary | stats.Value, met: bool
) -> None:
    target = next(t for t in report.TARGETS if t.name == name)
    assert target.met(figure) is met


def test_the_table_shows_targets_floors_porch_and_errors() -> None:
    text = report.table(_document())
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    approve = lines["lifecycle.approve"]
    assert "50.0 ms" in approve
    assert "10.0x" in approve  # its ratio to floor.approve
    assert "699 ms" in approve  # Porch's figure
    assert approve.rstrip().endswith("MISSED")
    assert lines["lifecycle.create"].rstrip().endswith("met")
    assert "not measured" in lines["watch.latency"]
    assert "ERROR in watch: TimeoutError" in text
    assert "other processes used 25% of the CPU" in text
    # Sections come in the order of a run, the lifecycle's steps in the lifecycle's order.
    names = [line.split()[0] for line in text.splitlines()[2:] if line.strip()]
    assert names.index("seed.first_list_s") < names.index("lifecycle.create")
    assert names.index("lifecycle.create") < names.index("lifecycle.approve")
    assert names.index("lifecycle.approve") < names.index("lifecycle_empty.approve")
    assert names.index("floor.approve") < names.index("ratio.approve_to_floor")


def test_the_worst_missed_target_names_the_workload_to_profile() -> None:
    figures = _document()["results"]
    # approve p50 50 ms vs 30 ms (1.67x) is worse than 12.5 s vs 10 s (1.25x).
    assert run.worst_workload(figures) == "lifecycle"
    figures["seed.first_list_s"] = {"value": 100.0, "unit": "s"}
    assert run.worst_workload(figures) == "seed"
    assert run.worst_workload({"lifecycle.create": figures["lifecycle.create"]}) is None


def test_a_profile_summary_names_the_projects_hot_functions() -> None:
    collapsed = "\n".join(
        [
            "main (pkg/cmd/server/main.py:10);list (pkg/externalrepo/git/git.py:700) 30",
            "main (pkg/cmd/server/main.py:10);list (pkg/externalrepo/git/git.py:701) 30",
            "main (pkg/cmd/server/main.py:10);loads (json/__init__.py:346) 40",
        ]
    )
    summary = report.profile_summary(collapsed)
    assert summary.startswith("100 samples")
    inclusive = summary.split("functions, self")[0]
    assert "100.0%  main (pkg/cmd/server/main.py)" in inclusive
    assert "60.0%  list (pkg/externalrepo/git/git.py)" in inclusive
    assert "json" not in inclusive  # not the project's code
    assert "40.0%  loads (json/__init__.py)" in summary
    assert report.profile_summary("") == "no samples"


def test_every_lifecycle_step_but_get_has_a_git_floor() -> None:
    assert set(report.FLOOR_OF_STEP) == set(workloads.LIFECYCLE_STEPS) - {"get"}
