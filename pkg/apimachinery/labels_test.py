"""Label selectors: every operator parsed, matched and printed as Kubernetes does, and every
kind of syntax error reported with Go's text."""

from __future__ import annotations

import pytest

from api.meta import v1 as metav1
from pkg.apimachinery import errors, field, labels, selection

_KEY_REGEX = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_VALUE_REGEX = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("   ", "", id="blank"),
        pytest.param("app=demo", "app=demo", id="equals"),
        pytest.param("app==demo", "app==demo", id="double-equals"),
        pytest.param("app!=demo", "app!=demo", id="not-equals"),
        pytest.param("app", "app", id="exists"),
        pytest.param("!app", "!app", id="does-not-exist"),
        pytest.param("app in (b,a)", "app in (a,b)", id="in-values-sorted"),
        pytest.param("app notin (x)", "app notin (x)", id="notin"),
        pytest.param("replicas>3", "replicas>3", id="greater-than"),
        pytest.param("replicas<3", "replicas<3", id="less-than"),
        pytest.param("app=", "app=", id="equals-empty-value"),
        pytest.param("app in ()", "app in ()", id="in-empty-set"),
        pytest.param("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()", id="go-doc"),
        pytest.param("app in (a,a)", "app in (a)", id="in-values-deduplicated"),
        pytest.param("z=1,a=2,m", "a=2,m,z=1", id="sorted-by-key"),
        pytest.param(" \tapp \n= demo ,\r!tier ", "app=demo,!tier", id="whitespace-around-tokens"),
        pytest.param("a in (in),b notin (notin)", "a in (in),b notin (notin)", id="keyword-values"),
        pytest.param(
            "kpt.dev/latest-revision=true",
            "kpt.dev/latest-revision=true",
            id="prefixed-key",
        ),
        pytest.param("\x00app=x", "", id="leading-nul-ends-input-like-go"),
    ],
)
def test_parse_and_print(text: str, printed: str) -> None:
    selector = labels.parse(text)
    assert str(selector) == printed
    # What the server prints parses back to the same selector.
    assert labels.parse(str(selector)) == selector


def test_parse_builds_requirements() -> None:
    selector = labels.parse("tier in (web,db),app=demo,!legacy")
    assert selector.requirements() == (
        labels.Requirement("app", selection.Operator.EQUALS, ("demo",)),
        labels.Requirement("legacy", selection.Operator.DOES_NOT_EXIST, ()),
        labels.Requirement("tier", selection.Operator.IN, ("db", "web")),
    )
    assert not selector.empty()
    assert labels.parse("").empty()


_OBJ = {"app": "demo", "tier": "web", "replicas": "5", "empty": "", "bogus": "five"}


@pytest.mark.parametrize(
    ("text", "want"),
    [
        pytest.param("", True, id="empty-matches-all"),
        pytest.param("app=demo", True, id="equals-hit"),
        pytest.param("app=other", False, id="equals-miss"),
        pytest.param("absent=x", False, id="equals-absent"),
        pytest.param("app==demo", True, id="double-equals"),
        pytest.param("app!=other", True, id="not-equals-hit"),
        pytest.param("app!=demo", False, id="not-equals-miss"),
        pytest.param("absent!=x", True, id="not-equals-absent-key"),
        pytest.param("app", True, id="exists"),
        pytest.param("absent", False, id="exists-missing"),
        pytest.param("!absent", True, id="does-not-exist"),
        pytest.param("!app", False, id="does-not-exist-present"),
        pytest.param("tier in (db,web)", True, id="in-hit"),
        pytest.param("tier in (db)", False, id="in-miss"),
        pytest.param("absent in (x)", False, id="in-absent"),
        pytest.param("tier notin (db)", True, id="notin-hit"),
        pytest.param("tier notin (web)", False, id="notin-miss"),
        pytest.param("absent notin (x)", True, id="notin-absent"),
        pytest.param("empty=", True, id="empty-value-equals"),
        pytest.param("empty in ()", True, id="empty-value-in"),
        pytest.param("replicas>4", True, id="gt-hit"),
        pytest.param("replicas>5", False, id="gt-equal-miss"),
        pytest.param("replicas<6", True, id="lt-hit"),
        pytest.param("replicas<50", True, id="lt-numeric-not-lexical"),
        pytest.param("bogus>1", False, id="gt-non-integer-label"),
        pytest.param("absent>1", False, id="gt-absent"),
        pytest.param("app=demo,tier=web", True, id="and-both"),
        pytest.param("app=demo,tier=db", False, id="and-one-fails"),
    ],
)
def test_matches(text: str, want: bool) -> None:
    assert labels.parse(text).matches(_OBJ) is want


def test_matches_object_without_labels() -> None:
    assert labels.parse("!app").matches(None)
    assert not labels.parse("app").matches(None)
    assert labels.everything().matches(None)


