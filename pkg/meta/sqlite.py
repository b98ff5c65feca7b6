"""The embedded metadata store: one SQLite file, `<data-dir>/metadata.db`.

Where this sits: the server wiring (`pkg/cmd`) opens one `SqliteMetadataStore` per server
and hands it to the repository cache (`pkg/cache`), its only caller. It implements
`pkg.meta.metatypes.MetadataStore`:

* every record is held in memory (`pkg.meta.memory.MemoryIndex`) and written through to the
  file: reads never touch disk, a write returns once SQLite committed it;
* writes are serialised by one lock ("persist, then apply to memory"), so memory and file
  never disagree and a failed write changes neither;
* the file itself is a `pkg.sqlitedb.sqlitedb.Database`: blocking I/O on one dedicated
  thread, WAL with `synchronous=FULL` (an acknowledged write survives a power cut), mode
  0600, and an exclusive lock held for the life of the store, so a second server on the
  same data directory fails at open instead of diverging from the first.

The table keeps the fields as columns (JSON for maps and lists) so that the same layout
can be created in PostgreSQL later. Its schema version is SQLite's `user_version`; opening a
file written by an older server migrates it in place, in one transaction (0 -> 1 added the
`version` column, the change counter of each record; 1 -> 2 the `managed_fields` column, the
PackageRevision's `metadata.managedFields` as JSON). `sqlitedb.DatabaseError` becomes
`BackendUnavailableError` here, with the same message.
"""

from __future__ import annotations

import asyncio
import builtins
import datetime
import json
import sqlite3
from collections.abc import Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

from api.meta import v1 as metav1
from pkg.apimachinery import codec
from pkg.meta import memory, metatypes
from pkg.repository import errors
from pkg.sqlitedb import sqlitedb

__all__ = ["DEFAULT_FILE_NAME", "SqliteMetadataStore"]

DEFAULT_FILE_NAME: Final = "metadata.db"
"""The file name under the data directory."""

_SCHEMA: Final = sqlitedb.Schema(
    create=(
        # The layout of schema version 0 (before `version` existed); the migrations bring
        # a file of any older version, and a new one, to the current version.
        """CREATE TABLE IF NOT EXISTS package_revision_meta (
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        repository TEXT NOT NULL,
        creation_timestamp TEXT NOT NULL,
        deletion_timestamp TEXT,
        labels TEXT NOT NULL,
        annotations TEXT NOT NULL,
        finalizers TEXT NOT NULL,
        owner_references TEXT NOT NULL,
        PRIMARY KEY (namespace, name)
    ) WITHOUT ROWID""",
        """CREATE INDEX IF NOT EXISTS package_revision_meta_by_repository
        ON package_revision_meta (namespace, repository)""",
    ),
    migrations=(
        # 0 -> 1: the record's change counter (part of the resourceVersion); records
        # written before it existed were never counted, so they start at 0 (their
        # resourceVersion, the bare commit id, stays what clients already hold).
        "ALTER TABLE package_revision_meta ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
        # 1 -> 2: `metadata.managedFields`, the entries as the API shows them (JSON by
        # alias, no nulls). Older servers never kept them: their records have none.
        "ALTER TABLE package_revision_meta ADD COLUMN managed_fields TEXT NOT NULL DEFAULT '[]'",
    ),
)

_COLUMNS: Final = (
    "namespace, name, repository, creation_timestamp, deletion_timestamp, labels, "
    "annotations, finalizers, owner_references, version, managed_fields"
)

_Row = tuple[str, str, str, str, str | None, str, str, str, str, int, str]

T = TypeVar("T")


def _to_row(meta: metatypes.PackageRevisionMeta) -> _Row:
    return (
        meta.namespace,
        meta.name,
        meta.repository,
        meta.creation_timestamp.isoformat(),
        meta.deletion_timestamp.isoformat() if meta.deletion_timestamp is not None else None,
        json.dumps(dict(meta.labels), sort_keys=True),
        json.dumps(dict(meta.annotations), sort_keys=True),
        json.dumps(list(meta.finalizers)),
        json.dumps([codec.to_dict(ref) for ref in meta.owner_references]),
        meta.version,
        json.dumps([codec.to_dict(entry) for entry in meta.managed_fields]),
    )


def _from_row(row: _Row) -> metatypes.PackageRevisionMeta:
    (
        namespace,
        name,
        repository,
        created,
        deleted,
        labels,
        annotations,
        finalizers,
        owners,
        version,
        managed,
    ) = row
    return metatypes.PackageRevisionMeta(
        namespace=namespace,
        name=name,
        repository=repository,
        creation_timestamp=datetime.datetime.fromisoformat(created),
        deletion_timestamp=datetime.datetime.fromisoformat(deleted) if deleted else None,
        labels=json.loads(labels),
        annotations=json.loads(annotations),
        finalizers=tuple(json.loads(finalizers)),
        owner_references=tuple(
            metav1.OwnerReference.model_validate(ref) for ref in json.loads(owners)
        ),
        version=version,
        managed_fields=tuple(
            metav1.ManagedFieldsEntry.model_validate(entry) for entry in json.loads(managed)
        ),
    )


