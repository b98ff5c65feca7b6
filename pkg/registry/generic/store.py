"""The generic REST store: simple namespaced resources kept in memory, persisted in SQLite.

Where this sits: standalone porch-server serves core ``secrets`` and
``config.porch.kpt.dev`` ``repositories`` itself; each is a :class:`Store` over the one
:class:`pkg.registry.generic.sqlite.Database` of the server, parametrised by the resource's
model types and strategy (after k8s.io/apiserver's ``pkg/registry/generic/registry.Store``).
The API server calls the capability methods (``get``, ``list``, ``create``, ``update``,
``delete``, ``delete_collection``, ``watch``, ``convert_to_table``; see
:mod:`pkg.registry.rest.rest`); ``store.status()`` is the separate storage of the
``/status`` subresource. The server's own components (repository sync, the credential
resolver) use the typed in-process :class:`Client` from ``store.client()`` instead.

Semantics, as Kubernetes' generic registry over etcd has them:

* objects live in memory (a dict plus a sorted key list), written through to SQLite: gets
  and lists never touch the disk;
* every write takes the database's write lock, allocates the next global resourceVersion,
  persists, updates memory and emits one watch event; a write that changes nothing is not
  written (no new resourceVersion, no event);
* create fills ``uid``, ``creationTimestamp``, ``generation`` 1 and a name from
  ``generateName`` (retried on collision); update bumps ``generation`` when anything but
  metadata and status changed;
* an update must carry the current resourceVersion (else 409 Conflict) or none (an
  unconditional update, when the strategy allows it);
* delete honours preconditions (409); an object with finalizers only gets a
  ``deletionTimestamp`` and goes away when an update removes its last finalizer;
* ``dryRun`` runs everything but the write;
* list pages with ``limit``/``continue`` (the token pins the first page's resourceVersion,
  so a watch from it misses nothing); selectors on labels and on the strategy's fields.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Generic, TypeVar

from opentelemetry import trace
from pydantic import BaseModel

from api import resourceinfo
from api.meta import v1 as metav1
from pkg.apimachinery import codec, errors, field, fields, labels, user
from pkg.registry.generic import sqlite, watchcache
from pkg.registry.generic import strategy as strategies
from pkg.registry.rest import create, objectmeta, paging, rest, tableconvertor
from pkg.registry.rest import update as restupdate

__all__ = [
    "DEFAULT_BOOKMARK_INTERVAL",
    "DEFAULT_HISTORY_SIZE",
    "DEFAULT_WATCH_QUEUE_SIZE",
    "OPTIMISTIC_LOCK_MESSAGE",
    "SYSTEM_USER",
    "AdmitFunc",
    "Client",
    "ObjectList",
    "StatusStore",
    "Store",
    "Tuning",
]

ObjT = TypeVar("ObjT", bound=BaseModel)

DEFAULT_HISTORY_SIZE: Final = 1000
"""Events kept per resource for watches that resume from a resourceVersion."""
DEFAULT_WATCH_QUEUE_SIZE: Final = 1000
"""Events a watcher may fall behind by before it is closed."""
DEFAULT_BOOKMARK_INTERVAL: Final = 60.0
"""Seconds of silence after which a watcher that allows bookmarks gets one."""

OPTIMISTIC_LOCK_MESSAGE: Final = (
    "the object has been modified; please apply your changes to the latest version and try again"
)
_GENERATE_NAME_ATTEMPTS: Final = 8

SYSTEM_USER: Final = user.UserInfo(
    name="system:porch-server", groups=(user.SYSTEM_MASTERS, user.ALL_AUTHENTICATED)
)
"""Who the in-process :class:`Client` acts as."""

AdmitFunc = Callable[
    [rest.RequestContext, BaseModel, BaseModel | None, Sequence[BaseModel]], field.ErrorList
]
"""A rule that needs the other objects of the namespace, like a validating webhook.

