"""An in-memory `MetadataStore`, and the index the persistent stores keep in front of disk.

Where this sits: `pkg.meta.sqlite.SqliteMetadataStore` keeps one `MemoryIndex` and writes
through to its file, so reads never touch disk; `MemoryMetadataStore` is the same index
behind the `MetadataStore` protocol with nothing behind it, for tests of upper layers and
for servers that are told to keep no state. Both are `IndexedStore`s: the reads and the
calls made of other calls are written once, there.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence

from pkg.meta import metatypes
from pkg.repository import errors

__all__ = ["IndexedStore", "MemoryIndex", "MemoryMetadataStore", "updated_record"]


class MemoryIndex:
    """Records by (namespace, name) plus the set of names per (namespace, repository).

    Synchronous and unlocked: callers serialise writes (the stores hold one lock around
    "persist, then apply here"). The `check_*` methods raise the protocol's errors without
    changing anything, so a store can validate before it persists.
    """

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], metatypes.PackageRevisionMeta] = {}
        self._by_repository: dict[tuple[str, str], set[str]] = {}

    def __len__(self) -> int:
        return len(self._records)

    def get(self, namespace: str, name: str) -> metatypes.PackageRevisionMeta | None:
        return self._records.get((namespace, name))

    def records(
        self, namespace: str | None = None, repository: str | None = None
    ) -> list[metatypes.PackageRevisionMeta]:
        if repository is not None:
            if namespace is None:
                raise ValueError("listing by repository needs a namespace")
            names = self._by_repository.get((namespace, repository), set())
            return [self._records[(namespace, name)] for name in sorted(names)]
        return [
            meta
            for key, meta in sorted(self._records.items())
            if namespace is None or key[0] == namespace
        ]

    def check_create(self, metas: Sequence[metatypes.PackageRevisionMeta]) -> None:
        seen: set[tuple[str, str]] = set()
        for meta in metas:
            key = (meta.namespace, meta.name)
            if key in self._records or key in seen:
                raise errors.AlreadyExistsError(
                    f'metadata of package revision "{meta.namespace}/{meta.name}" already exists'
                )
            seen.add(key)

    def existing(self, namespace: str, name: str) -> metatypes.PackageRevisionMeta:
        """The stored record of (namespace, name); `NotFoundError` when there is none."""
        current = self._records.get((namespace, name))
        if current is None:
            raise errors.NotFoundError(
                f'metadata of package revision "{namespace}/{name}" not found'
            )
        return current

    def put(self, meta: metatypes.PackageRevisionMeta) -> None:
        self._records[(meta.namespace, meta.name)] = meta
        self._by_repository.setdefault((meta.namespace, meta.repository), set()).add(meta.name)

    def remove(self, namespace: str, name: str) -> metatypes.PackageRevisionMeta | None:
        meta = self._records.pop((namespace, name), None)
        if meta is not None:
            names = self._by_repository.get((namespace, meta.repository))
            if names is not None:
                names.discard(name)
                if not names:
                    del self._by_repository[(namespace, meta.repository)]
        return meta

    def repository_names(self, namespace: str, repository: str) -> list[str]:
        return sorted(self._by_repository.get((namespace, repository), set()))


def updated_record(
    current: metatypes.PackageRevisionMeta, meta: metatypes.PackageRevisionMeta
) -> metatypes.PackageRevisionMeta:
    """What an update of `current` to `meta` stores: `meta` with the fields a store never
    lets an update change (repository, creation time) taken from `current` and the next
    `version`; `current` itself when that changes no user-visible field (nothing to write,
    the version stays)."""
    stored = metatypes.PackageRevisionMeta(
        namespace=meta.namespace,
        name=meta.name,
        repository=current.repository,
        creation_timestamp=current.creation_timestamp,
        labels=meta.labels,
        annotations=meta.annotations,
        finalizers=meta.finalizers,
        owner_references=meta.owner_references,
        deletion_timestamp=meta.deletion_timestamp,
        version=current.version + 1,
        managed_fields=meta.managed_fields,
    )
    return current if stored.same_content(current) else stored


class IndexedStore(abc.ABC):
    """What a `metatypes.MetadataStore` over a `MemoryIndex` does the same whatever is
    behind the index: reads from memory, `create` as a batch of one, `delete_repository`
    as a `delete_many` of the repository's names, and refusing calls once closed.

    Subclasses write (`create_many`, `update`, `delete`, `delete_many`, `close`).
    """

    def __init__(self, index: MemoryIndex, description: str) -> None:
        self._index = index
        self._description = description
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise errors.BackendUnavailableError(f"{self._description} is closed")

    async def get(self, namespace: str, name: str) -> metatypes.PackageRevisionMeta | None:
        self._check_open()
        return self._index.get(namespace, name)

    async def list(
        self, namespace: str | None = None, repository: str | None = None
    ) -> list[metatypes.PackageRevisionMeta]:
        self._check_open()
        return self._index.records(namespace, repository)

    async def create(self, meta: metatypes.PackageRevisionMeta) -> metatypes.PackageRevisionMeta:
        await self.create_many([meta])
        return meta

    @abc.abstractmethod
    async def create_many(self, metas: Sequence[metatypes.PackageRevisionMeta]) -> None: ...

    @abc.abstractmethod
    async def delete_many(self, namespace: str, names: Iterable[str]) -> int: ...

    async def delete_repository(self, namespace: str, repository: str) -> int:
        names = self._index.repository_names(namespace, repository)
        return await self.delete_many(namespace, names)


class MemoryMetadataStore(IndexedStore):
    """`metatypes.MetadataStore` in process memory only (lost when the process ends)."""

    def __init__(self) -> None:
        super().__init__(MemoryIndex(), "metadata store")

    async def create_many(self, metas: Sequence[metatypes.PackageRevisionMeta]) -> None:
        self._check_open()
        self._index.check_create(metas)
        for meta in metas:
            self._index.put(meta)

    async def update(self, meta: metatypes.PackageRevisionMeta) -> metatypes.PackageRevisionMeta:
        self._check_open()
        current = self._index.existing(meta.namespace, meta.name)
        stored = updated_record(current, meta)
        if stored is not current:
            self._index.put(stored)
        return stored

    async def delete(self, namespace: str, name: str) -> metatypes.PackageRevisionMeta:
        self._check_open()
        meta = self._index.existing(namespace, name)
        self._index.remove(namespace, name)
        return meta

    async def delete_many(self, namespace: str, names: Iterable[str]) -> int:
        self._check_open()
        return sum(self._index.remove(namespace, name) is not None for name in set(names))

    async def close(self) -> None:
        self._closed = True
