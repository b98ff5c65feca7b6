"""Table output built from a list of columns (k8s.io/apiserver's ``tableconvertor`` and printers).

Where this sits: ``kubectl get`` asks for ``as=Table``; the API server calls the storage's
``convert_to_table`` (:class:`pkg.registry.rest.rest.TableConvertor`), and storages that
need nothing special delegate to a :class:`TableConvertor` built from :class:`Column`
definitions, like a CRD's ``additionalPrinterColumns`` or a built-in printer. The API server
fills the Table's list metadata (resourceVersion, continue) and drops the column
definitions for ``noHeaders``.

Cells follow the conventions kubectl prints: the Name column has format ``name``; a
timestamp column shows a human-readable age (``5m``, ``3d4h``) computed by the server, as
Go's ``duration.HumanDuration``; a missing value is ``None`` (JSON null).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel

from api.meta import v1 as metav1
from pkg.apimachinery import codec, duration
from pkg.registry.rest import rest

__all__ = [
    "AGE_DESCRIPTION",
    "NAME_DESCRIPTION",
    "Column",
    "TableConvertor",
    "age_column",
    "name_column",
    "row_object",
]

NAME_DESCRIPTION: Final = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
AGE_DESCRIPTION: Final = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is "
    "in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its definition as clients see it and how to compute a cell.

    ``type`` is an OpenAPI type (``string``, ``integer``, ``number``, ``boolean``, ``date``);
    ``priority`` 0 columns show by default, higher ones only with ``-o wide``. ``cell``
    returns a JSON value (or None) for one object.
    """

    name: str
    type: str
    cell: Callable[[BaseModel], Any]
    format: str = ""
    description: str = ""
    priority: int = 0

    def definition(self) -> metav1.TableColumnDefinition:
        return metav1.TableColumnDefinition(
            name=self.name,
            type=self.type,
            format=self.format,
            description=self.description,
            priority=self.priority,
        )


def _name_cell(obj: BaseModel) -> Any:
    metadata = getattr(obj, "metadata", None)
    return getattr(metadata, "name", None) or ""


def name_column() -> Column:
    """The leading ``Name`` column every Kubernetes table starts with."""
    return Column("Name", "string", _name_cell, format="name", description=NAME_DESCRIPTION)


def age_column(column_type: str = "string") -> Column:
    """``Age``: the object's age as kubectl shows it (``translateTimestampSince``).

    Built-in printers declare it as ``string``; CRD printer columns as ``date``.
    """
    return Column("Age", column_type, _age_cell, description=AGE_DESCRIPTION)


def _age_cell(obj: BaseModel) -> Any:
    metadata = getattr(obj, "metadata", None)
    created = getattr(metadata, "creation_timestamp", None)
    if not isinstance(created, datetime.datetime):
        return "<unknown>"
    return duration.human_duration(datetime.datetime.now(datetime.UTC) - created)


def row_object(obj: BaseModel, include_object: str) -> metav1.RawExtension | None:
    """What ``rows[].object`` holds for ``includeObject``: None, metadata only, or all.

    ``Metadata`` (the default) is a ``meta.k8s.io/v1`` PartialObjectMetadata: kubectl builds
    the NAMESPACE column of ``-A`` and ``--show-labels`` from it.
    """
    if include_object == "None":
        return None
    if include_object == "Object":
        return metav1.RawExtension.model_validate(codec.to_dict(obj))
    partial = metav1.PartialObjectMetadata(
        api_version="meta.k8s.io/v1",
        kind="PartialObjectMetadata",
        metadata=getattr(obj, "metadata", None),
    )
    return metav1.RawExtension.model_validate(codec.to_dict(partial))


class TableConvertor:
    """A :class:`pkg.registry.rest.rest.TableConvertor` from fixed columns."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self._columns = tuple(columns)

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def convert_to_table(
        self, ctx: rest.RequestContext, objects: Sequence[BaseModel], include_object: str
    ) -> metav1.Table:
        """One row per object, cells in column order (see :class:`Column`)."""
        del ctx  # the same columns for every caller
        return metav1.Table(
            api_version="meta.k8s.io/v1",
            kind="Table",
            metadata=metav1.ListMeta(),
            column_definitions=[c.definition() for c in self._columns],
            rows=[
                metav1.TableRow(
                    cells=[c.cell(obj) for c in self._columns],
                    object=row_object(obj, include_object),
                )
                for obj in objects
            ],
        )
