"""The one place API objects are serialised and deserialised.

Every layer that turns a model into bytes or bytes into a model comes here: the API server
for request and response bodies (JSON, YAML), watch streaming for events, the engine and
git backend for objects stored as YAML. Encoding is always by alias (``apiVersion``,
``creationTimestamp``), without unset (``None``) fields, datetimes as RFC 3339 (``Z`` for
UTC). Decoding follows Go's ``encoding/json`` rules as the Kubernetes apiserver applies them:

* JSON types must match exactly (no ``"5"`` for an integer, no ``1`` for a string); a
  mismatch is 400 BadRequest with Go's text, naming the field by its JSON path::

      json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string

* a malformed body is 400: ``couldn't get version/kind; json parse error: unexpected end
  of JSON input`` (YAML: ``error converting YAML to JSON: yaml: line 3: ...``);
* unknown fields are dropped, unless ``strict`` (``fieldValidation=Strict``) turns them and
  duplicate keys into 400 ``strict decoding error: unknown field "spec.foo", duplicate
  field "metadata.name"``; :func:`decode_with_warnings` returns the same texts for
  ``fieldValidation=Warn``;
* values that have the right JSON type but break the schema (a missing required field, an
  enum value outside the list, a pattern or length limit) are 422 Invalid with one cause per
  field, as the apiserver's validation reports them.

Decoded datetimes are normalised to UTC, as Go's ``metav1.Time`` is, so what is encoded
later reads ``...Z``.
"""

from __future__ import annotations

import datetime
import functools
import http
import json
import re
import string
import types
import typing
from collections.abc import Mapping
from typing import Any, Final, TypeVar

import pydantic
import pydantic_core
import yaml
from pydantic import BaseModel, RootModel

from pkg.apimachinery import errors, field, strconv

__all__ = [
    "JSON_MEDIA_TYPE",
    "YAML_MEDIA_TYPE",
    "decode",
    "decode_with_warnings",
    "encode_json",
    "encode_yaml",
    "is_model",
    "to_dict",
    "unknown_fields",
    "unwrap_annotation",
]

JSON_MEDIA_TYPE: Final = "application/json"
YAML_MEDIA_TYPE: Final = "application/yaml"

M = TypeVar("M", bound=BaseModel)

# --- encoding -----------------------------------------------------------------------------


def to_dict(model: BaseModel) -> dict[str, Any]:
    """The model as JSON-ready Python data: aliases as keys, no None fields, RFC 3339 times."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def encode_json(obj: BaseModel | Mapping[str, Any]) -> bytes:
    """Compact JSON bytes of a model, or of a mapping that may hold models (a watch event,
    a hand-built list); models inside are encoded as :func:`to_dict` would."""
    if isinstance(obj, BaseModel):
        # The model's own Rust serializer straight to bytes: no intermediate dict or str.
        return obj.__pydantic_serializer__.to_json(obj, by_alias=True, exclude_none=True)
    return pydantic_core.to_json(obj, by_alias=True, exclude_none=True)


class _YAMLDumper(yaml.CSafeDumper):
    """Block style, keys in model order, multi-line strings as ``|`` blocks, no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: _YAMLDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        # PyYAML falls back to a quoted style by itself when a literal block cannot hold
        # the text (trailing spaces, special characters).
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_YAMLDumper.add_representer(str, _represent_str)


def encode_yaml(obj: BaseModel | Mapping[str, Any]) -> bytes:
    """YAML bytes of a model or mapping, same content as :func:`encode_json`."""
    if isinstance(obj, BaseModel):
        data: Any = to_dict(obj)
    else:
        data = pydantic_core.to_jsonable_python(obj, by_alias=True, exclude_none=True)
    text: str = yaml.dump(
        data,
        Dumper=_YAMLDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 30,  # never fold long lines
    )
    return text.encode("utf-8")


# --- decoding: public entry points --------------------------------------------------------


def decode(
    model_cls: type[M],
    data: bytes | str | Mapping[str, Any],
    *,
    content_type: str = JSON_MEDIA_TYPE,
    strict: bool = False,
) -> M:
    """Decode a request body (JSON or YAML by ``content_type``) or a mapping into a model.

    Keys are JSON names (``packageName``), never Python attribute names, in bodies and
    mappings alike; anything else is an unknown field.

    Raises StatusError: 400 for a malformed body, a JSON type mismatch, or (``strict``)
    unknown or duplicate fields; 422 for schema violations; 415 for a content type that is
    neither JSON nor YAML.
    """
    return _decode(model_cls, data, content_type, _STRICT if strict else _IGNORE)[0]


