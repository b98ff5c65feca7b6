"""Field paths and field errors read exactly as Kubernetes prints them."""

from __future__ import annotations

import pytest

from api.meta import v1 as metav1
from pkg.apimachinery import field


@pytest.mark.parametrize(
    ("path", "want"),
    [
        pytest.param(field.new_path("spec"), "spec", id="root"),
        pytest.param(field.new_path("spec", "tasks", "init"), "spec.tasks.init", id="more-names"),
        pytest.param(
            field.root("spec").child("tasks").index(0).child("init"),
            "spec.tasks[0].init",
            id="index",
        ),
        pytest.param(
            field.root("metadata").child("labels").key("kpt.dev/x"),
            "metadata.labels[kpt.dev/x]",
            id="key",
        ),
        pytest.param(field.root("a").index(1).index(2), "a[1][2]", id="nested-index"),
        pytest.param(field.root("a").child("b", "c"), "a.b.c", id="child-more-names"),
    ],
)
def test_path_renders_like_go(path: field.Path, want: str) -> None:
    assert str(path) == want


def test_paths_share_prefix_and_compare_by_text() -> None:
    spec = field.root("spec")
    first, second = spec.child("a"), spec.child("b")
    assert (str(first), str(second), str(spec)) == ("spec.a", "spec.b", "spec")
    assert spec.child("a") == first
    assert len({first, spec.child("a")}) == 1
    assert first.root() == spec


_P = field.root("spec").child("workspaceName")


@pytest.mark.parametrize(
    ("err", "want", "reason"),
    [
        pytest.param(
            field.invalid(_P, "a_b", "must be a valid DNS label"),
            'spec.workspaceName: Invalid value: "a_b": must be a valid DNS label',
            "FieldValueInvalid",
            id="invalid-string",
        ),
        pytest.param(
            field.required(_P, ""),
            "spec.workspaceName: Required value",
            "FieldValueRequired",
            id="required",
        ),
        pytest.param(
            field.required(_P, "needed for a draft"),
            "spec.workspaceName: Required value: needed for a draft",
            "FieldValueRequired",
            id="required-detail",
        ),
        pytest.param(
            field.not_supported(_P, "Done", ["Draft", "Published"]),
            'spec.workspaceName: Unsupported value: "Done": supported values: "Draft", "Published"',
            "FieldValueNotSupported",
            id="not-supported",
        ),
        pytest.param(
            field.not_supported(_P, "x", []),
            'spec.workspaceName: Unsupported value: "x"',
            "FieldValueNotSupported",
            id="not-supported-no-list",
        ),
        pytest.param(
            field.forbidden(_P, "may not be changed"),
            "spec.workspaceName: Forbidden: may not be changed",
            "FieldValueForbidden",
            id="forbidden",
        ),
        pytest.param(
            field.duplicate(_P, "v1"),
            'spec.workspaceName: Duplicate value: "v1"',
            "FieldValueDuplicate",
            id="duplicate",
        ),
        pytest.param(
            field.not_found(_P, "v9"),
            'spec.workspaceName: Not found: "v9"',
            "FieldValueNotFound",
            id="not-found",
        ),
        pytest.param(
            field.too_long(_P, "x" * 100, 63),
            "spec.workspaceName: Too long: may not be more than 63 bytes",
            "FieldValueTooLong",
            id="too-long",
        ),
        pytest.param(
            field.too_long(_P, "xx", 1),
            "spec.workspaceName: Too long: may not be more than 1 byte",
            "FieldValueTooLong",
            id="too-long-singular",
        ),
        pytest.param(
            field.too_long(_P, "xx", -1),
            "spec.workspaceName: Too long: value is too long",
            "FieldValueTooLong",
            id="too-long-no-limit",
        ),
        pytest.param(
            field.too_long_characters(_P, "xx", 1),
            "spec.workspaceName: Too long: may not be more than 1 character",
            "FieldValueTooLong",
            id="too-long-characters",
        ),
        pytest.param(
            field.too_short(_P, "x", 3),
            "spec.workspaceName: Too short: must be at least 3 characters",
            "FieldValueTooShort",
            id="too-short",
        ),
        pytest.param(
            field.too_many(_P, 5, 2),
            "spec.workspaceName: Too many: 5: must have at most 2 items",
            "FieldValueTooMany",
            id="too-many",
        ),
        pytest.param(
            field.too_many(_P, -1, 1),
            "spec.workspaceName: Too many: must have at most 1 item",
            "FieldValueTooMany",
            id="too-many-count-unknown",
        ),
        pytest.param(
            field.too_many(_P, 3, -1),
            "spec.workspaceName: Too many: 3: has too many items",
            "FieldValueTooMany",
            id="too-many-no-limit",
        ),
        pytest.param(
            field.internal_error(_P, RuntimeError("git exploded")),
            "spec.workspaceName: Internal error: git exploded",
            "InternalError",
            id="internal",
        ),
        pytest.param(
            field.type_invalid(_P, 12, "must be a string"),
            "spec.workspaceName: Invalid value: 12: must be a string",
            "FieldValueTypeInvalid",
            id="type-invalid",
        ),
        pytest.param(
            field.invalid(None, "a_", "bad"),
            '<nil>: Invalid value: "a_": bad',
            "FieldValueInvalid",
            id="nil-path",
        ),
    ],
)
def test_field_error_text_and_reason(err: field.FieldError, want: str, reason: str) -> None:
    assert str(err) == want
    assert err.body == want.split(": ", 1)[1]
    assert err.type == reason


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param(True, "true", id="bool"),
        pytest.param(False, "false", id="false"),
        pytest.param(42, "42", id="int"),
        pytest.param(-1.5, "-1.5", id="float"),
        pytest.param(1e6, "1e+06", id="float-exponent"),
        pytest.param('a "q"\n', '"a \\"q\\"\\n"', id="string-go-quoted"),
        pytest.param(None, "null", id="none"),
        pytest.param(["a", "b"], '["a","b"]', id="list-json"),
        pytest.param([], "[]", id="empty-list"),
        pytest.param({"b": 1, "a": [True]}, '{"a":[true],"b":1}', id="map-sorted-keys"),
        pytest.param(["<&>"], '["\\u003c\\u0026\\u003e"]', id="html-escaped-like-go"),
        pytest.param(
            metav1.OwnerReference(api_version="v1", kind="K", name="n", uid="u"),
            '{"apiVersion":"v1","kind":"K","name":"n","uid":"u"}',
            id="model-by-alias",
        ),
    ],
)
def test_bad_value_formatting(value: object, shown: str) -> None:
    assert field.invalid(_P, value, "").body == f"Invalid value: {shown}"