def test_gt_label_values_must_be_go_integers() -> None:
    selector = labels.parse("n>1")
    for value in ("2_000", " 5", "\u0665", "9223372036854775808", "1e3"):
        assert not selector.matches({"n": value}), value
    assert selector.matches({"n": "9223372036854775807"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a,", "found '', expected: identifier after ','", id="trailing-comma"),
        pytest.param(
            ",a", "found ',', expected: !, identifier, or 'end of string'", id="lead-comma"
        ),
        pytest.param("a=b c", "found 'c', expected: ',' or 'end of string'", id="missing-comma"),
        pytest.param(
            "a=b,=c", "found '=', expected: identifier after ','", id="missing-key-after-comma"
        ),
        pytest.param(
            "!",
            "unable to parse requirement: found '', expected: identifier",
            id="bang-alone",
        ),
        pytest.param(
            "a!b",
            "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt",
            id="bad-operator",
        ),
        pytest.param(
            "a in b", "unable to parse requirement: found 'b' expected: '('", id="in-without-paren"
        ),
        pytest.param(
            "a in (b",
            "unable to parse requirement: found '', expected: ',' or ')'",
            id="unclosed-paren",
        ),
        pytest.param(
            "a in (b c)",
            "unable to parse requirement: found 'c', expected: ',' or ')'",
            id="space-in-set",
        ),
        pytest.param(
            "a in (=)",
            "unable to parse requirement: found '=', expected: ',', ')' or identifier",
            id="operator-in-set",
        ),
        pytest.param(
            "a in (b,=)",
            "unable to parse requirement: found '=', expected: ',', or identifier",
            id="operator-after-comma",
        ),
        pytest.param(
            "a in (,b",
            "unable to parse requirement: found '', expected: ',' or ')'",
            id="unclosed-after-empty-value",
        ),
        pytest.param(
            "a=b\x00c",
            "found 'c', expected: ',' or 'end of string'",
            id="inner-nul-splits-tokens-like-go",
        ),
        pytest.param(
            "a<-3",
            'unable to parse requirement: values[0][a]: Invalid value: "-3": ' + _VALUE_REGEX,
            id="negative-number-is-not-a-label-value",
        ),
        pytest.param(
            "a=(", "unable to parse requirement: found '(', expected: identifier", id="paren-value"
        ),
        pytest.param(
            "a_=b",
            f'unable to parse requirement: <nil>: Invalid value: "a_": {_KEY_REGEX}',
            id="invalid-key-nil-path",
        ),
        pytest.param(
            "a=b_",
            'unable to parse requirement: values[0][a]: Invalid value: "b_": ' + _VALUE_REGEX,
            id="invalid-value",
        ),
        pytest.param(
            "a>b",
            "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' "
            "operators, the value must be an integer",
            id="gt-not-integer",
        ),
        pytest.param(
            "a in (b_,c_)",
            'unable to parse requirement: [values[0][a]: Invalid value: "b_": '
            + _VALUE_REGEX
            + ', values[1][a]: Invalid value: "c_": '
            + _VALUE_REGEX
            + "]",
            id="several-invalid-values-aggregated",
        ),
    ],
)
def test_parse_errors_are_bad_requests_with_go_text(text: str, message: str) -> None:
    with pytest.raises(errors.StatusError) as info:
        labels.parse(text)
    assert info.value.code == 400
    assert info.value.reason == "BadRequest"
    assert str(info.value) == message


def test_parse_error_path_prefix() -> None:
    with pytest.raises(errors.StatusError, match=r"^unable to parse requirement: spec\.selector: "):
        labels.parse("a_", path=field.root("spec", "selector"))


@pytest.mark.parametrize(
    ("key", "op", "values", "message"),
    [
        pytest.param(
            "a",
            "in",
            [],
            "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty",
            id="in-empty",
        ),
        pytest.param(
            "a",
            "=",
            ["x", "y"],
            'values: Invalid value: ["x","y"]: exact-match compatibility requires one single value',
            id="equals-two",
        ),
        pytest.param(
            "a",
            "exists",
            ["x"],
            'values: Invalid value: ["x"]: values set must be empty for exists and does not exist',
            id="exists-with-value",
        ),
        pytest.param(
            "a",
            "gt",
            ["1", "2"],
            "values: Invalid value: [\"1\",\"2\"]: for 'Gt', 'Lt' operators, exactly one value "
            "is required",
            id="gt-two",
        ),
        pytest.param(
            "a",
            "~",
            [],
            'operator: Unsupported value: "~": supported values: "in", "notin", "=", "==", '
            '"!=", "gt", "lt", "exists", "!"',
            id="unknown-operator",
        ),
        pytest.param(
            "a_",
            "exists",
            [],
            f'key: Invalid value: "a_": {_KEY_REGEX}',
            id="bad-key",
        ),
    ],
)
def test_new_requirement_validation(key: str, op: str, values: list[str], message: str) -> None:
    with pytest.raises(errors.StatusError) as info:
        labels.new_requirement(key, op, values)
    assert info.value.code == 400
    assert str(info.value) == message


def test_new_requirement_valid() -> None:
    req = labels.new_requirement("tier", "notin", ["b", "a"])
    assert str(req) == "tier notin (a,b)"
    assert req.values == ("b", "a")  # kept as given; printing sorts


