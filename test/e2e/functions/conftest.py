"""Pass-count summary of the KRM function conformance cases.

Prints one line per case family at the end of the run, e.g. `krm-functions: 60/65 passed`:
the cases of shared/conformance/krm-functions run through porch-py as kpt would run them
(`test_catalog_case`), and the same render cases with only the builtin function run over the
selected resources (`test_catalog_case_function_only`), which does not need the renderer.
"""

from __future__ import annotations

from collections import Counter

import pytest

_FAMILIES = {
    "test_catalog_case": "krm-functions",
    "test_catalog_case_function_only": "krm-functions (function only)",
}
_COUNTS: dict[str, Counter[str]] = {label: Counter() for label in _FAMILIES.values()}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    name = report.nodeid.rsplit("::", 1)[-1].split("[", 1)[0]
    label = _FAMILIES.get(name)
    if label is None:
        return
    counts = _COUNTS[label]
    if report.when == "call":
        counts["total"] += 1
        if report.passed and not hasattr(report, "wasxfail"):
            counts["passed"] += 1
    elif report.when == "setup" and report.skipped:
        counts["total"] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for label, counts in _COUNTS.items():
        if counts["total"]:
            terminalreporter.write_line(f"{label}: {counts['passed']}/{counts['total']} passed")
