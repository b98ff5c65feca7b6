"""The REST handlers: one function per verb, each calling exactly one storage capability.

Where this sits: :mod:`pkg.apiserver.server` installs a route per resource path with only
the methods its storage supports and calls these after authentication and authorization
(``request.ctx.user`` is set). Each handler negotiates the response representation
first (406 before any work), builds the :class:`~pkg.registry.rest.rest.RequestContext`,
decodes the body with the request's field validation, calls the storage inside the
request budget, and renders the result (:mod:`pkg.apiserver.responses`). Errors are
raised as :class:`~pkg.apimachinery.errors.StatusError`; the server renders them.

Every write records field ownership through :mod:`pkg.apiserver.fieldmanager`: create on
the decoded body, PUT and PATCH inside the storage's update against the current object
(server-side apply merges, prunes and checks conflicts there too). The manager is the
``fieldManager`` query parameter, else the User-Agent's product name, as in Kubernetes. A
storage that discards ``managedFields`` (``rest.ManagedFieldsDiscarder``) gets none of it:
apply is a plain merge there.

The request budget (kubernetes-api-contract.md §3.11): behind kube-apiserver every
non-watch request must answer within its 60 s proxy timeout, so a storage call that
outlives ``Config.request_timeout`` (55 s) is answered 504 Timeout while the call itself
runs on in the background: a write is never cut in half by the deadline (nor by a client
that hangs up), as in Kubernetes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from pydantic import BaseModel
from sanic import Request
from sanic.response import HTTPResponse

from api import resourceinfo
from api.meta import v1 as metav1
from pkg.apimachinery import codec, errors, field
from pkg.apimachinery import user as userinfo
from pkg.apiserver import (
    config,
    fieldmanager,
    groups,
    negotiation,
    params,
    patch,
    protobuf,
    responses,
    watch,
)
from pkg.registry.rest import objectmeta, rest

__all__ = [
    "Scope",
    "create",
    "delete",
    "delete_collection",
    "get",
    "list_or_watch",
    "patch_object",
    "serve_watch",
    "update",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Scope:
    """What a route serves: a resource (or subresource) of a group-version."""

    gv: groups.APIGroupVersion
    resource: groups.Resource

    @property
    def storage(self) -> rest.Storage:
        return self.resource.storage

    @property
    def group_resource(self) -> errors.GroupResource:
        info = self.resource.info
        return errors.GroupResource(info.group, info.plural)


def _state(request: Request) -> config.State:
    state: config.State = request.app.ctx.porch
    return state


def _query(request: Request) -> params.Query:
    query: params.Query = request.ctx.query
    return query


def _user(request: Request) -> userinfo.UserInfo:
    info: userinfo.UserInfo = request.ctx.user
    return info


def _context(
    request: Request,
    namespace: str | None,
    *,
    dry_run: bool = False,
    with_body: bool = False,
) -> rest.RequestContext:
    query = _query(request)
    return rest.RequestContext(
        namespace=namespace,
        user=_user(request),
        dry_run=dry_run,
        field_manager=params.first(query, "fieldManager") or None,
        field_validation=params.field_validation(query) if with_body else "Ignore",
        deadline=time.monotonic() + _state(request).config.request_timeout,
    )


async def _call(request: Request, ctx: rest.RequestContext, work: Coroutine[Any, Any, T]) -> T:
    """Run one storage call inside the request budget (module docstring)."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=ctx.remaining())
    except asyncio.CancelledError:
        # The client went away: let the storage finish what it started.
        _state(request).keep(task)
        raise
    if task not in done:
        _state(request).keep(task)
        raise errors.new_timeout("request did not complete within the allotted timeout", 0)
    return task.result()


def _finish(
    ctx: rest.RequestContext,
    body: BaseModel | dict[str, Any],
    output: negotiation.Output,
    status: int = 200,
) -> HTTPResponse:
    resp = responses.respond(body, output.serializer, status)
    for value in responses.warning_headers(ctx.warnings).getall("Warning", []):
        resp.headers.add("Warning", value)
    return resp


def _decode(
    model_cls: type[BaseModel],
    body: bytes | dict[str, Any],
    content_type: str,
    ctx: rest.RequestContext,
) -> BaseModel:
    """Decode with ``ctx.field_validation``: Strict rejects unknown/duplicate fields (400),
    Warn reports them as warnings, Ignore drops them."""
    if ctx.field_validation == "Strict":
        return codec.decode(model_cls, body, content_type=content_type, strict=True)
    if ctx.field_validation == "Warn":
        obj, warnings = codec.decode_with_warnings(model_cls, body, content_type=content_type)
        ctx.warnings.extend(warnings)
        return obj
    return codec.decode(model_cls, body, content_type=content_type)