def decode_with_warnings(
    model_cls: type[M],
    data: bytes | str | Mapping[str, Any],
    *,
    content_type: str = JSON_MEDIA_TYPE,
) -> tuple[M, list[str]]:
    """Decode like :func:`decode` and also return what strict decoding would reject
    (``unknown field "spec.foo"``, ``duplicate field "x"``): the ``Warning`` texts for
    ``fieldValidation=Warn``."""
    return _decode(model_cls, data, content_type, _WARN)


def unknown_fields(model_cls: type[BaseModel], data: Mapping[str, Any]) -> list[str]:
    """JSON paths of the keys in ``data`` that ``model_cls`` does not define, in document
    order (``spec.foo``, ``spec.tasks[0].bar``). Free-form fields accept anything."""
    found: list[tuple[str, str]] = []
    _strict_walk(model_cls, data, "", {}, found)
    return [path for kind, path in found if kind == _UNKNOWN]


# --- decoding: parsing --------------------------------------------------------------------

_UNSUPPORTED_MEDIA_TYPE: Final = (
    "the body of the request was in an unknown format - accepted media types include: "
    f"{JSON_MEDIA_TYPE}, {YAML_MEDIA_TYPE}"
)


def _is_yaml(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    # No Content-Type is JSON (kubectl and the Python client sometimes send none).
    if not media or media.endswith(("/json", "+json")):
        return False
    if media.endswith(("/yaml", "+yaml", "/x-yaml")):
        return True
    raise errors.new_unsupported_media_type(_UNSUPPORTED_MEDIA_TYPE)


_Duplicates = dict[int, list[tuple[str, Any]]]
"""The key-value pairs, in document order, of each parsed object (by ``id``) that repeats
a key: a dict keeps only the last value, strict decoding must report the repetition."""


class _Document:
    """A parsed body: its value, and the pairs of its objects with duplicate keys."""

    __slots__ = ("duplicates", "value")

    def __init__(self, value: Any, duplicates: _Duplicates | None = None) -> None:
        self.value = value
        self.duplicates: _Duplicates = duplicates if duplicates is not None else {}


def _load_json(text: str | bytes, track_duplicates: bool) -> _Document:
    duplicates: _Duplicates = {}

    def object_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            duplicates[id(obj)] = pairs
        return obj

    try:
        if track_duplicates:
            return _Document(json.loads(text, object_pairs_hook=object_hook), duplicates)
        return _Document(json.loads(text))
    except json.JSONDecodeError as err:
        raise _json_syntax_error(err) from None
    except RecursionError:
        raise errors.new_bad_request(
            "couldn't get version/kind; json parse error: exceeded max depth"
        ) from None
    except UnicodeDecodeError as err:
        raise errors.new_bad_request(
            f"couldn't get version/kind; json parse error: invalid UTF-8 in body: {err.reason}"
        ) from None


def _quote_char(ch: str) -> str:
    # encoding/json's quoteChar.
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    return "'" + strconv.quote(ch)[1:-1] + "'"


def _innermost_container(doc: str, pos: int) -> str:
    """``{`` or ``[``: the innermost open object or array at ``pos`` (strings skipped)."""
    stack: list[str] = []
    in_string = escaped = False
    for ch in doc[:pos]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append(ch)
        elif ch in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _json_syntax_error(err: json.JSONDecodeError) -> errors.StatusError:
    """Go's ``encoding/json`` syntax error text for what Python's parser reported."""
    doc, pos, msg = err.doc, err.pos, err.msg
    if pos >= len(doc) or msg.startswith("Unterminated string"):
        detail = "unexpected end of JSON input"
    else:
        ch = _quote_char(doc[pos])
        if msg.startswith("Expecting value"):
            detail = f"invalid character {ch} looking for beginning of value"
        elif msg.startswith("Expecting property name"):
            detail = f"invalid character {ch} looking for beginning of object key string"
        elif msg.startswith("Expecting ':'"):
            detail = f"invalid character {ch} after object key"
        elif msg.startswith("Expecting ','"):
            where = (
                "object key:value pair"
                if _innermost_container(doc, pos) == "{"
                else ("array element")
            )
            detail = f"invalid character {ch} after {where}"
        elif msg.startswith("Extra data"):
            detail = f"invalid character {ch} after top-level value"
        elif msg.startswith("Invalid control character"):
            detail = f"invalid character {ch} in string literal"
        elif msg.startswith("Invalid \\uXXXX"):
            bad = next(
                (c for c in doc[pos + 2 : pos + 6] if c not in string.hexdigits), doc[pos + 1]
            )
            detail = f"invalid character {_quote_char(bad)} in \\u hexadecimal character escape"
        elif msg.startswith("Invalid \\"):
            # Python points at the backslash, Go at the character after it.
            detail = f"invalid character {_quote_char(doc[pos + 1])} in string escape code"
        else:
            detail = f"{msg} at offset {pos}"
    return errors.new_bad_request(f"couldn't get version/kind; json parse error: {detail}")


class _YAMLLoader(yaml.CSafeLoader):
    """YAML as Kubernetes reads it: timestamps stay strings (the schema decides what is a
    time), ``=`` is a plain string, keys are strings, and objects that repeat a key are
    recorded for strict decoding."""

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self.duplicates: _Duplicates = {}


_YAMLLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value")
    ]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def _construct_yaml_map(
    loader: _YAMLLoader, node: yaml.MappingNode
) -> typing.Iterator[dict[str, Any]]:
    obj: dict[str, Any] = {}
    yield obj  # yielded first so that recursive structures can refer to it
    loader.flatten_mapping(node)
    pairs: list[tuple[str, Any]] = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        value = loader.construct_object(value_node, deep=True)
        if not isinstance(key, str):
            # JSON keys are strings; YAML's true/1/null keys become "true"/"1"/"null".
            key = json.dumps(key) if key is None or isinstance(key, (int, float)) else str(key)
        pairs.append((key, value))
    obj.update(pairs)
    if len(obj) != len(pairs):
        loader.duplicates[id(obj)] = pairs


