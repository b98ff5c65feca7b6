"""OpenAPI v3 documents served at ``/openapi/v3`` and ``/openapi/v3/<apis/g/v | api/v1>``.

Where this sits: :func:`pkg.apiserver.server.new_app` builds one :class:`OpenAPIV3` when the
app is created (the documents never change while the server runs), and the OpenAPI
routes serve its pre-encoded bytes. kubectl reads them for ``explain`` and to decide that
the server validates fields itself (``create``/``apply``/``replace``/``edit``).

The schemas come from the same ``api/openapi/<group>/<version>.yaml`` documents the models
are generated from: each group-version's schemas, plus every schema they reference in
other documents (``../meta/v1.yaml#/components/schemas/ObjectMeta``), renamed the
Kubernetes way (``io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta``) so one document
is self-contained. A ``$ref`` with sibling keywords becomes ``allOf: [{$ref}]`` plus the
siblings, as kube-openapi publishes it (OpenAPI 3.0 ignores siblings of ``$ref``).

Paths are generated from the storages' capabilities (kubernetes-api-contract.md §3.6):
every PATCH operation carries ``x-kubernetes-group-version-kind`` (an object) and the
``fieldValidation`` query parameter, which is exactly what kubectl checks before it leaves
validation to the server. The PATCH request body lists JSON patch, merge patch and
apply patch, and deliberately not strategic merge patch: we accept SMP, but only
approximately (see :mod:`pkg.apiserver.patch`), and advertising it would make client-side
``kubectl apply`` send it.

The root document lists only our own group-versions, because kube-apiserver merges the
roots of all aggregated servers verbatim.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from pkg.apiserver import groups

__all__ = ["OpenAPIV3", "schema_prefix"]

_KNOWN_PREFIXES: Final = {
    "meta/v1": "io.k8s.apimachinery.pkg.apis.meta.v1",
    "core/v1": "io.k8s.api.core.v1",
}
_PATCH_SCHEMA: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
_PATCH_CONTENT_TYPES: Final = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
)
_STATUS_SCHEMA: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
_DELETE_OPTIONS_SCHEMA: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"


def schema_prefix(document: Path) -> str:
    """The prefix of a document's schema names: ``api/openapi/porch/v1alpha1.yaml`` ->
    ``dev.kpt.porch.v1alpha1``; meta and core get Kubernetes' own names."""
    key = f"{document.parent.name}/{document.stem}"
    return _KNOWN_PREFIXES.get(key, f"dev.kpt.{document.parent.name}.{document.stem}")


class _SchemaCollector:
    """Copies schemas out of the documents, following and rewriting ``$ref``s."""

    def __init__(self) -> None:
        self._documents: dict[Path, dict[str, Any]] = {}
        self.schemas: dict[str, Any] = {}

    def _load(self, path: Path) -> dict[str, Any]:
        path = path.resolve()
        if path not in self._documents:
            loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
            if not isinstance(loaded, dict):
                raise ValueError(f"{path}: not an OpenAPI document")
            self._documents[path] = loaded
        return self._documents[path]

    def schema_names(self, document: Path) -> list[str]:
        schemas = self._load(document).get("components", {}).get("schemas", {})
        return list(schemas)

    def add(self, document: Path, name: str) -> str:
        """Copy schema ``name`` of ``document`` (and what it references); its new name."""
        document = document.resolve()
        full_name = f"{schema_prefix(document)}.{name}"
        if full_name in self.schemas:
            return full_name
        source = self._load(document).get("components", {}).get("schemas", {}).get(name)
        if source is None:
            raise ValueError(f"{document}: no schema {name!r}")
        self.schemas[full_name] = {}  # placeholder first: schemas may reference themselves
        self.schemas[full_name] = self._rewrite(document, copy.deepcopy(source))
        return full_name

    def _rewrite(self, document: Path, node: Any) -> Any:
        if isinstance(node, list):
            return [self._rewrite(document, item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {key: self._rewrite(document, value) for key, value in node.items() if key != "$ref"}
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return out
        target_file, _, pointer = ref.partition("#")
        prefix = "/components/schemas/"
        if not pointer.startswith(prefix):
            raise ValueError(f"{document}: unsupported $ref {ref!r}")
        target = (document.parent / target_file) if target_file else document
        new_ref = {"$ref": f"#/components/schemas/{self.add(target, pointer[len(prefix) :])}"}
        if not out:
            return new_ref
        return {"allOf": [new_ref], **out}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _query(name: str, description: str, schema_type: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": schema_type, "uniqueItems": True},
    }


_DRY_RUN = _query(
    "dryRun",
    "When present, indicates that modifications should not be persisted. "
    "The only valid value is All.",
)
_FIELD_MANAGER = _query(
    "fieldManager",
    "A name associated with the actor or entity making the "
    "changes. Required for apply requests (application/apply-patch+yaml).",
)
_FIELD_VALIDATION = _query(
    "fieldValidation",
    "How the server handles unknown or duplicate fields in the request body: Ignore, Warn "
    "(the default) or Strict.",
)
_FORCE = _query(
    "force",
    'Force is going to "force" Apply requests (accepted, not enforced: '
    "this server does not track field ownership).",
    "boolean",
)
_PRETTY = _query("pretty", "If 'true', then the output is pretty printed.")
_LIST_PARAMS = [
    _query("allowWatchBookmarks", "Request watch events with type BOOKMARK.", "boolean"),
    _query("continue", "The continue token of the previous page of a chunked list."),
    _query("fieldSelector", "Restrict the returned objects by their fields."),
    _query("labelSelector", "Restrict the returned objects by their labels."),
    _query("limit", "The maximum number of objects to return in one page.", "integer"),
    _query("resourceVersion", "Which resourceVersion to list or watch from."),
    _query("resourceVersionMatch", "How resourceVersion is applied to list calls."),
    _query("timeoutSeconds", "Timeout for the list/watch call.", "integer"),
    _query("watch", "Watch for changes instead of listing.", "boolean"),
]


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "uniqueItems": True},
    }


