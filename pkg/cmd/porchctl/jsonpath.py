"""kubectl's JSONPath templates (``-o jsonpath=...``, ``-o custom-columns=...``) over jsonpath-ng.

Where this sits: porchctl's printers (:mod:`pkg.cmd.porchctl.printers`) call
:class:`Template` for ``-o jsonpath`` and :func:`find_results` for each custom column.

kubectl's dialect wraps expressions in braces and mixes them with text:
``{.metadata.name}``, ``{range .items[*]}{.metadata.name}{"\\n"}{end}``,
``{.status.conditions[?(@.type=='Ready')].status}``,
``{.metadata.labels.kpt\\.dev/latest-revision}``.
This module only splits the template into text, literals, ``range``/``end`` and expressions,
and rewrites each expression into jsonpath-ng's syntax (``$`` root, quoted names for keys
with dots or slashes); jsonpath-ng's extended parser evaluates them (filters, unions,
slices, recursive descent). Output follows kubectl: several results are separated by a
space, maps and lists print as compact JSON, missing keys print nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

from jsonpath_ng import exceptions as jsonpath_exceptions
from jsonpath_ng.ext import parser as jsonpath_ext

from pkg.apimachinery import gojson, strconv

__all__ = [
    "Template",
    "TemplateError",
    "find_results",
    "format_value",
    "go_sprint",
    "relaxed_expression",
]


class TemplateError(ValueError):
    """The template cannot be parsed; the message is kubectl's wording."""


# -- template structure ----------------------------------------------------------------


@dataclass
class _Text:
    text: str


@dataclass
class _Expr:
    source: str  # as written, for messages
    compiled: Any  # a jsonpath-ng expression


@dataclass
class _Range:
    expr: _Expr
    body: list[_Node] = field(default_factory=list)


_Node = _Text | _Expr | _Range


class Template:
    """A parsed kubectl JSONPath template; :meth:`execute` renders it for one object."""

    def __init__(self, template: str) -> None:
        self.source = template
        self._nodes = _parse(template)

    def execute(self, data: Any, *, as_json: bool = False) -> str:
        """The template rendered for ``data`` (a JSON object as Python data).

        ``as_json`` is kubectl's ``jsonpath-as-json``: each expression prints its results
        as an indented JSON array instead of space-separated text.
        """
        out: list[str] = []
        _run(self._nodes, data, data, out, as_json)
        return "".join(out)


def find_results(expression: str, data: Any) -> list[Any]:
    """The values one kubectl expression (``{.spec.revision}``) selects in ``data``."""
    nodes = _parse(expression)
    values: list[Any] = []
    for node in nodes:
        if isinstance(node, _Expr):
            values.extend(_find(node, data, data))
    return values


_RELAXED: Final = re.compile(r"^\{\.?([^{}]+)\}$|^\.?([^{}]+)$")


def relaxed_expression(path: str) -> str:
    """kubectl's ``RelaxedJSONPathExpression``: ``a.b``, ``.a.b``, ``{a.b}`` -> ``{.a.b}``."""
    if not path:
        return path
    match = _RELAXED.match(path)
    if match is None:
        raise TemplateError(
            "unexpected path string, expected a 'name1.name2' or '.name1.name2' or "
            "'{name1.name2}' or '{.name1.name2}'"
        )
    spec = match.group(1) or match.group(2)
    return "{." + spec + "}"


# -- parsing ---------------------------------------------------------------------------


def _parse(template: str) -> list[_Node]:
    root: list[_Node] = []
    stack: list[list[_Node]] = [root]
    ranges: list[_Range] = []
    pos = 0
    while pos < len(template):
        start = template.find("{", pos)
        if start < 0:
            stack[-1].append(_Text(template[pos:]))
            break
        if start > pos:
            stack[-1].append(_Text(template[pos:start]))
        end = _action_end(template, start)
        action = template[start + 1 : end].strip()
        pos = end + 1
        if action == "end":
            if not ranges:
                raise TemplateError("not in range, nothing to end")
            ranges.pop()
            stack.pop()
        elif action.startswith("range ") or action == "range":
            node = _Range(_compile(action[len("range") :].strip(), template))
            stack[-1].append(node)
            ranges.append(node)
            stack.append(node.body)
        elif action[:1] in ('"', "'") and action[-1:] == action[:1] and len(action) >= 2:
            stack[-1].append(_Text(_unquote(action, template)))
        elif action:
            stack[-1].append(_compile(action, template))
    if ranges:
        raise TemplateError(f"error parsing jsonpath {template}, unclosed range")
    return root


