"""Contracts of the package revision metadata store: what git cannot hold.

Where this sits: `pkg/cache` is the only caller. It reads every record of a repository when
it opens the repository (`MetadataStore.list`), creates records for revisions it discovers
without one (reconcile), writes the records the engine hands it on create/update (labels,
annotations, finalizers, ownerReferences, deletionTimestamp, managedFields), deletes records
of revisions gone from the backend and, when a repository is unregistered, all of its
records (`delete_repository`). The engine never touches a store directly; it passes
`PackageRevisionMeta` values to the cache (`pkg.cache.cachetypes.CachedRepository`).

Implementations: `pkg.meta.memory.MemoryMetadataStore` (in-process only, for tests and as the
index of the others) and `pkg.meta.sqlite.SqliteMetadataStore` (the embedded default, one file
`<data-dir>/metadata.db`). A PostgreSQL store can implement `MetadataStore` later: every
method is a coroutine, nothing here assumes memory or a file.

Identity: a record is keyed by (namespace, name), the PackageRevision's `metadata.namespace`
and `metadata.name`; `repository` is a column so that a repository's records can be listed
and dropped together. Names are unique per namespace across repositories because they start
with the repository name (`<repo>.<path>.<package>.<workspace>`).

Errors are the domain errors of `pkg.repository.errors`:

    NotFoundError             update/delete of a (namespace, name) that has no record
    AlreadyExistsError        create of a (namespace, name) that has one
    BackendUnavailableError   the store's medium failed (disk full, database gone); the
                              store is unchanged (memory and medium agree)
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Protocol

from api.meta import v1 as metav1

__all__ = ["MetadataStore", "PackageRevisionMeta", "api_resource_version", "now"]


def now() -> datetime.datetime:
    """The current time as Kubernetes stores timestamps: UTC, whole seconds."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def api_resource_version(commit: str, meta_version: int) -> str:
    """`metadata.resourceVersion` of a PackageRevision and of its PackageRevisionResources
    (the two views of one revision share it): the backend's version of the revision (its
    git commit id, as Porch reports it) while the metadata was never changed, else
    `<commit>.<meta_version>`.

    Why both parts: an update that changes only metadata (labels, annotations, finalizers,
    ownerReferences, deletionTimestamp, managedFields) makes no commit, so the commit alone
    would stay the same and two clients updating from the same stale copy would both
    succeed, one silently undoing the other. Clients treat the value as opaque; it is only
    ever compared for equality. The cache builds every object's value with this function
    and the engine compares requests against the same value
    (`CachedPackageRevision.api_resource_version`).
    """
    return commit if meta_version == 0 else f"{commit}.{meta_version}"


_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclasses.dataclass(frozen=True, slots=True)
class PackageRevisionMeta:
    """The metadata of one package revision that lives outside git.

    An immutable value: `labels`/`annotations` are read-only mappings (any mapping given to
    the constructor is copied), `finalizers`, `owner_references` and `managed_fields`
    tuples. Derive changed values with `dataclasses.replace` (or `with_changes`). The
    `OwnerReference` and `ManagedFieldsEntry` models are shared (with the API objects the
    cache builds, too): never mutate them, build new ones.

    `managed_fields` is the PackageRevision's `metadata.managedFields` as the API server
    recorded it on the last write (which manager wrote which fields, server-side apply's
    ownership), in the API's order; a revision discovered in git has none.

    `creation_timestamp` is set once, when the revision is first seen (created through the
    API or discovered in git), and never changes; `deletion_timestamp` is set when a delete
    is requested while finalizers remain (the revision is deleted when the last finalizer is
    removed). Timestamps are timezone-aware UTC with whole seconds (see `now`).

    The label `kpt.dev/latest-revision` is never stored: the cache computes it on read.

    `version` counts the changes of the record: 0 when created, incremented by the store on
    every update that changes a user-visible field (see `MetadataStore.update`). It is part
    of the revision's resourceVersion (`api_resource_version`), so a metadata-only update
    makes a stale copy detectable; callers never set it themselves.
    """

    namespace: str
    name: str
    repository: str
    creation_timestamp: datetime.datetime
    labels: Mapping[str, str] = dataclasses.field(default_factory=lambda: _EMPTY)
    annotations: Mapping[str, str] = dataclasses.field(default_factory=lambda: _EMPTY)
    finalizers: tuple[str, ...] = ()
    owner_references: tuple[metav1.OwnerReference, ...] = ()
    deletion_timestamp: datetime.datetime | None = None
    version: int = 0
    managed_fields: tuple[metav1.ManagedFieldsEntry, ...] = ()

    def __post_init__(self) -> None:
        # Freeze the maps so that a record handed out by a store cannot be changed behind
        # the store's back (the in-memory index shares these objects).
        for attribute in ("labels", "annotations"):
            value = getattr(self, attribute)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, attribute, MappingProxyType(dict(value)))
        object.__setattr__(self, "finalizers", tuple(self.finalizers))
        object.__setattr__(self, "owner_references", tuple(self.owner_references))
        object.__setattr__(self, "managed_fields", tuple(self.managed_fields))

    @classmethod
    def new(
        cls,
        namespace: str,
        name: str,
        repository: str,
        *,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
        finalizers: Iterable[str] = (),
        owner_references: Sequence[metav1.OwnerReference] = (),
        creation_timestamp: datetime.datetime | None = None,
        deletion_timestamp: datetime.datetime | None = None,
        managed_fields: Sequence[metav1.ManagedFieldsEntry] = (),
    ) -> PackageRevisionMeta:
        """A record for a revision; `creation_timestamp` defaults to `now()`."""
        return cls(
            namespace=namespace,
            name=name,
            repository=repository,
            creation_timestamp=creation_timestamp or now(),
            labels=labels or _EMPTY,
            annotations=annotations or _EMPTY,
            finalizers=tuple(finalizers),
            owner_references=tuple(owner_references),
            deletion_timestamp=deletion_timestamp,
            managed_fields=tuple(managed_fields),
        )

    def with_changes(
        self,
        *,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
        finalizers: Iterable[str] | None = None,
        owner_references: Sequence[metav1.OwnerReference] | None = None,
        deletion_timestamp: datetime.datetime | None = None,
        managed_fields: Sequence[metav1.ManagedFieldsEntry] | None = None,
    ) -> PackageRevisionMeta:
        """A copy with the given fields replaced (None keeps a field; to clear a map pass
        `{}`, a sequence `()`). Identity, `creation_timestamp` and `version` never change
        (the store moves `version` when it stores the copy)."""
        return dataclasses.replace(
            self,
            labels=self.labels if labels is None else labels,
            annotations=self.annotations if annotations is None else annotations,
            finalizers=self.finalizers if finalizers is None else tuple(finalizers),
            owner_references=(
                self.owner_references if owner_references is None else tuple(owner_references)
            ),
            deletion_timestamp=(
                self.deletion_timestamp if deletion_timestamp is None else deletion_timestamp
            ),
            managed_fields=(
                self.managed_fields if managed_fields is None else tuple(managed_fields)
            ),
        )

    def same_content(self, other: PackageRevisionMeta) -> bool:
        """Whether the user-visible fields are equal (what decides a MODIFIED event and
        whether an update moves `version`); `version` itself is not compared."""
        return (
            dict(self.labels) == dict(other.labels)
            and dict(self.annotations) == dict(other.annotations)
            and self.finalizers == other.finalizers
            and self.owner_references == other.owner_references
            and self.managed_fields == other.managed_fields
            and self.deletion_timestamp == other.deletion_timestamp
            and self.creation_timestamp == other.creation_timestamp
        )


