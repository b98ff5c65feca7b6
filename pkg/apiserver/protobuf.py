"""Kubernetes protobuf request bodies, for the core kinds kubectl sends that way.

Where this sits: the create and update handlers of :mod:`pkg.apiserver.handlers` call
:func:`decode` when a body arrives as ``application/vnd.kubernetes.protobuf``; the result
is the object's JSON form, which then goes through the same codec (and validation) as a
JSON body. Responses are never protobuf: every client that sends protobuf also accepts
JSON, and client-go decodes by the response's Content-Type.

Why: kubectl's typed clients for built-in kinds (``kubectl create secret generic``,
``--type=kubernetes.io/basic-auth``, ``docker-registry``, ``tls``) send protobuf bodies and
do not retry with JSON on 415 (observed with kubectl 1.32 against this server). Only the
kinds we serve from the core group need it: ``v1 Secret``.

The envelope (``k8s.io/apimachinery/pkg/runtime/serializer/protobuf``) is the 4-byte magic
``k8s\\0`` followed by a ``runtime.Unknown`` message whose ``raw`` field holds the object.
The wire format is decoded here against field tables transcribed from
``k8s.io/api/core/v1/generated.proto`` and ``k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto``
(field numbers are part of Kubernetes' compatibility guarantee). The ``protobuf`` library
is not a dependency of ours and its generated classes for these kinds do not exist in
Python, so a table-driven decoder of the four wire types is the smaller thing to carry.
Zero values (``""``, ``0``, an empty Time) are dropped, as Go's JSON ``omitempty`` drops them.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pkg.apimachinery import errors

__all__ = ["MEDIA_TYPE", "decode"]

MEDIA_TYPE: Final = "application/vnd.kubernetes.protobuf"
_MAGIC: Final = b"k8s\x00"

# Wire types.
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str  # string, bytes, int, bool, message, map_string, map_bytes, time, fields_v1
    message: str = ""
    repeated: bool = False


_MESSAGES: Final[Mapping[str, Mapping[int, _Field]]] = {
    "Unknown": {
        1: _Field("typeMeta", "message", "TypeMeta"),
        2: _Field("raw", "raw"),
        3: _Field("contentEncoding", "string"),
        4: _Field("contentType", "string"),
    },
    "TypeMeta": {1: _Field("apiVersion", "string"), 2: _Field("kind", "string")},
    "Secret": {
        1: _Field("metadata", "message", "ObjectMeta"),
        2: _Field("data", "map_bytes"),
        3: _Field("type", "string"),
        4: _Field("stringData", "map_string"),
        5: _Field("immutable", "bool"),
    },
    "ObjectMeta": {
        1: _Field("name", "string"),
        2: _Field("generateName", "string"),
        3: _Field("namespace", "string"),
        4: _Field("selfLink", "string"),
        5: _Field("uid", "string"),
        6: _Field("resourceVersion", "string"),
        7: _Field("generation", "int"),
        8: _Field("creationTimestamp", "time"),
        9: _Field("deletionTimestamp", "time"),
        10: _Field("deletionGracePeriodSeconds", "int"),
        11: _Field("labels", "map_string"),
        12: _Field("annotations", "map_string"),
        13: _Field("ownerReferences", "message", "OwnerReference", repeated=True),
        14: _Field("finalizers", "string", repeated=True),
        17: _Field("managedFields", "message", "ManagedFieldsEntry", repeated=True),
    },
    "OwnerReference": {
        1: _Field("kind", "string"),
        3: _Field("name", "string"),
        4: _Field("uid", "string"),
        5: _Field("apiVersion", "string"),
        6: _Field("controller", "bool"),
        7: _Field("blockOwnerDeletion", "bool"),
    },
    "ManagedFieldsEntry": {
        1: _Field("manager", "string"),
        2: _Field("operation", "string"),
        3: _Field("apiVersion", "string"),
        4: _Field("time", "time"),
        6: _Field("fieldsType", "string"),
        7: _Field("fieldsV1", "fields_v1"),
        8: _Field("subresource", "string"),
    },
}

_KINDS: Final = {("v1", "Secret"): "Secret"}
"""(apiVersion, kind) of the objects we decode -> their message name."""


class _Malformed(Exception):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Malformed("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) of every field; LEN values are bytes."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == _VARINT:
            value, pos = _varint(data, pos)
        elif wire == _I64:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == _LEN:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise _Malformed("truncated field")
            value, pos = data[pos : pos + length], pos + length
        elif wire == _I32:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise _Malformed(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _text(value: Any) -> str:
    if not isinstance(value, bytes):
        raise _Malformed("expected a length-delimited field")
    return value.decode("utf-8")


def _time(value: bytes) -> str | None:
    seconds = nanos = 0
    for number, _, v in _fields(value):
        if number == 1:
            seconds = _signed64(v)
        elif number == 2:
            nanos = v
    if seconds == 0 and nanos == 0:
        return None
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _map_entry(value: bytes) -> tuple[str, bytes]:
    key, item = "", b""
    for number, _, v in _fields(value):
        if number == 1:
            key = _text(v)
        elif number == 2:
            item = v
    return key, item


def _message(name: str, data: bytes) -> dict[str, Any]:
    table = _MESSAGES[name]
    out: dict[str, Any] = {}
    for number, _, value in _fields(data):
        spec = table.get(number)
        if spec is None:
            continue  # a newer field we do not know: Go would keep it; we cannot
        decoded: Any
        if spec.kind == "string":
            decoded = _text(value)
            if not decoded and not spec.repeated:
                continue
        elif spec.kind == "raw":
            decoded = value
        elif spec.kind == "int":
            decoded = _signed64(value)
            if decoded == 0:
                continue
        elif spec.kind == "bool":
            decoded = bool(value)
        elif spec.kind == "time":
            decoded = _time(value)
            if decoded is None:
                continue
        elif spec.kind == "fields_v1":
            raw = next((v for n, _, v in _fields(value) if n == 1), b"")
            decoded = json.loads(raw) if raw else {}
        elif spec.kind in ("map_string", "map_bytes"):
            key, item = _map_entry(value)
            target = out.setdefault(spec.name, {})
            target[key] = (
                item.decode("utf-8")
                if spec.kind == "map_string"
                else base64.b64encode(item).decode()
            )
            continue
        else:
            decoded = _message(spec.message, value)
        if spec.repeated:
            out.setdefault(spec.name, []).append(decoded)
        else:
            out[spec.name] = decoded
    return out


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded object; 415 for kinds we cannot read, 400 if broken."""
    if not body.startswith(_MAGIC):
        raise errors.new_bad_request("protobuf body without the k8s envelope")
    try:
        envelope = _message("Unknown", body[len(_MAGIC) :])
        type_meta = envelope.get("typeMeta", {})
        api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
        message = _KINDS.get((api_version, kind))
        if message is None:
            raise errors.new_unsupported_media_type(
                f"the body of the request was in an unknown format - {MEDIA_TYPE} is only "
                "accepted for v1 Secret; accepted media types include: application/json, "
                "application/yaml"
            )
        if envelope.get("contentEncoding"):
            raise errors.new_bad_request(
                f"unsupported protobuf content encoding {envelope['contentEncoding']!r}"
            )
        obj = _message(message, envelope.get("raw", b""))
    except (_Malformed, UnicodeDecodeError, ValueError, IndexError) as err:
        raise errors.new_bad_request(f"error decoding protobuf body: {err}") from None
    return {"apiVersion": api_version, "kind": kind, **obj}
