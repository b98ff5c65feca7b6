"""One SQLite file for one owner: durable, private, exclusive, migrated, all-or-nothing writes."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from pkg.sqlitedb import sqlitedb

THREAD = "test-sqlitedb"

KV = sqlitedb.Schema(
    create=("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID",)
)


def _read_all(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT k, v FROM kv ORDER BY k"))


def _put(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, value))


async def _open(
    path: Path, schema: sqlitedb.Schema = KV
) -> tuple[sqlitedb.Database, dict[str, str]]:
    return await sqlitedb.Database.open(path, schema, _read_all, thread_name=THREAD)


async def _write(db: sqlitedb.Database, key: str, value: str) -> None:
    async with db.write_lock:
        await db.write(_put, key, value)


def _raw(path: Path, sql: str) -> list[tuple[object, ...]]:
    """What another program sees in the file (only while no Database holds it)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _modes(directory: Path) -> dict[str, int]:
    return {file.name: file.stat().st_mode for file in directory.iterdir()}


def _write_v0_file(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID")
        conn.execute("INSERT INTO kv VALUES ('old', 'row')")
        conn.commit()
    finally:
        conn.close()


async def test_writes_survive_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "kv.db"
    db, loaded = await _open(path)
    assert loaded == {}
    await _write(db, "a", "1")
    await _write(db, "b", "2")
    await _write(db, "a", "3")
    await db.close()

    db, loaded = await _open(path)
    await db.close()
    assert loaded == {"a": "3", "b": "2"}


async def test_the_file_is_durable_on_power_loss(tmp_path: Path) -> None:
    db, _ = await _open(tmp_path / "kv.db")
    try:
        async with db.write_lock:
            synchronous = await db.write(lambda c: c.execute("PRAGMA synchronous").fetchone()[0])
        assert synchronous == 2, "synchronous=FULL: a commit waits for the disk"
    finally:
        await db.close()
    assert _raw(tmp_path / "kv.db", "PRAGMA journal_mode") == [("wal",)]


async def test_a_second_owner_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    first, _ = await _open(path)
    with pytest.raises(sqlitedb.DatabaseError, match="in use by another process"):
        await _open(path)
    await _write(first, "k", "from the first owner")
    await first.close()

    second, loaded = await _open(path)
    await second.close()
    assert loaded == {"k": "from the first owner"}


async def test_the_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    path.touch(mode=0o644)  # as an older server, or a person, may have left it
    path.chmod(0o644)
    db, _ = await _open(path)
    try:
        await _write(db, "password", "hunter2")
        modes = _modes(tmp_path)
    finally:
        await db.close()
    assert "kv.db-wal" in modes
    assert {name: mode & 0o077 for name, mode in modes.items()} == dict.fromkeys(modes, 0)


async def test_a_failed_write_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    db, _ = await _open(path)

    def insert_twice(conn: sqlite3.Connection) -> None:
        _put(conn, "new", "x")
        conn.execute("INSERT INTO kv (k, v) VALUES ('kept', 'again')")

    def insert_then_fail(conn: sqlite3.Connection) -> None:
        _put(conn, "new", "y")
        raise ValueError("the caller changed its mind")

    try:
        await _write(db, "kept", "1")
        async with db.write_lock:
            with pytest.raises(sqlitedb.DatabaseError, match="write failed: UNIQUE constraint"):
                await db.write(insert_twice)
            with pytest.raises(ValueError, match="changed its mind"):
                await db.write(insert_then_fail)
        # Both transactions ended: the next write goes through.
        await _write(db, "after", "2")
    finally:
        await db.close()
    assert _raw(path, "SELECT k, v FROM kv ORDER BY k") == [("after", "2"), ("kept", "1")]


async def test_close_waits_for_the_write_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    db, _ = await _open(path)
    async with db.write_lock:
        closing = asyncio.ensure_future(db.close())
        await asyncio.sleep(0)
        assert not closing.done()
        await db.write(_put, "last", "write")
    await closing
    await db.close()  # closing twice is harmless

    async with db.write_lock:
        with pytest.raises(sqlitedb.DatabaseError, match="is closed"):
            await db.write(_put, "too", "late")
    assert _raw(path, "SELECT k, v FROM kv") == [("last", "write")]


async def test_a_write_without_the_lock_is_a_bug(tmp_path: Path) -> None:
    db, _ = await _open(tmp_path / "kv.db")
    try:
        with pytest.raises(RuntimeError, match="without holding write_lock"):
            await db.write(_put, "k", "v")
    finally:
        await db.close()


async def test_sqlite_runs_on_one_thread_off_the_event_loop(tmp_path: Path) -> None:
    seen: list[threading.Thread] = []

    def load(conn: sqlite3.Connection) -> None:
        seen.append(threading.current_thread())

    db, _ = await sqlitedb.Database.open(tmp_path / "kv.db", KV, load, thread_name=THREAD)
    try:
        async with db.write_lock:
            seen.append(await db.write(lambda _: threading.current_thread()))
    finally:
        await db.close()
    assert seen[0] is seen[1]
    assert seen[0] is not threading.current_thread()
    assert seen[0].name.startswith(THREAD)


MIGRATED = sqlitedb.Schema(
    create=KV.create,
    migrations=(
        "ALTER TABLE kv ADD COLUMN n INTEGER NOT NULL DEFAULT 0",
        "UPDATE kv SET n = n + 1",
    ),
)


def _read_n(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT k, n FROM kv"))


async def test_a_file_of_an_older_server_gets_only_the_migrations_it_lacks(
    tmp_path: Path,
) -> None:
    v0 = tmp_path / "v0.db"
    _write_v0_file(v0)
    db, loaded = await sqlitedb.Database.open(v0, MIGRATED, _read_n, thread_name=THREAD)
    await db.close()
    assert loaded == {"old": 1}

    v1 = tmp_path / "v1.db"
    _write_v0_file(v1)
    _raw(v1, "ALTER TABLE kv ADD COLUMN n INTEGER NOT NULL DEFAULT 5")
    _raw(v1, "PRAGMA user_version = 1")
    db, loaded = await sqlitedb.Database.open(v1, MIGRATED, _read_n, thread_name=THREAD)
    await db.close()
    assert loaded == {"old": 6}

    new = tmp_path / "new.db"
    db, loaded = await sqlitedb.Database.open(new, MIGRATED, _read_n, thread_name=THREAD)
    await db.close()
    assert loaded == {}
    for path in (v0, v1, new):
        assert _raw(path, "PRAGMA user_version") == [(2,)]


async def test_a_failed_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    _write_v0_file(path)
    broken = sqlitedb.Schema(
        create=KV.create,
        migrations=(MIGRATED.migrations[0], "ALTER TABLE missing ADD COLUMN x TEXT"),
    )
    with pytest.raises(sqlitedb.DatabaseError, match=r"cannot open .*no such table: missing"):
        await _open(path, broken)
    assert _raw(path, "PRAGMA user_version") == [(0,)]
    assert [row[1] for row in _raw(path, "PRAGMA table_info(kv)")] == ["k", "v"]

    # The refused open let go of the file.
    db, loaded = await _open(path)
    await db.close()
    assert loaded == {"old": "row"}


async def test_a_file_of_a_newer_server_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    _write_v0_file(path)
    _raw(path, "PRAGMA user_version = 7")
    with_new_table = sqlitedb.Schema(
        create=(*KV.create, "CREATE TABLE IF NOT EXISTS other (x TEXT)")
    )
    with pytest.raises(
        sqlitedb.DatabaseError,
        match=r"schema version 7, newer than this porch-server reads \(0\); "
        "it was written by a newer porch-server",
    ):
        await _open(path, with_new_table)
    assert _raw(path, "SELECT name FROM sqlite_master WHERE type = 'table'") == [("kv",)]
    assert _raw(path, "PRAGMA user_version") == [(7,)]


async def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "kv.db"
    garbage = b"not sqlite at all\n" * 300
    path.write_bytes(garbage)
    with pytest.raises(sqlitedb.DatabaseError, match=r"cannot open .*file is not a database"):
        await _open(path)
    assert path.read_bytes() == garbage


async def test_a_row_the_owner_cannot_decode_is_reported_and_releases_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kv.db"
    db, _ = await _open(path)
    await _write(db, "k", "not a number")
    await db.close()

    def load_ints(conn: sqlite3.Connection) -> dict[str, int]:
        return {k: int(v) for k, v in conn.execute("SELECT k, v FROM kv")}

    with pytest.raises(sqlitedb.DatabaseError, match=r"cannot read .*invalid literal"):
        await sqlitedb.Database.open(path, KV, load_ints, thread_name=THREAD)
    db, loaded = await _open(path)
    await db.close()
    assert loaded == {"k": "not a number"}