_YAMLLoader.add_constructor("tag:yaml.org,2002:map", _construct_yaml_map)


def _load_yaml(text: str | bytes) -> _Document:
    loader = _YAMLLoader(text)
    try:
        # Only the first document counts, as in Go's yaml.Unmarshal.
        value = loader.get_data() if loader.check_data() else None  # type: ignore[no-untyped-call]
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise errors.new_bad_request(
            f"error converting YAML to JSON: yaml: {line}{err.problem or err}"
        ) from None
    except yaml.YAMLError as err:
        raise errors.new_bad_request(f"error converting YAML to JSON: yaml: {err}") from None
    except RecursionError:
        raise errors.new_bad_request(
            "error converting YAML to JSON: yaml: exceeded max depth"
        ) from None
    finally:
        loader.dispose()
    _check_aliasing(value)
    # An empty document is an empty object, as Go's YAML-to-JSON conversion has it.
    return _Document({} if value is None else value, loader.duplicates)


# Anchors and aliases let a few bytes of YAML stand for a huge tree ("billion laughs"); the
# tree is expanded when converted to JSON, so refuse documents that would expand past this.
_MAX_EXPANDED_NODES: Final = 1_000_000


def _check_aliasing(obj: Any) -> None:
    sizes: dict[int, int] = {}

    def size(node: Any) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        known = sizes.get(id(node))
        if known is not None:
            if known < 0:
                raise errors.new_bad_request(
                    "error converting YAML to JSON: yaml: document contains a cycle"
                )
            return known
        sizes[id(node)] = -1  # being measured: meeting it again is a cycle
        children = node.values() if isinstance(node, dict) else node
        total = 1 + sum(size(child) for child in children)
        if total > _MAX_EXPANDED_NODES:
            raise errors.new_bad_request(
                "error converting YAML to JSON: yaml: document contains excessive aliasing"
            )
        sizes[id(node)] = total
        return total

    try:
        size(obj)
    except RecursionError:
        raise errors.new_bad_request(
            "error converting YAML to JSON: yaml: exceeded max depth"
        ) from None


