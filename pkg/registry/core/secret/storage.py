"""REST storage of core v1 ``secrets`` in standalone mode: a generic store with Secret rules.

Where this sits: ``pkg.cmd.server`` (standalone) calls :func:`new_storage` with the server's
database and registers the result under ``/api/v1/namespaces/{ns}/secrets``; the credential
resolver reads secrets through ``storage.client()``. Table columns are kubectl's for
secrets: NAME, TYPE, DATA, AGE.
"""

from __future__ import annotations

from pydantic import BaseModel

from api.core import v1 as corev1
from api.core.v1 import register as corev1register
from pkg.registry.core.secret import strategy
from pkg.registry.generic import sqlite, store
from pkg.registry.rest import tableconvertor

__all__ = ["TABLE", "new_storage"]


def _type_cell(obj: BaseModel) -> object:
    return obj.type if isinstance(obj, corev1.Secret) else None


def _data_cell(obj: BaseModel) -> object:
    return len(obj.data or {}) if isinstance(obj, corev1.Secret) else None


TABLE = tableconvertor.TableConvertor(
    [
        tableconvertor.name_column(),
        tableconvertor.Column(
            "Type",
            "string",
            _type_cell,
            description="Used to facilitate programmatic handling"
            " of secret data, e.g. Opaque or kubernetes.io/basic-auth.",
        ),
        tableconvertor.Column(
            "Data", "string", _data_cell, description="The number of keys in the secret's data."
        ),
        tableconvertor.age_column(),
    ]
)


def new_storage(
    db: sqlite.Database, tuning: store.Tuning | None = None
) -> store.Store[corev1.Secret]:
    """The ``secrets`` storage over ``db`` (one per database)."""
    return store.Store(
        db,
        resource=corev1register.SECRETS,
        model=corev1.Secret,
        list_model=corev1.SecretList,
        strategy=strategy.SecretStrategy(),
        table=TABLE,
        tuning=tuning,
    )