class MetadataStore(Protocol):
    """Persistent `PackageRevisionMeta` records keyed by (namespace, name).

    Concurrency: methods may be called concurrently from one event loop; each call is
    atomic (a reader never sees half a write) and writes are durable when the call returns.
    Reads (`get`, `list`) should be cheap: the cache calls `list` once per repository open
    and keeps its own copy, but other callers may read per request.
    Values returned are immutable and may be shared between callers.
    """

    async def get(self, namespace: str, name: str) -> PackageRevisionMeta | None:
        """The record of (namespace, name), None when there is none."""
        ...

    async def list(
        self, namespace: str | None = None, repository: str | None = None
    ) -> list[PackageRevisionMeta]:
        """Records of a namespace (None: all), optionally only those of `repository`
        (needs `namespace`: repository names are per namespace), ordered by (namespace,
        name)."""
        ...

    async def create(self, meta: PackageRevisionMeta) -> PackageRevisionMeta:
        """Store a new record as given (`version` included, normally 0) and return it.
        Raises `AlreadyExistsError` when (namespace, name) has one;
        `BackendUnavailableError` when it cannot be stored."""
        ...

    async def create_many(self, metas: Sequence[PackageRevisionMeta]) -> None:
        """Store several new records in one transaction (the cache's reconcile after
        discovering many revisions at once). All or nothing: raises `AlreadyExistsError`
        (nothing stored) when any (namespace, name) has a record or appears twice."""
        ...

    async def update(self, meta: PackageRevisionMeta) -> PackageRevisionMeta:
        """Replace the record of (meta.namespace, meta.name) and return the stored value.

        `creation_timestamp` and `repository` of the existing record are kept whatever
        `meta` says (they are set once). `version` is the store's: the stored record's
        plus one when a user-visible field changes (`same_content`); an update that changes
        nothing writes nothing and returns the stored record as it is. The version is
        durable like the rest of the record (it survives a restart: resourceVersions do).
        Raises `NotFoundError` when there is no record; `BackendUnavailableError` when it
        cannot be stored.
        """
        ...

    async def delete(self, namespace: str, name: str) -> PackageRevisionMeta:
        """Remove the record and return what it held. Raises `NotFoundError` when there is
        none; `BackendUnavailableError` when the medium fails."""
        ...

    async def delete_many(self, namespace: str, names: Iterable[str]) -> int:
        """Remove the records of `names` in `namespace` in one transaction; names without
        a record are skipped. Returns how many went."""
        ...

    async def delete_repository(self, namespace: str, repository: str) -> int:
        """Remove every record of `repository` in `namespace`; returns how many went."""
        ...

    async def close(self) -> None:
        """Release the medium (files, connections). Further calls are errors."""
        ...
