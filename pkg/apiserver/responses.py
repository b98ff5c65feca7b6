"""Turning storage results into response bodies: objects, lists, Tables, metadata, Status.

Where this sits: the handlers of :mod:`pkg.apiserver.handlers` and the watch stream of
:mod:`pkg.apiserver.watch` call these after a storage returned, with the
:class:`~pkg.apiserver.negotiation.Output` chosen before the call; the error path of
:mod:`pkg.apiserver.server` calls :func:`status_response`. Every body is built as a
JSON-ready dict here and serialized once, by :mod:`pkg.apimachinery.codec`.

Objects and list items always carry ``apiVersion`` and ``kind`` (typed storages may leave
them empty, as Go's do; clients cope either way, but CRD-like objects are simpler to read).
Tables take the storage's columns when it is a ``TableConvertor`` and ``Name``/``Age``
otherwise; the list's resourceVersion and continue token go into the Table's metadata, as
``kubectl get -w`` watches from there. Every Content-Type is plain ``application/json``
(or ``application/yaml``), as the real apiserver sends for all of these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sanic import response
from sanic.compat import Header
from sanic.response import HTTPResponse

from api import resourceinfo
from api.meta import v1 as metav1
from pkg.apimachinery import codec, errors, strconv
from pkg.apiserver import negotiation, params
from pkg.registry.rest import rest, tableconvertor

__all__ = [
    "DEFAULT_TABLE",
    "encode",
    "list_body",
    "object_body",
    "object_dict",
    "respond",
    "status_response",
    "table_for",
    "warning_header",
    "warning_headers",
]

DEFAULT_TABLE = tableconvertor.TableConvertor(
    [tableconvertor.name_column(), tableconvertor.age_column()]
)
"""The columns of resources whose storage has no Table conversion of its own."""


def encode(data: BaseModel | dict[str, Any], serializer: negotiation.Serializer) -> bytes:
    return codec.encode_yaml(data) if serializer == "yaml" else codec.encode_json(data)


def _content_type(serializer: negotiation.Serializer) -> str:
    return negotiation.YAML if serializer == "yaml" else negotiation.JSON


def respond(
    data: BaseModel | dict[str, Any],
    serializer: negotiation.Serializer = "json",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTTPResponse:
    return response.raw(
        encode(data, serializer),
        status=status,
        content_type=_content_type(serializer),
        headers=headers,
    )


def object_dict(obj: BaseModel, info: resourceinfo.ResourceInfo) -> dict[str, Any]:
    """The object as a dict, with ``apiVersion`` and ``kind`` first."""
    body = codec.to_dict(obj)
    body.pop("apiVersion", None)
    body.pop("kind", None)
    return {"apiVersion": info.api_version, "kind": info.kind, **body}


def _partial(obj: BaseModel, version: str) -> dict[str, Any]:
    metadata = getattr(obj, "metadata", None)
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": codec.to_dict(metadata) if isinstance(metadata, BaseModel) else {},
    }


def table_for(
    storage: rest.Storage,
    ctx: rest.RequestContext,
    *,
    objects: Sequence[BaseModel],
    include_object: params.IncludeObject,
    version: str,
    list_meta: metav1.ListMeta | None = None,
) -> dict[str, Any]:
    """A Table of ``objects`` with the storage's columns (or Name/Age)."""
    convertor: rest.TableConvertor = (
        storage if isinstance(storage, rest.TableConvertor) else DEFAULT_TABLE
    )
    table = convertor.convert_to_table(ctx, objects, include_object)
    body = codec.to_dict(table)
    body["apiVersion"] = f"meta.k8s.io/{version}"
    body["kind"] = "Table"
    body["metadata"] = codec.to_dict(list_meta) if list_meta is not None else {}
    if include_object == "Object":
        # Full objects in rows carry apiVersion/kind like every other object we return.
        for row, obj in zip(body.get("rows", []), objects, strict=False):
            if isinstance(row.get("object"), dict):
                row["object"] = object_dict(obj, storage.resource)
    return body


def object_body(
    obj: BaseModel,
    storage: rest.Storage,
    ctx: rest.RequestContext,
    output: negotiation.Output,
    query: params.Query,
) -> dict[str, Any]:
    """One object as the client asked for it (object, one-row Table, or metadata)."""
    if output.target is negotiation.Target.TABLE:
        return table_for(
            storage,
            ctx,
            objects=[obj],
            include_object=params.include_object(query),
            version=output.version,
        )
    if output.target is negotiation.Target.PARTIAL_OBJECT_METADATA:
        return _partial(obj, output.version)
    return object_dict(obj, storage.resource)


def list_body(
    result: rest.ListResult,
    storage: rest.Storage,
    ctx: rest.RequestContext,
    output: negotiation.Output,
    query: params.Query,
) -> dict[str, Any]:
    """A list page as the client asked for it (list, Table, or PartialObjectMetadataList)."""
    list_meta = metav1.ListMeta(
        resource_version=result.resource_version or None,
        continue_=result.continue_token or None,
        remaining_item_count=result.remaining_item_count,
    )
    if output.target is negotiation.Target.TABLE:
        return table_for(
            storage,
            ctx,
            objects=result.items,
            include_object=params.include_object(query),
            version=output.version,
            list_meta=list_meta,
        )
    if output.target is negotiation.Target.PARTIAL_OBJECT_METADATA_LIST:
        return {
            "kind": "PartialObjectMetadataList",
            "apiVersion": f"meta.k8s.io/{output.version}",
            "metadata": codec.to_dict(list_meta),
            "items": [_partial(obj, output.version) for obj in result.items],
        }
    info = storage.resource
    return {
        "apiVersion": info.api_version,
        "kind": info.list_kind,
        "metadata": codec.to_dict(list_meta),
        "items": [object_dict(obj, info) for obj in result.items],
    }


def warning_header(text: str) -> str:
    """A ``Warning`` header value as Kubernetes writes it: ``299 - "<text>"``."""
    return f"299 - {strconv.quote(text)}"


def warning_headers(warnings: Sequence[str]) -> Header:
    """One ``Warning`` header per distinct warning, in order (kubectl prints each)."""
    headers = Header()
    for text in dict.fromkeys(warnings):
        headers.add("Warning", warning_header(text))
    return headers


def status_response(err: errors.StatusError) -> HTTPResponse:
    """The error as a ``metav1.Status`` JSON body with its code as the HTTP status."""
    status = err.status
    code = status.code or 500
    headers: dict[str, str] = {}
    retry = status.details.retry_after_seconds if status.details is not None else None
    if retry:
        headers["Retry-After"] = str(retry)
    return response.raw(
        codec.encode_json(status), status=code, content_type=negotiation.JSON, headers=headers
    )
