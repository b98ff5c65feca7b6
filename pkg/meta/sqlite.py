"""The embedded metadata store: one SQLite file, `<data-dir>/metadata.db`.

Where this sits: the server wiring (`pkg/cmd`) opens one `SqliteMetadataStore` per server
and hands it to the repository cache (`pkg/cache`), its only caller. It implements
`pkg.meta.metatypes.MetadataStore`:

* every record is held in memory (`pkg.meta.memory.MemoryIndex`) and written through to the
  file: reads never touch disk, a write returns once SQLite committed it;
* writes are serialised by one lock ("persist, then apply to memory"), so memory and file
  never disagree and a failed write changes neither;
* all blocking I/O runs on one dedicated thread, never on the event loop;
* WAL journal with `synchronous=FULL` (an acknowledged write survives a power cut) and an
  exclusive lock held for the life of the store, so a second server on the same data
  directory fails at open instead of diverging from the first.

The table keeps the fields as columns (JSON for maps and lists) so that the same layout
can be created in PostgreSQL later. Its schema version is SQLite's `user_version`; opening a
file written by an older server migrates it in place, in one transaction (0 -> 1 added the
`version` column, the change counter of each record).
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import datetime
import json
import sqlite3
from collections.abc import Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

from api.meta import v1 as metav1
from pkg.apimachinery import codec
from pkg.meta import memory, metatypes
from pkg.repository import errors

__all__ = ["DEFAULT_FILE_NAME", "SqliteMetadataStore"]

DEFAULT_FILE_NAME: Final = "metadata.db"
"""The file name under the data directory."""

_SCHEMA: Final = (
    # The layout of schema version 0 (before `version` existed); `_MIGRATIONS` brings a
    # file of any older version, and a new one, to `_SCHEMA_VERSION`.
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
)

_MIGRATIONS: Final = (
    # 0 -> 1: the record's change counter (part of the resourceVersion); records written
    # before it existed were never counted, so they start at 0 (their resourceVersion,
    # the bare commit id, stays what clients already hold).
    "ALTER TABLE package_revision_meta ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
)

_SCHEMA_VERSION: Final = len(_MIGRATIONS)
"""The schema version this code reads and writes (SQLite's `PRAGMA user_version`)."""

_COLUMNS: Final = (
    "namespace, name, repository, creation_timestamp, deletion_timestamp, labels, "
    "annotations, finalizers, owner_references, version"
)

_Row = tuple[str, str, str, str, str | None, str, str, str, str, int]

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
    )


