"""One SQLite file, opened for one owner, with every blocking call on one thread.

Where this sits: under the stores that keep their records in memory and write through to
a file, `pkg.meta.sqlite.SqliteMetadataStore` (``metadata.db``) and
`pkg.registry.generic.sqlite.Database` (``objects.db``). A store calls `Database.open` with
its `Schema` and a loader that reads every row into memory, `Database.write` under
`Database.write_lock` for each change ("persist, then apply to memory"), and
`Database.close` at shutdown. Nothing here knows their tables or what the rows mean.

What every such file gets:

* all blocking sqlite3 calls run on one dedicated thread, never on the event loop; the
  connection is made there and never leaves it;
* an exclusive lock for as long as the file is open (``locking_mode=EXCLUSIVE``, taken by
  the transaction at open): a second server on the same data directory fails at open,
  "in use by another process", instead of diverging from the first;
* WAL journal with ``synchronous=FULL``: a write acknowledged to a client survives a
  power cut;
* mode 0600 (SQLite gives its WAL and shared-memory files the same): the files hold
  Secrets and metadata that are the server's user's only;
* a schema version in SQLite's ``user_version``: `Schema.create` runs on every open, then
  the migrations a file of an older server lacks, in the same transaction (a migration
  that fails leaves the file as it was); a file of a newer server is refused untouched;
* each write in one ``BEGIN IMMEDIATE`` transaction: a failed write changes nothing.

Errors: `DatabaseError`, its message written for the operator ("cannot open",
"in use by another process", "written by a newer porch-server", "cannot read",
"write failed", "is closed"); stores with a domain error tree re-raise it as theirs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Concatenate, Final, ParamSpec, TypeVar

__all__ = ["Database", "DatabaseError", "Schema"]

P = ParamSpec("P")
T = TypeVar("T")

_FILE_MODE: Final = 0o600


class DatabaseError(Exception):
    """The file cannot be opened, read or written (in use, newer, unreadable, disk full)."""


@dataclasses.dataclass(frozen=True)
class Schema:
    """The tables of one file, and how a file of an older server is brought up to date.

    ``create`` runs on every open and must be idempotent (``CREATE ... IF NOT EXISTS``,
    ``INSERT OR IGNORE``); it describes schema version 0. ``migrations[i]`` takes a file
    from version ``i`` to ``i + 1``; the version this code reads and writes is
    ``len(migrations)``.
    """

    create: Sequence[str]
    migrations: Sequence[str] = ()

    @property
    def version(self) -> int:
        return len(self.migrations)


class Database:
    """One open SQLite file and the thread that talks to it. Create with `open`."""

    def __init__(
        self,
        path: Path,
        executor: concurrent.futures.ThreadPoolExecutor,
        conn: sqlite3.Connection,
    ) -> None:
        self._path = path
        self._executor = executor
        self._conn = conn
        self._closed = False
        self.write_lock = asyncio.Lock()
        """Held by the owner around each whole write (check, persist, apply to memory) and
        by `close`, so memory and file never disagree."""

    @classmethod
    async def open(
        cls,
        path: Path,
        schema: Schema,
        load: Callable[[sqlite3.Connection], T],
        *,
        thread_name: str,
    ) -> tuple[Database, T]:
        """Open (or create) the file at ``path``, lock it, bring its schema to
        ``schema.version``, and return it with what ``load`` read from it.

        ``load`` runs once, on the database thread, after the schema is current; it
        raises ``ValueError`` for a row it cannot decode. ``thread_name`` names the thread
        in stack dumps and profiles. Raises `DatabaseError` when the file is in use by
        another process, was written by a newer server, or cannot be opened or read; the
        file is then closed again and its lock released.
        """
        executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=thread_name
        )
        loop = asyncio.get_running_loop()
        try:
            conn, loaded = await loop.run_in_executor(executor, _open_sync, path, schema, load)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(path, executor, conn), loaded

    @property
    def path(self) -> Path:
        return self._path

    async def write(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(connection, *args, **kwargs)`` in one transaction on the database
        thread and return its result.

        The caller holds `write_lock`. Commits when ``fn`` returns and rolls back when it
        raises, so a failed write leaves the file as it was. Raises `DatabaseError` for an
        SQLite error ("write failed") and once the database is closed; any other exception
        of ``fn`` passes through after the rollback.
        """
        if not self.write_lock.locked():
            raise RuntimeError("Database.write called without holding write_lock")
        if self._closed:
            raise DatabaseError(f"database {self._path} is closed")

        def call(conn: sqlite3.Connection) -> T:
            return fn(conn, *args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(
            self._executor, _write_sync, self._conn, call
        )

    async def close(self) -> None:
        """Wait for the write in flight, then close the file and release its lock.

        Closing again does nothing."""
        async with self.write_lock:
            if self._closed:
                return
            self._closed = True
            await asyncio.get_running_loop().run_in_executor(self._executor, self._conn.close)
        self._executor.shutdown(wait=True)


# -- on the database thread ----------------------------------------------------------------------


def _open_sync(
    path: Path, schema: Schema, load: Callable[[sqlite3.Connection], T]
) -> tuple[sqlite3.Connection, T]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Private before SQLite first writes to it; chmod for a file made before this rule.
        path.touch(mode=_FILE_MODE, exist_ok=True)
        path.chmod(_FILE_MODE)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves. timeout=0: a second
        # process finds the file locked at once instead of waiting.
        conn = sqlite3.connect(path, isolation_level=None, timeout=0)
    except (OSError, sqlite3.Error) as err:
        raise DatabaseError(f"cannot open {path}: {err}") from err
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        # The transaction's write lock is the exclusive lock, which EXCLUSIVE mode keeps.
        _in_transaction(conn, _migrate, path, schema)
    except sqlite3.Error as err:
        conn.close()
        if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
            raise DatabaseError(
                f"{path} is in use by another process (is another porch-server running "
                "on the same data directory?)"
            ) from err
        raise DatabaseError(f"cannot open {path}: {err}") from err
    except BaseException:
        conn.close()
        raise
    try:
        loaded = load(conn)
    except (sqlite3.Error, ValueError) as err:
        conn.close()
        raise DatabaseError(f"cannot read {path}: {err}") from err
    except BaseException:
        conn.close()
        raise
    return conn, loaded


def _migrate(conn: sqlite3.Connection, path: Path, schema: Schema) -> None:
    """Create the tables, then bring them to ``schema.version``. Inside the caller's
    transaction: refusing a newer file, or a migration that fails, leaves it as it was."""
    for statement in schema.create:
        conn.execute(statement)
    (found,) = conn.execute("PRAGMA user_version").fetchone()
    if found > schema.version:
        raise DatabaseError(
            f"{path} has schema version {found}, newer than this porch-server reads "
            f"({schema.version}); it was written by a newer porch-server"
        )
    for statement in schema.migrations[found:]:
        conn.execute(statement)
    if found != schema.version:
        # PRAGMA takes no parameters; the value is an int we computed.
        conn.execute(f"PRAGMA user_version = {schema.version:d}")


def _write_sync(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    try:
        return _in_transaction(conn, fn)
    except sqlite3.Error as err:
        raise DatabaseError(f"write failed: {err}") from err


def _in_transaction(
    conn: sqlite3.Connection,
    fn: Callable[Concatenate[sqlite3.Connection, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn, *args, **kwargs)
        conn.execute("COMMIT")
    except BaseException:
        # SQLite has already rolled back after some errors (a full disk, for one); a
        # second ROLLBACK would replace the real error with "no transaction is active".
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result