def _to_json_text(obj: Any) -> str:
    def unsupported(value: Any) -> Any:
        raise errors.new_bad_request(
            f"error converting YAML to JSON: unsupported value of type {type(value).__name__}"
        )

    try:
        return json.dumps(obj, default=unsupported, allow_nan=False)
    except ValueError:  # NaN and infinities have no JSON form
        raise errors.new_bad_request(
            "error converting YAML to JSON: json: unsupported value: NaN or infinity"
        ) from None


# --- decoding: validation and errors ------------------------------------------------------


_IGNORE: Final = "Ignore"
_WARN: Final = "Warn"
_STRICT: Final = "Strict"


def _decode(
    model_cls: type[M],
    data: bytes | str | Mapping[str, Any],
    content_type: str,
    field_validation: str,
) -> tuple[M, list[str]]:
    check = field_validation != _IGNORE
    doc: _Document | None = None
    if isinstance(data, Mapping):
        doc = _Document(data)
        text: str | bytes = _to_json_text(data)
    elif _is_yaml(content_type):
        doc = _load_yaml(data)
        text = _to_json_text(doc.value)
    else:
        text = data
        if check:
            doc = _load_json(text, track_duplicates=True)
    try:
        obj = model_cls.model_validate_json(text, strict=True, by_alias=True, by_name=False)
    except pydantic.ValidationError as exc:
        details = exc.errors(include_url=False)
        if any(d["type"] == "json_invalid" for d in details):
            _load_json(text, track_duplicates=False)  # raises Go's syntax error text
            raise errors.new_bad_request(  # Python's parser took what pydantic's refused
                f"couldn't get version/kind; json parse error: {details[0]['msg']}"
            ) from None
        if len(details) == 1 and details[0]["loc"] == () and details[0]["input"] is None:
            # A top-level null decodes, as in Go, to the zero value: an empty object.
            return _decode(model_cls, b"{}", JSON_MEDIA_TYPE, field_validation)
        if doc is None:
            doc = _load_json(text, track_duplicates=False)
        err = _status_for_validation_errors(model_cls, details, doc.value)
        # Go decodes (type errors, then strict errors, both 400) before it validates (422).
        if field_validation == _STRICT and err.code == http.HTTPStatus.UNPROCESSABLE_ENTITY:
            _raise_strict(_strict_problems(model_cls, doc))
        raise err from None
    problems = _strict_problems(model_cls, doc) if check and doc is not None else []
    if field_validation == _STRICT:
        _raise_strict(problems)
    _normalise_datetimes(obj)
    return obj, problems


def _raise_strict(problems: list[str]) -> None:
    if problems:
        raise errors.new_bad_request("strict decoding error: " + ", ".join(problems))


_TYPE_ERRORS: Final = frozenset(
    {
        "string_type",
        "int_type",
        "int_parsing",
        "int_parsing_size",
        "int_from_float",
        "float_type",
        "float_parsing",
        "bool_type",
        "bool_parsing",
        "list_type",
        "tuple_type",
        "set_type",
        "frozen_set_type",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "dataclass_type",
        "bytes_type",
        "datetime_type",
        "date_type",
        "time_type",
        "is_instance_of",
    }
)
_TIME_ERRORS: Final = frozenset(
    {
        "datetime_parsing",
        "datetime_from_date_parsing",
        "datetime_object_invalid",
        "timezone_aware",
        "timezone_naive",
    }
)
_GO_TIME_LAYOUT: Final = '"2006-01-02T15:04:05Z07:00"'


def _status_for_validation_errors(
    model_cls: type[BaseModel], details: list[pydantic_core.ErrorDetails], raw: Any
) -> errors.StatusError:
    """400 for the first JSON type mismatch (Go stops at the first), else 422 with a field
    error per schema violation."""
    field_errs = field.ErrorList()
    for detail in details:
        kind, loc_input = detail["type"], detail["input"]
        where = _resolve(model_cls, detail["loc"])
        literal_values = _literal_values(where.annotation)
        if kind == "literal_error" and not isinstance(loc_input, str) and loc_input is not None:
            kind = "string_type"  # a number or bool where the enum wants a string
        if kind in _TYPE_ERRORS and loc_input is not None:
            return errors.new_bad_request(_type_error_text(model_cls, where, loc_input))
        if kind in _TIME_ERRORS:
            reason = (detail.get("ctx") or {}).get("error") or detail["msg"]
            return errors.new_bad_request(
                f"{where.path_text}: parsing time {_quote_any(loc_input)} as "
                f"{_GO_TIME_LAYOUT}: {reason}"
            )
        field_errs.append(_field_error(kind, where.path, loc_input, detail, literal_values))
    return errors.new_invalid(_group_kind(model_cls), _name_of(raw), field_errs)