Called under the store's write lock, after the strategy validated, with the new object,
the stored one (None on create) and the other objects of the same namespace; field errors
are raised as one 422 Invalid. Porch's repository conflict check is one.
"""

_tracer = trace.get_tracer(__name__)

_SPEC_EXCLUDES: Final = frozenset({"api_version", "kind", "metadata", "status"})


@dataclass(frozen=True, slots=True)
class Tuning:
    """Sizes and intervals of a store's watch machinery (defaults suit the server)."""

    history_size: int = DEFAULT_HISTORY_SIZE
    watch_queue_size: int = DEFAULT_WATCH_QUEUE_SIZE
    bookmark_interval: float = DEFAULT_BOOKMARK_INTERVAL


@dataclass(frozen=True, slots=True)
class ObjectList(Generic[ObjT]):
    """What :meth:`Client.list` returns: typed items and the list's resourceVersion."""

    items: list[ObjT]
    resource_version: str


class Store(Generic[ObjT]):
    """A namespaced resource served from memory and persisted through a Database.

    Implements :class:`~pkg.registry.rest.rest.Getter`, ``Lister``, ``Creater``,
    ``Updater``, ``GracefulDeleter``, ``CollectionDeleter``, ``Watcher`` and
    ``TableConvertor``. Construct after :meth:`sqlite.Database.open`; one store per
    resource and database.
    """

    def __init__(
        self,
        db: sqlite.Database,
        *,
        resource: resourceinfo.ResourceInfo,
        model: type[ObjT],
        list_model: type[BaseModel],
        strategy: strategies.Strategy,
        status_strategy: restupdate.UpdateStrategy | None = None,
        table: rest.TableConvertor | None = None,
        admit: AdmitFunc | None = None,
        tuning: Tuning | None = None,
    ) -> None:
        if not resource.namespaced:
            raise ValueError(f"{resource.group_resource} is not namespaced")
        self._db = db
        self._resource = resource
        self._model = model
        self._list_model = list_model
        self._strategy = strategy
        self._status_strategy = status_strategy
        self._table = table or tableconvertor.TableConvertor(
            [tableconvertor.name_column(), tableconvertor.age_column()]
        )
        self._admit = admit
        self._tuning = tuning or Tuning()
        self._qualified_resource = errors.GroupResource(resource.group, resource.plural)
        self._kind = errors.GroupKind(resource.group, resource.kind)
        self._key = resource.group_resource
        self._objects: dict[tuple[str, str], ObjT] = {}
        for row in db.register(self._key):
            try:
                obj = codec.decode(model, row.body)
            except errors.StatusError as err:
                raise sqlite.DatabaseError(
                    f"{db.path}: stored {self._key} {row.namespace}/{row.name} cannot be "
                    f"read as {model.__name__}: {err}"
                ) from err
            objectmeta.meta_of(obj).resource_version = str(row.resource_version)
            self._objects[(row.namespace, row.name)] = obj
        self._keys: list[tuple[str, str]] = sorted(self._objects)
        self._history = watchcache.History(self._tuning.history_size, db.resource_version)
        self._watchers: set[watchcache.WatchStream] = set()

    # --- rest.Storage ------------------------------------------------------------------

    @property
    def resource(self) -> resourceinfo.ResourceInfo:
        return self._resource

    def new_object(self) -> type[BaseModel]:
        return self._model

    def new_list(self) -> type[BaseModel]:
        return self._list_model

    # --- reads ---------------------------------------------------------------------------

    async def get(self, ctx: rest.RequestContext, name: str) -> BaseModel:
        """The object, or 404 NotFound."""
        with self._span("Get", ctx, name):
            return self._get(_namespace_of(ctx), name).model_copy(deep=True)

    async def list(self, ctx: rest.RequestContext, options: rest.ListOptions) -> rest.ListResult:
        """A page of the matching objects, sorted by namespace and name.

        400 for a field selector on an unsupported field, a malformed continue token or
        resourceVersion; 410 Expired for a continue token or an ``Exact`` resourceVersion
        this store can no longer serve; 504 for a resourceVersion from the future.
        """
        with self._span("List", ctx):
            return self._list(ctx, options)

    def _list(self, ctx: rest.RequestContext, options: rest.ListOptions) -> rest.ListResult:
        matches = self._matcher(ctx.namespace, options)
        list_rv = self._db.resource_version
        start: tuple[str, str] | None = None
        if options.continue_token:
            if _parse_resource_version(options.resource_version):
                raise errors.new_bad_request(
                    "specifying resource version is not allowed when using continue"
                )
            token = paging.decode_continue(options.continue_token, int)
            if token.resource_version < self._history.floor:
                raise errors.new_resource_expired(
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter."
                )
            list_rv = token.resource_version
            start = token.after
        else:
            self._check_list_resource_version(options)

        index = 0 if start is None else bisect.bisect_right(self._keys, start)
        in_namespace = (
            (key, self._objects[key])
            for key in self._keys[index:]
            if ctx.namespace is None or key[0] == ctx.namespace
        )
        result = paging.page(
            ((k, o) for k, o in in_namespace if matches(o)), options.limit, list_rv
        )
        # Copies of the page only (callers may change them; the rest are only counted).
        return replace(result, items=[obj.model_copy(deep=True) for obj in result.items])

    def _check_list_resource_version(self, options: rest.ListOptions) -> None:
        requested = _parse_resource_version(options.resource_version)
        match = options.resource_version_match or ""
        if match not in ("", "NotOlderThan", "Exact"):
            raise errors.new_bad_request(
                f'resourceVersionMatch: Unsupported value: "{match}": supported values: '
                '"Exact", "NotOlderThan"'
            )
        if match and options.resource_version is None:
            raise errors.new_bad_request(
                "resourceVersionMatch is forbidden unless resourceVersion is provided"
            )
        current = self._db.resource_version
        if requested > current:
            raise errors.new_timeout(
                f"Too large resource version: {requested}, current: {current}", 1
            )
        if match == "Exact" and requested != current:
            # Only the newest state is kept: an older exact snapshot cannot be served.
            raise errors.new_resource_expired(f"too old resource version: {requested} ({current})")

    # --- writes --------------------------------------------------------------------------

    async def create(
        self, ctx: rest.RequestContext, obj: BaseModel, options: rest.CreateOptions
    ) -> BaseModel:
        """Store a new object; 409 AlreadyExists, 422 Invalid, 400 for a resourceVersion."""
        namespace = _namespace_of(ctx)
        new = self._typed(obj).model_copy(deep=True)
        if objectmeta.meta_of(new).resource_version:
            raise errors.new_bad_request(
                "resourceVersion should not be set on objects to be created"
            )
        with self._span("Create", ctx, objectmeta.meta_of(new).name):
            async with self._write_lock(ctx):
                created = self._prepare_create(ctx, namespace, new)
                if not ctx.dry_run:
                    await self._commit("ADDED", created, None)
                return created.model_copy(deep=True)

    def _prepare_create(self, ctx: rest.RequestContext, namespace: str, new: ObjT) -> ObjT:
        """Run the create driver and the store's own checks; the caller holds the lock."""
        create.before_create(self._strategy, ctx, new, self._kind)
        meta = objectmeta.meta_of(new)
        name = meta.name or ""
        if (namespace, name) in self._objects:
            if not meta.generate_name or meta.name is None:
                raise errors.new_already_exists(self._qualified_resource, name)
            # A generated name that collides: draw again, as the real apiserver does.
            for _ in range(_GENERATE_NAME_ATTEMPTS):
                name = create.generate_name(meta.generate_name)
                if (namespace, name) not in self._objects:
                    break
            else:
                raise errors.new_generate_name_conflict(self._qualified_resource, name, 1)
            meta.name = name
        self._run_admit(ctx, new, None)
        meta.generation = 1
        self._set_type_meta(new)
        return new

    async def update(
        self,
        ctx: rest.RequestContext,
        name: str,
        obj_info: rest.UpdatedObjectInfo,
        options: rest.UpdateOptions,
    ) -> tuple[BaseModel, bool]:
        """Replace the object (see :meth:`pkg.registry.rest.rest.Updater.update`)."""
        with self._span("Update", ctx, name):
            return await self._update(ctx, name, obj_info, options, self._strategy, status=False)

    async def _update(
        self,
        ctx: rest.RequestContext,
        name: str,
        obj_info: rest.UpdatedObjectInfo,
        options: rest.UpdateOptions,
        strat: restupdate.UpdateStrategy,
        *,
        status: bool,
    ) -> tuple[BaseModel, bool]:
        namespace = _namespace_of(ctx)
        async with self._write_lock(ctx):
            old = self._objects.get((namespace, name))
            if old is None and status:
                raise errors.new_not_found(self._qualified_resource, name)
            new = self._typed(
                await obj_info.updated_object(ctx, old.model_copy(deep=True) if old else None)
            ).model_copy(deep=True)
            meta = objectmeta.meta_of(new)
            if not meta.name:
                meta.name = name
            elif meta.name != name:
                raise errors.new_bad_request(
                    f"the name of the object ({meta.name}) does not match the name on the "
                    f"URL ({name})"
                )
            if old is None:
                if not (strat.allow_create_on_update() or options.force_allow_create):
                    raise errors.new_not_found(self._qualified_resource, name)
                if meta.resource_version:
                    # The client updates a version of an object that no longer exists.
                    raise errors.new_not_found(self._qualified_resource, name)
                created = self._prepare_create(ctx, namespace, new)
                if not ctx.dry_run:
                    await self._commit("ADDED", created, None)
                return created.model_copy(deep=True), True

            old_meta = objectmeta.meta_of(old)
            if meta.resource_version:
                if meta.resource_version != old_meta.resource_version:
                    raise errors.new_conflict(
                        self._qualified_resource, name, OPTIMISTIC_LOCK_MESSAGE
                    )
            elif not self._strategy.allow_unconditional_update():
                raise errors.new_invalid(
                    self._kind,
                    name,
                    field.ErrorList(
                        [
                            field.invalid(
                                field.new_path("metadata", "resourceVersion"),
                                0,
                                "must be specified for an update",
                            )
                        ]
                    ),
                )
            restupdate.before_update(strat, ctx, new, old.model_copy(deep=True), self._kind)
            # The strategy may have replaced the metadata (a status update takes the stored
            # one), so look it up again.
            meta = objectmeta.meta_of(new)
            meta.resource_version = old_meta.resource_version
            meta.generation = (old_meta.generation or 1) + (
                1 if _spec_of(new) != _spec_of(old) else 0
            )
            self._set_type_meta(new)
            self._run_admit(ctx, new, old)

            if meta.deletion_timestamp is not None and not meta.finalizers:
                # The last finalizer is gone: the pending deletion completes now.
                if ctx.dry_run:
                    return new, False
                deleted = await self._commit("DELETED", new, old)
                return deleted.model_copy(deep=True), False
            if codec.to_dict(new) == codec.to_dict(old):
                return old.model_copy(deep=True), False
            if not ctx.dry_run:
                await self._commit("MODIFIED", new, old)
            return new.model_copy(deep=True), False

    async def delete(
        self, ctx: rest.RequestContext, name: str, options: metav1.DeleteOptions
    ) -> tuple[BaseModel, bool]:
        """Delete now, or mark for deletion while finalizers remain (``False``: HTTP 202)."""
        with self._span("Delete", ctx, name):
            return await self._delete(ctx, name, options)

    async def _delete(
        self, ctx: rest.RequestContext, name: str, options: metav1.DeleteOptions
    ) -> tuple[BaseModel, bool]:
        namespace = _namespace_of(ctx)
        dry_run = ctx.dry_run or _dry_run(options)
        async with self._write_lock(ctx):
            old = self._get(namespace, name)
            self._check_preconditions(name, old, options.preconditions)
            old_meta = objectmeta.meta_of(old)
            if old_meta.finalizers:
                if old_meta.deletion_timestamp is not None:
                    return old.model_copy(deep=True), False
                marked = old.model_copy(deep=True)
                marked_meta = objectmeta.meta_of(marked)
                marked_meta.deletion_timestamp = objectmeta.now()
                marked_meta.deletion_grace_period_seconds = 0
                if not dry_run:
                    await self._commit("MODIFIED", marked, old)
                return marked.model_copy(deep=True), False
            if dry_run:
                return old.model_copy(deep=True), True
            deleted = await self._commit("DELETED", old.model_copy(deep=True), old)
            return deleted.model_copy(deep=True), True

    async def delete_collection(
        self,
        ctx: rest.RequestContext,
        options: metav1.DeleteOptions,
        list_options: rest.ListOptions,
    ) -> rest.ListResult:
        """Delete every matching object in ``ctx.namespace``; return what was deleted.

        Objects with finalizers are returned marked for deletion, as in Kubernetes.
        """
        selected = await self.list(
            ctx,
            rest.ListOptions(
                label_selector=list_options.label_selector,
                field_selector=list_options.field_selector,
            ),
        )
        deleted: list[BaseModel] = []
        for item in selected.items:
            meta = objectmeta.meta_of(item)
            item_ctx = rest.RequestContext(
                namespace=meta.namespace,
                user=ctx.user,
                dry_run=ctx.dry_run,
                deadline=ctx.deadline,
                warnings=ctx.warnings,
            )
            try:
                obj, _ = await self.delete(item_ctx, meta.name or "", options)
            except errors.StatusError as err:
                if errors.is_not_found(err):
                    continue  # deleted by someone else meanwhile
                raise
            deleted.append(obj)
        return rest.ListResult(items=deleted, resource_version=str(self._db.resource_version))

    # --- watch ---------------------------------------------------------------------------

    def watch(self, ctx: rest.RequestContext, options: rest.ListOptions) -> watchcache.WatchStream:
        """Open a watch (see :meth:`pkg.registry.rest.rest.Watcher.watch`).

        Validation happens here, before the stream exists: 400 for bad selectors or
        resourceVersion, 410 Expired for a resourceVersion older than the history.
        ``sendInitialEvents=true`` sends ADDED for every object, then (with bookmarks
        allowed) a BOOKMARK annotated ``k8s.io/initial-events-end``.
        """
        with self._span("Watch", ctx):
            return self._watch(ctx, options)

    def _watch(self, ctx: rest.RequestContext, options: rest.ListOptions) -> watchcache.WatchStream:
        matches = self._matcher(ctx.namespace, options)
        requested = _parse_resource_version(options.resource_version)
        current = self._db.resource_version
        if requested > current:
            raise errors.new_timeout(
                f"Too large resource version: {requested}, current: {current}", 1
            )
        initial = (
            options.send_initial_events
            if options.send_initial_events is not None
            else requested == 0
        )
        queued: list[rest.WatchEvent] = []
        if initial:
            queued.extend(
                rest.WatchEvent("ADDED", obj)
                for key in self._keys
                if ctx.namespace is None or key[0] == ctx.namespace
                if matches(obj := self._objects[key])
            )
            if options.send_initial_events and options.allow_watch_bookmarks:
                queued.append(
                    rest.WatchEvent(
                        "BOOKMARK",
                        self._bookmark_object({watchcache.INITIAL_EVENTS_END_ANNOTATION: "true"}),
                    )
                )
        elif requested:
            for event in self._history.since(requested):
                translated = watchcache.translate(event, matches)
                if translated is not None:
                    queued.append(translated)
        stream = watchcache.WatchStream(
            matches=matches,
            queued=queued,
            capacity=self._tuning.watch_queue_size,
            on_close=self._watchers.discard,
            bookmark=self._bookmark_object if options.allow_watch_bookmarks else None,
            bookmark_interval=self._tuning.bookmark_interval,
        )
        self._watchers.add(stream)
        return stream

    @property
    def watcher_count(self) -> int:
        """Open watch streams (for metrics and tests)."""
        return len(self._watchers)

    def close(self) -> None:
        """End every watch stream (after what is already queued): the server is stopping."""
        for stream in list(self._watchers):
            stream.end()

    # --- table ---------------------------------------------------------------------------

    def convert_to_table(
        self, ctx: rest.RequestContext, objects: Sequence[BaseModel], include_object: str
    ) -> metav1.Table:
        """The resource's Table, or Name and Age when it defines no columns."""
        return self._table.convert_to_table(ctx, objects, include_object)

    # --- subresource and in-process access -----------------------------------------------

    def status(self) -> StatusStore[ObjT]:
        """The ``/status`` subresource storage; requires a ``status_strategy``."""
        if self._status_strategy is None:
            raise ValueError(f"{self._key} has no status subresource")
        return StatusStore(self, self._status_strategy)

    def client(self) -> Client[ObjT]:
        """Typed in-process access for the server's own components."""
        return Client(self)

    # --- internals -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _span(
        self, operation: str, ctx: rest.RequestContext, name: str | None = None
    ) -> Iterator[None]:
        # Porch's span naming (``Type::Method``); the attributes say which object, never
        # its content (secrets go through here).
        attributes = {"resource": self._key, "namespace": ctx.namespace or ""}
        if name:
            attributes["name"] = name
        with _tracer.start_as_current_span(f"genericStore::{operation}", attributes=attributes):
            yield

    def _get(self, namespace: str, name: str) -> ObjT:
        obj = self._objects.get((namespace, name))
        if obj is None:
            raise errors.new_not_found(self._qualified_resource, name)
        return obj

    def _typed(self, obj: BaseModel) -> ObjT:
        if not isinstance(obj, self._model):
            raise errors.new_internal_error(
                f"{self._key}: expected a {self._model.__name__}, got {type(obj).__name__}"
            )
        return obj

    def _set_type_meta(self, obj: ObjT) -> None:
        # Lists and watch events carry apiVersion/kind on every item, as CRDs do.
        obj.api_version = self._resource.api_version  # type: ignore[attr-defined]
        obj.kind = self._resource.kind  # type: ignore[attr-defined]

    def _run_admit(self, ctx: rest.RequestContext, new: ObjT, old: ObjT | None) -> None:
        if self._admit is None:
            return
        meta = objectmeta.meta_of(new)
        peers = [
            obj
            for (namespace, name), obj in self._objects.items()
            if namespace == meta.namespace and name != meta.name
        ]
        errs = self._admit(ctx, new, old, peers)
        if errs:
            raise errors.new_invalid(self._kind, meta.name or "", errs)

    def _check_preconditions(
        self, name: str, obj: ObjT, preconditions: metav1.Preconditions | None
    ) -> None:
        if preconditions is None:
            return
        meta = objectmeta.meta_of(obj)
        if preconditions.uid is not None and preconditions.uid != meta.uid:
            raise errors.new_conflict(
                self._qualified_resource,
                name,
                f"Precondition failed: UID in precondition: {preconditions.uid}, "
                f"UID in object meta: {meta.uid}",
            )
        if (
            preconditions.resource_version is not None
            and preconditions.resource_version != meta.resource_version
        ):
            raise errors.new_conflict(
                self._qualified_resource,
                name,
                "Precondition failed: ResourceVersion in precondition: "
                f"{preconditions.resource_version}, ResourceVersion in object meta: "
                f"{meta.resource_version}",
            )

    @contextlib.asynccontextmanager
    async def _write_lock(self, ctx: rest.RequestContext) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(ctx.remaining()):
                await self._db.write_lock.acquire()
        except TimeoutError:
            raise errors.new_timeout(
                "request did not complete within the allotted timeout", 1
            ) from None
        try:
            yield
        finally:
            self._db.write_lock.release()

    async def _commit(self, event_type: watchcache.EventType, obj: ObjT, old: ObjT | None) -> ObjT:
        """:meth:`_commit_now`, run to its end even when the caller is cancelled.

        A client that disconnects mid-write cancels its handler; stopping between the file
        write and the memory update would leave the two disagreeing (and the next write
        reusing a resourceVersion). The caller still holds the write lock while we wait.
        """
        write = asyncio.ensure_future(self._commit_now(event_type, obj, old))
        try:
            return await asyncio.shield(write)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await write
            raise

    async def _commit_now(
        self, event_type: watchcache.EventType, obj: ObjT, old: ObjT | None
    ) -> ObjT:
        """Persist ``obj`` (or its deletion), then update memory and notify watchers.

        Called with the write lock held. ``obj`` becomes the store's own instance and gets
        the new resourceVersion; nothing changes when the database write fails.
        """
        meta = objectmeta.meta_of(obj)
        key = (meta.namespace or "", meta.name or "")
        rv = self._db.resource_version + 1
        meta.resource_version = str(rv)
        body = None if event_type == "DELETED" else codec.encode_json(obj).decode()
        try:
            await self._db.commit(self._key, key[0], key[1], rv, body)
        except sqlite.DatabaseError as err:
            if old is not None:
                # The caller's object shares nothing with the stored one; only the
                # resourceVersion we set on it is wrong now.
                meta.resource_version = objectmeta.meta_of(old).resource_version
            raise errors.new_internal_error(err) from err
        # From here to the end nothing awaits: memory, history and watchers change
        # together, so no reader sees the new resourceVersion without the new state.
        if event_type == "DELETED":
            del self._objects[key]
            self._keys.pop(bisect.bisect_left(self._keys, key))
        else:
            if key not in self._objects:
                bisect.insort(self._keys, key)
            self._objects[key] = obj
        event = watchcache.Event(event_type, rv, obj, old)
        self._history.append(event)
        for stream in list(self._watchers):
            stream.offer(event)
        return obj

    def _matcher(self, namespace: str | None, options: rest.ListOptions) -> watchcache.Matcher:
        label_selector = options.label_selector
        field_selector = options.field_selector
        if field_selector is not None:
            supported = self._strategy.selectable_fields()
            for requirement in field_selector.requirements():
                if requirement.field not in supported:
                    raise errors.new_bad_request(f"field label not supported: {requirement.field}")
        get_attrs = self._strategy.get_attrs

        def matches(obj: BaseModel) -> bool:
            if namespace is not None and objectmeta.meta_of(obj).namespace != namespace:
                return False
            if label_selector is None and field_selector is None:
                return True
            obj_labels, obj_fields = get_attrs(obj)
            if label_selector is not None and not label_selector.matches(obj_labels):
                return False
            return field_selector is None or field_selector.matches(obj_fields)

        return matches

    def _bookmark_object(self, annotations: Mapping[str, str] | None = None) -> BaseModel:
        meta = metav1.ObjectMeta(
            resource_version=str(self._db.resource_version),
            annotations=dict(annotations) if annotations else None,
        )
        return self._model.model_construct(
            api_version=self._resource.api_version, kind=self._resource.kind, metadata=meta
        )


