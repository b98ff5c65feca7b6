"""kubectl's JSONPath template dialect, evaluated through jsonpath-ng."""

from __future__ import annotations

from typing import Any

import pytest

from pkg.cmd.porchctl import jsonpath

DATA: dict[str, Any] = {
    "kind": "List",
    "items": [
        {
            "metadata": {"name": "a", "labels": {"kpt.dev/latest-revision": "true"}},
            "spec": {"revision": 1, "git": {"repo": "https://x/a.git"}},
        },
        {"metadata": {"name": "b"}, "spec": {"revision": -1, "oci": {"registry": "r.io"}}},
    ],
    "status": {
        "conditions": [{"type": "Ready", "status": "True"}, {"type": "X", "status": "False"}]
    },
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{.kind}", "List"),
        ("kind={.kind}!", "kind=List!"),
        ("{.items[*].metadata.name}", "a b"),
        ("{.items[0].spec.revision}", "1"),
        ("{.items[-1:].metadata.name}", "b"),
        ("{.items[0:1].metadata.name}", "a"),
        ('{range .items[*]}{.metadata.name}{"\\t"}{.spec.revision}{"\\n"}{end}', "a\t1\nb\t-1\n"),
        ("{.status.conditions[?(@.type=='Ready')].status}", "True"),
        ('{.status.conditions[?(@.type=="X")].status}', "False"),
        ("{.items[0].metadata.labels.kpt\\.dev/latest-revision}", "true"),
        ("{.items[*].spec['git','oci']['repo','registry']}", "https://x/a.git r.io"),
        ("{..name}", "a b"),
        ("{.items[1].metadata}", '{"name":"b"}'),
        ("{.missing.key}", ""),
        ("{range .items[*]}[{$.kind}]{end}", "[List][List]"),
        ("{'literal'}", "literal"),
    ],
)
def test_templates(template: str, expected: str) -> None:
    assert jsonpath.Template(template).execute(DATA) == expected


def test_as_json_prints_each_expression_as_an_array() -> None:
    assert jsonpath.Template("{.items[*].spec.revision}").execute(DATA, as_json=True) == (
        "[\n    1,\n    -1\n]\n"
    )


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{.kind", "unclosed action"),
        ("{range .items[*]}x", "unclosed range"),
        ("{end}", "not in range"),
        ("{.a[?(@.x==)]}", "error parsing jsonpath"),
    ],
)
def test_parse_errors(template: str, message: str) -> None:
    with pytest.raises(jsonpath.TemplateError, match=message):
        jsonpath.Template(template)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("metadata.name", "{.metadata.name}"),
        (".metadata.name", "{.metadata.name}"),
        ("{.metadata.name}", "{.metadata.name}"),
        ("{metadata.name}", "{.metadata.name}"),
    ],
)
def test_relaxed_expression(path: str, expected: str) -> None:
    assert jsonpath.relaxed_expression(path) == expected


def test_relaxed_expression_rejects_templates() -> None:
    with pytest.raises(jsonpath.TemplateError, match="unexpected path string"):
        jsonpath.relaxed_expression("{.a}{.b}")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("s", "s"),
        (True, "true"),
        (None, "<nil>"),
        (1, "1"),
        (1.5, "1.5"),
        (1e21, "1e+21"),
        ({"b": 1, "a": [1, "x"]}, "map[a:[1 x] b:1]"),
    ],
)
def test_go_sprint(value: Any, text: str) -> None:
    assert jsonpath.go_sprint(value) == text


def test_format_value_escapes_html_like_go() -> None:
    assert jsonpath.format_value({"a": "<b>&"}) == '{"a":"\\u003cb\\u003e\\u0026"}'
