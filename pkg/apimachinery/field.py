"""Field paths and field-level validation errors (k8s.io/apimachinery/pkg/util/validation/field).

Validation in porch-py is pure functions that return an :class:`ErrorList` naming each bad
field by its full JSON path (``spec.tasks[0].init.description``). The registry's strategy
driver turns a non-empty list into one 422 ``Invalid`` Status with one cause per error
(:func:`pkg.apimachinery.errors.new_invalid`); the codec does the same for values that fail
the schema while decoding a request body. The texts match Go's exactly, because kubectl
prints them to users and conformance goldens pin them::

    spec.workspaceName: Invalid value: "a_b": must be a valid DNS label
    spec.lifecycle: Unsupported value: "Done": supported values: "Draft", "Published"

Build paths with :func:`new_path` (also reachable as :func:`root`) and the
``child``/``index``/``key`` methods; build errors with the constructors named after Go's
(``required``, ``invalid``, ``not_supported``, ...).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel

from pkg.apimachinery import gojson, strconv

__all__ = [
    "OMIT_VALUE",
    "ErrorList",
    "ErrorType",
    "FieldError",
    "Path",
    "duplicate",
    "forbidden",
    "internal_error",
    "invalid",
    "new_path",
    "not_found",
    "not_supported",
    "required",
    "root",
    "too_long",
    "too_long_characters",
    "too_many",
    "too_short",
    "type_invalid",
]


class Path:
    """One step of a field path; the whole path is read by walking the parents.

    Immutable and cheap to extend: ``child``/``index``/``key`` return new paths that share
    the prefix, exactly like Go's ``*field.Path``.
    """

    __slots__ = ("_index", "_name", "_parent")

    def __init__(self, name: str, index: str, parent: Path | None) -> None:
        # Exactly one of name and index is meaningful: a named step (".name") or a
        # subscript ("[index]").
        self._name = name
        self._index = index
        self._parent = parent

    def child(self, name: str, *more_names: str) -> Path:
        """The path to ``name`` (and further ``more_names``) below this one."""
        path = Path(name, "", self)
        for more in more_names:
            path = Path(more, "", path)
        return path

    def index(self, index: int) -> Path:
        """The path to list element ``index`` of this one: ``spec.tasks[0]``."""
        return Path("", str(index), self)

    def key(self, key: str) -> Path:
        """The path to map entry ``key`` of this one: ``metadata.labels[app]``."""
        return Path("", key, self)

    def root(self) -> Path:
        """The first step of this path."""
        path = self
        while path._parent is not None:
            path = path._parent
        return path

    def __str__(self) -> str:
        steps: list[Path] = []
        path: Path | None = self
        while path is not None:
            steps.append(path)
            path = path._parent
        out: list[str] = []
        for step in reversed(steps):
            if step._name:
                if step._parent is not None:
                    out.append(".")
                out.append(step._name)
            else:
                out.append(f"[{step._index}]")
        return "".join(out)

    def __repr__(self) -> str:
        return f"field.Path({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Path) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


def new_path(name: str, *more_names: str) -> Path:
    """A path starting at ``name``: ``new_path("spec", "tasks")`` is ``spec.tasks``."""
    path = Path(name, "", None)
    for more in more_names:
        path = Path(more, "", path)
    return path


# ``field.root("spec").child("tasks")`` reads well at call sites; it is Go's NewPath.
root = new_path


def _path_string(path: Path | None) -> str:
    # Go renders a nil *Path as "<nil>"; labels.Parse reports key errors on a nil path,
    # and users see "<nil>: Invalid value: ..." from the real apiserver.
    return "<nil>" if path is None else str(path)


class ErrorType(enum.StrEnum):
    """Why a field is invalid; the value is the StatusCause ``reason`` clients see."""

    NOT_FOUND = "FieldValueNotFound"
    REQUIRED = "FieldValueRequired"
    DUPLICATE = "FieldValueDuplicate"
    INVALID = "FieldValueInvalid"
    NOT_SUPPORTED = "FieldValueNotSupported"
    FORBIDDEN = "FieldValueForbidden"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"
    TOO_SHORT = "FieldValueTooShort"
    INTERNAL = "InternalError"
    TYPE_INVALID = "FieldValueTypeInvalid"

    @property
    def message(self) -> str:
        """The canonical text Go's ``ErrorType.String()`` gives, e.g. ``Invalid value``."""
        return _TYPE_MESSAGES[self]


_TYPE_MESSAGES: Final = {
    ErrorType.NOT_FOUND: "Not found",
    ErrorType.REQUIRED: "Required value",
    ErrorType.DUPLICATE: "Duplicate value",
    ErrorType.INVALID: "Invalid value",
    ErrorType.NOT_SUPPORTED: "Unsupported value",
    ErrorType.FORBIDDEN: "Forbidden",
    ErrorType.TOO_LONG: "Too long",
    ErrorType.TOO_MANY: "Too many",
    ErrorType.TOO_SHORT: "Too short",
    ErrorType.INTERNAL: "Internal error",
    ErrorType.TYPE_INVALID: "Invalid value",
}

# Types whose message never shows the bad value (Go's ErrorBody switch).
_VALUELESS_TYPES: Final = frozenset(
    {
        ErrorType.REQUIRED,
        ErrorType.FORBIDDEN,
        ErrorType.TOO_LONG,
        ErrorType.TOO_SHORT,
        ErrorType.INTERNAL,
    }
)


class _OmitValue:
    """Sentinel bad value meaning "do not print the value" (Go's ``omitValue``)."""

    def __repr__(self) -> str:
        return "OMIT_VALUE"


OMIT_VALUE: Final = _OmitValue()


