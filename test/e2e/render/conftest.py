"""Prints the pass count of the kpt render conformance run (`kpt-fn-render: 82/87 passed`)."""

from __future__ import annotations

import pytest

_outcomes: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "test_kpt_fn_render[" not in report.nodeid:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome: str = report.outcome
        if hasattr(report, "wasxfail"):
            outcome = "xfailed"
        _outcomes[report.nodeid] = outcome


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _outcomes:
        return
    passed = sum(1 for outcome in _outcomes.values() if outcome == "passed")
    xfailed = sum(1 for outcome in _outcomes.values() if outcome == "xfailed")
    line = f"kpt-fn-render: {passed}/{len(_outcomes)} passed"
    if xfailed:
        line += f" ({xfailed} expected failures)"
    terminalreporter.write_line(line)