def test_omit_value_hides_the_value() -> None:
    err = field.FieldError(field.ErrorType.INVALID, "x", field.OMIT_VALUE, "no")
    assert str(err) == "x: Invalid value: no"


@pytest.mark.parametrize(
    ("errs", "want"),
    [
        pytest.param([], None, id="empty-is-none"),
        pytest.param(
            [field.required(field.root("a"))],
            "a: Required value",
            id="one-plain",
        ),
        pytest.param(
            [field.required(field.root("a")), field.forbidden(field.root("b"), "no")],
            "[a: Required value, b: Forbidden: no]",
            id="several-bracketed",
        ),
        pytest.param(
            [field.required(field.root("a")), field.required(field.root("a"))],
            "a: Required value",
            id="repeats-collapse",
        ),
        pytest.param(
            [
                field.required(field.root("a")),
                field.required(field.root("b")),
                field.required(field.root("a")),
            ],
            "[a: Required value, b: Required value]",
            id="repeats-dropped-order-kept",
        ),
    ],
)
def test_error_list_aggregate(errs: list[field.FieldError], want: str | None) -> None:
    assert field.ErrorList(errs).to_aggregate() == want


def test_error_list_filter_and_origin() -> None:
    errs = field.ErrorList(
        [
            field.required(field.root("a")),
            field.invalid(field.root("b"), 1, "bad").with_origin("minimum"),
        ]
    )
    kept = errs.filter(field.ErrorType.REQUIRED)
    assert [str(e) for e in kept] == ["b: Invalid value: 1: bad"]
    assert kept[0].origin == "minimum"
    assert isinstance(kept, field.ErrorList)