def _decode_body(
    request: Request, model_cls: type[BaseModel], ctx: rest.RequestContext
) -> BaseModel:
    """The request body as ``model_cls``: JSON, YAML or (kubectl's typed clients) protobuf."""
    body_format = negotiation.body_format(request.headers.get("content-type"), protobuf=True)
    if body_format == "protobuf":
        return _decode(model_cls, protobuf.decode(request.body), negotiation.JSON, ctx)
    content_type = negotiation.YAML if body_format == "yaml" else negotiation.JSON
    return _decode(model_cls, request.body, content_type, ctx)


def _check_type(obj: BaseModel, scope: Scope) -> None:
    info = scope.resource.info
    api_version = getattr(obj, "api_version", None)
    kind = getattr(obj, "kind", None)
    if api_version and api_version != info.api_version:
        raise errors.new_bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({info.api_version})"
        )
    if kind and kind != info.kind:
        raise errors.new_bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({info.kind})"
        )


def _check_name(obj: BaseModel, name: str) -> None:
    body_name = objectmeta.meta_of(obj).name or ""
    if body_name != name:
        raise errors.new_bad_request(
            f"the name of the object ({body_name}) does not match the name on the URL ({name})"
        )


# --- read ------------------------------------------------------------------------------------


async def get(request: Request, scope: Scope, namespace: str | None, name: str) -> HTTPResponse:
    storage = scope.storage
    assert isinstance(storage, rest.Getter)
    output = negotiation.negotiate_output(request.headers.get("accept"), "item")
    ctx = _context(request, namespace)
    obj = await _call(request, ctx, storage.get(ctx, name))
    return _finish(ctx, responses.object_body(obj, storage, ctx, output, _query(request)), output)


async def list_or_watch(
    request: Request, scope: Scope, namespace: str | None
) -> HTTPResponse | None:
    """GET on a collection: a list, or a watch stream with ``?watch=<true>``."""
    query = _query(request)
    storage = scope.storage
    if params.parse_bool(params.first(query, "watch")):
        if not isinstance(storage, rest.Watcher):
            raise errors.new_method_not_supported(scope.group_resource, "watch")
        await serve_watch(request, scope, namespace)
        return None
    if not isinstance(storage, rest.Lister):
        raise errors.new_method_not_supported(scope.group_resource, "list")
    output = negotiation.negotiate_output(request.headers.get("accept"), "list")
    options = params.list_options(query)
    ctx = _context(request, namespace)
    result = await _call(request, ctx, storage.list(ctx, options))
    return _finish(ctx, responses.list_body(result, storage, ctx, output, query), output)


async def serve_watch(request: Request, scope: Scope, namespace: str | None) -> None:
    """``?watch=true`` on a collection, and the legacy ``/watch/`` paths."""
    storage = scope.storage
    if not isinstance(storage, rest.Watcher):
        raise errors.new_method_not_supported(scope.group_resource, "watch")
    state = _state(request)
    query = _query(request)
    output = negotiation.negotiate_output(request.headers.get("accept"), "watch")
    options = params.list_options(query)
    duration = watch.watch_duration(options, state.config.min_watch_timeout)
    ctx = _context(request, namespace)
    ctx.deadline = time.monotonic() + duration
    attributes = {"resource": scope.resource.path}

    async def started() -> None:
        state.watchers.add(1, attributes)
        request.ctx.watch_started = True

    try:
        await watch.serve(
            request,
            storage,
            ctx=ctx,
            options=options,
            output=output,
            query=query,
            duration=duration,
            stopping=state.stopping,
            on_stream_start=started,
        )
    finally:
        if getattr(request.ctx, "watch_started", False):
            state.watchers.add(-1, attributes)


# --- write -----------------------------------------------------------------------------------


def _dry_run(query: params.Query) -> bool:
    return params.dry_run(query.get("dryRun"))


_FIELD_MANAGER_MAX_LENGTH: Final = 128


def _check_field_manager(ctx: rest.RequestContext, options_kind: str) -> None:
    """422 for a ``fieldManager`` Kubernetes refuses (``ValidateFieldManager``): longer than
    128 characters or with a character that is not printable (it names the manager in
    managedFields and in conflict messages)."""
    manager = ctx.field_manager or ""
    path = field.new_path("fieldManager")
    errs = field.ErrorList()
    if len(manager) > _FIELD_MANAGER_MAX_LENGTH:
        errs.append(field.too_long(path, manager, _FIELD_MANAGER_MAX_LENGTH))
    for index, char in enumerate(manager):
        if not char.isprintable():
            position = len(manager[:index].encode())  # Go reports the byte offset
            errs.append(
                field.invalid(
                    path, manager, f"invalid character U+{ord(char):04X} (at position {position})"
                )
            )
    if errs:
        raise errors.new_invalid(errors.GroupKind("meta.k8s.io", options_kind), "", errs)


