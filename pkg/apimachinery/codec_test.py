"""The codec: what bytes clients get, and what happens to every kind of body they send."""

from __future__ import annotations

import datetime
import json
from typing import Annotated, Any, Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

from api.meta import v1 as metav1
from pkg.apimachinery import codec, errors, field

UTC = datetime.UTC
T0 = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


# A resource shaped like the generated API models (aliases, enums as Literal, constraints,
# the GVK extension), to exercise what the meta models alone do not have.
class WidgetTask(BaseModel):
    model_config = ConfigDict(validate_by_name=True)
    type: Literal["init", "clone"]
    config: dict[str, Any] | None = None


class WidgetSpec(BaseModel):
    model_config = ConfigDict(validate_by_name=True)
    lifecycle: Literal["Draft", "Published"] | None = None
    workspace_name: Annotated[
        str | None, Field(alias="workspaceName", max_length=8, pattern="^[a-z]+$")
    ] = None
    revision: Annotated[int | None, Field(ge=0)] = None
    tasks: Annotated[list[WidgetTask] | None, Field(max_length=2)] = None
    port: int | str | None = None
    conditions: list[metav1.Condition] | None = None
    selectors: dict[str, metav1.LabelSelector] | None = None


class Widget(BaseModel):
    model_config = ConfigDict(
        validate_by_name=True,
        json_schema_extra={
            "x-kubernetes-group-version-kind": [
                {"group": "example.dev", "version": "v1", "kind": "Widget"}
            ]
        },
    )
    api_version: Annotated[str | None, Field(alias="apiVersion")] = None
    kind: str | None = None
    metadata: metav1.ObjectMeta | None = None
    spec: WidgetSpec


def _widget(**spec: Any) -> bytes:
    return json.dumps(
        {"apiVersion": "example.dev/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}
    ).encode()


def _error(fn: Any, *args: Any, **kwargs: Any) -> errors.StatusError:
    with pytest.raises(errors.StatusError) as info:
        fn(*args, **kwargs)
    return info.value


# --- encoding -----------------------------------------------------------------------------


def test_encode_uses_aliases_and_drops_unset_fields() -> None:
    meta = metav1.ObjectMeta(
        name="repo-abc",
        namespace="default",
        resource_version="7",
        creation_timestamp=T0,
        owner_references=[
            metav1.OwnerReference(api_version="v1", kind="Repository", name="r", uid="u")
        ],
    )
    assert json.loads(codec.encode_json(meta)) == {
        "name": "repo-abc",
        "namespace": "default",
        "resourceVersion": "7",
        "creationTimestamp": "2024-05-01T12:00:00Z",
        "ownerReferences": [{"apiVersion": "v1", "kind": "Repository", "name": "r", "uid": "u"}],
    }
    assert codec.to_dict(metav1.ListMeta(continue_="tok")) == {"continue": "tok"}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(T0, "2024-05-01T12:00:00Z", id="whole-seconds"),
        pytest.param(T0.replace(microsecond=123456), "2024-05-01T12:00:00.123456Z", id="micros"),
    ],
)
def test_times_encode_rfc3339_utc(value: datetime.datetime, text: str) -> None:
    assert codec.to_dict(metav1.ObjectMeta(creation_timestamp=value)) == {"creationTimestamp": text}


def test_encode_json_of_a_mapping_with_models_is_a_watch_event() -> None:
    event = {"type": "ADDED", "object": metav1.ObjectMeta(name="x", generate_name=None)}
    assert codec.encode_json(event) == b'{"type":"ADDED","object":{"name":"x"}}'


def test_encode_json_bytes_are_compact_and_utf8() -> None:
    status = errors.new_not_found(errors.GroupResource("porch.kpt.dev", "packagerevisions"), "ü")
    body = codec.encode_json(status.status)
    compact = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False)
    assert body == compact.encode("utf-8")
    assert '"name":"ü"'.encode() in body