def _ok(schema: str, code: str = "200") -> dict[str, Any]:
    return {
        code: {
            "description": "OK" if code == "200" else "Created",
            "content": {
                "application/json": {"schema": _ref(schema)},
                "application/yaml": {"schema": _ref(schema)},
            },
        },
        "401": {"description": "Unauthorized"},
    }


def _operation(
    action: str,
    *,
    op_id: str,
    description: str,
    gvk: dict[str, str],
    responses: dict[str, Any],
    parameters: Sequence[dict[str, Any]] = (),
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "description": description,
        "operationId": op_id,
        "parameters": list(parameters),
        "responses": responses,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    }
    if body is not None:
        op["requestBody"] = body
    return op


def _json_body(schema: str, *, required: bool = True) -> dict[str, Any]:
    return {"content": {"*/*": {"schema": _ref(schema)}}, "required": required}


def _patch_body() -> dict[str, Any]:
    return {
        "content": {ct: {"schema": _ref(_PATCH_SCHEMA)} for ct in _PATCH_CONTENT_TYPES},
        "required": True,
    }


@dataclass(frozen=True)
class _Kind:
    """The operations of one kind of a group-version, under one path."""

    gv: groups.APIGroupVersion
    kind: str
    schema: str
    namespaced: bool
    subresource: str = ""

    @property
    def gvk(self) -> dict[str, str]:
        return {"group": self.gv.group, "version": self.gv.version, "kind": self.kind}

    def op_id(self, verb: str, suffix: str = "") -> str:
        group = "".join(p.capitalize() for p in self.gv.group.replace("-", ".").split(".") if p)
        scope = suffix or ("Namespaced" if self.namespaced else "")
        return (
            f"{verb}{group or 'Core'}{self.gv.version.capitalize()}{scope}{self.kind}"
            f"{self.subresource.capitalize()}"
        )

    def operation(
        self,
        action: str,
        verb: str,
        description: str,
        responses: dict[str, Any],
        **extra: Any,
    ) -> dict[str, Any]:
        return _operation(
            action,
            op_id=self.op_id(verb, extra.pop("suffix", "")),
            description=description,
            gvk=self.gvk,
            responses=responses,
            **extra,
        )

    def collection(self, verbs: set[str], list_schema: str) -> dict[str, Any]:
        ops: dict[str, Any] = {}
        if "list" in verbs:
            ops["get"] = self.operation(
                "list",
                "list",
                f"list or watch objects of kind {self.kind}",
                _ok(list_schema),
                parameters=_LIST_PARAMS,
            )
        if "create" in verbs:
            ops["post"] = self.operation(
                "post",
                "create",
                f"create a {self.kind}",
                {**_ok(self.schema), **_ok(self.schema, "201")},
                parameters=[_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION],
                body=_json_body(self.schema),
            )
        if "deletecollection" in verbs:
            ops["delete"] = self.operation(
                "deletecollection",
                "deletecollection",
                f"delete collection of {self.kind}",
                _ok(_STATUS_SCHEMA),
                parameters=[_DRY_RUN, *_LIST_PARAMS],
                body=_json_body(_DELETE_OPTIONS_SCHEMA, required=False),
            )
        return ops

    def item(self, verbs: set[str]) -> dict[str, Any]:
        what = f"the specified {self.kind}"
        if self.subresource:
            what = f"{self.subresource} of {what}"
        changed = {**_ok(self.schema), **_ok(self.schema, "201")}
        ops: dict[str, Any] = {}
        if "get" in verbs:
            ops["get"] = self.operation("get", "read", f"read {what}", _ok(self.schema))
        if "update" in verbs:
            ops["put"] = self.operation(
                "put",
                "replace",
                f"replace {what}",
                changed,
                parameters=[_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION],
                body=_json_body(self.schema),
            )
        if "patch" in verbs:
            # kubectl leaves validation to the server only when this operation carries the
            # GVK and a fieldValidation parameter (query_param_verifier_v3.go).
            ops["patch"] = self.operation(
                "patch",
                "patch",
                f"partially update {what}",
                changed,
                parameters=[_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION, _FORCE],
                body=_patch_body(),
            )
        if "delete" in verbs and not self.subresource:
            ops["delete"] = self.operation(
                "delete",
                "delete",
                f"delete {what}",
                {**_ok(self.schema), "202": {"description": "Accepted"}},
                parameters=[_DRY_RUN],
                body=_json_body(_DELETE_OPTIONS_SCHEMA, required=False),
            )
        return ops