def _field_error(
    kind: str,
    path: field.Path | None,
    value: Any,
    detail: pydantic_core.ErrorDetails,
    literal_values: list[str],
) -> field.FieldError:
    ctx = detail.get("ctx") or {}
    if kind == "missing" or value is None:
        return field.required(path)
    if kind in ("literal_error", "enum"):
        return field.not_supported(path, value, literal_values)
    if kind == "string_too_long":
        return field.too_long(path, value, int(ctx["max_length"]))
    if kind == "string_too_short":
        return field.too_short(path, value, int(ctx["min_length"]))
    if kind == "too_long":
        return field.too_many(path, int(ctx.get("actual_length", -1)), int(ctx["max_length"]))
    if kind == "too_short":
        unit = "item" if ctx["min_length"] == 1 else "items"
        return field.invalid(path, value, f"must have at least {ctx['min_length']} {unit}")
    if kind == "string_pattern_mismatch":
        return field.invalid(path, value, f"should match '{ctx['pattern']}'")
    bound = _BOUNDS.get(kind)
    if bound is not None:
        return field.invalid(path, value, f"{bound} {_bound_value(ctx)}")
    return field.invalid(path, value, str(detail["msg"]))


_BOUNDS: Final = {
    "greater_than": "must be greater than",
    "greater_than_equal": "must be greater than or equal to",
    "less_than": "must be less than",
    "less_than_equal": "must be less than or equal to",
}


def _bound_value(ctx: Mapping[str, Any]) -> str:
    for key in ("gt", "ge", "lt", "le"):
        if key in ctx:
            return str(ctx[key])
    return ""


def _quote_any(value: Any) -> str:
    return strconv.quote(value) if isinstance(value, str) else str(value)


def _type_error_text(model_cls: type[BaseModel], where: _Location, value: Any) -> str:
    if isinstance(value, bool):
        json_kind = "bool"
    elif isinstance(value, (int, float)):
        json_kind = "number"
        target = unwrap_annotation(where.annotation)
        if target is int and isinstance(value, float):
            json_kind = f"number {value!r}"
    elif isinstance(value, str):
        json_kind = "string"
    elif isinstance(value, list):
        json_kind = "array"
    else:
        json_kind = "object"
    go_type = _go_type(where.annotation)
    if not where.go_field:
        return f"json: cannot unmarshal {json_kind} into Go value of type {_go_type(model_cls)}"
    return (
        f"json: cannot unmarshal {json_kind} into Go struct field "
        f"{where.go_struct}.{where.go_field} of type {go_type}"
    )


def _group_kind(model_cls: type[BaseModel]) -> errors.GroupKind:
    extra = model_cls.model_config.get("json_schema_extra")
    if isinstance(extra, dict):
        gvks = extra.get("x-kubernetes-group-version-kind")
        if isinstance(gvks, list) and gvks and isinstance(gvks[0], dict):
            return errors.GroupKind(str(gvks[0].get("group", "")), str(gvks[0].get("kind", "")))
    return errors.GroupKind("", model_cls.__name__)


def _name_of(raw: Any) -> str:
    metadata = raw.get("metadata") if isinstance(raw, Mapping) else None
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return name if isinstance(name, str) else ""


# --- decoding: walking annotations --------------------------------------------------------


class _Location:
    """Where a pydantic error location points, in Kubernetes and Go terms."""

    __slots__ = ("annotation", "go_field", "go_struct", "path")

    def __init__(self) -> None:
        self.path: field.Path | None = None
        self.go_field = ""  # JSON names from the root, no indices or keys (Go's FieldStack)
        self.go_struct = ""  # the innermost model holding the field
        self.annotation: Any = None

    @property
    def path_text(self) -> str:
        return str(self.path) if self.path is not None else "<root>"


_TIME_TYPES: Final = (
    datetime.datetime,
    pydantic.AwareDatetime,
    pydantic.NaiveDatetime,
    pydantic.PastDatetime,
    pydantic.FutureDatetime,
)