def _format_value(value: object) -> str:
    """A bad value as Go's ErrorBody prints it: %v for numbers and bools, %q for strings,
    JSON for anything else (lists, maps, null)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return strconv.quote(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return strconv.format_float(value)
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_none=True, mode="json")
    try:
        text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)
    return gojson.escape_html(text)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field-level validation error (Go's ``*field.Error``).

    ``str()`` is the full message (``spec.x: Invalid value: "y": detail``); ``body`` is
    the same without the field, which is what a Status cause's ``message`` carries.
    """

    type: ErrorType
    field: str
    bad_value: object
    detail: str = ""
    origin: str = ""
    """Which validation produced the error (Go's ``Origin``); for tests, never shown."""

    @property
    def body(self) -> str:
        """The message without the field name (Go's ``ErrorBody``)."""
        if self.type in _VALUELESS_TYPES or self.bad_value is OMIT_VALUE:
            text = self.type.message
        else:
            text = f"{self.type.message}: {_format_value(self.bad_value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body}"

    def with_origin(self, origin: str) -> FieldError:
        """A copy that records where it came from (Go's ``WithOrigin``)."""
        return FieldError(self.type, self.field, self.bad_value, self.detail, origin)


class ErrorList(list[FieldError]):
    """A list of field errors; empty means valid.

    ``to_aggregate()`` renders it as Go's ``ErrorList.ToAggregate().Error()``: one error as
    itself, several as ``[a, b]``, repeated messages once.
    """

    def __init__(self, errors: Iterable[FieldError] = ()) -> None:
        super().__init__(errors)

    def to_aggregate(self) -> str | None:
        """The aggregated message, or None when the list is empty (Go returns nil)."""
        messages = list(dict.fromkeys(str(err) for err in self))
        if not messages:
            return None
        if len(messages) == 1:
            return messages[0]
        return "[" + ", ".join(messages) + "]"

    def filter(self, *types: ErrorType) -> ErrorList:
        """The errors whose type is not one of ``types`` (Go's ``Filter`` with type matchers)."""
        return ErrorList(err for err in self if err.type not in types)


def type_invalid(path: Path | None, value: object, detail: str) -> FieldError:
    """The value does not match the schema type of the field."""
    return FieldError(ErrorType.TYPE_INVALID, _path_string(path), value, detail)


def not_found(path: Path | None, value: object) -> FieldError:
    """A requested value could not be found (e.g. a referenced name)."""
    return FieldError(ErrorType.NOT_FOUND, _path_string(path), value)


def required(path: Path | None, detail: str = "") -> FieldError:
    """A required value is missing (empty string, null, empty list)."""
    return FieldError(ErrorType.REQUIRED, _path_string(path), "", detail)


def duplicate(path: Path | None, value: object) -> FieldError:
    """A value that must be unique is repeated."""
    return FieldError(ErrorType.DUPLICATE, _path_string(path), value)


def invalid(path: Path | None, value: object, detail: str) -> FieldError:
    """A malformed value (failed pattern, out of range, ...)."""
    return FieldError(ErrorType.INVALID, _path_string(path), value, detail)


def not_supported(path: Path | None, value: object, valid_values: Sequence[str]) -> FieldError:
    """A value outside an enumeration; the detail lists the supported values quoted."""
    detail = ""
    if valid_values:
        detail = "supported values: " + ", ".join(strconv.quote(v) for v in valid_values)
    return FieldError(ErrorType.NOT_SUPPORTED, _path_string(path), value, detail)


def forbidden(path: Path | None, detail: str) -> FieldError:
    """A well-formed value that the current conditions do not permit."""
    return FieldError(ErrorType.FORBIDDEN, _path_string(path), "", detail)


def too_long(path: Path | None, value: object, max_length: int) -> FieldError:
    """A value longer than ``max_length`` bytes; the value itself is not repeated.

    ``value`` is accepted for symmetry with Go's signature and deliberately not shown.
    """
    del value
    if max_length >= 0:
        unit = "byte" if max_length == 1 else "bytes"
        detail = f"may not be more than {max_length} {unit}"
    else:
        detail = "value is too long"
    return FieldError(ErrorType.TOO_LONG, _path_string(path), "<value omitted>", detail)


def too_long_characters(path: Path | None, value: str, max_length: int) -> FieldError:
    """Like :func:`too_long`, counting characters rather than bytes."""
    del value
    if max_length >= 0:
        unit = "character" if max_length == 1 else "characters"
        detail = f"may not be more than {max_length} {unit}"
    else:
        detail = "value is too long"
    return FieldError(ErrorType.TOO_LONG, _path_string(path), "<value omitted>", detail)


def too_short(path: Path | None, value: str, min_length: int) -> FieldError:
    """A value shorter than ``min_length`` characters."""
    if min_length >= 0:
        unit = "character" if min_length == 1 else "characters"
        detail = f"must be at least {min_length} {unit}"
    else:
        detail = "value is too short"
    return FieldError(ErrorType.TOO_SHORT, _path_string(path), value, detail)


def too_many(path: Path | None, actual_quantity: int, max_quantity: int) -> FieldError:
    """A list with more than ``max_quantity`` items; a negative number is left out."""
    if max_quantity >= 0:
        unit = "item" if max_quantity == 1 else "items"
        detail = f"must have at most {max_quantity} {unit}"
    else:
        detail = "has too many items"
    actual: object = actual_quantity if actual_quantity >= 0 else OMIT_VALUE
    return FieldError(ErrorType.TOO_MANY, _path_string(path), actual, detail)


def internal_error(path: Path | None, err: BaseException | str) -> FieldError:
    """An error not caused by the user's input, found while validating."""
    return FieldError(ErrorType.INTERNAL, _path_string(path), err, str(err))
