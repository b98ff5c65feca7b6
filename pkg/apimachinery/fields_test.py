"""Field selectors: parsing with Go's escaping rules, matching, printing and errors."""

from __future__ import annotations

import pytest

from pkg.apimachinery import errors, fields, selection


@pytest.mark.parametrize(
    ("text", "printed", "terms"),
    [
        pytest.param("", "", [], id="empty"),
        pytest.param(",,", "", [], id="only-commas"),
        pytest.param(
            "metadata.name=repo-abc",
            "metadata.name=repo-abc",
            [("metadata.name", "=", "repo-abc")],
            id="equals",
        ),
        pytest.param(
            "metadata.name==repo-abc",
            "metadata.name=repo-abc",
            [("metadata.name", "=", "repo-abc")],
            id="double-equals-reads-as-equals",
        ),
        pytest.param(
            "spec.lifecycle!=Published",
            "spec.lifecycle!=Published",
            [("spec.lifecycle", "!=", "Published")],
            id="not-equals",
        ),
        pytest.param(
            "spec.lifecycle=Published,metadata.namespace=default",
            "metadata.namespace=default,spec.lifecycle=Published",
            [("metadata.namespace", "=", "default"), ("spec.lifecycle", "=", "Published")],
            id="sorted-terms",
        ),
        pytest.param("a=", "a=", [("a", "=", "")], id="empty-value"),
        pytest.param(
            "a=x\\,y\\=z\\\\",
            "a=x\\,y\\=z\\\\",
            [("a", "=", "x,y=z\\")],
            id="escapes",
        ),
        pytest.param("a= b", "a= b", [("a", "=", " b")], id="spaces-are-data"),
    ],
)
def test_parse_and_print(text: str, printed: str, terms: list[tuple[str, str, str]]) -> None:
    selector = fields.parse(text)
    assert str(selector) == printed
    assert [(r.field, str(r.operator), r.value) for r in selector.requirements()] == terms
    assert fields.parse(str(selector)) == selector


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("x", "invalid selector: 'x'; can't understand 'x'", id="no-operator"),
        pytest.param(
            "a=b,junk", "invalid selector: 'a=b,junk'; can't understand 'junk'", id="bad-term"
        ),
        pytest.param(
            "a=b=c",
            "invalid field selector: unescaped character in value: 61",
            id="bare-equals-in-value",
        ),
        pytest.param(
            "a!==b",
            "invalid field selector: unescaped character in value: 61",
            id="not-equals-then-equals",
        ),
        pytest.param(
            "a=b\\x", "invalid field selector: invalid escape sequence: \\x", id="bad-escape"
        ),
        pytest.param(
            "a=b\\", "invalid field selector: invalid escape sequence: \\", id="trailing-backslash"
        ),
    ],
)
def test_parse_errors_are_bad_requests_with_go_text(text: str, message: str) -> None:
    with pytest.raises(errors.StatusError) as info:
        fields.parse(text)
    assert (info.value.code, info.value.reason, str(info.value)) == (400, "BadRequest", message)


_OBJ = {"metadata.name": "repo-abc", "metadata.namespace": "default", "spec.lifecycle": ""}


@pytest.mark.parametrize(
    ("text", "want"),
    [
        pytest.param("", True, id="empty"),
        pytest.param("metadata.name=repo-abc", True, id="equals-hit"),
        pytest.param("metadata.name=other", False, id="equals-miss"),
        pytest.param("metadata.name!=other", True, id="not-equals-hit"),
        pytest.param("metadata.name!=repo-abc", False, id="not-equals-miss"),
        pytest.param("spec.lifecycle=", True, id="empty-value-matches-empty-field"),
        pytest.param("status.missing=", True, id="missing-field-reads-empty"),
        pytest.param("status.missing!=x", True, id="missing-field-not-equals"),
        pytest.param("metadata.name=repo-abc,metadata.namespace=other", False, id="and"),
    ],
)
def test_matches(text: str, want: bool) -> None:
    assert fields.parse(text).matches(_OBJ) is want


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        pytest.param("plain", "plain", id="plain"),
        pytest.param("a,b", "a\\,b", id="comma"),
        pytest.param("a=b", "a\\=b", id="equals"),
        pytest.param("a\\b", "a\\\\b", id="backslash"),
    ],
)
def test_escape_round_trip(value: str, escaped: str) -> None:
    assert fields.escape_value(value) == escaped
    assert fields.unescape_value(escaped) == value
    selector = fields.one_term_equal_selector("metadata.name", value)
    assert fields.parse(str(selector)).matches({"metadata.name": value})


def test_requires_exact_match() -> None:
    selector = fields.parse("metadata.name=x,spec.a!=y")
    assert selector.requires_exact_match("metadata.name") == "x"
    assert selector.requires_exact_match("spec.a") is None
    assert selector.requires_exact_match("other") is None


def test_transform_converts_field_labels_and_can_reject() -> None:
    def convert(name: str, value: str) -> tuple[str, str]:
        if name == "name":
            return "metadata.name", value
        if name == "drop":
            return "", ""
        if name.startswith("metadata."):
            return name, value
        raise errors.new_bad_request(f'"{name}" is not a known field selector')

    selector = fields.parse("name=x,drop=1").transform(convert)
    assert str(selector) == "metadata.name=x"
    with pytest.raises(errors.StatusError, match=r'"spec\.x" is not a known field selector'):
        fields.parse("spec.x=1").transform(convert)


def test_selector_constructors() -> None:
    assert str(fields.one_term_not_equal_selector("a", "b")) == "a!=b"
    assert str(fields.selector_from_set({"b": "2", "a": "1"})) == "a=1,b=2"
    assert fields.selector_from_set(None).empty()
    assert fields.everything().matches({"a": "b"}) and fields.everything().selectable
    nothing = fields.nothing()
    assert not nothing.matches({}) and not nothing.empty() and not nothing.selectable
    assert nothing.transform(lambda f, v: (f, v)) is nothing
    assert fields.parse("a=b").requirements() == (
        fields.Requirement("a", selection.Operator.EQUALS, "b"),
    )