def test_encode_yaml_is_block_style_in_model_order() -> None:
    status = metav1.Status(
        kind="Status",
        api_version="v1",
        status="Failure",
        message="line one\nline two\n",
        reason="true",
        code=404,
        details=metav1.StatusDetails(name="x", causes=[metav1.StatusCause(field="a")]),
    )
    assert codec.encode_yaml(status).decode() == (
        "apiVersion: v1\n"
        "code: 404\n"
        "details:\n"
        "  causes:\n"
        "  - field: a\n"
        "  name: x\n"
        "kind: Status\n"
        "message: |\n"
        "  line one\n"
        "  line two\n"
        "reason: 'true'\n"
        "status: Failure\n"
    )


def test_encode_yaml_keeps_long_lines_and_has_no_anchors() -> None:
    shared = ["a", "b"]
    text = codec.encode_yaml({"one": shared, "two": shared, "long": "x" * 300}).decode()
    assert "&" not in text and "*" not in text
    assert ("long: " + "x" * 300 + "\n") in text


# --- round trips --------------------------------------------------------------------------


def test_status_round_trip_through_json_and_yaml() -> None:
    err = errors.new_invalid(
        errors.GroupKind("porch.kpt.dev", "PackageRevision"),
        "x",
        field.ErrorList([field.invalid(field.root("spec", "a"), 1, "bad")]),
    )
    for encode, content_type in (
        (codec.encode_json, codec.JSON_MEDIA_TYPE),
        (codec.encode_yaml, codec.YAML_MEDIA_TYPE),
    ):
        back = codec.decode(metav1.Status, encode(err.status), content_type=content_type)
        assert back == err.status
        assert errors.is_invalid(errors.from_status(back))


def test_object_meta_round_trip_with_timestamps() -> None:
    meta = metav1.ObjectMeta(
        name="n",
        labels={"a": "b"},
        annotations={"note": "multi\nline"},
        creation_timestamp=T0,
        deletion_timestamp=T0.replace(microsecond=5),
        managed_fields=[
            metav1.ManagedFieldsEntry(
                manager="kubectl",
                time=T0,
                fields_type="FieldsV1",
                fields_v1=metav1.FieldsV1.model_validate({"f:metadata": {"f:labels": {}}}),
            )
        ],
    )
    for encode, content_type in (
        (codec.encode_json, codec.JSON_MEDIA_TYPE),
        (codec.encode_yaml, codec.YAML_MEDIA_TYPE),
    ):
        body = encode(meta)
        back = codec.decode(metav1.ObjectMeta, body, content_type=content_type)
        assert back == meta
        assert encode(back) == body


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        pytest.param("2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z", id="offset-to-utc"),
        pytest.param("2024-05-01T12:00:00+00:00", "2024-05-01T12:00:00Z", id="zero-offset"),
        pytest.param("2024-05-01T12:00:00.5-01:00", "2024-05-01T13:00:00.500000Z", id="fraction"),
    ],
)
def test_decoded_times_are_normalised_to_utc(sent: str, stored: str) -> None:
    body = {
        "creationTimestamp": sent,
        "managedFields": [{"manager": "m", "time": sent}],
    }
    meta = codec.decode(metav1.ObjectMeta, json.dumps(body))
    assert codec.to_dict(meta) == {
        "creationTimestamp": stored,
        "managedFields": [{"manager": "m", "time": stored}],
    }
    micro = codec.decode(metav1.MicroTime, json.dumps(sent).encode())
    assert codec.encode_json(micro) == json.dumps(stored).encode()


def test_nested_times_in_lists_and_maps_are_normalised() -> None:
    cond = {"type": "Ready", "status": "True", "reason": "r", "message": "m"}
    widget = codec.decode(
        Widget,
        _widget(conditions=[{**cond, "lastTransitionTime": "2024-05-01T14:00:00+02:00"}]),
    )
    assert widget.spec.conditions is not None
    assert widget.spec.conditions[0].last_transition_time == T0
    assert widget.spec.conditions[0].last_transition_time.tzinfo is UTC