def test_selector_from_set() -> None:
    selector = labels.selector_from_set({"b": "2", "a": "1"})
    assert str(selector) == "a=1,b=2"
    assert selector.matches({"a": "1", "b": "2", "c": "3"})
    assert not selector.matches({"a": "1"})
    assert labels.selector_from_set({}).empty()
    assert labels.selector_from_set(None) == labels.everything()


def test_validated_selector_from_set_rejects_bad_values() -> None:
    assert str(labels.validated_selector_from_set({"a": "1"})) == "a=1"
    with pytest.raises(errors.StatusError, match=r"^values\[0\]\[a\]: Invalid value: \"1 \""):
        labels.validated_selector_from_set({"a": "1 "})


def test_add_keeps_key_order_and_does_not_mutate() -> None:
    base = labels.parse("m=1")
    grown = base.add(labels.Requirement("a", selection.Operator.EXISTS))
    assert (str(base), str(grown)) == ("m=1", "a,m=1")


@pytest.mark.parametrize(
    ("text", "key", "want"),
    [
        pytest.param("kpt.dev/latest-revision=true", "kpt.dev/latest-revision", "true", id="eq"),
        pytest.param("a==x", "a", "x", id="double-eq"),
        pytest.param("a in (x)", "a", "x", id="in-one"),
        pytest.param("a in (x,y)", "a", None, id="in-two"),
        pytest.param("a!=x", "a", None, id="not-equals"),
        pytest.param("b=x", "a", None, id="other-key"),
    ],
)
def test_requires_exact_match(text: str, key: str, want: str | None) -> None:
    assert labels.parse(text).requires_exact_match(key) == want


def test_requirements_for_key_supports_push_down() -> None:
    selector = labels.parse("kpt.dev/latest-revision=true,app in (a,b),app!=c")
    pushed = selector.requirements_for_key("kpt.dev/latest-revision")
    assert [str(r) for r in pushed] == ["kpt.dev/latest-revision=true"]
    assert [str(r) for r in selector.requirements_for_key("app")] == ["app in (a,b)", "app!=c"]
    assert selector.requirements_for_key("none") == ()


def test_everything_and_nothing() -> None:
    assert labels.everything().empty() and labels.everything().selectable
    assert labels.everything().matches({"a": "b"})
    nothing = labels.nothing()
    assert not nothing.matches({}) and not nothing.empty() and not nothing.selectable
    assert nothing.add(labels.Requirement("a", selection.Operator.EXISTS)) is nothing
    assert str(nothing) == "" and nothing.requirements() == ()
    assert nothing != labels.everything()


@pytest.mark.parametrize(
    ("selector", "printed", "matching", "not_matching"),
    [
        pytest.param(None, None, None, {"a": "b"}, id="null-selects-nothing"),
        pytest.param(metav1.LabelSelector(), "", {"a": "b"}, None, id="empty-selects-all"),
        pytest.param(
            metav1.LabelSelector(match_labels={"b": "2", "a": "1"}),
            "a=1,b=2",
            {"a": "1", "b": "2"},
            {"a": "1"},
            id="match-labels",
        ),
        pytest.param(
            metav1.LabelSelector(
                match_labels={"app": "demo"},
                match_expressions=[
                    metav1.LabelSelectorRequirement(key="tier", operator="In", values=["web"]),
                    metav1.LabelSelectorRequirement(key="old", operator="DoesNotExist"),
                    metav1.LabelSelectorRequirement(key="env", operator="Exists"),
                    metav1.LabelSelectorRequirement(key="x", operator="NotIn", values=["1"]),
                ],
            ),
            "app=demo,env,!old,tier in (web),x notin (1)",
            {"app": "demo", "tier": "web", "env": "prod"},
            {"app": "demo", "tier": "web"},
            id="match-expressions",
        ),
    ],
)
def test_label_selector_as_selector(
    selector: metav1.LabelSelector | None,
    printed: str | None,
    matching: dict[str, str] | None,
    not_matching: dict[str, str] | None,
) -> None:
    converted = labels.label_selector_as_selector(selector)
    if printed is not None:
        assert str(converted) == printed
    if matching is not None:
        assert converted.matches(matching)
    if not_matching is not None:
        assert not converted.matches(not_matching)


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        pytest.param(
            metav1.LabelSelector(
                match_expressions=[metav1.LabelSelectorRequirement(key="a", operator="Equals")]
            ),
            '"Equals" is not a valid label selector operator',
            id="unknown-operator",
        ),
        pytest.param(
            metav1.LabelSelector(
                match_expressions=[metav1.LabelSelectorRequirement(key="a", operator="In")]
            ),
            "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
            id="in-without-values-is-null-like-go",
        ),
        pytest.param(
            metav1.LabelSelector(match_labels={"a b": "c"}),
            f'key: Invalid value: "a b": {_KEY_REGEX}',
            id="bad-key",
        ),
    ],
)
def test_label_selector_as_selector_errors(selector: metav1.LabelSelector, message: str) -> None:
    with pytest.raises(errors.StatusError) as info:
        labels.label_selector_as_selector(selector)
    assert (info.value.code, str(info.value)) == (400, message)