def unwrap_annotation(annotation: Any) -> Any:
    """The type a model field's annotation holds: ``Annotated`` and ``| None`` stripped, a
    RootModel standing for its root type; a union of several types is returned as it is.
    The strategic-merge patcher (``pkg.apiserver.patch``) reads the models with it too."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        elif is_model(annotation) and issubclass(annotation, RootModel):
            annotation = annotation.model_fields["root"].annotation
        else:
            return annotation


def is_model(annotation: Any) -> bool:
    """Whether ``annotation`` is a pydantic model class."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _union_members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return ()


@functools.cache
def _fields_by_alias(model_cls: type[BaseModel]) -> dict[str, Any]:
    return {(info.alias or name): info.annotation for name, info in model_cls.model_fields.items()}


@functools.cache
def _free_form(model_cls: type[BaseModel]) -> bool:
    # FieldsV1 and RawExtension (extra="allow") hold arbitrary JSON.
    return model_cls.model_config.get("extra") == "allow"


def _resolve(model_cls: type[BaseModel], loc: tuple[int | str, ...]) -> _Location:
    where = _Location()
    annotation: Any = model_cls
    names: list[str] = []
    for part in loc:
        current = unwrap_annotation(annotation)
        origin = typing.get_origin(current)
        if is_model(current) and isinstance(part, str):
            sub = _fields_by_alias(current).get(part)
            if sub is None:
                continue
            where.go_struct = current.__name__
            names.append(part)
            where.path = field.new_path(part) if where.path is None else where.path.child(part)
            annotation = sub
        elif origin in (list, tuple, set, frozenset) and isinstance(part, int):
            where.path = _subscript(where.path, str(part))
            annotation = typing.get_args(current)[0] if typing.get_args(current) else Any
        elif origin is dict and isinstance(part, str):
            where.path = _subscript(where.path, part)
            args = typing.get_args(current)
            annotation = args[1] if len(args) == 2 else Any
        # Anything else is a union member tag ("int", "str", a class name): the field's
        # declared union type is what Go would name, so stay on it.
    where.go_field = ".".join(names)
    where.annotation = annotation
    return where


def _subscript(path: field.Path | None, index: str) -> field.Path:
    # Only a RootModel over a list or map has a subscript with no field before it.
    return path.key(index) if path is not None else field.new_path(f"[{index}]")


def _literal_values(annotation: Any) -> list[str]:
    current = unwrap_annotation(annotation)
    if typing.get_origin(current) is typing.Literal:
        return [str(v) for v in typing.get_args(current)]
    return []


_VERSION_RE: Final = re.compile(r"v\d+((alpha|beta)\d+)?")


def _go_package(model_cls: type) -> str:
    parts = model_cls.__module__.split(".")
    for part in reversed(parts):
        if _VERSION_RE.fullmatch(part):
            return part
    return parts[-1]


def _go_type(annotation: Any) -> str:
    """The Go type a Kubernetes type would have for this annotation, for messages."""
    if is_model(annotation) and issubclass(annotation, RootModel):
        return f"{_go_package(annotation)}.{annotation.__name__}"
    current = unwrap_annotation(annotation)
    origin = typing.get_origin(current)
    args = typing.get_args(current)
    if current is str or origin is typing.Literal:
        return "string"
    if current is bool:
        return "bool"
    if current is int:
        return "int64"
    if current is float:
        return "float64"
    if current in _TIME_TYPES:
        return "v1.Time"
    if origin in (list, tuple, set, frozenset):
        return "[]" + (_go_type(args[0]) if args else "interface {}")
    if origin is dict:
        return "map[string]" + (_go_type(args[1]) if len(args) == 2 else "interface {}")
    if is_model(current):
        return f"{_go_package(current)}.{current.__name__}"
    members = _union_members(current)
    if members and set(members) == {int, str}:
        return "intstr.IntOrString"
    return "interface {}"


# --- strict decoding ----------------------------------------------------------------------

_UNKNOWN: Final = "unknown"
_DUPLICATE: Final = "duplicate"
_MAX_STRICT_ERRORS: Final = 100  # Go stops collecting there