def test_decode_a_mapping() -> None:
    meta = codec.decode(
        metav1.ObjectMeta, {"name": "x", "creationTimestamp": "2024-05-01T12:00:00Z"}
    )
    assert (meta.name, meta.creation_timestamp) == ("x", T0)


# --- what decoding accepts ----------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("application/json", id="json"),
        pytest.param("application/json; charset=utf-8", id="json-with-params"),
        pytest.param("", id="missing-is-json"),
        pytest.param("application/merge-patch+json", id="merge-patch-result"),
        pytest.param("application/yaml", id="yaml"),
        pytest.param("application/apply-patch+yaml", id="apply-patch-yaml"),
    ],
)
def test_content_types(content_type: str) -> None:
    assert codec.decode(metav1.ObjectMeta, b'{"name": "x"}', content_type=content_type).name == "x"


def test_unknown_content_type_is_415() -> None:
    err = _error(codec.decode, metav1.ObjectMeta, b"name=x", content_type="text/plain")
    assert (err.code, err.reason, str(err)) == (
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml",
    )


def test_unknown_fields_and_snake_case_names_are_dropped_without_strict() -> None:
    meta = codec.decode(metav1.ObjectMeta, b'{"name": "x", "bogus": 1, "generate_name": "g-"}')
    assert codec.to_dict(meta) == {"name": "x"}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"null", codec.JSON_MEDIA_TYPE, id="json-null"),
        pytest.param(b"", codec.YAML_MEDIA_TYPE, id="empty-yaml"),
        pytest.param(b"# only a comment\n", codec.YAML_MEDIA_TYPE, id="comment-only-yaml"),
    ],
)
def test_null_body_is_the_zero_object(body: bytes, content_type: str) -> None:
    assert codec.to_dict(codec.decode(metav1.Status, body, content_type=content_type)) == {}


def test_yaml_keeps_timestamps_and_strings_as_the_schema_says() -> None:
    meta = codec.decode(
        metav1.ObjectMeta,
        "name: x\ncreationTimestamp: 2024-05-01T12:00:00Z\n"
        "annotations:\n  when: 2024-05-01T12:00:00Z\n  eq: =\n",
        content_type=codec.YAML_MEDIA_TYPE,
    )
    assert meta.creation_timestamp == T0
    assert meta.annotations == {"when": "2024-05-01T12:00:00Z", "eq": "="}


# --- malformed bodies ---------------------------------------------------------------------

_PREFIX = "couldn't get version/kind; json parse error: "


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"", _PREFIX + "unexpected end of JSON input", id="empty"),
        pytest.param(b'{"name": "a"', _PREFIX + "unexpected end of JSON input", id="truncated"),
        pytest.param(b'{"name": "a', _PREFIX + "unexpected end of JSON input", id="open-string"),
        pytest.param(
            b"{nope}",
            _PREFIX + "invalid character 'n' looking for beginning of object key string",
            id="unquoted-key",
        ),
        pytest.param(
            b"{'a': 1}",
            _PREFIX + "invalid character '\\'' looking for beginning of object key string",
            id="single-quotes",
        ),
        pytest.param(
            b'{"a" 1}', _PREFIX + "invalid character '1' after object key", id="missing-colon"
        ),
        pytest.param(
            b'{"a": 1 "b": 2}',
            _PREFIX + "invalid character '\"' after object key:value pair",
            id="missing-comma-object",
        ),
        pytest.param(
            b'{"a": [1 2]}',
            _PREFIX + "invalid character '2' after array element",
            id="missing-comma-array",
        ),
        pytest.param(
            b'{"a": 1} {}', _PREFIX + "invalid character '{' after top-level value", id="two-docs"
        ),
        pytest.param(
            b'{"a": x}',
            _PREFIX + "invalid character 'x' looking for beginning of value",
            id="bad-value",
        ),
        pytest.param(
            b'{"a": "\x01"}',
            _PREFIX + "invalid character '\\x01' in string literal",
            id="control-char",
        ),
        pytest.param(
            b'{"a": "\\q"}',
            _PREFIX + "invalid character 'q' in string escape code",
            id="bad-escape",
        ),
        pytest.param(
            b'{"a": "\\u12x4"}',
            _PREFIX + "invalid character 'x' in \\u hexadecimal character escape",
            id="bad-unicode-escape",
        ),
        pytest.param(b"[" * 100_000, _PREFIX + "exceeded max depth", id="too-deep"),
    ],
)
def test_malformed_json_is_400_with_go_text(body: bytes, message: str) -> None:
    for strict in (False, True):
        err = _error(codec.decode, metav1.ObjectMeta, body, strict=strict)
        assert (err.code, err.reason, str(err)) == (400, "BadRequest", message)