class StatusStore(Generic[ObjT]):
    """The ``<resource>/status`` subresource: GET the object, PUT/PATCH only its status.

    Implements ``Getter`` and ``Updater``; the update runs the status strategy, so fields
    outside ``.status`` keep their stored values whatever the request says.
    """

    def __init__(self, store: Store[ObjT], status_strategy: restupdate.UpdateStrategy) -> None:
        self._store = store
        self._strategy = status_strategy

    @property
    def resource(self) -> resourceinfo.ResourceInfo:
        return self._store.resource

    def new_object(self) -> type[BaseModel]:
        return self._store.new_object()

    def new_list(self) -> type[BaseModel]:
        return self._store.new_list()

    async def get(self, ctx: rest.RequestContext, name: str) -> BaseModel:
        return await self._store.get(ctx, name)

    async def update(
        self,
        ctx: rest.RequestContext,
        name: str,
        obj_info: rest.UpdatedObjectInfo,
        options: rest.UpdateOptions,
    ) -> tuple[BaseModel, bool]:
        """Replace ``.status``; 404 when the object does not exist (never creates)."""
        with self._store._span("UpdateStatus", ctx, name):
            return await self._store._update(
                ctx, name, obj_info, options, self._strategy, status=True
            )


class _SetStatus:
    """UpdatedObjectInfo that puts ``status`` on the current object."""

    def __init__(self, status: BaseModel | None, resource_version: str | None) -> None:
        self._status = status
        self._resource_version = resource_version

    async def updated_object(self, ctx: rest.RequestContext, old: BaseModel | None) -> BaseModel:
        if old is None:  # the status store checks existence before it asks
            raise errors.new_internal_error("status update of a missing object")
        old.status = self._status  # type: ignore[attr-defined]
        if self._resource_version is not None:
            # Otherwise ``old`` keeps the current resourceVersion: this read-modify-write
            # runs under the store's write lock, so it cannot conflict.
            objectmeta.meta_of(old).resource_version = self._resource_version
        return old


