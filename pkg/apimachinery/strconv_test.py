"""Go value formatting: the texts Go's %q and %v produce, checked against known Go output."""

from __future__ import annotations

import pytest

from pkg.apimachinery import strconv


@pytest.mark.parametrize(
    ("value", "want"),
    [
        pytest.param("a_b", '"a_b"', id="plain"),
        pytest.param("", '""', id="empty"),
        pytest.param('say "hi"', '"say \\"hi\\""', id="double-quote"),
        pytest.param("back\\slash", '"back\\\\slash"', id="backslash"),
        pytest.param("a\nb\tc\r", '"a\\nb\\tc\\r"', id="c-escapes"),
        pytest.param("\a\b\f\v", '"\\a\\b\\f\\v"', id="rare-c-escapes"),
        pytest.param("\x00\x1f\x7f", '"\\x00\\x1f\\x7f"', id="control-bytes"),
        pytest.param("héllo wörld", '"héllo wörld"', id="printable-unicode-kept"),
        pytest.param("\u00a0", '"\\u00a0"', id="non-breaking-space"),
        pytest.param("\u200b", '"\\u200b"', id="zero-width-space"),
        pytest.param("\U000e0001", '"\\U000e0001"', id="astral-format-char"),
        pytest.param("it's", '"it\'s"', id="single-quote-kept"),
    ],
)
def test_quote_matches_go_strconv_quote(value: str, want: str) -> None:
    assert strconv.quote(value) == want


@pytest.mark.parametrize(
    ("value", "want"),
    [
        pytest.param(1.5, "1.5", id="simple"),
        pytest.param(0.0, "0", id="zero"),
        pytest.param(-2.0, "-2", id="negative-integral"),
        pytest.param(100000.0, "100000", id="below-e6"),
        pytest.param(1e6, "1e+06", id="e6-switches-to-exponent"),
        pytest.param(1234567.0, "1.234567e+06", id="exponent-with-digits"),
        pytest.param(0.0001, "0.0001", id="small-plain"),
        pytest.param(0.00001, "1e-05", id="small-exponent"),
        pytest.param(1e21, "1e+21", id="large"),
        pytest.param(1e100, "1e+100", id="three-digit-exponent"),
        pytest.param(0.1 + 0.2, "0.30000000000000004", id="shortest-round-trip"),
        pytest.param(float("nan"), "NaN", id="nan"),
        pytest.param(float("inf"), "+Inf", id="inf"),
        pytest.param(float("-inf"), "-Inf", id="minus-inf"),
    ],
)
def test_format_float_matches_go_v_verb(value: float, want: str) -> None:
    assert strconv.format_float(value) == want