_BOMB = "\n".join(
    [
        'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
        *(
            f"{name}: &{name} [{','.join([f'*{prev}'] * 10)}]"
            for prev, name in zip("abcde", "bcdef", strict=True)
        ),
        "g: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]",
    ]
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            "name: [a\n",
            "error converting YAML to JSON: yaml: line 2: did not find expected ',' or ']'",
            id="unclosed-flow",
        ),
        pytest.param(
            "a: b: c\n",
            "error converting YAML to JSON: yaml: line 1: mapping values are not allowed in this "
            "context",
            id="mapping-in-scalar",
        ),
        pytest.param(
            _BOMB,
            "error converting YAML to JSON: yaml: document contains excessive aliasing",
            id="billion-laughs",
        ),
        pytest.param(
            "a: &a [*a]\n",
            "error converting YAML to JSON: yaml: line 1: found unconstructable recursive node",
            id="self-reference",
        ),
        pytest.param(
            "a: .nan\n",
            "error converting YAML to JSON: json: unsupported value: NaN or infinity",
            id="nan",
        ),
        pytest.param(
            "a: !!binary aGk=\n",
            "error converting YAML to JSON: unsupported value of type bytes",
            id="binary",
        ),
    ],
)
def test_malformed_yaml_is_400(body: str, message: str) -> None:
    err = _error(codec.decode, metav1.ObjectMeta, body, content_type=codec.YAML_MEDIA_TYPE)
    assert (err.code, str(err)) == (400, message)