def _field_manager(scope: Scope) -> fieldmanager.FieldManager | None:
    """The field manager of the route, None when its storage discards managedFields."""
    storage = scope.storage
    if isinstance(storage, rest.ManagedFieldsDiscarder):
        return None
    info = scope.resource.info
    return fieldmanager.FieldManager(
        storage.new_object(),
        info.api_version,
        info.kind,
        subresource=scope.resource.subresource,
        resource=scope.group_resource,
    )


def _manager(request: Request, ctx: rest.RequestContext) -> str:
    """Who writes: ``fieldManager``, else the User-Agent up to its first ``/``."""
    return ctx.field_manager or fieldmanager.manager_from_user_agent(
        request.headers.get("user-agent")
    )


async def create(request: Request, scope: Scope, namespace: str | None) -> HTTPResponse:
    storage = scope.storage
    assert isinstance(storage, rest.Creater)
    output = negotiation.negotiate_output(request.headers.get("accept"), "item")
    query = _query(request)
    ctx = _context(request, namespace, dry_run=_dry_run(query), with_body=True)
    _check_field_manager(ctx, "CreateOptions")
    obj = _decode_body(request, storage.new_object(), ctx)
    _check_type(obj, scope)
    fields = _field_manager(scope)
    if fields is not None:
        fields.update(None, obj, _manager(request, ctx))
    created = await _call(request, ctx, storage.create(ctx, obj, rest.CreateOptions()))
    return _finish(ctx, responses.object_body(created, storage, ctx, output, query), output, 201)


@dataclass
class _Replacement:
    """PUT: the new object is the body (rest.UpdatedObjectInfo)."""

    obj: BaseModel
    fields: fieldmanager.FieldManager | None
    manager: str

    async def updated_object(self, ctx: rest.RequestContext, old: BaseModel | None) -> BaseModel:
        if self.fields is not None:
            self.fields.update(old, self.obj, self.manager)
        return self.obj


async def update(request: Request, scope: Scope, namespace: str | None, name: str) -> HTTPResponse:
    storage = scope.storage
    assert isinstance(storage, rest.Updater)
    output = negotiation.negotiate_output(request.headers.get("accept"), "item")
    query = _query(request)
    ctx = _context(request, namespace, dry_run=_dry_run(query), with_body=True)
    _check_field_manager(ctx, "UpdateOptions")
    obj = _decode_body(request, storage.new_object(), ctx)
    _check_type(obj, scope)
    _check_name(obj, name)
    info = _Replacement(obj, _field_manager(scope), _manager(request, ctx))
    stored, created = await _call(
        request, ctx, storage.update(ctx, name, info, rest.UpdateOptions())
    )
    body = responses.object_body(stored, storage, ctx, output, query)
    return _finish(ctx, body, output, 201 if created else 200)


@dataclass
class _Patched:
    """PATCH: the new object is the patch applied to the current one (rest.UpdatedObjectInfo)."""

    scope: Scope
    name: str
    patch_type: negotiation.PatchType
    patch: Any
    fields: fieldmanager.FieldManager | None
    manager: str
    force: bool

    async def updated_object(self, ctx: rest.RequestContext, old: BaseModel | None) -> BaseModel:
        scope = self.scope
        info = scope.resource.info
        model = scope.storage.new_object()
        apply = self.patch_type is negotiation.PatchType.APPLY_PATCH
        entries: list[metav1.ManagedFieldsEntry] | None = None
        if not apply:
            if old is None:
                raise errors.new_not_found(scope.group_resource, self.name)
            data = patch.apply_patch(
                self.patch_type, responses.object_dict(old, info), self.patch, model
            )
        else:
            applied = self.patch if old is not None else self._to_create(info)
            if self.fields is not None:
                data, entries = self.fields.apply(old, applied, self.manager, force=self.force)
            elif old is not None:  # the storage keeps no ownership: a plain merge
                data = patch.apply_patch(
                    self.patch_type, responses.object_dict(old, info), applied, model
                )
            else:
                data = applied
        obj = _decode(model, data, negotiation.JSON, ctx)
        _check_type(obj, scope)
        _check_name(obj, self.name)
        if self.fields is not None:
            if apply:
                objectmeta.meta_of(obj).managed_fields = entries
            else:
                self.fields.update(old, obj, self.manager)
        return obj

    def _to_create(self, info: resourceinfo.ResourceInfo) -> dict[str, Any]:
        """An apply that creates: the configuration, typed and named by the URL if it is not."""
        data = dict(self.patch)
        data.setdefault("apiVersion", info.api_version)
        data.setdefault("kind", info.kind)
        metadata = dict(data.get("metadata") or {})
        metadata.setdefault("name", self.name)
        data["metadata"] = metadata
        return data


