"""How porchctl reports failures (Porch's exact texts) and reads Go durations."""

from __future__ import annotations

import io

import click
import pytest

from api.meta import v1 as metav1
from pkg.client import errors as clienterrors
from pkg.cmd.porchctl import cmdutil


def test_kpt_errors_have_porchs_trailing_space() -> None:
    assert cmdutil.render_error(cmdutil.KptError("boom")) == "Error: boom \n"


def test_api_errors_print_the_servers_message() -> None:
    err = clienterrors.error_for_status(
        metav1.Status(code=500, reason="InternalError", message="Internal error occurred: x")
    )
    assert cmdutil.render_error(err) == "Error: Internal error occurred: x \n"


def test_plain_errors_print_like_kubectl() -> None:
    assert cmdutil.render_error(cmdutil.PlainError("--show-kptfile requires x")) == (
        "error: --show-kptfile requires x\n"
    )
    assert cmdutil.render_error(click.UsageError("Missing argument 'SHELL'.")) == (
        "error: Missing argument 'SHELL'.\n"
    )


def test_stack_trace_comes_first_when_asked() -> None:
    try:
        raise cmdutil.KptError("boom")
    except cmdutil.KptError as err:
        text = cmdutil.render_error(err, stack_trace=True)
    assert text.startswith("Traceback")
    assert text.endswith("Error: boom \n")


def test_failures_report_each_name_then_all() -> None:
    err = io.StringIO()
    failures = cmdutil.Failures(err)
    failures.add("a", "cannot reject a with lifecycle 'Published'")
    failures.add("b", clienterrors.NotFoundError(metav1.Status(code=404, message='"b" not found')))
    assert err.getvalue() == (
        "a failed (cannot reject a with lifecycle 'Published')\nb failed (\"b\" not found)\n"
    )
    with pytest.raises(cmdutil.KptError) as caught:
        failures.raise_if_any()
    assert cmdutil.render_error(caught.value) == (
        "Error: errors:\n  cannot reject a with lifecycle 'Published'\n  \"b\" not found \n"
    )


def test_no_failures_no_error() -> None:
    cmdutil.Failures(io.StringIO()).raise_if_any()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10m", 600),
        ("2h30m", 9000),
        ("1.5h", 5400),
        ("-1m", -60),
        ("90s", 90),
        ("0", 0),
        ("300ms", 0.3),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert cmdutil.parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "m", "1x", "1m2", "tomorrow"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        cmdutil.parse_go_duration(text)