# --- JSON type mismatches: 400 with Go's text ---------------------------------------------


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        pytest.param(
            metav1.ObjectMeta,
            b'{"generation": "1"}',
            "json: cannot unmarshal string into Go struct field ObjectMeta.generation of type "
            "int64",
            id="string-for-int",
        ),
        pytest.param(
            metav1.ObjectMeta,
            b'{"generation": 1.5}',
            "json: cannot unmarshal number 1.5 into Go struct field ObjectMeta.generation of "
            "type int64",
            id="fraction-for-int",
        ),
        pytest.param(
            metav1.ObjectMeta,
            b'{"name": 5}',
            "json: cannot unmarshal number into Go struct field ObjectMeta.name of type string",
            id="number-for-string",
        ),
        pytest.param(
            metav1.ObjectMeta,
            b'{"name": true}',
            "json: cannot unmarshal bool into Go struct field ObjectMeta.name of type string",
            id="bool-for-string",
        ),
        pytest.param(
            metav1.ObjectMeta,
            b'{"labels": {"a": 1}}',
            "json: cannot unmarshal number into Go struct field ObjectMeta.labels of type string",
            id="map-value",
        ),
        pytest.param(
            metav1.ObjectMeta,
            b'{"labels": ["a"]}',
            "json: cannot unmarshal array into Go struct field ObjectMeta.labels of type "
            "map[string]string",
            id="array-for-map",
        ),
        pytest.param(
            metav1.ObjectMeta,
            b'{"finalizers": "a"}',
            "json: cannot unmarshal string into Go struct field ObjectMeta.finalizers of type "
            "[]string",
            id="string-for-list",
        ),
        pytest.param(
            metav1.ObjectMeta,
            b'{"ownerReferences": [{"apiVersion": "v1", "kind": 1}]}',
            "json: cannot unmarshal number into Go struct field OwnerReference.ownerReferences"
            ".kind of type string",
            id="inside-list-of-objects",
        ),
        pytest.param(
            metav1.ObjectMeta,
            b'{"creationTimestamp": 5}',
            "json: cannot unmarshal number into Go struct field ObjectMeta.creationTimestamp of "
            "type v1.Time",
            id="number-for-time",
        ),
        pytest.param(
            metav1.Status,
            b'{"details": "x"}',
            "json: cannot unmarshal string into Go struct field Status.details of type "
            "v1.StatusDetails",
            id="string-for-object",
        ),
        pytest.param(
            metav1.Status,
            b"[1]",
            "json: cannot unmarshal array into Go value of type v1.Status",
            id="array-for-root",
        ),
        pytest.param(
            Widget,
            _widget(revision="3"),
            "json: cannot unmarshal string into Go struct field WidgetSpec.spec.revision of "
            "type int64",
            id="nested-spec-path",
        ),
        pytest.param(
            Widget,
            _widget(port=True),
            "json: cannot unmarshal bool into Go struct field WidgetSpec.spec.port of type "
            "intstr.IntOrString",
            id="int-or-string",
        ),
        pytest.param(
            Widget,
            _widget(lifecycle=1),
            "json: cannot unmarshal number into Go struct field WidgetSpec.spec.lifecycle of "
            "type string",
            id="number-for-enum",
        ),
        pytest.param(
            Widget,
            _widget(selectors={"a": {"matchLabels": {"x": 1}}}),
            "json: cannot unmarshal number into Go struct field LabelSelector.spec.selectors"
            ".matchLabels of type string",
            id="map-of-objects",
        ),
        pytest.param(
            metav1.ObjectMeta,
            b'{"creationTimestamp": "yesterday"}',
            'creationTimestamp: parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": '
            "input is too short",
            id="bad-time",
        ),
        pytest.param(
            metav1.ObjectMeta,
            b'{"creationTimestamp": "2024-05-01T12:00:00"}',
            'creationTimestamp: parsing time "2024-05-01T12:00:00" as '
            '"2006-01-02T15:04:05Z07:00": Input should have timezone info',
            id="time-without-zone",
        ),
    ],
)
def test_type_mismatch_is_400_naming_the_field(
    model: type[BaseModel], body: bytes, message: str
) -> None:
    err = _error(codec.decode, model, body)
    assert (err.code, err.reason, str(err)) == (400, "BadRequest", message)


# --- schema violations: 422 with one cause per field --------------------------------------


@pytest.mark.parametrize(
    ("body", "causes"),
    [
        pytest.param(
            json.dumps({"metadata": {"name": "w"}}).encode(),
            [("FieldValueRequired", "spec", "Required value")],
            id="missing-required",
        ),
        pytest.param(
            json.dumps({"metadata": {"name": "w"}, "spec": None}).encode(),
            [("FieldValueRequired", "spec", "Required value")],
            id="null-for-required",
        ),
        pytest.param(
            _widget(lifecycle="Done"),
            [
                (
                    "FieldValueNotSupported",
                    "spec.lifecycle",
                    'Unsupported value: "Done": supported values: "Draft", "Published"',
                )
            ],
            id="enum",
        ),
        pytest.param(
            _widget(workspaceName="abcdefghij"),
            [("FieldValueTooLong", "spec.workspaceName", "Too long: may not be more than 8 bytes")],
            id="max-length",
        ),
        pytest.param(
            _widget(workspaceName="A1"),
            [
                (
                    "FieldValueInvalid",
                    "spec.workspaceName",
                    "Invalid value: \"A1\": should match '^[a-z]+$'",
                )
            ],
            id="pattern",
        ),
        pytest.param(
            _widget(revision=-1),
            [
                (
                    "FieldValueInvalid",
                    "spec.revision",
                    "Invalid value: -1: must be greater than or equal to 0",
                )
            ],
            id="minimum",
        ),
        pytest.param(
            _widget(tasks=[{"type": "init"}] * 3),
            [("FieldValueTooMany", "spec.tasks", "Too many: 3: must have at most 2 items")],
            id="max-items",
        ),
        pytest.param(
            _widget(tasks=[{"type": "init"}, {"type": "eval"}, {}]),
            [("FieldValueTooMany", "spec.tasks", "Too many: 3: must have at most 2 items")],
            id="max-items-reported-alone",
        ),
        pytest.param(
            _widget(tasks=[{"type": "init"}, {"config": {"a": 1}}]),
            [("FieldValueRequired", "spec.tasks[1].type", "Required value")],
            id="inside-list",
        ),
        pytest.param(
            _widget(lifecycle="Done", tasks=[{"type": "x"}]),
            [
                (
                    "FieldValueNotSupported",
                    "spec.lifecycle",
                    'Unsupported value: "Done": supported values: "Draft", "Published"',
                ),
                (
                    "FieldValueNotSupported",
                    "spec.tasks[0].type",
                    'Unsupported value: "x": supported values: "init", "clone"',
                ),
            ],
            id="several",
        ),
    ],
)
def test_schema_violation_is_422_with_causes(
    body: bytes, causes: list[tuple[str, str, str]]
) -> None:
    err = _error(codec.decode, Widget, body)
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.details is not None
    assert (err.details.group, err.details.kind, err.details.name) == ("example.dev", "Widget", "w")
    got = [(c.reason, c.field, c.message) for c in err.details.causes or ()]
    assert got == causes
    summary = ", ".join(f"{f}: {m}" for _, f, m in causes)
    if len(causes) > 1:
        summary = f"[{summary}]"
    assert str(err) == f'Widget.example.dev "w" is invalid: {summary}'