async def patch_object(
    request: Request, scope: Scope, namespace: str | None, name: str
) -> HTTPResponse:
    storage = scope.storage
    assert isinstance(storage, rest.Updater)
    patch_type = negotiation.patch_type(request.headers.get("content-type"))
    output = negotiation.negotiate_output(request.headers.get("accept"), "item")
    query = _query(request)
    ctx = _context(request, namespace, dry_run=_dry_run(query), with_body=True)
    apply = patch_type is negotiation.PatchType.APPLY_PATCH
    _check_field_manager(ctx, "PatchOptions")
    options = errors.GroupKind("meta.k8s.io", "PatchOptions")
    force = params.first(query, "force")
    if apply and not ctx.field_manager:
        raise errors.new_invalid(
            options,
            "",
            field.ErrorList(
                [field.required(field.new_path("fieldManager"), "is required for apply patch")]
            ),
        )
    if not apply and force is not None:
        raise errors.new_invalid(
            options,
            "",
            field.ErrorList(
                [
                    field.forbidden(
                        field.new_path("force"), "may not be specified for non-apply patch"
                    )
                ]
            ),
        )
    body = patch.decode_patch(patch_type, request.body)
    if apply:
        _check_applied_identity(body, scope, name)
    info = _Patched(
        scope,
        name,
        patch_type,
        body,
        _field_manager(scope),
        _manager(request, ctx),
        params.parse_bool(force),
    )
    stored, created = await _call(
        request, ctx, storage.update(ctx, name, info, rest.UpdateOptions(force_allow_create=apply))
    )
    result = responses.object_body(stored, storage, ctx, output, query)
    return _finish(ctx, result, output, 201 if created else 200)


def _check_applied_identity(body: dict[str, Any], scope: Scope, name: str) -> None:
    info = scope.resource.info
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if (api_version and api_version != info.api_version) or (kind and kind != info.kind):
        raise errors.new_bad_request(
            f"the object in the apply patch ({api_version}, Kind={kind}) does not match the "
            f"resource ({info.api_version}, Kind={info.kind})"
        )
    metadata = body.get("metadata")
    applied_name = metadata.get("name") if isinstance(metadata, dict) else None
    if applied_name and applied_name != name:
        raise errors.new_bad_request(
            f"the name of the object ({applied_name}) does not match the name on the URL ({name})"
        )


def _delete_options(request: Request) -> metav1.DeleteOptions:
    if not request.body or not request.body.strip():
        return metav1.DeleteOptions()
    body_format = negotiation.body_format(request.headers.get("content-type"))
    content_type = negotiation.YAML if body_format == "yaml" else negotiation.JSON
    return codec.decode(metav1.DeleteOptions, request.body, content_type=content_type)


async def delete(request: Request, scope: Scope, namespace: str | None, name: str) -> HTTPResponse:
    storage = scope.storage
    assert isinstance(storage, rest.GracefulDeleter)
    output = negotiation.negotiate_output(request.headers.get("accept"), "item")
    query = _query(request)
    options = _delete_options(request)
    dry_run = params.dry_run(query.get("dryRun") or options.dry_run)
    ctx = _context(request, namespace, dry_run=dry_run)
    obj, immediately = await _call(request, ctx, storage.delete(ctx, name, options))
    status = 200 if immediately else 202
    if isinstance(obj, metav1.Status):
        return _finish(ctx, obj, output, status)
    return _finish(ctx, responses.object_body(obj, storage, ctx, output, query), output, status)


async def delete_collection(request: Request, scope: Scope, namespace: str | None) -> HTTPResponse:
    storage = scope.storage
    assert isinstance(storage, rest.CollectionDeleter)
    output = negotiation.negotiate_output(request.headers.get("accept"), "list")
    query = _query(request)
    options = _delete_options(request)
    dry_run = params.dry_run(query.get("dryRun") or options.dry_run)
    list_options = params.list_options(query)
    ctx = _context(request, namespace, dry_run=dry_run)
    result = await _call(request, ctx, storage.delete_collection(ctx, options, list_options))
    return _finish(ctx, responses.list_body(result, storage, ctx, output, query), output)
