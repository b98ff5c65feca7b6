"""The SQLite metadata store: records survive a restart, writes are atomic, one owner."""

from __future__ import annotations

import dataclasses
import datetime
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.meta import v1 as metav1
from pkg.apimachinery import codec
from pkg.meta import memory, metatypes, sqlite
from pkg.repository import errors

OWNER = metav1.OwnerReference(
    api_version="config.porch.kpt.dev/v1alpha1",
    kind="PackageVariant",
    name="pv",
    uid="1234",
    block_owner_deletion=True,
)
CREATED = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
# Entries as the API server records them: kubectl's client-side apply and an approver.
APPLIED = metav1.ManagedFieldsEntry(
    manager="kubectl-client-side-apply",
    operation="Update",
    api_version="porch.kpt.dev/v1alpha1",
    time=CREATED,
    fields_type="FieldsV1",
    fields_v1=metav1.FieldsV1.model_validate(
        {"f:metadata": {"f:labels": {"f:team": {}}}, "f:spec": {"f:lifecycle": {}}}
    ),
)
APPROVED = metav1.ManagedFieldsEntry(
    manager="porchctl",
    operation="Update",
    api_version="porch.kpt.dev/v1alpha1",
    time=CREATED + datetime.timedelta(minutes=1, microseconds=250_000),
    fields_type="FieldsV1",
    fields_v1=metav1.FieldsV1(),
    subresource="approval",
)


def _meta(name: str, repository: str = "repo", **changes: object) -> metatypes.PackageRevisionMeta:
    return metatypes.PackageRevisionMeta.new(
        "default",
        name,
        repository,
        creation_timestamp=CREATED,
        **changes,  # type: ignore[arg-type]
    )


async def test_records_survive_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "data" / sqlite.DEFAULT_FILE_NAME
    store = await sqlite.SqliteMetadataStore.open(path)
    full = _meta(
        "repo.app.v1",
        labels={"team": "a"},
        annotations={"note": "x"},
        finalizers=["example.com/hold"],
        owner_references=[OWNER],
        deletion_timestamp=CREATED + datetime.timedelta(hours=1),
        managed_fields=[APPLIED, APPROVED],
    )
    await store.create(full)
    await store.create_many([_meta("repo.app.v2"), _meta("other.app.v1", "other")])
    await store.delete("default", "repo.app.v2")
    await store.close()

    reopened = await sqlite.SqliteMetadataStore.open(path)
    try:
        restored = await reopened.get("default", "repo.app.v1")
        assert restored == full
        # Equal entries, times to the microsecond, and they serialise as the API showed them.
        assert restored is not None and restored.managed_fields == (APPLIED, APPROVED)
        assert [codec.to_dict(e) for e in restored.managed_fields] == [
            codec.to_dict(APPLIED),
            codec.to_dict(APPROVED),
        ]
        bare = await reopened.get("default", "other.app.v1")
        assert bare is not None and bare.managed_fields == ()
        assert [m.name for m in await reopened.list("default")] == ["other.app.v1", "repo.app.v1"]
        assert [m.name for m in await reopened.list("default", "repo")] == ["repo.app.v1"]
    finally:
        await reopened.close()


async def test_second_server_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / sqlite.DEFAULT_FILE_NAME
    store = await sqlite.SqliteMetadataStore.open(path)
    try:
        with pytest.raises(errors.BackendUnavailableError, match="in use by another process"):
            await sqlite.SqliteMetadataStore.open(path)
    finally:
        await store.close()


def _others_access(directory: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mode & 0o077 for path in directory.iterdir()}


async def test_the_metadata_file_is_private(tmp_path: Path) -> None:
    store = await sqlite.SqliteMetadataStore.open(tmp_path / sqlite.DEFAULT_FILE_NAME)
    try:
        await store.create(_meta("repo.app.v1", annotations={"internal": "only"}))
        modes = _others_access(tmp_path)
    finally:
        await store.close()
    assert modes == dict.fromkeys(modes, 0), "readable by other users"