class Client(Generic[ObjT]):
    """In-process, typed access to a store, as the server's own components need it.

    Repository sync reads Repositories and writes their status through it; the credential
    resolver reads Secrets. It acts as :data:`SYSTEM_USER`, skips HTTP concerns (tables,
    paging) and returns the model type itself. Errors are the same StatusErrors the API
    returns (``errors.is_not_found(err)``, ``errors.is_conflict(err)``).
    """

    def __init__(self, store: Store[ObjT]) -> None:
        self._store = store

    def _ctx(self, namespace: str | None) -> rest.RequestContext:
        return rest.RequestContext(namespace=namespace, user=SYSTEM_USER)

    async def get(self, namespace: str, name: str) -> ObjT:
        """The object; raises StatusError NotFound."""
        return self._store._typed(await self._store.get(self._ctx(namespace), name))

    async def list(
        self,
        namespace: str | None = None,
        *,
        label_selector: labels.Selector | None = None,
        field_selector: fields.Selector | None = None,
    ) -> ObjectList[ObjT]:
        """Every matching object (all namespaces when ``namespace`` is None)."""
        result = await self._store.list(
            self._ctx(namespace),
            rest.ListOptions(label_selector=label_selector, field_selector=field_selector),
        )
        items = [self._store._typed(item) for item in result.items]
        return ObjectList(items, result.resource_version)

    def watch(
        self,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: labels.Selector | None = None,
        field_selector: fields.Selector | None = None,
    ) -> watchcache.WatchStream:
        """Events after ``resource_version`` (from a :meth:`list`), or ADDED for every
        current object first when it is None. Close the stream with ``aclose()`` or use it
        in ``async with``; it raises StatusError Expired (410) at once when
        ``resource_version`` is too old: list again and resume from the new one."""
        return self._store.watch(
            self._ctx(namespace),
            rest.ListOptions(
                resource_version=resource_version,
                label_selector=label_selector,
                field_selector=field_selector,
            ),
        )

    async def update(self, obj: ObjT) -> ObjT:
        """Replace the object (e.g. to add or remove a finalizer); status is kept.

        ``obj.metadata.resourceVersion`` is the precondition (409 Conflict when the object
        changed since it was read); the main strategy's rules apply as for a PUT.
        """
        meta = objectmeta.meta_of(obj)
        stored, _ = await self._store.update(
            self._ctx(meta.namespace),
            meta.name or "",
            restupdate.DefaultUpdatedObjectInfo(obj),
            rest.UpdateOptions(),
        )
        return self._store._typed(stored)

    async def update_status(
        self,
        namespace: str,
        name: str,
        status: BaseModel | None,
        *,
        resource_version: str | None = None,
    ) -> ObjT:
        """Replace the object's ``.status``; nothing else changes.

        Unconditional unless ``resource_version`` is given (then 409 Conflict when the
        object changed since). Raises NotFound when the object is gone.
        """
        status_store = self._store.status()
        obj, _ = await status_store.update(
            self._ctx(namespace),
            name,
            _SetStatus(status, resource_version),
            rest.UpdateOptions(),
        )
        return self._store._typed(obj)


def _namespace_of(ctx: rest.RequestContext) -> str:
    if not ctx.namespace:
        raise errors.new_bad_request("a namespace is required for this request")
    return ctx.namespace


def _parse_resource_version(value: str | None) -> int:
    """0 for unset/"0" ("any"), the number otherwise; 400 when it is not one."""
    if not value:
        return 0
    try:
        parsed = int(value)
    except ValueError:
        parsed = -1
    if parsed < 0:
        raise errors.new_bad_request(f"invalid resource version: {value!r}")
    return parsed


def _dry_run(options: metav1.DeleteOptions) -> bool:
    values = options.dry_run or []
    for value in values:
        if value != "All":
            raise errors.new_bad_request(
                f'dryRun: Unsupported value: "{value}": supported values: "All"'
            )
    return bool(values)


def _spec_of(obj: BaseModel) -> dict[str, Any]:
    """Everything but metadata and status: what ``generation`` tracks."""
    return obj.model_dump(exclude=set(_SPEC_EXCLUDES), exclude_none=True, mode="json")
