"""The embedded object database: one SQLite file and one resourceVersion counter for all stores.

Where this sits: standalone porch-server (``pkg.cmd.server``) opens one :class:`Database`
under ``--data-dir`` and hands it to every :class:`pkg.registry.generic.store.Store`
(secrets, repositories). The stores keep their objects in memory and write through to
this file; nothing reads SQLite per request. The role etcd plays for kube-apiserver:

* one global, monotonically increasing ``resourceVersion`` shared by every resource, so a
  list's resourceVersion orders against any object's; a new database stands at 1 (``"0"``
  means "any" to clients, so it is never handed out) and the counter survives restarts;
* writes are serialised (:attr:`Database.write_lock`): a store allocates the next
  resourceVersion, persists, updates memory and emits its watch event all under the lock,
  so events leave in resourceVersion order and a list never reports a resourceVersion
  whose write is still in flight;
* the file itself is a :class:`pkg.sqlitedb.sqlitedb.Database`: blocking I/O on one
  dedicated thread, WAL with ``synchronous=FULL`` (a write acknowledged to a client
  survives a power cut), an exclusive lock held for the life of the process, so a second
  server on the same data directory fails at start instead of corrupting the first one's
  view, and mode 0600, readable by the server's user only: Secrets are stored in it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pkg.sqlitedb import sqlitedb

__all__ = ["DEFAULT_FILE_NAME", "Database", "DatabaseError", "Row"]

DEFAULT_FILE_NAME: Final = "objects.db"
"""The file name under the data directory that :func:`Database.open` callers use."""

_SCHEMA: Final = sqlitedb.Schema(
    create=(
        """CREATE TABLE IF NOT EXISTS objects (
        resource TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        resource_version INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (resource, namespace, name)
    ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS counters (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID""",
        # 1, not 0: a list of an empty store must still report a resourceVersion clients
        # can watch from, and "0" means "any version" to them.
        "INSERT OR IGNORE INTO counters (name, value) VALUES ('resourceVersion', 1)",
    ),
)

DatabaseError = sqlitedb.DatabaseError
"""The database file cannot be opened or written (in use, unreadable, disk full)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One stored object: its key, its resourceVersion and its JSON body."""

    namespace: str
    name: str
    resource_version: int
    body: str


class Database:
    """The SQLite file behind every generic store of one server. Create with :meth:`open`."""

    def __init__(
        self, db: sqlitedb.Database, resource_version: int, rows: dict[str, list[Row]]
    ) -> None:
        self._db = db
        self._resource_version = resource_version
        self._rows = rows
        self._registered: set[str] = set()

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open (or create) the database file at ``path`` and load every stored object.

        Raises :class:`DatabaseError` when the file is in use by another process or cannot
        be read.
        """
        db, (rv, rows) = await sqlitedb.Database.open(
            path, _SCHEMA, _load, thread_name="porch-sqlite"
        )
        return cls(db, rv, rows)

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def write_lock(self) -> asyncio.Lock:
        """Held by a store for its whole write: allocate, persist, apply, notify."""
        return self._db.write_lock

    @property
    def resource_version(self) -> int:
        """The resourceVersion of the last committed write (1 for a new database)."""
        return self._resource_version

    def register(self, resource: str) -> list[Row]:
        """Claim ``resource`` for one store and return its objects as loaded at open.

        A resource belongs to exactly one store: two stores over the same rows would each
        keep their own in-memory copy and drift apart.
        """
        if resource in self._registered:
            raise ValueError(f"resource {resource!r} already has a store on {self.path}")
        self._registered.add(resource)
        return self._rows.pop(resource, [])

    async def commit(
        self, resource: str, namespace: str, name: str, resource_version: int, body: str | None
    ) -> None:
        """Persist one write: ``body`` replaces the object, or deletes it when None.

        The caller holds :attr:`write_lock` and passes ``resource_version`` =
        :attr:`resource_version` + 1; the counter advances only when the transaction
        committed. Raises :class:`DatabaseError` when the write failed (nothing changed).
        """
        if resource_version != self._resource_version + 1:
            raise RuntimeError(
                f"resourceVersion {resource_version} does not follow {self._resource_version}"
            )
        await self._db.write(_commit_sync, (resource, namespace, name), resource_version, body)
        self._resource_version = resource_version

    async def close(self) -> None:
        """Wait for the write in flight, then close the file and release its lock."""
        await self._db.close()


def _load(conn: sqlite3.Connection) -> tuple[int, dict[str, list[Row]]]:
    """The resourceVersion counter and every object by resource, on the database thread."""
    (rv,) = conn.execute("SELECT value FROM counters WHERE name = 'resourceVersion'").fetchone()
    rows: dict[str, list[Row]] = {}
    for resource, namespace, name, row_rv, body in conn.execute(
        "SELECT resource, namespace, name, resource_version, body FROM objects"
    ):
        rows.setdefault(resource, []).append(Row(namespace, name, row_rv, body))
    return int(rv), rows


def _commit_sync(
    conn: sqlite3.Connection,
    key: tuple[str, str, str],
    resource_version: int,
    body: str | None,
) -> None:
    """Replace or delete one object and advance the counter (in the caller's transaction)."""
    resource, namespace, name = key
    if body is None:
        conn.execute(
            "DELETE FROM objects WHERE resource = ? AND namespace = ? AND name = ?",
            (resource, namespace, name),
        )
    else:
        conn.execute(
            "INSERT OR REPLACE INTO objects "
            "(resource, namespace, name, resource_version, body) VALUES (?, ?, ?, ?, ?)",
            (resource, namespace, name, resource_version, body),
        )
    conn.execute(
        "UPDATE counters SET value = ? WHERE name = 'resourceVersion'",
        (resource_version,),
    )