def test_422_for_a_model_without_gvk_names_the_class() -> None:
    err = _error(codec.decode, metav1.Condition, b'{"type": "Ready"}')
    assert str(err).startswith('Condition "" is invalid: [')
    assert err.details is not None and err.details.kind == "Condition"


def test_type_error_wins_over_schema_violation() -> None:
    err = _error(codec.decode, Widget, _widget(lifecycle="Done", revision="x"))
    assert err.code == 400


# --- strict decoding (fieldValidation=Strict / Warn) --------------------------------------


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        pytest.param(_widget(lifecycle="Draft"), [], id="clean"),
        pytest.param(_widget(foo=1), ['unknown field "spec.foo"'], id="unknown-in-spec"),
        pytest.param(
            b'{"spec": {}, "metadata": {"name": "a", "name": "b"}}',
            ['duplicate field "metadata.name"'],
            id="duplicate-key",
        ),
        pytest.param(
            b'{"spec": {"tasks": [{"type": "init", "bar": 1}, {"type": "clone", "baz": 2}]}}',
            ['unknown field "spec.tasks[0].bar"', 'unknown field "spec.tasks[1].baz"'],
            id="inside-list",
        ),
        pytest.param(
            b'{"spec": {"selectors": {"a": {"matchLabels": {}, "bogus": 1}}}}',
            ['unknown field "spec.selectors.a.bogus"'],
            id="inside-map-of-objects",
        ),
        pytest.param(
            b'{"spec": {"tasks": [{"type": "init", "config": {"any": {"thing": 1}}}]}}',
            [],
            id="free-form-accepts-anything",
        ),
        pytest.param(
            b'{"spec": {"tasks": [{"type": "init", "config": {"k": 1, "k": 2}}]}}',
            ['duplicate field "spec.tasks[0].config.k"'],
            id="free-form-duplicates",
        ),
        pytest.param(
            b'{"metadata": {"labels": {"a": "1", "a": "2"}}, "spec": {}}',
            ['duplicate field "metadata.labels.a"'],
            id="duplicate-map-key",
        ),
        pytest.param(
            b'{"x": 1, "spec": {}, "x": 2, "y": {"z": 1}}',
            ['unknown field "x"', 'duplicate field "x"', 'unknown field "y"'],
            id="document-order-and-dedup",
        ),
        pytest.param(
            b'{"spec": {}, "metadata": {"managedFields": [{"fieldsV1": {"f:spec": {}}}]}}',
            [],
            id="fields-v1-is-free-form",
        ),
        pytest.param(
            b'{"spec": {"workspace_name": "a"}}',
            ['unknown field "spec.workspace_name"'],
            id="python-name-is-unknown",
        ),
    ],
)
def test_strict_and_warn(body: bytes, problems: list[str]) -> None:
    obj, warnings = codec.decode_with_warnings(Widget, body)
    assert warnings == problems
    assert isinstance(obj, Widget)
    if problems:
        err = _error(codec.decode, Widget, body, strict=True)
        assert (err.code, err.reason) == (400, "BadRequest")
        assert str(err) == "strict decoding error: " + ", ".join(problems)
    else:
        assert codec.decode(Widget, body, strict=True) == obj
    assert codec.decode(Widget, body) == obj  # Ignore drops them silently


