"""Test support for the API server's own tests: an in-memory storage and a loopback server.

Never imported by production code. :class:`MemoryStorage` implements every capability of
:mod:`pkg.registry.rest.rest` (get, list with selectors and paging, create, update,
delete with preconditions, deletecollection, watch with resume, bookmarks and 410) over a
dict, running the real create/update drivers; it stands in for the SQLite-backed generic
store so the HTTP layer can be tested on its own. :class:`StatusStorage` is its
``status`` subresource. :func:`serve` runs an app on a real 127.0.0.1 socket inside the
test's event loop (Sanic's ``port=0`` binds 8000, so the socket is bound here).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from pydantic import BaseModel

from api import resourceinfo
from api.meta import v1 as metav1
from pkg.apimachinery import errors, validation
from pkg.apimachinery import field as fielderrors
from pkg.apiserver import config, serving
from pkg.registry.rest import create, objectmeta, rest, update

__all__ = ["MemoryStorage", "MemoryStore", "StatusStorage", "serve"]


class _Strategy:
    """The rules every test resource follows: a DNS-subdomain name, status kept apart."""

    def __init__(self, info: resourceinfo.ResourceInfo) -> None:
        self._info = info

    def prepare_for_create(self, ctx: rest.RequestContext, obj: BaseModel) -> None:
        if "status" in type(obj).model_fields:
            obj.status = None  # type: ignore[attr-defined]

    def validate(self, ctx: rest.RequestContext, obj: BaseModel) -> fielderrors.ErrorList:
        return objectmeta.validate_object_meta(
            objectmeta.meta_of(obj),
            namespaced=self._info.namespaced,
            name_validator=validation.is_dns1123_subdomain,
        )

    def warnings_on_create(self, ctx: rest.RequestContext, obj: BaseModel) -> list[str]:
        labels = objectmeta.meta_of(obj).labels or {}
        return ["label 'deprecated' is set"] if "deprecated" in labels else []

    def canonicalize(self, obj: BaseModel) -> None:
        return None

    def allow_create_on_update(self) -> bool:
        return False

    def prepare_for_update(self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel) -> None:
        if "status" in type(new).model_fields:
            new.status = old.status  # type: ignore[attr-defined]

    def validate_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> fielderrors.ErrorList:
        return self.validate(ctx, new)

    def warnings_on_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> list[str]:
        return []


@dataclass
class _Watch:
    queue: asyncio.Queue[rest.WatchEvent]
    namespace: str | None
    options: rest.ListOptions


@dataclass
class MemoryStore:
    """Objects of one resource plus the event history watches resume from."""

    objects: dict[tuple[str, str], BaseModel] = field(default_factory=dict)
    resource_version: int = 1
    history: list[tuple[int, rest.WatchEvent]] = field(default_factory=list)
    history_limit: int = 1000
    watches: list[_Watch] = field(default_factory=list)
    delay: float = 0.0
    """Seconds every call sleeps first (to exercise request deadlines)."""


def _meta(obj: BaseModel) -> metav1.ObjectMeta:
    return objectmeta.meta_of(obj)


def _copy(obj: BaseModel) -> BaseModel:
    return obj.model_copy(deep=True)


def _matches(obj: BaseModel, namespace: str | None, options: rest.ListOptions) -> bool:
    meta = _meta(obj)
    if namespace is not None and meta.namespace != namespace:
        return False
    if options.label_selector is not None and not options.label_selector.matches(meta.labels or {}):
        return False
    if options.field_selector is not None:
        return options.field_selector.matches(
            {"metadata.name": meta.name or "", "metadata.namespace": meta.namespace or ""}
        )
    return True


def _check_field_selector(options: rest.ListOptions) -> None:
    if options.field_selector is None:
        return
    for requirement in options.field_selector.requirements():
        if requirement.field not in ("metadata.name", "metadata.namespace"):
            raise errors.new_bad_request(f'field label not supported: "{requirement.field}"')


class MemoryStorage:
    """Every capability over a dict; ``MemoryStorage(info, Model, ListModel)``."""

    def __init__(
        self,
        info: resourceinfo.ResourceInfo,
        obj_cls: type[BaseModel],
        list_cls: type[BaseModel],
        store: MemoryStore | None = None,
    ) -> None:
        self._info = info
        self._obj_cls = obj_cls
        self._list_cls = list_cls
        self.store = store or MemoryStore()
        self._strategy = _Strategy(info)

    @property
    def resource(self) -> resourceinfo.ResourceInfo:
        return self._info

    def new_object(self) -> type[BaseModel]:
        return self._obj_cls

    def new_list(self) -> type[BaseModel]:
        return self._list_cls

    @property
    def _group_resource(self) -> errors.GroupResource:
        return errors.GroupResource(self._info.group, self._info.plural)

    @property
    def _group_kind(self) -> errors.GroupKind:
        return errors.GroupKind(self._info.group, self._info.kind)

    async def _pause(self) -> None:
        if self.store.delay:
            await asyncio.sleep(self.store.delay)

    def _key(self, ctx: rest.RequestContext, name: str) -> tuple[str, str]:
        return (ctx.namespace or "", name)

    def _emit(self, event_type: rest.WatchEventType, obj: BaseModel) -> None:
        rv = int(_meta(obj).resource_version or 0)
        event = rest.WatchEvent(event_type, _copy(obj))
        self.store.history.append((rv, event))
        del self.store.history[: -self.store.history_limit]
        for watch in self.store.watches:
            if _matches(obj, watch.namespace, watch.options):
                watch.queue.put_nowait(event)

    def _next_rv(self) -> str:
        self.store.resource_version += 1
        return str(self.store.resource_version)

    async def get(self, ctx: rest.RequestContext, name: str) -> BaseModel:
        await self._pause()
        obj = self.store.objects.get(self._key(ctx, name))
        if obj is None:
            raise errors.new_not_found(self._group_resource, name)
        return _copy(obj)

    async def list(self, ctx: rest.RequestContext, options: rest.ListOptions) -> rest.ListResult:
        await self._pause()
        _check_field_selector(options)
        items = sorted(
            (o for o in self.store.objects.values() if _matches(o, ctx.namespace, options)),
            key=lambda o: (_meta(o).namespace or "", _meta(o).name or ""),
        )
        start = int(options.continue_token) if options.continue_token else 0
        page = items[start:]
        token = None
        remaining = None
        if options.limit and len(page) > options.limit:
            page = page[: options.limit]
            token = str(start + options.limit)
            remaining = len(items) - start - options.limit
        return rest.ListResult(
            items=[_copy(o) for o in page],
            resource_version=str(self.store.resource_version),
            continue_token=token,
            remaining_item_count=remaining,
        )

    async def create(
        self, ctx: rest.RequestContext, obj: BaseModel, options: rest.CreateOptions
    ) -> BaseModel:
        await self._pause()
        create.before_create(self._strategy, ctx, obj, self._group_kind)
        meta = _meta(obj)
        key = (meta.namespace or "", meta.name or "")
        if key in self.store.objects:
            raise errors.new_already_exists(self._group_resource, meta.name or "")
        meta.generation = 1
        if ctx.dry_run:
            return obj
        meta.resource_version = self._next_rv()
        self.store.objects[key] = _copy(obj)
        self._emit("ADDED", obj)
        return obj

    async def update(
        self,
        ctx: rest.RequestContext,
        name: str,
        obj_info: rest.UpdatedObjectInfo,
        options: rest.UpdateOptions,
    ) -> tuple[BaseModel, bool]:
        await self._pause()
        key = self._key(ctx, name)
        old = self.store.objects.get(key)
        if old is None:
            if not options.force_allow_create:
                # UpdatedObjectInfo may still want to refuse with its own error.
                await obj_info.updated_object(ctx, None)
                raise errors.new_not_found(self._group_resource, name)
            new = await obj_info.updated_object(ctx, None)
            return await self.create(ctx, new, rest.CreateOptions()), True
        new = await obj_info.updated_object(ctx, _copy(old))
        new_meta = _meta(new)
        if new_meta.resource_version and new_meta.resource_version != _meta(old).resource_version:
            raise errors.new_conflict(
                self._group_resource,
                name,
                "the object has been modified; please apply your changes to the latest "
                "version and try again",
            )
        update.before_update(self._strategy, ctx, new, old, self._group_kind)
        if getattr(new, "spec", None) != getattr(old, "spec", None):
            new_meta.generation = (_meta(old).generation or 0) + 1
        if ctx.dry_run:
            return new, False
        new_meta.resource_version = self._next_rv()
        self.store.objects[key] = _copy(new)
        self._emit("MODIFIED", new)
        return new, False

    async def delete(
        self, ctx: rest.RequestContext, name: str, options: metav1.DeleteOptions
    ) -> tuple[BaseModel, bool]:
        await self._pause()
        key = self._key(ctx, name)
        obj = self.store.objects.get(key)
        if obj is None:
            raise errors.new_not_found(self._group_resource, name)
        pre = options.preconditions
        meta = _meta(obj)
        if pre is not None and (
            (pre.uid and pre.uid != meta.uid)
            or (pre.resource_version and pre.resource_version != meta.resource_version)
        ):
            raise errors.new_conflict(self._group_resource, name, "precondition failed")
        if ctx.dry_run:
            return _copy(obj), True
        del self.store.objects[key]
        deleted = _copy(obj)
        _meta(deleted).resource_version = self._next_rv()
        self._emit("DELETED", deleted)
        return deleted, True

    async def delete_collection(
        self,
        ctx: rest.RequestContext,
        options: metav1.DeleteOptions,
        list_options: rest.ListOptions,
    ) -> rest.ListResult:
        listed = await self.list(ctx, rest.ListOptions(label_selector=list_options.label_selector))
        deleted = []
        for obj in listed.items:
            sub = rest.RequestContext(
                namespace=_meta(obj).namespace, user=ctx.user, dry_run=ctx.dry_run
            )
            deleted.append((await self.delete(sub, _meta(obj).name or "", options))[0])
        return rest.ListResult(items=deleted, resource_version=str(self.store.resource_version))

    def watch(
        self, ctx: rest.RequestContext, options: rest.ListOptions
    ) -> AsyncIterator[rest.WatchEvent]:
        _check_field_selector(options)
        return self._watch(ctx, options)

    async def _watch(
        self, ctx: rest.RequestContext, options: rest.ListOptions
    ) -> AsyncIterator[rest.WatchEvent]:
        watch = _Watch(asyncio.Queue(), ctx.namespace, options)
        backlog: list[rest.WatchEvent] = []
        rv = options.resource_version
        if rv in (None, "", "0"):
            backlog = [
                rest.WatchEvent("ADDED", _copy(o))
                for o in self.store.objects.values()
                if _matches(o, ctx.namespace, options)
            ]
        else:
            since = int(rv or 0)
            oldest = self.store.history[0][0] if self.store.history else self.store.resource_version
            if since < oldest - 1 and since < self.store.resource_version:
                raise errors.new_resource_expired(
                    f"too old resource version: {since} ({self.store.resource_version})"
                )
            backlog = [
                event
                for event_rv, event in self.store.history
                if event_rv > since and _matches(event.object, ctx.namespace, options)
            ]
        self.store.watches.append(watch)
        try:
            for event in backlog:
                yield event
            if options.allow_watch_bookmarks:
                yield rest.WatchEvent(
                    "BOOKMARK",
                    self._obj_cls.model_validate(
                        {"metadata": {"resourceVersion": str(self.store.resource_version)}}
                    ),
                )
            while True:
                yield await watch.queue.get()
        finally:
            self.store.watches.remove(watch)

    # Test hooks ---------------------------------------------------------------------------

    @property
    def watcher_count(self) -> int:
        return len(self.store.watches)


class StatusStorage:
    """The ``status`` subresource of a :class:`MemoryStorage`: get, and update of status only."""

    def __init__(self, parent: MemoryStorage) -> None:
        self._parent = parent

    @property
    def resource(self) -> resourceinfo.ResourceInfo:
        return self._parent.resource

    def new_object(self) -> type[BaseModel]:
        return self._parent.new_object()

    def new_list(self) -> type[BaseModel]:
        return self._parent.new_list()

    async def get(self, ctx: rest.RequestContext, name: str) -> BaseModel:
        return await self._parent.get(ctx, name)

    async def update(
        self,
        ctx: rest.RequestContext,
        name: str,
        obj_info: rest.UpdatedObjectInfo,
        options: rest.UpdateOptions,
    ) -> tuple[BaseModel, bool]:
        parent = self._parent
        store = parent.store
        key = (ctx.namespace or "", name)
        old = store.objects.get(key)
        if old is None:
            raise errors.new_not_found(
                errors.GroupResource(parent.resource.group, parent.resource.plural), name
            )
        new = await obj_info.updated_object(ctx, _copy(old))
        result = _copy(old)
        result.status = getattr(new, "status", None)  # type: ignore[attr-defined]
        if ctx.dry_run:
            return result, False
        _meta(result).resource_version = parent._next_rv()
        store.objects[key] = _copy(result)
        parent._emit("MODIFIED", result)
        return result, False


@contextlib.asynccontextmanager
async def serve(app: config.App, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """Run ``app`` on a free 127.0.0.1 port in the current loop; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    server = await serving.start(app, sock, ssl_context)
    scheme = "https" if ssl_context is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        await serving.shutdown(server, app, drain_timeout=2.0)