@pytest.fixture(params=["sqlite", "memory"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[metatypes.MetadataStore]:
    opened: metatypes.MetadataStore
    if request.param == "memory":
        opened = memory.MemoryMetadataStore()
    else:
        opened = await sqlite.SqliteMetadataStore.open(tmp_path / "metadata.db")
    yield opened
    await opened.close()


async def test_create_many_is_all_or_nothing(store: metatypes.MetadataStore) -> None:
    await store.create(_meta("repo.app.v1"))
    with pytest.raises(errors.AlreadyExistsError):
        await store.create_many([_meta("repo.app.v2"), _meta("repo.app.v1")])
    assert [m.name for m in await store.list("default")] == ["repo.app.v1"]


async def test_update_keeps_creation_time_and_repository(store: metatypes.MetadataStore) -> None:
    await store.create(_meta("repo.app.v1"))
    changed = metatypes.PackageRevisionMeta.new(
        "default", "repo.app.v1", "elsewhere", labels={"a": "b"}
    )
    stored = await store.update(changed)
    assert (stored.creation_timestamp, stored.repository) == (CREATED, "repo")
    assert dict(stored.labels) == {"a": "b"}
    with pytest.raises(errors.NotFoundError):
        await store.update(_meta("repo.app.none"))


async def test_delete_repository_removes_only_its_records(store: metatypes.MetadataStore) -> None:
    await store.create_many([_meta("repo.a.v1"), _meta("repo.b.v1"), _meta("other.a.v1", "other")])
    assert await store.delete_repository("default", "repo") == 2
    assert [m.name for m in await store.list("default")] == ["other.a.v1"]
    assert await store.delete_many("default", ["other.a.v1", "missing"]) == 1
    with pytest.raises(errors.NotFoundError):
        await store.delete("default", "other.a.v1")


def test_meta_values_cannot_be_changed_behind_the_store() -> None:
    labels = {"a": "b"}
    meta = _meta("repo.app.v1", labels=labels)
    labels["a"] = "changed"
    assert dict(meta.labels) == {"a": "b"}
    with pytest.raises(TypeError):
        meta.labels["x"] = "y"  # type: ignore[index]


async def test_only_real_changes_move_the_version(store: metatypes.MetadataStore) -> None:
    created = await store.create(_meta("repo.app.v1", labels={"a": "b"}))
    assert created.version == 0
    first = await store.update(created.with_changes(labels={"a": "c"}))
    assert first.version == 1
    # The same content again (e.g. a client re-sending what it read) is no change.
    same = await store.update(first.with_changes(labels={"a": "c"}))
    assert same.version == 1
    # A caller's own version is ignored: the store counts from the stored record.
    second = await store.update(dataclasses.replace(created, finalizers=("x.io/hold",)))
    assert second.version == 2
    assert await store.get("default", "repo.app.v1") == second


async def test_managed_fields_are_content(store: metatypes.MetadataStore) -> None:
    created = await store.create(_meta("repo.app.v1", managed_fields=[APPLIED]))
    # Another manager's write changes nothing else but is a change all the same.
    both = await store.update(created.with_changes(managed_fields=[APPLIED, APPROVED]))
    assert (both.version, both.managed_fields) == (1, (APPLIED, APPROVED))
    # The same entries again are no change; leaving them out of `with_changes` keeps them.
    assert (await store.update(both.with_changes(labels={}))).version == 1
    cleared = await store.update(both.with_changes(managed_fields=()))
    assert (cleared.version, cleared.managed_fields) == (2, ())


async def test_version_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / sqlite.DEFAULT_FILE_NAME
    store = await sqlite.SqliteMetadataStore.open(path)
    created = await store.create(_meta("repo.app.v1"))
    await store.update(created.with_changes(annotations={"note": "1"}))
    await store.update(created.with_changes(annotations={"note": "2"}))
    await store.close()

    reopened = await sqlite.SqliteMetadataStore.open(path)
    try:
        stored = await reopened.get("default", "repo.app.v1")
        assert stored is not None and stored.version == 2
        assert dict(stored.annotations) == {"note": "2"}
    finally:
        await reopened.close()


# The table as the first porch-py releases wrote it (schema version 0, no `version`).
_SCHEMA_V0 = """CREATE TABLE package_revision_meta (
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
) WITHOUT ROWID"""


# Schema version 1 added `version`; version 2 `managed_fields`.
_MIGRATION_V0_TO_V1 = (
    "ALTER TABLE package_revision_meta ADD COLUMN version INTEGER NOT NULL DEFAULT 0"
)


def _write_old_file(path: Path, schema_version: int, finalizers: str, version: int) -> None:
    """A file an older server wrote: schema 0 (no `version`) or 1 (no `managed_fields`)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(_SCHEMA_V0)
        row: tuple[object, ...] = (
            "default",
            "repo.app.v1",
            "repo",
            CREATED.isoformat(),
            None,
            '{"team": "a"}',
            "{}",
            finalizers,
            "[]",
        )
        if schema_version >= 1:
            conn.execute(_MIGRATION_V0_TO_V1)
            row = (*row, version)
        conn.execute(f"INSERT INTO package_revision_meta VALUES ({', '.join('?' * len(row))})", row)
        conn.execute(f"PRAGMA user_version = {schema_version}")
        conn.commit()
    finally:
        conn.close()


async def test_file_of_an_older_server_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / sqlite.DEFAULT_FILE_NAME
    _write_old_file(path, 0, '["x.io/hold"]', 0)

    store = await sqlite.SqliteMetadataStore.open(path)
    try:
        old = await store.get("default", "repo.app.v1")
        assert old is not None
        assert (old.version, dict(old.labels), old.finalizers) == (0, {"team": "a"}, ("x.io/hold",))
        assert old.managed_fields == ()
        assert (await store.update(old.with_changes(labels={"team": "b"}))).version == 1
    finally:
        await store.close()

    reopened = await sqlite.SqliteMetadataStore.open(path)
    try:
        stored = await reopened.get("default", "repo.app.v1")
        assert stored is not None and (stored.version, dict(stored.labels)) == (1, {"team": "b"})
    finally:
        await reopened.close()


async def test_file_of_the_previous_release_gets_empty_managed_fields(tmp_path: Path) -> None:
    path = tmp_path / sqlite.DEFAULT_FILE_NAME
    _write_old_file(path, 1, "[]", 3)

    store = await sqlite.SqliteMetadataStore.open(path)
    try:
        old = await store.get("default", "repo.app.v1")
        assert old is not None
        # The resourceVersion clients hold (`<commit>.3`) stays what it was.
        assert (old.version, dict(old.labels), old.managed_fields) == (3, {"team": "a"}, ())
        updated = await store.update(old.with_changes(managed_fields=[APPLIED]))
        assert updated.version == 4
    finally:
        await store.close()

    reopened = await sqlite.SqliteMetadataStore.open(path)
    try:
        stored = await reopened.get("default", "repo.app.v1")
        assert stored is not None and (stored.version, stored.managed_fields) == (4, (APPLIED,))
    finally:
        await reopened.close()


async def test_file_of_a_newer_server_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / sqlite.DEFAULT_FILE_NAME
    _write_old_file(path, 0, '["x.io/hold"]', 0)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()

    with pytest.raises(errors.BackendUnavailableError, match="written by a newer porch-server"):
        await sqlite.SqliteMetadataStore.open(path)
    conn = sqlite3.connect(path)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(package_revision_meta)")]
    finally:
        conn.close()
    assert "version" not in columns
