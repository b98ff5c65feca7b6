"""`while` loops for starlark-pyo3, which reserves the keyword.

Where it sits: used by `pkg.kpt.fn.builtins.starlark` before it parses a script. The catalog's
starlark function enables Go starlark's `while` statement (resolve.AllowRecursion), but the
Rust interpreter behind starlark-pyo3 rejects `while` outright. Each `while COND:` is rewritten
into a loop the interpreter has:

    for _while_loop in range(2147483647):
        if not (COND): break
        BODY

The rewrite adds lines, so it returns, for every line of the new text, the line of the original
script it came from; syntax errors are reported at original positions with it.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass

_LOOP_HEADER = "for _while_loop in range(2147483647):"
_LINE_STARTS = frozenset({tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT})


@dataclass(frozen=True)
class Rewritten:
    """The script to run and, per line of it (0-based), the 1-based original line."""

    source: str
    origin: list[int]


@dataclass(frozen=True)
class _While:
    line: int  # 1-based line of the keyword
    col: int  # column of the keyword
    cond: str  # the condition's text
    colon_line: int
    colon_end: int  # column after the ':'


def _find_whiles(source: str) -> list[_While]:
    tokens: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            tokens.append(token)
    except (tokenize.TokenError, SyntaxError):
        # a script with a syntax error further down: rewrite what came before it, the
        # interpreter then reports the error itself
        pass
    lines = source.splitlines(keepends=True)
    found = []
    previous = tokenize.NEWLINE
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NAME and tok.string == "while" and previous in _LINE_STARTS:
            depth = 0
            for end in tokens[i + 1 :]:
                if end.type == tokenize.OP and end.string in "([{":
                    depth += 1
                elif end.type == tokenize.OP and end.string in ")]}":
                    depth -= 1
                elif end.type == tokenize.OP and end.string == ":" and depth == 0:
                    cond = _slice(lines, tok.end, end.start).strip()
                    found.append(_While(tok.start[0], tok.start[1], cond, *end.end))
                    break
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            previous = tok.type
    return found


def _slice(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    (sl, sc), (el, ec) = start, end
    if sl == el:
        return lines[sl - 1][sc:ec]
    parts = [lines[sl - 1][sc:], *lines[sl : el - 1], lines[el - 1][:ec]]
    return "".join(parts)


def rewrite_while(source: str) -> Rewritten:
    """The script with its `while` loops rewritten (unchanged when it has none)."""
    lines = source.split("\n")
    origin = list(range(1, len(lines) + 1))
    whiles = _find_whiles(source) if "while" in source else []  # cheap test first
    if not whiles:
        return Rewritten(source, origin)
    # bottom-up, so the line numbers of the loops still to do stay valid
    for loop in sorted(whiles, key=lambda w: (w.line, w.col), reverse=True):
        first, last = loop.line - 1, loop.colon_line - 1
        indent = lines[first][: loop.col]
        rest = lines[last][loop.colon_end :]
        header = indent + _LOOP_HEADER
        body_start = rest.strip()
        if body_start and not body_start.startswith("#"):
            # `while cond: stmt` on one line
            inner = indent + "    "
            new = [header, f"{inner}if not ({loop.cond}): break", inner + body_start]
        else:
            body_indent = _body_indent(lines, last + 1, indent)
            new = [header + rest, f"{body_indent}if not ({loop.cond}): break"]
        new_text = "\n".join(new).split("\n")
        lines[first : last + 1] = new_text
        origin[first : last + 1] = [loop.line] * len(new_text)
    return Rewritten("\n".join(lines), origin)


def _body_indent(lines: list[str], start: int, header_indent: str) -> str:
    for line in lines[start:]:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return line[: len(line) - len(line.lstrip())]
    return header_indent + "    "
