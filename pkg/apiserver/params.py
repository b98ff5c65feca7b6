"""Query parameters as Kubernetes reads them (apimachinery's parameter codec).

Where this sits: the resource handlers of :mod:`pkg.apiserver.handlers` call these to turn
the query string into :class:`pkg.registry.rest.rest.ListOptions`, the dry-run flag, the
field-validation directive and the Table options before they call a storage.
:mod:`pkg.apiserver.requestinfo` uses :func:`parse_bool` for ``watch``.

Facts that matter (kubernetes-api-contract.md §2): kube-apiserver re-encodes queries with
form encoding; a boolean is false only when absent, ``0`` or ``false`` (any case), so the
Python client's ``watch=True`` and a bare ``?watch`` are true; unknown parameters (kubectl's
``timeout=32s``) are ignored. Malformed values of the parameters we read are a 400.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Literal, get_args

from pkg.apimachinery import errors, fields, labels
from pkg.registry.rest import rest

__all__ = [
    "IncludeObject",
    "Query",
    "dry_run",
    "field_validation",
    "include_object",
    "list_options",
    "parse_bool",
    "parse_query",
]

Query = Mapping[str, Sequence[str]]
"""Every query parameter with all its values, in order."""

IncludeObject = Literal["None", "Metadata", "Object"]

_FIELD_VALIDATION_VALUES: tuple[rest.FieldValidation, ...] = get_args(rest.FieldValidation)
# The real apiserver's default since server-side field validation went GA (1.27).
_DEFAULT_FIELD_VALIDATION: rest.FieldValidation = "Warn"
_INCLUDE_OBJECT_VALUES: tuple[IncludeObject, ...] = get_args(IncludeObject)


def parse_query(query_string: str) -> dict[str, list[str]]:
    """Form-decode a query string, keeping blank values (``?watch`` is ``watch=[""]``)."""
    return urllib.parse.parse_qs(query_string, keep_blank_values=True)


def first(query: Query, key: str) -> str | None:
    """The first value of ``key``, as Go's ``url.Values.Get`` reads it."""
    values = query.get(key)
    return values[0] if values else None


def parse_bool(value: str | None) -> bool:
    """A boolean query value as Kubernetes reads it: false only for absent, ``0``, ``false``."""
    if value is None:
        return False
    return not (value == "0" or value.lower() == "false")


def _int(query: Query, key: str, minimum: int = 0) -> int | None:
    raw = first(query, key)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw, 10)
    except ValueError:
        raise errors.new_bad_request(f"{key}: invalid value {raw!r}: must be an integer") from None
    if value < minimum:
        raise errors.new_bad_request(f"{key}: invalid value {value}: must be >= {minimum}")
    return value


def list_options(query: Query) -> rest.ListOptions:
    """The list/watch options of a collection request; 400 on a malformed value."""
    label_text = first(query, "labelSelector")
    field_text = first(query, "fieldSelector")
    send_initial = first(query, "sendInitialEvents")
    return rest.ListOptions(
        label_selector=labels.parse(label_text) if label_text else None,
        field_selector=fields.parse(field_text) if field_text else None,
        limit=_int(query, "limit") or 0,
        continue_token=first(query, "continue") or None,
        resource_version=first(query, "resourceVersion") or None,
        resource_version_match=first(query, "resourceVersionMatch") or None,
        timeout_seconds=_int(query, "timeoutSeconds"),
        allow_watch_bookmarks=parse_bool(first(query, "allowWatchBookmarks")),
        send_initial_events=None if send_initial is None else parse_bool(send_initial),
    )


def dry_run(values: Sequence[str] | None) -> bool:
    """``dryRun`` (query values, or ``DeleteOptions.dryRun``): only ``All`` is defined."""
    if not values:
        return False
    unsupported = [v for v in values if v != "All"]
    if unsupported:
        raise errors.new_bad_request(
            f'dryRun: Unsupported value: "{unsupported[0]}": supported values: "All"'
        )
    return True


def field_validation(query: Query) -> rest.FieldValidation:
    """The ``fieldValidation`` directive; absent means ``Warn`` as in Kubernetes."""
    value = first(query, "fieldValidation")
    if not value:
        return _DEFAULT_FIELD_VALIDATION
    for known in _FIELD_VALIDATION_VALUES:
        if value == known:
            return known
    supported = ", ".join(f'"{v}"' for v in _FIELD_VALIDATION_VALUES)
    raise errors.new_bad_request(
        f'fieldValidation: Unsupported value: "{value}": supported values: {supported}'
    )


def include_object(query: Query) -> IncludeObject:
    """``includeObject`` of a Table request; absent means ``Metadata``."""
    value = first(query, "includeObject")
    if not value:
        return "Metadata"
    for known in _INCLUDE_OBJECT_VALUES:
        if value == known:
            return known
    raise errors.new_bad_request(
        f"includeObject: Unsupported value: {value!r}: supported values: "
        + ", ".join(_INCLUDE_OBJECT_VALUES)
    )
