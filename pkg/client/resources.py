"""Typed access to one API resource: paths, verbs, bodies and model decoding.

Where this sits: between :class:`~pkg.client.client.Client` (which holds one accessor per
resource) and :class:`~pkg.client.rest.RESTClient` (which sends the requests). Each accessor
knows its resource's REST names (:class:`api.resourceinfo.ResourceInfo`) and generated
models; objects go out through :func:`pkg.apimachinery.codec.to_dict` and come back through
:func:`pkg.apimachinery.codec.decode`, so aliases and ``None`` handling live in one place.

Verbs follow the resource's capabilities, as Porch serves them::

    ReadOnlyResource     get, list, watch, get_table, list_table   (+ *_raw variants)
     +-- UpdatableResource    + update
          +-- Resource             + create, patch, delete
               +-- PackageRevisions    + update_approval   (packagerevisions/approval)
               +-- Repositories        + update_status     (repositories/status)

``namespace=None`` means the client's default namespace; ``all_namespaces=True`` lists
across namespaces. The ``*_raw`` methods return the server's JSON object unchanged (for
printing exactly what the server said); the others return models.
"""

from __future__ import annotations

import datetime
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Generic, Literal, TypeVar

from pydantic import BaseModel

from api import resourceinfo
from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import codec, duration
from pkg.apimachinery import errors as apierrors
from pkg.client import errors, rest

__all__ = [
    "IncludeObject",
    "PackageRevisions",
    "PatchType",
    "ReadOnlyResource",
    "Repositories",
    "Resource",
    "UpdatableResource",
    "Watch",
    "WatchEvent",
]

M = TypeVar("M", bound=BaseModel)
L = TypeVar("L", bound=BaseModel)

PatchType = Literal["merge", "json", "strategic", "apply"]
_PATCH_CONTENT_TYPES: Final[dict[str, str]] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}

IncludeObject = Literal["None", "Metadata", "Object"]
EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]
_EVENT_TYPES: Final = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK"})


@dataclass(frozen=True, slots=True)
class WatchEvent(Generic[M]):
    """One change: ``type`` and the object after it (before it, for DELETED)."""

    type: EventType
    object: M


