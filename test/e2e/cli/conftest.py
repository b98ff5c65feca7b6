"""Prints the pass counts of the porchctl golden runs (`porchctl-golden: 9/12 passed`)."""

from __future__ import annotations

import pytest

_SUITES = {"test_porch_golden[": "porchctl-golden", "test_porchctl_cases[": "porchctl-cases"}
_outcomes: dict[str, dict[str, str]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    suite = next((name for marker, name in _SUITES.items() if marker in report.nodeid), None)
    if suite is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome: str = report.outcome
        if report.skipped and "unavailable:" in str(report.longrepr):
            outcome = "unavailable"
        _outcomes.setdefault(suite, {})[report.nodeid] = outcome


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for suite, outcomes in sorted(_outcomes.items()):
        passed = sum(1 for o in outcomes.values() if o == "passed")
        line = f"{suite}: {passed}/{len(outcomes)} passed"
        unavailable = sum(1 for o in outcomes.values() if o == "unavailable")
        failed = sum(1 for o in outcomes.values() if o == "failed")
        if unavailable:
            line += f", {unavailable} unavailable (container runtime)"
        if failed:
            line += f", {failed} failed"
        terminalreporter.write_line(line)
