"""Repositories storage: REST conformance, the status subresource, Table, in-process client."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from api.meta import v1 as metav1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import errors, user
from pkg.registry.generic import sqlite, store
from pkg.registry.porchconfig.repository import storage
from pkg.registry.rest import rest, resttest, update

HISTORY = 8
NS = "porch-demo"


def new_repository(namespace: str, name: str) -> BaseModel:
    return configv1alpha1.Repository(
        metadata=metav1.ObjectMeta(name=name, namespace=namespace),
        spec=configv1alpha1.RepositorySpec(
            type="git",
            git=configv1alpha1.GitRepository(repo=f"https://git.example.com/{namespace}/{name}"),
        ),
    )


def describe(obj: BaseModel) -> None:
    assert isinstance(obj, configv1alpha1.Repository) and obj.spec is not None
    obj.spec.description = f"{obj.spec.description or ''}+"


def break_schedule(obj: BaseModel) -> None:
    assert isinstance(obj, configv1alpha1.Repository) and obj.spec is not None
    obj.spec.sync = configv1alpha1.RepositorySync(schedule="not cron")


@pytest.fixture
async def repositories(
    tmp_path: Path,
) -> AsyncIterator[store.Store[configv1alpha1.Repository]]:
    db = await sqlite.Database.open(tmp_path / sqlite.DEFAULT_FILE_NAME)
    repo_store = storage.new_storage(
        db, [tmp_path / "repositories"], store.Tuning(history_size=HISTORY)
    )
    yield repo_store
    repo_store.close()
    await db.close()


def _ctx(namespace: str | None = NS) -> rest.RequestContext:
    return rest.RequestContext(namespace=namespace, user=user.UserInfo(name="alice"))


@pytest.mark.parametrize(
    "check",
    resttest.check_names(store.Store, update=True, invalid=True, history=True),
)
async def test_conformance(
    repositories: store.Store[configv1alpha1.Repository], check: str
) -> None:
    tester = resttest.Tester(
        repositories,
        new_object=new_repository,
        update=describe,
        invalid=break_schedule,
        allow_unconditional_update=False,
        history_window=HISTORY,
    )
    await tester.run(check)


async def _create(
    repositories: store.Store[configv1alpha1.Repository], repo: BaseModel
) -> configv1alpha1.Repository:
    created = await repositories.create(_ctx(), repo, rest.CreateOptions())
    assert isinstance(created, configv1alpha1.Repository)
    return created


def _ready(status: str, reason: str, message: str) -> configv1alpha1.RepositoryStatus:
    return configv1alpha1.RepositoryStatus(
        conditions=[
            metav1.Condition(
                type="Ready",
                status=status,
                reason=reason,
                message=message,
                last_transition_time=datetime.datetime.now(datetime.UTC).replace(microsecond=0),
            )
        ],
        package_count=2,
    )


async def test_status_subresource_changes_only_status(
    repositories: store.Store[configv1alpha1.Repository],
) -> None:
    created = await _create(repositories, new_repository(NS, "blueprints"))
    body = created.model_copy(deep=True)
    body.status = _ready("True", "Ready", "Repository Ready")
    assert body.spec is not None and body.metadata is not None
    body.spec.description = "sneaked in through /status"
    body.metadata.labels = {"sneaked": "in"}
    stored, _ = await repositories.status().update(
        _ctx(), "blueprints", update.DefaultUpdatedObjectInfo(body), rest.UpdateOptions()
    )
    assert isinstance(stored, configv1alpha1.Repository)
    assert stored.status is not None and stored.status.package_count == 2
    assert stored.spec is not None and stored.spec.description is None
    assert stored.metadata is not None and stored.metadata.labels is None
    assert stored.metadata.generation == 1, "a status change is not a spec change"

    # ...and the main resource cannot change the status.
    main_body = stored.model_copy(deep=True)
    main_body.status = None
    assert main_body.spec is not None
    main_body.spec.description = "described"
    updated, _ = await repositories.update(
        _ctx(), "blueprints", update.DefaultUpdatedObjectInfo(main_body), rest.UpdateOptions()
    )
    assert isinstance(updated, configv1alpha1.Repository)
    assert updated.status == stored.status
    assert updated.metadata is not None and updated.metadata.generation == 2


async def test_status_of_a_missing_repository_is_404(
    repositories: store.Store[configv1alpha1.Repository],
) -> None:
    body = new_repository(NS, "ghost")
    with pytest.raises(errors.StatusError) as raised:
        await repositories.status().update(
            _ctx(), "ghost", update.DefaultUpdatedObjectInfo(body), rest.UpdateOptions()
        )
    assert raised.value.code == 404


async def test_invalid_status_is_422(
    repositories: store.Store[configv1alpha1.Repository],
) -> None:
    await _create(repositories, new_repository(NS, "blueprints"))
    with pytest.raises(errors.StatusError) as raised:
        await repositories.client().update_status(NS, "blueprints", _ready("Maybe", "Ready", "?"))
    assert raised.value.code == 422
    assert "status.conditions[0].status" in raised.value.message


async def test_conflicting_repository_is_422(
    repositories: store.Store[configv1alpha1.Repository],
) -> None:
    await _create(repositories, new_repository(NS, "first"))
    duplicate = new_repository(NS, "second")
    assert isinstance(duplicate, configv1alpha1.Repository) and duplicate.spec is not None
    assert duplicate.spec.git is not None
    duplicate.spec.git.repo = f"https://git.example.com/{NS}/first.git/"
    with pytest.raises(errors.StatusError) as raised:
        await _create(repositories, duplicate)
    assert raised.value.code == 422
    assert 'conflicts with Repository "first"' in raised.value.message
    # The same address in another namespace is someone else's business.
    other = duplicate.model_copy(deep=True)
    assert other.metadata is not None
    other.metadata.namespace = "other"
    await repositories.create(_ctx("other"), other, rest.CreateOptions())


async def test_local_repository_outside_the_roots_is_refused(
    repositories: store.Store[configv1alpha1.Repository], tmp_path: Path
) -> None:
    repo = new_repository(NS, "local")
    assert isinstance(repo, configv1alpha1.Repository) and repo.spec and repo.spec.git
    repo.spec.git.repo = f"file://{tmp_path}/elsewhere"
    with pytest.raises(errors.StatusError) as raised:
        await _create(repositories, repo)
    assert raised.value.code == 422
    assert raised.value.details is not None
    assert [c.field for c in raised.value.details.causes or []] == ["spec.git.repo"]
    repo.spec.git.repo = f"file://{tmp_path}/repositories/team.git"
    created = await _create(repositories, repo)
    assert created.spec is not None and created.spec.git is not None
    assert created.spec.git.branch == "main"
    assert created.spec.content == "Package"


async def test_table_has_the_crd_printer_columns(
    repositories: store.Store[configv1alpha1.Repository],
) -> None:
    git = await _create(repositories, new_repository(NS, "blueprints"))
    client = repositories.client()
    git = await client.update_status(NS, "blueprints", _ready("True", "Ready", "Repository Ready"))
    oci = configv1alpha1.Repository(
        metadata=metav1.ObjectMeta(name="images"),
        spec=configv1alpha1.RepositorySpec(
            type="oci",
            deployment=True,
            sync=configv1alpha1.RepositorySync(schedule="*/10 * * * *"),
            oci=configv1alpha1.OciRepository(registry="ghcr.io/example"),
        ),
    )
    oci = await _create(repositories, oci)
    table = repositories.convert_to_table(_ctx(), [git, oci], "Metadata")
    assert [c.name for c in table.column_definitions] == [
        "Name",
        "Type",
        "Content",
        "Sync schedule",
        "Deployment",
        "Ready",
        "Address",
        "Branch",
        "Age",
    ]
    assert [row.cells[:8] for row in table.rows] == [
        [
            "blueprints",
            "git",
            "Package",
            None,
            None,
            "True",
            f"https://git.example.com/{NS}/blueprints",
            "main",
        ],
        ["images", "oci", "Package", "*/10 * * * *", True, None, "ghcr.io/example", None],
    ]
    first = table.rows[0].object
    assert first is not None
    dumped = first.model_dump()
    assert dumped["kind"] == "PartialObjectMetadata"
    assert dumped["metadata"]["name"] == "blueprints"


async def test_client_watch_sees_status_updates(
    repositories: store.Store[configv1alpha1.Repository],
) -> None:
    client = repositories.client()
    listed = await client.list(NS)
    async with client.watch(NS, resource_version=listed.resource_version) as stream:
        await _create(repositories, new_repository(NS, "blueprints"))
        await client.update_status(NS, "blueprints", _ready("False", "Reconciling", "syncing"))
        added = await anext(stream)
        modified = await anext(stream)
    assert (added.type, modified.type) == ("ADDED", "MODIFIED")
    assert isinstance(modified.object, configv1alpha1.Repository)
    assert modified.object.status is not None
    assert modified.object.status.conditions is not None
    assert modified.object.status.conditions[0].reason == "Reconciling"
    assert repositories.watcher_count == 0


async def test_client_finalizer_round_trip(
    repositories: store.Store[configv1alpha1.Repository],
) -> None:
    # What repository registration does in standalone mode: hold deletion until cleanup.
    client = repositories.client()
    created = await _create(repositories, new_repository(NS, "blueprints"))
    assert created.metadata is not None
    created.metadata.finalizers = [configv1alpha1.REPOSITORY_FINALIZER]
    await client.update(created)
    _, deleted_now = await repositories.delete(_ctx(), "blueprints", metav1.DeleteOptions())
    assert not deleted_now
    pending = await client.get(NS, "blueprints")
    assert pending.metadata is not None and pending.metadata.deletion_timestamp is not None
    pending.metadata.finalizers = []
    await client.update(pending)
    with pytest.raises(errors.StatusError) as raised:
        await client.get(NS, "blueprints")
    assert raised.value.code == 404
