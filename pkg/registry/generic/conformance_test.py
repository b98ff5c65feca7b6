"""The conformance check over the plain generic store, and proof that it catches broken storages.

The broken storages below are the generic store with one deliberate bug each (the kind of
bug a new storage is likely to have); the check must name it.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from api.core import v1 as corev1
from api.core.v1 import register as corev1register
from api.meta import v1 as metav1
from pkg.registry.generic import sqlite, store, strategy
from pkg.registry.rest import objectmeta, rest, resttest

HISTORY = 6


def new_secret(namespace: str, name: str) -> BaseModel:
    return corev1.Secret(
        metadata=metav1.ObjectMeta(name=name, namespace=namespace),
        data={"k": base64.b64encode(name.encode()).decode()},
    )


def change(obj: BaseModel) -> None:
    assert isinstance(obj, corev1.Secret)
    obj.data = {**(obj.data or {}), "changed": "eA=="}


class _IgnoresResourceVersion(store.Store[corev1.Secret]):
    """Last writer wins: the client's resourceVersion is dropped before the check."""

    async def update(
        self,
        ctx: rest.RequestContext,
        name: str,
        obj_info: rest.UpdatedObjectInfo,
        options: rest.UpdateOptions,
    ) -> tuple[BaseModel, bool]:
        class Blind:
            async def updated_object(
                self, ctx: rest.RequestContext, old: BaseModel | None
            ) -> BaseModel:
                obj = await obj_info.updated_object(ctx, old)
                objectmeta.meta_of(obj).resource_version = None
                return obj

        return await super().update(ctx, name, Blind(), options)


class _ListsEveryNamespace(store.Store[corev1.Secret]):
    """Forgets the request's namespace when listing."""

    async def list(self, ctx: rest.RequestContext, options: rest.ListOptions) -> rest.ListResult:
        return await super().list(dataclasses.replace(ctx, namespace=None), options)


class _CreatesOnDryRun(store.Store[corev1.Secret]):
    """Reads dryRun from nowhere: a dry-run create really creates."""

    async def create(
        self, ctx: rest.RequestContext, obj: BaseModel, options: rest.CreateOptions
    ) -> BaseModel:
        return await super().create(dataclasses.replace(ctx, dry_run=False), obj, options)


def _store(
    db: sqlite.Database, cls: type[store.Store[corev1.Secret]] = store.Store
) -> store.Store[corev1.Secret]:
    return cls(
        db,
        resource=corev1register.SECRETS,
        model=corev1.Secret,
        list_model=corev1.SecretList,
        strategy=strategy.DefaultStrategy(),
        tuning=store.Tuning(history_size=HISTORY),
    )


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[sqlite.Database]:
    database = await sqlite.Database.open(tmp_path / sqlite.DEFAULT_FILE_NAME)
    yield database
    await database.close()


@pytest.mark.parametrize("check", resttest.check_names(store.Store, update=True, history=True))
async def test_generic_store_conforms(db: sqlite.Database, check: str) -> None:
    tester = resttest.Tester(
        _store(db), new_object=new_secret, update=change, history_window=HISTORY
    )
    await tester.run(check)


@pytest.mark.parametrize(
    ("broken", "check", "complaint"),
    [
        pytest.param(
            _IgnoresResourceVersion,
            "update_conflict",
            "update with a stale version: expected 409 Conflict, but it succeeded",
            id="lost-update",
        ),
        pytest.param(
            _ListsEveryNamespace,
            "list",
            "namespace list returned ['a', 'b', 'c', 'a']",
            id="namespace-leak",
        ),
        pytest.param(
            _CreatesOnDryRun,
            "create_dry_run",
            "get after dry-run create: expected 404 NotFound, but it succeeded",
            id="dry-run-writes",
        ),
    ],
)
async def test_the_check_names_the_bug_of_a_broken_storage(
    db: sqlite.Database, broken: type[store.Store[corev1.Secret]], check: str, complaint: str
) -> None:
    tester = resttest.Tester(_store(db, broken), new_object=new_secret, update=change)
    with pytest.raises(AssertionError) as raised:
        await tester.run(check)
    assert complaint in str(raised.value)


async def test_route_installer_sees_every_verb_of_the_store_and_only_get_update_of_status(
    db: sqlite.Database,
) -> None:
    # The API server installs routes (and discovery lists verbs) by these isinstance checks.
    s = store.Store(
        db,
        resource=corev1register.SECRETS,
        model=corev1.Secret,
        list_model=corev1.SecretList,
        strategy=strategy.DefaultStrategy(),
        status_strategy=strategy.StatusStrategy(),
    )
    # mypy checks these assignments: the store satisfies each capability protocol.
    getter: rest.Getter = s
    lister: rest.Lister = s
    creater: rest.Creater = s
    updater: rest.Updater = s
    deleter: rest.GracefulDeleter = s
    collection_deleter: rest.CollectionDeleter = s
    watcher: rest.Watcher = s
    table: rest.TableConvertor = s
    del getter, lister, creater, updater, deleter, collection_deleter, watcher, table
    capabilities: list[type] = [
        rest.Getter,
        rest.Lister,
        rest.Creater,
        rest.Updater,
        rest.GracefulDeleter,
        rest.CollectionDeleter,
        rest.Watcher,
        rest.TableConvertor,
    ]
    assert [c.__name__ for c in capabilities if not isinstance(s, c)] == []
    status = s.status()
    status_getter: rest.Getter = status
    status_updater: rest.Updater = status
    del status_getter, status_updater
    assert [c.__name__ for c in capabilities if isinstance(status, c)] == ["Getter", "Updater"]