class SqliteMetadataStore(memory.IndexedStore):
    """`metatypes.MetadataStore` over one SQLite file. Create with `open`.

    Reads are the index's (`memory.IndexedStore`); writes go to the file first, then to
    memory, under the file's `write_lock`."""

    def __init__(self, db: sqlitedb.Database, index: memory.MemoryIndex) -> None:
        super().__init__(index, f"metadata store {db.path}")
        self._db = db

    @classmethod
    async def open(cls, path: Path) -> SqliteMetadataStore:
        """Open (or create) the store at `path` and load every record into memory.

        Raises `BackendUnavailableError` when the file is in use by another process or
        cannot be read.
        """
        try:
            db, index = await sqlitedb.Database.open(
                path, _SCHEMA, _load, thread_name="porch-metadata"
            )
        except sqlitedb.DatabaseError as err:
            raise errors.BackendUnavailableError(str(err)) from err
        return cls(db, index)

    @property
    def path(self) -> Path:
        return self._db.path

    # -- writes: file first, then memory ------------------------------------------------------
    async def create_many(self, metas: Sequence[metatypes.PackageRevisionMeta]) -> None:
        if metas:
            await _completed(self._create_many(metas))

    async def _create_many(self, metas: Sequence[metatypes.PackageRevisionMeta]) -> None:
        async with self._db.write_lock:
            self._check_open()
            self._index.check_create(metas)
            await self._write([_to_row(meta) for meta in metas], [])
            for meta in metas:
                self._index.put(meta)

    async def update(self, meta: metatypes.PackageRevisionMeta) -> metatypes.PackageRevisionMeta:
        return await _completed(self._update(meta))

    async def _update(self, meta: metatypes.PackageRevisionMeta) -> metatypes.PackageRevisionMeta:
        async with self._db.write_lock:
            self._check_open()
            current = self._index.existing(meta.namespace, meta.name)
            stored = memory.updated_record(current, meta)
            if stored is not current:
                await self._write([_to_row(stored)], [])
                self._index.put(stored)
            return stored

    async def delete(self, namespace: str, name: str) -> metatypes.PackageRevisionMeta:
        return await _completed(self._delete(namespace, name))

    async def _delete(self, namespace: str, name: str) -> metatypes.PackageRevisionMeta:
        async with self._db.write_lock:
            self._check_open()
            meta = self._index.existing(namespace, name)
            await self._write([], [(namespace, name)])
            self._index.remove(namespace, name)
            return meta

    async def delete_many(self, namespace: str, names: Iterable[str]) -> int:
        return await _completed(self._delete_many(namespace, list(names)))

    async def _delete_many(self, namespace: str, names: builtins.list[str]) -> int:
        async with self._db.write_lock:
            self._check_open()
            present = [n for n in sorted(set(names)) if self._index.get(namespace, n) is not None]
            if not present:
                return 0
            await self._write([], [(namespace, n) for n in present])
            for name in present:
                self._index.remove(namespace, name)
            return len(present)

    async def close(self) -> None:
        """Wait for the write in flight, then close the file and release its lock."""
        if self._closed:
            return
        async with self._db.write_lock:
            # Writes queued behind this one find the store closed.
            self._closed = True
        await self._db.close()

    async def _write(self, upserts: list[_Row], deletes: list[tuple[str, str]]) -> None:
        try:
            await self._db.write(_write_sync, upserts, deletes)
        except sqlitedb.DatabaseError as err:
            raise errors.BackendUnavailableError(f"metadata {err}") from err


async def _completed(write: Coroutine[Any, Any, T]) -> T:
    """Run a "persist, then apply to memory" write to its end even if the caller is
    cancelled: stopping between the two would leave the file and memory disagreeing."""
    task = asyncio.ensure_future(write)
    task.add_done_callback(_retrieve)
    return await asyncio.shield(task)


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark the result as seen (a caller that stopped waiting cannot); a failed write left
    the store unchanged, memory follows the file only on success."""
    if not task.cancelled():
        task.exception()


def _load(conn: sqlite3.Connection) -> memory.MemoryIndex:
    """Every record of the file, on the database thread at open."""
    index = memory.MemoryIndex()
    for row in conn.execute(f"SELECT {_COLUMNS} FROM package_revision_meta"):  # noqa: S608
        index.put(_from_row(row))
    return index


def _write_sync(
    conn: sqlite3.Connection, upserts: list[_Row], deletes: list[tuple[str, str]]
) -> None:
    """Insert-or-replace `upserts`, delete `deletes` (in the caller's transaction)."""
    if upserts:
        conn.executemany(
            f"INSERT OR REPLACE INTO package_revision_meta ({_COLUMNS}) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            upserts,
        )
    if deletes:
        conn.executemany(
            "DELETE FROM package_revision_meta WHERE namespace = ? AND name = ?",
            deletes,
        )