class Watch(Generic[M]):
    """A watch stream: iterate for events; ``close()`` (or ``with``) ends it early.

    An ``ERROR`` event is raised as the error its Status describes (410 Expired as
    :class:`~pkg.client.errors.GoneError`: relist and watch again).
    """

    def __init__(self, stream: rest.LineStream, model: type[M]) -> None:
        self._stream = stream
        self._model = model

    def __iter__(self) -> Iterator[WatchEvent[M]]:
        for event in self._stream:
            kind = event.get("type")
            obj = event.get("object")
            if kind == "ERROR":
                status = _decode(metav1.Status, obj)
                raise errors.error_for_status(status)
            if kind not in _EVENT_TYPES or not isinstance(obj, Mapping):
                raise errors.DecodeError(f"unexpected watch event type {kind!r}")
            yield WatchEvent(kind, _decode(self._model, obj))

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Watch[M]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ReadOnlyResource(Generic[M, L]):
    """get / list / watch, as models, raw JSON or server-side Tables."""

    def __init__(
        self,
        client: rest.RESTClient,
        info: resourceinfo.ResourceInfo,
        model: type[M],
        list_model: type[L],
    ) -> None:
        self._rest = client
        self.info = info
        self._model = model
        self._list_model = list_model

    # -- reads -------------------------------------------------------------------------

    def get(self, name: str, *, namespace: str | None = None) -> M:
        """The object ``name``; NotFoundError if there is none."""
        return _decode(self._model, self.get_raw(name, namespace=namespace))

    def get_raw(self, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        """The object ``name`` as the server's JSON."""
        return self._object(self._call("GET", self._path(namespace, name), name=name))

    def list(
        self,
        *,
        namespace: str | None = None,
        all_namespaces: bool = False,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
        resource_version: str | None = None,
    ) -> L:
        """One page of objects (all of them unless ``limit`` is set)."""
        return _decode(
            self._list_model,
            self.list_raw(
                namespace=namespace,
                all_namespaces=all_namespaces,
                label_selector=label_selector,
                field_selector=field_selector,
                limit=limit,
                continue_=continue_,
                resource_version=resource_version,
            ),
        )

    def list_raw(
        self,
        *,
        namespace: str | None = None,
        all_namespaces: bool = False,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        """The list as the server's JSON (``{"kind": "...List", "items": [...]}``)."""
        query = _list_query(label_selector, field_selector, limit, continue_, resource_version)
        path = self._collection_path(namespace, all_namespaces)
        return self._object(self._call("GET", path, query=query))

    def watch(
        self,
        *,
        namespace: str | None = None,
        all_namespaces: bool = False,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = False,
    ) -> Watch[M]:
        """Changes from ``resource_version`` on (unset: ADDED for every object first)."""
        query = [*_list_query(label_selector, field_selector, None, None, resource_version)]
        query.append(("watch", "true"))
        if timeout_seconds is not None:
            query.append(("timeoutSeconds", str(timeout_seconds)))
        if allow_bookmarks:
            query.append(("allowWatchBookmarks", "true"))
        path = self._collection_path(namespace, all_namespaces)
        stream = self._rest.stream(path, query=query, resource=self.info.group_resource)
        return Watch(stream, self._model)

    def get_table(
        self,
        name: str,
        *,
        namespace: str | None = None,
        include_object: IncludeObject | None = None,
    ) -> metav1.Table:
        """The object ``name`` as a server-side Table (one row)."""
        query = [("includeObject", include_object)] if include_object else []
        response = self._call(
            "GET", self._path(namespace, name), query=query, accept=rest.ACCEPT_TABLE, name=name
        )
        return _as_table(self._object(response), self.info)

    def list_table(
        self,
        *,
        namespace: str | None = None,
        all_namespaces: bool = False,
        label_selector: str | None = None,
        field_selector: str | None = None,
        include_object: IncludeObject | None = None,
    ) -> metav1.Table:
        """The objects as a server-side Table (kubectl's and porchctl's default output)."""
        query = [*_list_query(label_selector, field_selector, None, None, None)]
        if include_object:
            query.append(("includeObject", include_object))
        path = self._collection_path(namespace, all_namespaces)
        response = self._call("GET", path, query=query, accept=rest.ACCEPT_TABLE)
        return _as_table(self._object(response), self.info)

    # -- plumbing ----------------------------------------------------------------------

    def _namespace(self, namespace: str | None) -> str:
        return namespace or self._rest.config.namespace

    def _base(self) -> str:
        info = self.info
        return f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"

    def _collection_path(self, namespace: str | None, all_namespaces: bool = False) -> str:
        if all_namespaces or not self.info.namespaced:
            return f"{self._base()}/{self.info.plural}"
        ns = urllib.parse.quote(self._namespace(namespace), safe="")
        return f"{self._base()}/namespaces/{ns}/{self.info.plural}"

    def _path(self, namespace: str | None, name: str, subresource: str = "") -> str:
        if not name:
            # An empty name would address the collection instead.
            raise ValueError(f"{self.info.kind} name must not be empty")
        path = f"{self._collection_path(namespace)}/{urllib.parse.quote(name, safe='')}"
        return f"{path}/{subresource}" if subresource else path

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: rest.Query = (),
        body: Any = None,
        content_type: str | None = None,
        accept: str = rest.ACCEPT_JSON,
        name: str = "",
    ) -> rest.Response:
        return self._rest.request(
            method,
            path,
            query=query,
            body=body,
            content_type=content_type,
            accept=accept,
            resource=self.info.group_resource,
            name=name,
        )

    def _object(self, response: rest.Response) -> dict[str, Any]:
        if not isinstance(response.body, dict):
            got = type(response.body).__name__
            raise errors.DecodeError(
                f"expected a JSON object for {self.info.group_resource}, got {got}"
            )
        return response.body


class UpdatableResource(ReadOnlyResource[M, L]):
    """Adds ``update`` (PUT of the whole object)."""

    def update(self, obj: M) -> M:
        """Replace the object; ConflictError if its resourceVersion is stale."""
        name, namespace = _name_and_namespace(obj)
        response = self._call(
            "PUT",
            self._path(namespace, name),
            body=codec.to_dict(obj),
            content_type=rest.ACCEPT_JSON,
            name=name,
        )
        return _decode(self._model, self._object(response))

    def _update_subresource(self, obj: M, subresource: str) -> M:
        name, namespace = _name_and_namespace(obj)
        response = self._call(
            "PUT",
            self._path(namespace, name, subresource),
            body=codec.to_dict(obj),
            content_type=rest.ACCEPT_JSON,
            name=name,
        )
        return _decode(self._model, self._object(response))


class Resource(UpdatableResource[M, L]):
    """Adds ``create``, ``patch`` and ``delete``."""

    def create(self, obj: M, *, namespace: str | None = None) -> M:
        """Create the object in its (or ``namespace``'s, or the default) namespace."""
        meta = getattr(obj, "metadata", None)
        target = namespace or (meta.namespace if meta is not None else None)
        response = self._call(
            "POST",
            self._collection_path(target),
            body=codec.to_dict(obj),
            content_type=rest.ACCEPT_JSON,
            name=(meta.name or "") if meta is not None else "",
        )
        return _decode(self._model, self._object(response))

    def patch(
        self,
        name: str,
        patch: Mapping[str, Any] | Sequence[Any],
        *,
        namespace: str | None = None,
        patch_type: PatchType = "merge",
        field_manager: str | None = None,
        force: bool | None = None,
    ) -> M:
        """Patch the object (merge patch unless ``patch_type`` says otherwise)."""
        query: list[tuple[str, str]] = []
        if field_manager:
            query.append(("fieldManager", field_manager))
        if force is not None:
            query.append(("force", "true" if force else "false"))
        body: Any = list(patch) if not isinstance(patch, Mapping) else dict(patch)
        response = self._call(
            "PATCH",
            self._path(namespace, name),
            query=query,
            body=body,
            content_type=_PATCH_CONTENT_TYPES[patch_type],
            name=name,
        )
        return _decode(self._model, self._object(response))

    def delete(
        self,
        name: str,
        *,
        namespace: str | None = None,
        propagation_policy: Literal["Foreground", "Background", "Orphan"] | None = None,
        resource_version: str | None = None,
        uid: str | None = None,
    ) -> None:
        """Delete the object; the preconditions make it a 409 if it changed meanwhile."""
        options = metav1.DeleteOptions(
            kind="DeleteOptions",
            api_version="v1",
            propagation_policy=propagation_policy,
            preconditions=(
                metav1.Preconditions(resource_version=resource_version, uid=uid)
                if resource_version or uid
                else None
            ),
        )
        self._call(
            "DELETE",
            self._path(namespace, name),
            body=codec.to_dict(options),
            content_type=rest.ACCEPT_JSON,
            name=name,
        )


class PackageRevisions(Resource[porchv1alpha1.PackageRevision, porchv1alpha1.PackageRevisionList]):
    """packagerevisions.porch.kpt.dev, with the ``approval`` subresource."""

    def update_approval(self, obj: porchv1alpha1.PackageRevision) -> porchv1alpha1.PackageRevision:
        """PUT ``packagerevisions/<name>/approval``: the only way to publish a revision."""
        return self._update_subresource(obj, "approval")


class Repositories(Resource[configv1alpha1.Repository, configv1alpha1.RepositoryList]):
    """repositories.config.porch.kpt.dev, with the ``status`` subresource."""

    def update_status(self, obj: configv1alpha1.Repository) -> configv1alpha1.Repository:
        """PUT ``repositories/<name>/status`` (what a repository controller writes)."""
        return self._update_subresource(obj, "status")


# -- helpers ---------------------------------------------------------------------------


def _list_query(
    label_selector: str | None,
    field_selector: str | None,
    limit: int | None,
    continue_: str | None,
    resource_version: str | None,
) -> list[tuple[str, str]]:
    query: list[tuple[str, str]] = []
    if label_selector:
        query.append(("labelSelector", label_selector))
    if field_selector:
        query.append(("fieldSelector", field_selector))
    if limit is not None:
        query.append(("limit", str(limit)))
    if continue_:
        query.append(("continue", continue_))
    if resource_version is not None:
        query.append(("resourceVersion", resource_version))
    return query


def _name_and_namespace(obj: BaseModel) -> tuple[str, str | None]:
    meta = getattr(obj, "metadata", None)
    if meta is None or not meta.name:
        raise ValueError(f"{type(obj).__name__} has no metadata.name")
    return meta.name, meta.namespace


def _decode(model: type[M], data: Any) -> M:
    if not isinstance(data, Mapping):
        raise errors.DecodeError(f"expected a JSON object for {model.__name__}")
    try:
        return codec.decode(model, data)
    except apierrors.StatusError as err:
        raise errors.DecodeError(f"cannot read the server's {model.__name__}: {err}") from err


def _as_table(body: dict[str, Any], info: resourceinfo.ResourceInfo) -> metav1.Table:
    """The answer as a Table; a server without Table support sent plain JSON instead, which
    becomes kubectl's fallback table (NAME, AGE)."""
    if body.get("kind") == "Table":
        return _decode(metav1.Table, body)
    items = body.get("items") if body.get("kind") == info.list_kind else [body]
    rows = [
        metav1.TableRow.model_validate(
            {
                "cells": [_meta_of(item).get("name", ""), _age(_meta_of(item))],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": _meta_of(item),
                },
            }
        )
        for item in items or []
        if isinstance(item, Mapping)
    ]
    list_meta = body.get("metadata") if body.get("kind") == info.list_kind else None
    return metav1.Table(
        kind="Table",
        api_version="meta.k8s.io/v1",
        metadata=_decode(metav1.ListMeta, list_meta or {}),
        column_definitions=[
            metav1.TableColumnDefinition(
                name="Name", type="string", format="name", description="", priority=0
            ),
            metav1.TableColumnDefinition(
                name="Age", type="string", format="", description="", priority=0
            ),
        ],
        rows=rows,
    )


def _meta_of(item: Mapping[str, Any]) -> dict[str, Any]:
    meta = item.get("metadata")
    return dict(meta) if isinstance(meta, Mapping) else {}


def _age(meta: Mapping[str, Any]) -> str:
    created = meta.get("creationTimestamp")
    if not isinstance(created, str):
        return "<unknown>"
    try:
        then = datetime.datetime.fromisoformat(created)
    except ValueError:
        return "<unknown>"
    return duration.human_duration(datetime.datetime.now(datetime.UTC) - then)
