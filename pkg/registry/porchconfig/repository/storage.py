"""REST storage of ``repositories`` in standalone mode: a generic store with the CRD's rules.

Where this sits: standalone ``pkg.cmd.server`` calls :func:`new_storage` with the server's
database and its local repository roots, registers the store under
``/apis/config.porch.kpt.dev/v1alpha1/namespaces/{ns}/repositories`` and ``store.status()``
under ``.../repositories/{name}/status``. Repository registration and sync use
``store.client()``: ``watch`` to follow Repositories, ``update_status`` to report on them.
The Table has the CRD's printer columns: NAME, TYPE, CONTENT, SYNC SCHEDULE, DEPLOYMENT,
READY, ADDRESS, BRANCH, AGE.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.registry.generic import sqlite, store
from pkg.registry.porchconfig.repository import strategy
from pkg.registry.rest import tableconvertor

__all__ = ["TABLE", "new_storage"]


def _spec(obj: BaseModel) -> configv1alpha1.RepositorySpec | None:
    return obj.spec if isinstance(obj, configv1alpha1.Repository) else None


def _type_cell(obj: BaseModel) -> object:
    spec = _spec(obj)
    return spec.type if spec else None


def _content_cell(obj: BaseModel) -> object:
    spec = _spec(obj)
    return spec.content if spec else None


def _schedule_cell(obj: BaseModel) -> object:
    spec = _spec(obj)
    return spec.sync.schedule if spec and spec.sync else None


def _deployment_cell(obj: BaseModel) -> object:
    spec = _spec(obj)
    return spec.deployment if spec else None


def _ready_cell(obj: BaseModel) -> object:
    # .status.conditions[?(@.type=='Ready')].status
    if not isinstance(obj, configv1alpha1.Repository) or obj.status is None:
        return None
    for condition in obj.status.conditions or []:
        if condition.type == configv1alpha1.CONDITION_READY:
            return condition.status
    return None


def _address_cell(obj: BaseModel) -> object:
    # .spec['git','oci']['repo','registry']: the first of the union that exists.
    spec = _spec(obj)
    if spec is None:
        return None
    if spec.git is not None:
        return spec.git.repo
    if spec.oci is not None:
        return spec.oci.registry
    return None


def _branch_cell(obj: BaseModel) -> object:
    spec = _spec(obj)
    return spec.git.branch if spec and spec.git else None


TABLE = tableconvertor.TableConvertor(
    [
        tableconvertor.name_column(),
        tableconvertor.Column("Type", "string", _type_cell),
        tableconvertor.Column("Content", "string", _content_cell),
        tableconvertor.Column("Sync schedule", "string", _schedule_cell),
        tableconvertor.Column("Deployment", "boolean", _deployment_cell),
        tableconvertor.Column("Ready", "string", _ready_cell),
        tableconvertor.Column("Address", "string", _address_cell),
        tableconvertor.Column("Branch", "string", _branch_cell),
        tableconvertor.age_column("date"),
    ]
)


def new_storage(
    db: sqlite.Database,
    local_repository_roots: Sequence[Path],
    tuning: store.Tuning | None = None,
) -> store.Store[configv1alpha1.Repository]:
    """The ``repositories`` storage over ``db`` (one per database).

    ``file://`` and local-path repositories are accepted only under
    ``local_repository_roots``; ``store.status()`` serves ``repositories/status``.
    """
    return store.Store(
        db,
        resource=configv1alpha1.REPOSITORIES,
        model=configv1alpha1.Repository,
        list_model=configv1alpha1.RepositoryList,
        strategy=strategy.RepositoryStrategy(local_repository_roots),
        status_strategy=strategy.RepositoryStatusStrategy(),
        table=TABLE,
        admit=strategy.conflicts,
        tuning=tuning,
    )