def _strict_problems(model_cls: type[BaseModel], doc: _Document) -> list[str]:
    found: list[tuple[str, str]] = []
    _strict_walk(model_cls, doc.value, "", doc.duplicates, found)
    seen: dict[str, None] = {}
    for kind, path in found:
        seen.setdefault(f"{kind} field {strconv.quote(path)}", None)
        if len(seen) >= _MAX_STRICT_ERRORS:
            break
    return list(seen)


_MODEL, _LIST, _MAP, _FREE = range(4)


@functools.cache
def _shape(annotation: Any) -> tuple[int, Any]:
    """How strict decoding reads a value of this annotation: a model (checked against its
    fields), a list or map (items checked as the item annotation), or free-form."""
    current = unwrap_annotation(annotation)
    members = _union_members(current)
    if members:
        # IntOrString and the like: the object- or list-shaped member decides.
        current = next((m for m in members if is_model(m)), None) or next(
            (m for m in members if typing.get_origin(m) in (list, dict)), Any
        )
    origin = typing.get_origin(current)
    args = typing.get_args(current)
    if is_model(current) and not _free_form(current):
        return _MODEL, _fields_by_alias(current)
    if origin in (list, tuple, set, frozenset):
        return _LIST, args[0] if args else Any
    if origin is dict:
        return _MAP, args[1] if len(args) == 2 else Any
    return _FREE, Any


def _strict_walk(
    annotation: Any,
    value: Any,
    path: str,
    duplicates: _Duplicates,
    found: list[tuple[str, str]],
) -> None:
    """Append (unknown|duplicate, path) for ``value`` read as ``annotation``, in document
    order. Paths are sigs.k8s.io/json's: keys joined by ``.``, indices as ``[i]``."""
    if isinstance(value, Mapping):
        shape, arg = _shape(annotation)
        pairs = duplicates.get(id(value)) or value.items()
        seen: set[str] = set()
        for key, item in pairs:
            sub_path = f"{path}.{key}" if path else key
            if key in seen:
                found.append((_DUPLICATE, sub_path))
            seen.add(key)
            if shape == _MODEL:
                sub = arg.get(key, _MISSING)
                if sub is _MISSING:
                    found.append((_UNKNOWN, sub_path))
                    continue
            else:
                # Inside a map the item annotation applies; free-form objects are still
                # checked for duplicate keys, as Go's decoder does.
                sub = arg
            if isinstance(item, (Mapping, list)):
                _strict_walk(sub, item, sub_path, duplicates, found)
    elif isinstance(value, list):
        shape, arg = _shape(annotation)
        item_annotation = arg if shape == _LIST else Any
        for i, item in enumerate(value):
            if isinstance(item, (Mapping, list)):
                _strict_walk(item_annotation, item, f"{path}[{i}]", duplicates, found)


_MISSING: Final = object()


# --- datetimes ----------------------------------------------------------------------------


@functools.cache
def _time_fields(model_cls: type[BaseModel]) -> tuple[str, ...]:
    """Names of the fields of ``model_cls`` that may hold datetimes, directly or nested."""
    return tuple(
        name
        for name, info in model_cls.model_fields.items()
        if _may_hold_time(info.annotation, frozenset({model_cls}))
    )


def _may_hold_time(annotation: Any, visiting: frozenset[type]) -> bool:
    current = unwrap_annotation(annotation)
    if current in _TIME_TYPES:
        return True
    if is_model(current):
        if current in visiting:
            return False
        return any(
            _may_hold_time(info.annotation, visiting | {current})
            for info in current.model_fields.values()
        )
    return any(_may_hold_time(arg, visiting) for arg in typing.get_args(current))


def _normalise_datetimes(obj: BaseModel) -> None:
    for name in _time_fields(type(obj)):
        value = getattr(obj, name)
        normalised = _normalise_value(value)
        if normalised is not value:
            setattr(obj, name, normalised)


def _normalise_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        offset = value.utcoffset()
        if offset is None or (offset == datetime.timedelta(0) and value.tzinfo is datetime.UTC):
            return value
        return value.astimezone(datetime.UTC)
    if isinstance(value, BaseModel):
        _normalise_datetimes(value)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            normalised = _normalise_value(item)
            if normalised is not item:
                value[i] = normalised
    elif isinstance(value, dict):
        for key, item in value.items():
            normalised = _normalise_value(item)
            if normalised is not item:
                value[key] = normalised
    return value