def _action_end(template: str, start: int) -> int:
    """Index of the ``}`` closing the action opened at ``start`` (quotes and brackets skip)."""
    quote = ""
    depth = 0
    for i in range(start + 1, len(template)):
        ch = template[i]
        if quote:
            if ch == "\\":
                continue
            if ch == quote and template[i - 1] != "\\":
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "}" and depth <= 0:
            return i
    raise TemplateError(f"error parsing jsonpath {template}, unclosed action")


def _unquote(literal: str, template: str) -> str:
    if literal[0] == "'":
        return literal[1:-1]
    try:
        value = json.loads(literal)
    except ValueError as err:
        raise TemplateError(f"error parsing jsonpath {template}, {err}") from err
    return str(value)


_SEGMENT: Final = re.compile(r"\.\.|\.|\[")


def _compile(expression: str, template: str) -> _Expr:
    try:
        return _Expr(expression, jsonpath_ext.parse(_to_jsonpath_ng(expression)))
    except (jsonpath_exceptions.JsonPathParserError, jsonpath_exceptions.JsonPathLexerError) as err:
        raise TemplateError(f"error parsing jsonpath {template}, {err}") from err
    except (ValueError, TypeError, AttributeError) as err:
        # jsonpath-ng reports some syntax errors as generic exceptions.
        raise TemplateError(f"error parsing jsonpath {template}, {err}") from err


def _to_jsonpath_ng(expression: str) -> str:
    """``.metadata.labels.kpt\\.dev/x`` -> ``$.metadata.labels.'kpt.dev/x'`` and the like."""
    expr = expression
    if expr.startswith(("$", "@")):
        expr = expr[1:]
    if not expr:
        return "$"
    out = ["$"]
    i = 0
    while i < len(expr):
        if expr.startswith("..", i):
            out.append("..")
            i += 2
        elif expr[i] == ".":
            out.append(".")
            i += 1
        elif expr[i] == "[":
            close = _bracket_end(expr, i)
            out.append(expr[i : close + 1])
            i = close + 1
            continue
        # A field name runs to the next unescaped '.' or '['.
        name: list[str] = []
        while i < len(expr) and expr[i] not in ".[":
            if expr[i] == "\\" and i + 1 < len(expr):
                name.append(expr[i + 1])
                i += 2
                continue
            name.append(expr[i])
            i += 1
        if name:
            text = "".join(name)
            if text == "*" or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", text):
                out.append(text)
            else:
                out.append("'" + text.replace("'", "\\'") + "'")
        elif out[-1] in (".", "..") and (i >= len(expr) or expr[i] == "["):
            # ".[0]" (kubectl allows a dot before a subscript): drop the dot.
            out.pop()
    return "".join(out)


def _bracket_end(expr: str, start: int) -> int:
    quote = ""
    depth = 0
    for i in range(start, len(expr)):
        ch = expr[i]
        if quote:
            if ch == quote and expr[i - 1] != "\\":
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
            if depth == 0 and ch == "]":
                return i
    raise TemplateError(f"unterminated subscript in {expr}")


# -- evaluation ------------------------------------------------------------------------


def _find(expr: _Expr, current: Any, root: Any) -> list[Any]:
    data = root if expr.source.startswith("$") else current
    return [match.value for match in expr.compiled.find(data)]


def _run(nodes: list[_Node], current: Any, root: Any, out: list[str], as_json: bool) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Expr):
            values = _find(node, current, root)
            if as_json:
                out.append(json.dumps(values, indent=4, ensure_ascii=False) + "\n")
            else:
                out.append(" ".join(format_value(v) for v in values))
        else:
            for item in _find(node.expr, current, root):
                _run(node.body, item, root, out, as_json)


def format_value(value: Any) -> str:
    """One JSONPath result as kubectl prints it: maps and lists as compact JSON."""
    if isinstance(value, (dict, list)):
        return gojson.marshal(value, sort_keys=True)
    return go_sprint(value)


def go_sprint(value: Any) -> str:
    """Go's ``fmt.Sprint`` (``%v``) of a decoded JSON value: ``map[a:1]``, ``[x y]``, ``true``."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return strconv.format_float(value)
    if isinstance(value, dict):
        inner = " ".join(f"{k}:{go_sprint(value[k])}" for k in sorted(value))
        return f"map[{inner}]"
    if isinstance(value, list):
        return "[" + " ".join(go_sprint(v) for v in value) + "]"
    return str(value)