class SqliteMetadataStore(memory.IndexedStore):
    """`metatypes.MetadataStore` over one SQLite file. Create with `open`.

    Reads are the index's (`memory.IndexedStore`); writes go to the file first, then to
    memory."""

    def __init__(
        self,
        path: Path,
        executor: concurrent.futures.ThreadPoolExecutor,
        conn: sqlite3.Connection,
        index: memory.MemoryIndex,
    ) -> None:
        super().__init__(index, f"metadata store {path}")
        self._path = path
        self._executor = executor
        self._conn = conn
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> SqliteMetadataStore:
        """Open (or create) the store at `path` and load every record into memory.

        Raises `BackendUnavailableError` when the file is in use by another process or
        cannot be read.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="porch-metadata"
        )
        loop = asyncio.get_running_loop()
        try:
            conn, index = await loop.run_in_executor(executor, _open_sync, path)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(path, executor, conn, index)

    @property
    def path(self) -> Path:
        return self._path

    # -- writes: file first, then memory ------------------------------------------------------
    async def create_many(self, metas: Sequence[metatypes.PackageRevisionMeta]) -> None:
        if metas:
            await _completed(self._create_many(metas))

    async def _create_many(self, metas: Sequence[metatypes.PackageRevisionMeta]) -> None:
        async with self._write_lock:
            self._check_open()
            self._index.check_create(metas)
            rows = [_to_row(meta) for meta in metas]
            await self._run(_write_sync, self._conn, rows, [])
            for meta in metas:
                self._index.put(meta)

    async def update(self, meta: metatypes.PackageRevisionMeta) -> metatypes.PackageRevisionMeta:
        return await _completed(self._update(meta))

    async def _update(self, meta: metatypes.PackageRevisionMeta) -> metatypes.PackageRevisionMeta:
        async with self._write_lock:
            self._check_open()
            current = self._index.existing(meta.namespace, meta.name)
            stored = memory.updated_record(current, meta)
            if stored is not current:
                await self._run(_write_sync, self._conn, [_to_row(stored)], [])
                self._index.put(stored)
            return stored

    async def delete(self, namespace: str, name: str) -> metatypes.PackageRevisionMeta:
        return await _completed(self._delete(namespace, name))

    async def _delete(self, namespace: str, name: str) -> metatypes.PackageRevisionMeta:
        async with self._write_lock:
            self._check_open()
            meta = self._index.existing(namespace, name)
            await self._run(_write_sync, self._conn, [], [(namespace, name)])
            self._index.remove(namespace, name)
            return meta

    async def delete_many(self, namespace: str, names: Iterable[str]) -> int:
        return await _completed(self._delete_many(namespace, list(names)))

    async def _delete_many(self, namespace: str, names: builtins.list[str]) -> int:
        async with self._write_lock:
            self._check_open()
            present = [n for n in sorted(set(names)) if self._index.get(namespace, n) is not None]
            if not present:
                return 0
            await self._run(_write_sync, self._conn, [], [(namespace, n) for n in present])
            for name in present:
                self._index.remove(namespace, name)
            return len(present)

    async def close(self) -> None:
        """Wait for the write in flight, then close the file and release its lock."""
        if self._closed:
            return
        async with self._write_lock:
            self._closed = True
            await asyncio.get_running_loop().run_in_executor(self._executor, self._conn.close)
        self._executor.shutdown(wait=True)

    # -- plumbing --------------------------------------------------------------------------------
    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)


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


def _open_sync(path: Path) -> tuple[sqlite3.Connection, memory.MemoryIndex]:
    try:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves. timeout=0: a second
        # process finds the file locked at once instead of waiting.
        conn = sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)
    except sqlite3.Error as err:
        raise errors.BackendUnavailableError(f"cannot open {path}: {err}") from err
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        # The first write takes the exclusive lock, which EXCLUSIVE mode then keeps.
        conn.execute("BEGIN IMMEDIATE")
        try:
            _migrate(conn, path)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        index = memory.MemoryIndex()
        for row in conn.execute(f"SELECT {_COLUMNS} FROM package_revision_meta"):  # noqa: S608
            index.put(_from_row(row))
    except sqlite3.OperationalError as err:
        conn.close()
        if "locked" in str(err):
            raise errors.BackendUnavailableError(
                f"{path} is in use by another process (is another porch-server running "
                "on the same data directory?)"
            ) from err
        raise errors.BackendUnavailableError(f"cannot open {path}: {err}") from err
    except (sqlite3.Error, ValueError) as err:
        conn.close()
        raise errors.BackendUnavailableError(f"cannot read {path}: {err}") from err
    except errors.BackendUnavailableError:
        conn.close()
        raise
    return conn, index


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Create the table, then bring its schema to `_SCHEMA_VERSION`. Inside the caller's
    transaction: a migration that fails leaves the file as it was."""
    for statement in _SCHEMA:
        conn.execute(statement)
    (found,) = conn.execute("PRAGMA user_version").fetchone()
    if found > _SCHEMA_VERSION:
        raise errors.BackendUnavailableError(
            f"{path} has schema version {found}, newer than this porch-server reads "
            f"({_SCHEMA_VERSION}); it was written by a newer porch-server"
        )
    for statement in _MIGRATIONS[found:]:
        conn.execute(statement)
    if found != _SCHEMA_VERSION:
        # PRAGMA takes no parameters; the value is our own integer constant.
        conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION:d}")


def _write_sync(
    conn: sqlite3.Connection, upserts: list[_Row], deletes: list[tuple[str, str]]
) -> None:
    """One transaction: insert-or-replace `upserts`, delete `deletes`."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if upserts:
                conn.executemany(
                    f"INSERT OR REPLACE INTO package_revision_meta ({_COLUMNS}) "  # noqa: S608
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    upserts,
                )
            if deletes:
                conn.executemany(
                    "DELETE FROM package_revision_meta WHERE namespace = ? AND name = ?",
                    deletes,
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as err:
        raise errors.BackendUnavailableError(f"metadata write failed: {err}") from err
