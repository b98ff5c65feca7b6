"""Tests of the `while` rewrite that lets starlark-pyo3 run Go starlark's while loops."""

from __future__ import annotations

import pytest

from pkg.kpt.fn.builtins import _dialect, starlark

PROGRAMS = {
    "block-loop": ("x = 0\nwhile x < 3:\n  x += 1\nprint(x)\n", "3\n"),
    "nested-and-one-line-loops": (
        "x = 0\nwhile x < 3:\n    x += 1\n    while (x <\n           10): x += 2\nprint(x)\n",
        "11\n",
    ),
    "break-inside-function": (
        "def f():\n  n = 0\n  while True:  # forever\n    n += 1\n    if n > 4:\n"
        "      break\n  return n\nprint(f())\n",
        "5\n",
    ),
    "keyword-inside-a-string-is-left-alone": ('s = "while x: pass"\nprint(s)\n', "while x: pass\n"),
}


@pytest.mark.parametrize(("source", "printed"), PROGRAMS.values(), ids=PROGRAMS.keys())
def test_while_loops_run(source: str, printed: str) -> None:
    _, stderr = starlark.execute("t", source, {"items": []})
    assert stderr == printed


def test_lines_map_back_to_the_original_script() -> None:
    rewritten = _dialect.rewrite_while("a = 1\nwhile a:\n  a = 0\nb = 2\n")
    assert rewritten.source.split("\n")[1:3] == [
        "for _while_loop in range(2147483647):",
        "  if not (a): break",
    ]
    assert rewritten.origin == [1, 2, 2, 3, 4, 5]


def test_syntax_errors_after_a_loop_keep_their_original_line() -> None:
    with pytest.raises(starlark.StarlarkRunError) as err:
        starlark.execute("t", "x = 1\nwhile x:\n  x = 0\ny = 1 +\n", {})
    assert str(err.value) == "t:4:8: got newline, want primary expression"


def test_scripts_without_while_are_unchanged() -> None:
    source = "x = [i for i in range(3)]\n"
    assert _dialect.rewrite_while(source).source == source
