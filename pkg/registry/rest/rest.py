"""The contracts between the API server and REST storage (k8s.io/apiserver's pkg/registry/rest).

Where this sits: ``pkg.apiserver`` receives an HTTP request, authenticates it, decodes the
body, and calls exactly one capability method on the storage registered for the resource
(``GET`` -> :class:`Getter`, ``LIST`` -> :class:`Lister`, ``POST`` -> :class:`Creater`,
``PUT``/``PATCH`` -> :class:`Updater`, ``DELETE`` -> :class:`GracefulDeleter`,
``?watch`` -> :class:`Watcher`). A storage implements only the capabilities it supports;
the route installer registers exactly those verbs, and discovery advertises them. A
subresource (``packagerevisions/approval``, ``repositories/status``) is a storage of its
own, registered under ``"<resource>/<subresource>"``.

Objects crossing this boundary are the generated pydantic models of ``api/`` (never raw
dicts): the API server decodes request bodies into ``Storage.new_object()`` and encodes
whatever the storage returns with ``pkg.apimachinery.codec``. Every error a storage raises
is a ``pkg.apimachinery.errors.StatusError`` (domain errors are translated in the
resource's ``interpret`` module); anything else is a bug and becomes a 500.

Patch (merge, JSON, strategic, server-side apply) is not a storage capability: the API
server turns it into an :class:`Updater` call whose :class:`UpdatedObjectInfo` applies the
patch to the *current* object inside the storage's update, so a patch never conflicts
with a concurrent writer on resourceVersion (as in Kubernetes).

The API server records field ownership (``metadata.managedFields``) on every write and
runs server-side apply with conflicts and removals. A storage that does not persist
``managedFields`` says so with :class:`ManagedFieldsDiscarder`; the API server then
records nothing for it and applies as a plain merge.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from api import resourceinfo
from api.meta import v1 as metav1
from pkg.apimachinery import fields, labels, user

FieldValidation = Literal["Ignore", "Warn", "Strict"]
WatchEventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]

# Behind kube-apiserver every non-watch request must finish inside its 60 s proxy
# timeout; we keep a little headroom for encoding and the trip back.
DEFAULT_REQUEST_BUDGET_SECONDS = 55.0


@dataclass(slots=True)
class RequestContext:
    """Per-request facts every storage call receives (Go's ``context.Context`` values).

    ``namespace`` is ``None`` for all-namespaces requests and for cluster-scoped
    resources. ``deadline`` is a ``time.monotonic()`` value: work that can outlive the
    request (cross-repository lists, clones) must stop at it. Storages may append to
    ``warnings``; the API server returns them as ``Warning: 299 - "..."`` headers.
    """

    namespace: str | None
    user: user.UserInfo
    dry_run: bool = False
    field_manager: str | None = None
    field_validation: FieldValidation = "Ignore"
    deadline: float = field(
        default_factory=lambda: time.monotonic() + DEFAULT_REQUEST_BUDGET_SECONDS
    )
    warnings: list[str] = field(default_factory=list)

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())


@dataclass(frozen=True, slots=True)
class ListOptions:
    """Query parameters of list and watch requests, already parsed and validated.

    ``label_selector``/``field_selector`` are ``None`` when absent. ``limit`` 0 means no
    limit; ``continue_token`` is opaque to the API server (the storage minted it).
    ``resource_version`` follows Kubernetes semantics: ``None``/``"0"`` means "any"
    (for watch: start with synthetic ADDED events for the current state).
    """

    label_selector: labels.Selector | None = None
    field_selector: fields.Selector | None = None
    limit: int = 0
    continue_token: str | None = None
    resource_version: str | None = None
    resource_version_match: str | None = None
    timeout_seconds: int | None = None
    allow_watch_bookmarks: bool = False
    send_initial_events: bool | None = None


@dataclass(frozen=True, slots=True)
class ListResult:
    """A page of a list: the items plus the collection's ListMeta values."""

    items: Sequence[BaseModel]
    resource_version: str = ""
    continue_token: str | None = None
    remaining_item_count: int | None = None


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One event of a watch stream. For ERROR, ``object`` is a ``metav1.Status``."""

    type: WatchEventType
    object: BaseModel


@runtime_checkable
class Storage(Protocol):
    """What every storage is: the resource it serves and the model types it speaks."""

    @property
    def resource(self) -> resourceinfo.ResourceInfo:
        """Group, version, kind, plural, singular, scope and short names."""
        ...

    def new_object(self) -> type[BaseModel]:
        """The model class request bodies decode into (Go's ``New()``)."""
        ...

    def new_list(self) -> type[BaseModel]:
        """The list model class (Go's ``NewList()``)."""
        ...


@runtime_checkable
class ManagedFieldsDiscarder(Protocol):
    """A storage that does not keep ``metadata.managedFields`` (a class attribute set to True).

    For such a storage the API server records no field ownership on create, update or
    patch, and server-side apply is a plain merge of the applied configuration (no
    conflicts, no removal of fields the manager stopped applying, no ``before-first-apply``
    entry): ownership it cannot remember would only produce wrong conflicts.
    """

    @property
    def discards_managed_fields(self) -> Literal[True]: ...


@runtime_checkable
class Getter(Storage, Protocol):
    async def get(self, ctx: RequestContext, name: str) -> BaseModel:
        """Return the object named ``name`` in ``ctx.namespace``.

        Raises StatusError NotFound (404) when it does not exist.
        """
        ...


@runtime_checkable
class Lister(Storage, Protocol):
    async def list(self, ctx: RequestContext, options: ListOptions) -> ListResult:
        """Return the objects matching ``options`` in ``ctx.namespace`` (all when ``None``).

        Selectors on fields the resource does not support raise StatusError BadRequest
        naming the field. Items are sorted by namespace, then name, unless the resource
        documents another stable order; ``continue_token`` resumes after the last item.
        """
        ...


@dataclass(frozen=True, slots=True)
class CreateOptions:
    """``metav1.CreateOptions``: dry run, field manager and validation live in the context."""


@runtime_checkable
class Creater(Storage, Protocol):
    async def create(
        self, ctx: RequestContext, obj: BaseModel, options: CreateOptions
    ) -> BaseModel:
        """Create ``obj`` and return what was stored.

        The storage runs its strategy through :func:`pkg.registry.rest.create.before_create`
        (prepare, validate, canonicalize) and fills server-owned metadata (uid,
        resourceVersion, creationTimestamp, generation; name from generateName).
        AlreadyExists (409) when the name is taken; Invalid (422) for validation errors.
        With ``ctx.dry_run`` nothing is persisted and no watch event is sent.
        """
        ...


class UpdatedObjectInfo(Protocol):
    """How an update computes the new object from the current one (Go's ``rest.UpdatedObjectInfo``).

    For PUT the new object is the request body; for PATCH it is the patch applied to
    ``old``. ``old`` is ``None`` when the object does not exist (create-on-update).
    """

    async def updated_object(self, ctx: RequestContext, old: BaseModel | None) -> BaseModel: ...


@dataclass(frozen=True, slots=True)
class UpdateOptions:
    """``metav1.UpdateOptions`` beyond what the context carries."""

    force_allow_create: bool = False


@runtime_checkable
class Updater(Storage, Protocol):
    async def update(
        self,
        ctx: RequestContext,
        name: str,
        obj_info: UpdatedObjectInfo,
        options: UpdateOptions,
    ) -> tuple[BaseModel, bool]:
        """Replace the object named ``name``; return ``(stored object, created)``.

        The storage reads the current object, calls ``obj_info.updated_object``, checks
        ``metadata.resourceVersion`` of the result against the current one (Conflict 409
        on mismatch: "the object has been modified; please apply your changes to the latest
        version and try again"), runs its strategy through
        :func:`pkg.registry.rest.update.before_update`, and persists. When the object is
        missing it creates it if ``options.force_allow_create`` or the strategy allows
        create-on-update, else raises NotFound.
        """
        ...


@runtime_checkable
class GracefulDeleter(Storage, Protocol):
    async def delete(
        self, ctx: RequestContext, name: str, options: metav1.DeleteOptions
    ) -> tuple[BaseModel, bool]:
        """Delete the object; return ``(object, deleted_immediately)``.

        Honours ``options.preconditions`` (uid/resourceVersion -> Conflict 409) and
        ``options.dry_run``. When finalizers remain, the object only gets a
        ``deletionTimestamp`` and ``deleted_immediately`` is False (HTTP 202).
        """
        ...


@runtime_checkable
class CollectionDeleter(Storage, Protocol):
    async def delete_collection(
        self, ctx: RequestContext, options: metav1.DeleteOptions, list_options: ListOptions
    ) -> ListResult:
        """Delete every object matching ``list_options``; return the deleted objects."""
        ...


@runtime_checkable
class Watcher(Storage, Protocol):
    def watch(self, ctx: RequestContext, options: ListOptions) -> AsyncIterator[WatchEvent]:
        """Stream changes, starting as ``options.resource_version`` says.

        The iterator first yields synthetic ADDED events when the resource version is
        unset or "0", then live events filtered by the selectors (an object that stops
        matching is sent as DELETED). It yields BOOKMARK events only when
        ``options.allow_watch_bookmarks``. A resource version too old to resume raises
        StatusError Expired (410) before the first event. The API server closes the
        iterator (``aclose``) when the client disconnects or ``timeout_seconds`` expires;
        the storage must then unregister its watcher at once.
        """
        ...


@runtime_checkable
class TableConvertor(Protocol):
    def convert_to_table(
        self, ctx: RequestContext, objects: Sequence[BaseModel], include_object: str
    ) -> metav1.Table:
        """Render objects as a ``meta.k8s.io/v1`` Table with the resource's columns.

        ``include_object`` is "None", "Metadata" (PartialObjectMetadata per row) or
        "Object"; the API server fills the list metadata and drops column definitions
        for ``noHeaders``.
        """
        ...