def test_strict_yaml_reports_duplicates() -> None:
    body = "spec:\n  lifecycle: Draft\n  lifecycle: Published\nextra: 1\n"
    err = _error(codec.decode, Widget, body, content_type=codec.YAML_MEDIA_TYPE, strict=True)
    assert str(err) == (
        'strict decoding error: duplicate field "spec.lifecycle", unknown field "extra"'
    )
    # Without strict, the last value wins, as in Go.
    widget = codec.decode(Widget, body, content_type=codec.YAML_MEDIA_TYPE)
    assert widget.spec.lifecycle == "Published"


def test_strict_order_type_errors_then_strict_errors_then_validation() -> None:
    typed = _error(codec.decode, Widget, _widget(revision="x", foo=1), strict=True)
    assert str(typed).startswith("json: cannot unmarshal string")
    unknown_and_invalid = _widget(lifecycle="Done", foo=1)
    strict = _error(codec.decode, Widget, unknown_and_invalid, strict=True)
    assert str(strict) == 'strict decoding error: unknown field "spec.foo"'
    # Warn: the unknown field is a warning, the validation error still fails the request.
    warned = _error(codec.decode_with_warnings, Widget, unknown_and_invalid)
    assert warned.code == 422


def test_strict_mapping_input() -> None:
    err = _error(codec.decode, metav1.ObjectMeta, {"name": "x", "nam": "y"}, strict=True)
    assert str(err) == 'strict decoding error: unknown field "nam"'


def test_unknown_fields() -> None:
    data = {
        "metadata": {"name": "x", "labelz": {}},
        "spec": {"tasks": [{"type": "init", "extra": True}]},
        "status": {},
    }
    assert codec.unknown_fields(Widget, data) == [
        "metadata.labelz",
        "spec.tasks[0].extra",
        "status",
    ]
    assert codec.unknown_fields(metav1.ObjectMeta, {"name": "x"}) == []


def test_yaml_1_1_booleans_follow_go_yaml() -> None:
    # sigs.k8s.io/yaml (go-yaml v2) reads "yes" as a boolean too, so a string field rejects it.
    err = _error(codec.decode, metav1.ObjectMeta, "name: yes\n", content_type="application/yaml")
    assert str(err) == (
        "json: cannot unmarshal bool into Go struct field ObjectMeta.name of type string"
    )
    meta = codec.decode(metav1.ObjectMeta, "name: 'yes'\n", content_type="application/yaml")
    assert meta.name == "yes"


def test_yaml_reads_the_first_document_like_go() -> None:
    body = "name: first\n---\nname: second\n"
    assert codec.decode(metav1.ObjectMeta, body, content_type="application/yaml").name == "first"


def test_yaml_non_string_keys_become_strings() -> None:
    meta = codec.decode(
        metav1.ObjectMeta,
        "labels:\n  1: a\n  true: b\n  null: c\n",
        content_type="application/yaml",
    )
    assert meta.labels == {"1": "a", "true": "b", "null": "c"}


def test_yaml_text_is_what_yaml_libraries_read() -> None:
    meta = metav1.ObjectMeta(name="x", annotations={"a": "1", "b": "yes", "c": "x: y"})
    assert yaml.safe_load(codec.encode_yaml(meta)) == codec.to_dict(meta)
