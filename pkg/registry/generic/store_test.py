"""The generic store beyond the conformance check: persistence, concurrency, watch limits."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.core import v1 as corev1
from api.core.v1 import register as corev1register
from api.meta import v1 as metav1
from pkg.apimachinery import errors, user
from pkg.registry.generic import sqlite, store, strategy
from pkg.registry.rest import rest, update

NS = "default"


def _ctx(namespace: str | None = NS, *, dry_run: bool = False) -> rest.RequestContext:
    return rest.RequestContext(
        namespace=namespace, user=user.UserInfo(name="alice"), dry_run=dry_run
    )


def _secret(name: str, **data: str) -> corev1.Secret:
    return corev1.Secret(
        metadata=metav1.ObjectMeta(name=name),
        data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    )


def _new_store(
    db: sqlite.Database, tuning: store.Tuning | None = None
) -> store.Store[corev1.Secret]:
    return store.Store(
        db,
        resource=corev1register.SECRETS,
        model=corev1.Secret,
        list_model=corev1.SecretList,
        strategy=strategy.DefaultStrategy(),
        tuning=tuning,
    )


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[sqlite.Database]:
    database = await sqlite.Database.open(tmp_path / sqlite.DEFAULT_FILE_NAME)
    yield database
    await database.close()


async def _create(s: store.Store[corev1.Secret], obj: corev1.Secret) -> corev1.Secret:
    created = await s.create(_ctx(), obj, rest.CreateOptions())
    assert isinstance(created, corev1.Secret)
    return created


async def _put(s: store.Store[corev1.Secret], obj: corev1.Secret) -> corev1.Secret:
    assert obj.metadata is not None and obj.metadata.name
    stored, _ = await s.update(
        _ctx(), obj.metadata.name, update.DefaultUpdatedObjectInfo(obj), rest.UpdateOptions()
    )
    assert isinstance(stored, corev1.Secret)
    return stored


def _rv(obj: corev1.Secret) -> int:
    assert obj.metadata is not None and obj.metadata.resource_version is not None
    return int(obj.metadata.resource_version)


# --- persistence ------------------------------------------------------------------------------


async def test_objects_and_resource_version_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "data" / sqlite.DEFAULT_FILE_NAME
    db = await sqlite.Database.open(path)
    first = _new_store(db)
    kept = await _create(first, _secret("kept", a="1"))
    kept = await _put(first, _secret("kept", a="2").model_copy(update={"metadata": kept.metadata}))
    await _create(first, _secret("gone"))
    await first.delete(_ctx(), "gone", metav1.DeleteOptions())
    last_rv = db.resource_version
    await db.close()

    db = await sqlite.Database.open(path)
    try:
        second = _new_store(db)
        listed = await second.list(_ctx(), rest.ListOptions())
        assert [
            item.metadata.name
            for item in listed.items
            if isinstance(item, corev1.Secret) and item.metadata
        ] == ["kept"]
        (restored,) = listed.items
        assert isinstance(restored, corev1.Secret)
        assert restored == kept
        assert listed.resource_version == str(last_rv)
        newer = await _create(second, _secret("new"))
        assert _rv(newer) == last_rv + 1, "resourceVersion must continue after a restart"
        # The history starts at the restart: a watch from before it must relist.
        with pytest.raises(errors.StatusError) as raised:
            second.watch(_ctx(), rest.ListOptions(resource_version=str(_rv(kept) - 1)))
        assert raised.value.code == 410
    finally:
        await db.close()


async def test_new_database_never_reports_resource_version_zero(db: sqlite.Database) -> None:
    listed = await _new_store(db).list(_ctx(), rest.ListOptions())
    assert listed.items == []
    assert listed.resource_version == "1"


async def test_a_second_server_on_the_same_data_dir_is_refused(
    db: sqlite.Database,
) -> None:
    with pytest.raises(sqlite.DatabaseError, match="in use by another process"):
        await sqlite.Database.open(db.path)


async def test_the_database_file_is_private(db: sqlite.Database) -> None:
    await _create(_new_store(db), _secret("s", password="hunter2"))
    for path in db.path.parent.iterdir():
        assert path.stat().st_mode & 0o077 == 0, f"{path.name} is readable by others"


async def test_a_failed_write_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    db = await sqlite.Database.open(tmp_path / sqlite.DEFAULT_FILE_NAME)
    s = _new_store(db)
    created = await _create(s, _secret("x", a="1"))
    await db.close()
    changed = created.model_copy(deep=True)
    changed.data = {"a": "Mg=="}
    with pytest.raises(errors.StatusError) as raised:
        await _put(s, changed)
    assert raised.value.code == 500
    assert await s.get(_ctx(), "x") == created


# --- concurrency ------------------------------------------------------------------------------


async def test_concurrent_updates_with_one_stale_version_conflict_exactly_once_each(
    db: sqlite.Database,
) -> None:
    s = _new_store(db)
    base = await _create(s, _secret("contested", n="0"))
    writers = 40

    async def write(i: int) -> corev1.Secret:
        body = base.model_copy(deep=True)
        body.data = {"n": base64.b64encode(f"writer-{i}".encode()).decode()}
        return await _put(s, body)

    results = await asyncio.gather(*(write(i) for i in range(writers)), return_exceptions=True)
    wins = [r for r in results if isinstance(r, corev1.Secret)]
    conflicts = [r for r in results if isinstance(r, errors.StatusError) and r.code == 409]
    assert len(wins) == 1
    assert len(conflicts) == writers - 1
    assert await s.get(_ctx(), "contested") == wins[0]
    assert db.resource_version == _rv(base) + 1


async def test_read_modify_write_with_retries_loses_nothing(db: sqlite.Database) -> None:
    s = _new_store(db)
    await _create(s, _secret("counter"))
    writers = 25
    conflicts = 0

    async def add_key(i: int) -> None:
        nonlocal conflicts
        while True:
            current = await s.get(_ctx(), "counter")
            assert isinstance(current, corev1.Secret)
            current.data = {**(current.data or {}), f"k{i}": "eA=="}
            await asyncio.sleep(0)  # let the others read the same version
            try:
                await _put(s, current)
                return
            except errors.StatusError as err:
                assert err.code == 409
                conflicts += 1

    await asyncio.gather(*(add_key(i) for i in range(writers)))
    final = await s.get(_ctx(), "counter")
    assert isinstance(final, corev1.Secret)
    assert sorted(final.data or {}) == sorted(f"k{i}" for i in range(writers))
    assert conflicts > 0, "the writers never raced; the test proves nothing"


# --- update semantics ---------------------------------------------------------------------------


async def test_an_update_that_changes_nothing_is_not_written(db: sqlite.Database) -> None:
    s = _new_store(db)
    created = await _create(s, _secret("same", a="1"))
    async with s.watch(_ctx(), rest.ListOptions(resource_version=str(_rv(created)))) as stream:
        stored = await _put(s, created.model_copy(deep=True))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(stream), 0.2)
    assert stored.metadata == created.metadata
    assert db.resource_version == _rv(created)


async def test_generation_tracks_spec_not_metadata(db: sqlite.Database) -> None:
    s = _new_store(db)
    created = await _create(s, _secret("gen", a="1"))
    relabelled = created.model_copy(deep=True)
    assert relabelled.metadata is not None
    relabelled.metadata.labels = {"x": "y"}
    relabelled = await _put(s, relabelled)
    assert relabelled.metadata is not None and relabelled.metadata.generation == 1
    changed = relabelled.model_copy(deep=True)
    changed.data = {"a": "Mg=="}
    changed = await _put(s, changed)
    assert changed.metadata is not None and changed.metadata.generation == 2


async def test_server_owned_metadata_cannot_be_changed(db: sqlite.Database) -> None:
    s = _new_store(db)
    created = await _create(s, _secret("owned"))
    forged = created.model_copy(deep=True)
    assert forged.metadata is not None
    forged.metadata.uid = "forged"
    with pytest.raises(errors.StatusError) as raised:
        await _put(s, forged)
    assert raised.value.code == 422
    assert 'metadata.uid: Invalid value: "forged": field is immutable' in raised.value.message
    forged.metadata.uid = None
    forged.metadata.generation = 42
    forged.metadata.deletion_timestamp = (
        created.metadata.creation_timestamp if created.metadata else None
    )
    stored = await _put(s, forged)
    assert stored.metadata is not None
    assert stored.metadata.uid == created.metadata.uid if created.metadata else False
    assert stored.metadata.generation == 1
    assert stored.metadata.deletion_timestamp is None


# --- list ----------------------------------------------------------------------------------------


async def test_continue_token_pins_the_first_page_version_until_history_moves_on(
    db: sqlite.Database,
) -> None:
    s = _new_store(db, store.Tuning(history_size=3))
    for name in ("a", "b", "c"):
        await _create(s, _secret(name))
    first = await s.list(_ctx(), rest.ListOptions(limit=1))
    await _create(s, _secret("d"))
    second = await s.list(_ctx(), rest.ListOptions(limit=1, continue_token=first.continue_token))
    assert second.resource_version == first.resource_version
    assert [
        i.metadata.name for i in second.items if isinstance(i, corev1.Secret) and i.metadata
    ] == ["b"]
    for name in ("e", "f", "g"):
        await _create(s, _secret(name))
    with pytest.raises(errors.StatusError) as raised:
        await s.list(_ctx(), rest.ListOptions(limit=1, continue_token=second.continue_token))
    assert raised.value.code == 410


@pytest.mark.parametrize(
    ("options", "code"),
    [
        pytest.param(rest.ListOptions(resource_version="999"), 504, id="future-version"),
        pytest.param(
            rest.ListOptions(resource_version="1", resource_version_match="Exact"),
            410,
            id="exact-old-version",
        ),
        pytest.param(rest.ListOptions(resource_version="abc"), 400, id="not-a-number"),
        pytest.param(
            rest.ListOptions(resource_version_match="Exact"), 400, id="match-without-version"
        ),
    ],
)
async def test_list_resource_version_errors(
    db: sqlite.Database, options: rest.ListOptions, code: int
) -> None:
    s = _new_store(db)
    await _create(s, _secret("a"))
    with pytest.raises(errors.StatusError) as raised:
        await s.list(_ctx(), options)
    assert raised.value.code == code


# --- watch ---------------------------------------------------------------------------------------


async def test_watch_resumes_with_exactly_the_missed_events(db: sqlite.Database) -> None:
    s = _new_store(db)
    a = await _create(s, _secret("a"))
    await _create(s, _secret("b"))
    await s.delete(_ctx(), "a", metav1.DeleteOptions())
    async with s.watch(_ctx(), rest.ListOptions(resource_version=str(_rv(a)))) as stream:
        events = [await anext(stream) for _ in range(2)]
    assert [
        (e.type, e.object.metadata.name)
        for e in events
        if isinstance(e.object, corev1.Secret) and e.object.metadata
    ] == [
        ("ADDED", "b"),
        ("DELETED", "a"),
    ]


async def test_a_slow_watcher_is_dropped_and_writers_go_on(db: sqlite.Database) -> None:
    s = _new_store(db, store.Tuning(watch_queue_size=3))
    stream = s.watch(_ctx(), rest.ListOptions(resource_version=str(db.resource_version)))
    for i in range(5):
        await _create(s, _secret(f"s{i}"))
    assert stream.overflowed
    assert s.watcher_count == 0
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert len((await s.list(_ctx(), rest.ListOptions())).items) == 5


async def test_bookmarks_only_when_asked(db: sqlite.Database) -> None:
    s = _new_store(db, store.Tuning(bookmark_interval=0.05))
    await _create(s, _secret("a"))
    rv = str(db.resource_version)
    async with s.watch(_ctx(), rest.ListOptions(resource_version=rv)) as quiet:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(quiet), 0.3)
    options = rest.ListOptions(resource_version=rv, allow_watch_bookmarks=True)
    async with s.watch(_ctx(), options) as marked:
        event = await asyncio.wait_for(anext(marked), 2)
    assert event.type == "BOOKMARK"
    assert isinstance(event.object, corev1.Secret)
    assert event.object.kind == "Secret"
    assert event.object.metadata is not None
    assert event.object.metadata.resource_version == rv
    assert event.object.data is None


async def test_closing_a_watch_unregisters_it_at_once(db: sqlite.Database) -> None:
    s = _new_store(db)
    stream = s.watch(_ctx(), rest.ListOptions())
    other = s.watch(_ctx(None), rest.ListOptions())
    assert s.watcher_count == 2
    await stream.aclose()
    assert s.watcher_count == 1
    s.close()
    assert s.watcher_count == 0
    with pytest.raises(StopAsyncIteration):
        await anext(other)


async def test_watch_events_are_copies(db: sqlite.Database) -> None:
    s = _new_store(db)
    async with s.watch(
        _ctx(), rest.ListOptions(resource_version=str(db.resource_version))
    ) as stream:
        await _create(s, _secret("a", k="v"))
        event = await anext(stream)
    assert isinstance(event.object, corev1.Secret)
    event.object.data = {"k": "changed"}
    got = await s.get(_ctx(), "a")
    assert isinstance(got, corev1.Secret)
    assert got.data == {"k": base64.b64encode(b"v").decode()}


async def test_apply_creates_a_missing_object_only_when_allowed(db: sqlite.Database) -> None:
    # Server-side apply passes force_allow_create; a plain PUT of a missing object is 404.
    s = _new_store(db)
    body = _secret("applied", a="1")
    stored, created = await s.update(
        _ctx(), "applied", update.DefaultUpdatedObjectInfo(body), rest.UpdateOptions(True)
    )
    assert created
    assert isinstance(stored, corev1.Secret)
    assert stored.metadata is not None and stored.metadata.generation == 1
    stale = _secret("vanished")
    stale.metadata = metav1.ObjectMeta(name="vanished", resource_version="5")
    with pytest.raises(errors.StatusError) as raised:
        await s.update(
            _ctx(), "vanished", update.DefaultUpdatedObjectInfo(stale), rest.UpdateOptions(True)
        )
    assert raised.value.code == 404


async def test_a_write_cancelled_mid_commit_still_lands_in_file_and_memory(
    tmp_path: Path,
) -> None:
    # A client disconnecting cancels its handler while the database thread writes; the
    # store must finish the write so the file, memory and the resourceVersion agree.
    path = tmp_path / sqlite.DEFAULT_FILE_NAME
    database = await sqlite.Database.open(path)
    s = _new_store(database)
    first = await _create(s, _secret("first", k="v"))
    release = threading.Event()
    loop = asyncio.get_running_loop()
    # Occupy the database's only worker thread so the next commit waits in its queue.
    blocker = loop.run_in_executor(database._db._executor, release.wait)
    write = asyncio.ensure_future(_create(s, _secret("second", k="v")))
    await asyncio.sleep(0.05)
    write.cancel()
    release.set()
    await blocker
    with pytest.raises(asyncio.CancelledError):
        await write

    second = await s.get(_ctx(), "second")
    assert isinstance(second, corev1.Secret)
    assert _rv(second) == _rv(first) + 1
    third = await _create(s, _secret("third", k="v"))
    assert _rv(third) == _rv(second) + 1
    await database.close()

    reopened = await sqlite.Database.open(path)
    try:
        again = _new_store(reopened)
        items = (await again.list(_ctx(), rest.ListOptions())).items
        names = [
            item.metadata.name
            for item in items
            if isinstance(item, corev1.Secret) and item.metadata
        ]
        assert names == ["first", "second", "third"]
    finally:
        await reopened.close()
