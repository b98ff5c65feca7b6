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
* all blocking I/O runs on one dedicated thread, never on the event loop;
* WAL journal, ``synchronous=FULL`` (a write acknowledged to a client survives a power
  cut), and an exclusive lock held for the life of the process, so a second server on the
  same data directory fails at start instead of corrupting the first one's view;
* the file is readable by the server's user only (mode 0600): Secrets are stored in it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

__all__ = ["DEFAULT_FILE_NAME", "Database", "DatabaseError", "Row"]

DEFAULT_FILE_NAME: Final = "objects.db"
"""The file name under the data directory that :func:`Database.open` callers use."""

_SCHEMA: Final = (
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
    # 1, not 0: a list of an empty store must still report a resourceVersion clients can
    # watch from, and "0" means "any version" to them.
    "INSERT OR IGNORE INTO counters (name, value) VALUES ('resourceVersion', 1)",
)

T = TypeVar("T")


class DatabaseError(Exception):
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
        self,
        path: Path,
        executor: concurrent.futures.ThreadPoolExecutor,
        conn: sqlite3.Connection,
        resource_version: int,
        rows: dict[str, list[Row]],
    ) -> None:
        self._path = path
        self._executor = executor
        self._conn = conn
        self._resource_version = resource_version
        self._rows = rows
        self._registered: set[str] = set()
        self._closed = False
        self.write_lock = asyncio.Lock()
        """Held by a store for its whole write: allocate, persist, apply, notify."""

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open (or create) the database file at ``path`` and load every stored object.

        Raises :class:`DatabaseError` when the file is in use by another process or cannot
        be read.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="porch-sqlite"
        )
        loop = asyncio.get_running_loop()
        try:
            conn, rv, rows = await loop.run_in_executor(executor, _open_sync, path)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(path, executor, conn, rv, rows)

    @property
    def path(self) -> Path:
        return self._path

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
            raise ValueError(f"resource {resource!r} already has a store on {self._path}")
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
        if not self.write_lock.locked():
            raise RuntimeError("Database.commit called without holding write_lock")
        if resource_version != self._resource_version + 1:
            raise RuntimeError(
                f"resourceVersion {resource_version} does not follow {self._resource_version}"
            )
        await self._run(
            _commit_sync, self._conn, (resource, namespace, name), resource_version, body
        )
        self._resource_version = resource_version

    async def close(self) -> None:
        """Wait for the write in flight, then close the file and release its lock."""
        if self._closed:
            return
        async with self.write_lock:
            self._closed = True
            await asyncio.get_running_loop().run_in_executor(self._executor, self._conn.close)
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        if self._closed:
            raise DatabaseError(f"database {self._path} is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)


def _open_sync(path: Path) -> tuple[sqlite3.Connection, int, dict[str, list[Row]]]:
    try:
        # Secrets live in this file: readable by the server's user only. (SQLite gives
        # its WAL file the database file's permissions.)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
    except OSError as err:
        raise DatabaseError(f"cannot open {path}: {err}") from err
    try:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves. timeout=0: a second
        # process finds the file locked at once instead of waiting.
        conn = sqlite3.connect(path, isolation_level=None, timeout=0)
    except sqlite3.Error as err:
        raise DatabaseError(f"cannot open {path}: {err}") from err
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        # The first write takes the exclusive lock, which EXCLUSIVE mode then keeps.
        conn.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute("COMMIT")
        (rv,) = conn.execute("SELECT value FROM counters WHERE name = 'resourceVersion'").fetchone()
        rows: dict[str, list[Row]] = {}
        for resource, namespace, name, row_rv, body in conn.execute(
            "SELECT resource, namespace, name, resource_version, body FROM objects"
        ):
            rows.setdefault(resource, []).append(Row(namespace, name, row_rv, body))
    except sqlite3.OperationalError as err:
        conn.close()
        if "locked" in str(err):
            raise DatabaseError(
                f"{path} is in use by another process (is another porch-server running "
                "on the same data directory?)"
            ) from err
        raise DatabaseError(f"cannot open {path}: {err}") from err
    except sqlite3.Error as err:
        conn.close()
        raise DatabaseError(f"cannot open {path}: {err}") from err
    return conn, int(rv), rows


def _commit_sync(
    conn: sqlite3.Connection,
    key: tuple[str, str, str],
    resource_version: int,
    body: str | None,
) -> None:
    resource, namespace, name = key
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
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
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as err:
        raise DatabaseError(f"write failed: {err}") from err