_NAMESPACE_PARAM = _path_param("namespace", "object name and auth scope, such as for teams")


def _paths_for(
    gv: groups.APIGroupVersion, schema_of: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for resource in gv.top_level():
        info = resource.info
        kind_schema = schema_of.get(info.kind)
        list_schema = schema_of.get(info.list_kind)
        if kind_schema is None or list_schema is None:
            continue  # the document does not describe this kind: leave it undocumented
        kind = _Kind(gv, info.kind, kind_schema, info.namespaced)
        verbs = set(resource.verbs)
        if info.namespaced:
            collection = f"{gv.prefix}/namespaces/{{namespace}}/{info.plural}"
            common = [_NAMESPACE_PARAM, _PRETTY]
        else:
            collection = f"{gv.prefix}/{info.plural}"
            common = [_PRETTY]
        ops = kind.collection(verbs, list_schema)
        if ops:
            paths[collection] = {**ops, "parameters": common}
        if info.namespaced and "list" in verbs:
            paths[f"{gv.prefix}/{info.plural}"] = {
                "get": kind.operation(
                    "list",
                    "list",
                    f"list or watch objects of kind {info.kind} in all namespaces",
                    _ok(list_schema),
                    parameters=_LIST_PARAMS,
                    suffix="ForAllNamespaces",
                ),
                "parameters": [_PRETTY],
            }
        item = f"{collection}/{{name}}"
        item_params = [_path_param("name", f"name of the {info.kind}"), *common]
        ops = kind.item(verbs)
        if ops:
            paths[item] = {**ops, "parameters": item_params}
        for sub in gv.subresources_of(info.plural):
            sub_kind = _Kind(
                gv,
                sub.info.kind,
                schema_of.get(sub.info.kind, kind_schema),
                info.namespaced,
                sub.subresource,
            )
            ops = sub_kind.item(set(sub.verbs))
            if ops:
                paths[f"{item}/{sub.subresource}"] = {**ops, "parameters": item_params}
    return paths


def _kinds_in(collector: _SchemaCollector, document: Path) -> dict[str, str]:
    """Kind -> schema name for every schema of ``document`` that declares a GVK."""
    kinds: dict[str, str] = {}
    for name in collector.schema_names(document):
        full = collector.add(document, name)
        for gvk in collector.schemas[full].get("x-kubernetes-group-version-kind", []) or []:
            if isinstance(gvk, dict) and "kind" in gvk:
                kinds[str(gvk["kind"])] = full
    return kinds


def build_document(gv: groups.APIGroupVersion) -> dict[str, Any]:
    """The OpenAPI v3 document of one group-version (``openapi_document`` must be set)."""
    if gv.openapi_document is None:
        raise ValueError(f"{gv.group_version} has no OpenAPI document")
    collector = _SchemaCollector()
    kinds = _kinds_in(collector, gv.openapi_document)
    meta = gv.openapi_document.parent.parent / "meta" / "v1.yaml"
    for name in ("Status", "DeleteOptions"):
        collector.add(meta, name)
    collector.schemas[_PATCH_SCHEMA] = {
        "type": "object",
        "description": "Patch is provided to give a concrete name and type to the Kubernetes "
        "PATCH request body.",
    }
    return {
        "openapi": "3.0.0",
        "info": {"title": "porch-server", "version": gv.group_version},
        "paths": _paths_for(gv, kinds),
        "components": {"schemas": dict(sorted(collector.schemas.items()))},
    }


@dataclass(frozen=True)
class _Encoded:
    body: bytes
    etag: str


class OpenAPIV3:
    """The encoded OpenAPI v3 root and per-group-version documents of one server."""

    def __init__(self, gvs: Sequence[groups.APIGroupVersion]) -> None:
        self._docs: dict[str, _Encoded] = {}
        for gv in gvs:
            if gv.openapi_document is None:
                continue
            body = json.dumps(build_document(gv), separators=(",", ":")).encode()
            digest = hashlib.sha512(body).hexdigest().upper()
            self._docs[gv.prefix.lstrip("/")] = _Encoded(body, digest)
        root = {
            "paths": {
                key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={doc.etag}"}
                for key, doc in self._docs.items()
            }
        }
        self.root = json.dumps(root, separators=(",", ":")).encode()

    def document(self, key: str) -> tuple[bytes, str] | None:
        """The encoded document and its ETag for ``apis/<g>/<v>`` or ``api/v1``, or None."""
        doc = self._docs.get(key)
        return (doc.body, doc.etag) if doc is not None else None
