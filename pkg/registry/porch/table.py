"""``kubectl get`` Tables of packagerevisions, packagerevisionresources and packages (§1.8).

Where this sits: the storages of this package are ``TableConvertor``s that delegate here;
the API server calls ``convert_to_table`` when a client asks for ``as=Table`` (lists, gets,
and every watch event) and fills the list metadata itself. The columns are Porch's: no
``Age``, no descriptions, no ``name`` format, every column shown by default::

    packagerevisions          Name Package WorkspaceName Revision Latest Lifecycle Repository
    packagerevisionresources  Name Package WorkspaceName Revision Repository Files
    packages                  Name Package Repository Latest Revision

Revisions are integers (0 for Draft and Proposed, -1 for placeholders), ``Latest`` is true
exactly for the revision labelled ``kpt.dev/latest-revision: "true"``, ``Files`` counts
``spec.resources``. An object of another type is refused with 406 NotAcceptable, as Porch's
"does not support Table format".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from api import resourceinfo
from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import errors
from pkg.registry.rest import rest, tableconvertor

__all__ = [
    "PACKAGES",
    "PACKAGE_REVISIONS",
    "PACKAGE_REVISION_RESOURCES",
    "Table",
    "is_latest",
]

_M = TypeVar("_M", bound=BaseModel)


def is_latest(obj: porchv1alpha1.PackageRevision) -> bool:
    """Whether the revision carries ``kpt.dev/latest-revision: "true"``."""
    labels = (obj.metadata.labels if obj.metadata else None) or {}
    return labels.get(porchv1alpha1.LATEST_REVISION_LABEL) == porchv1alpha1.LATEST_REVISION_VALUE


class Table:
    """A ``rest.TableConvertor`` for one model type with fixed, typed columns."""

    def __init__(
        self,
        info: resourceinfo.ResourceInfo,
        model: type[_M],
        columns: Sequence[tuple[str, str, Callable[[_M], Any]]],
    ) -> None:
        self._info = info
        self._model: type[BaseModel] = model

        def cell(getter: Callable[[_M], Any]) -> Callable[[BaseModel], Any]:
            def compute(obj: BaseModel) -> Any:
                assert isinstance(obj, model)
                return getter(obj)

            return compute

        self._convertor = tableconvertor.TableConvertor(
            [tableconvertor.Column(name, kind, cell(getter)) for name, kind, getter in columns]
        )

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self._convertor.columns]

    def convert_to_table(
        self, ctx: rest.RequestContext, objects: Sequence[BaseModel], include_object: str
    ) -> metav1.Table:
        for obj in objects:
            if not isinstance(obj, self._model):
                raise errors.new_not_acceptable(
                    f"{self._info.group_resource} does not support Table format"
                )
        return self._convertor.convert_to_table(ctx, objects, include_object)


def _name(obj: porchv1alpha1.PackageRevision | porchv1alpha1.PackageRevisionResources) -> str:
    return (obj.metadata.name if obj.metadata else None) or ""


def _pr_spec(obj: porchv1alpha1.PackageRevision) -> porchv1alpha1.PackageRevisionSpec:
    return obj.spec or porchv1alpha1.PackageRevisionSpec()


def _prr_spec(
    obj: porchv1alpha1.PackageRevisionResources,
) -> porchv1alpha1.PackageRevisionResourcesSpec:
    return obj.spec or porchv1alpha1.PackageRevisionResourcesSpec()


def _package_spec(obj: porchv1alpha1.PorchPackage) -> porchv1alpha1.PorchPackageSpec:
    return obj.spec or porchv1alpha1.PorchPackageSpec()


PACKAGE_REVISIONS = Table(
    porchv1alpha1.PACKAGE_REVISIONS,
    porchv1alpha1.PackageRevision,
    [
        ("Name", "string", _name),
        ("Package", "string", lambda o: _pr_spec(o).package_name or ""),
        ("WorkspaceName", "string", lambda o: _pr_spec(o).workspace_name or ""),
        ("Revision", "integer", lambda o: _pr_spec(o).revision or 0),
        ("Latest", "boolean", is_latest),
        ("Lifecycle", "string", lambda o: _pr_spec(o).lifecycle or ""),
        ("Repository", "string", lambda o: _pr_spec(o).repository or ""),
    ],
)

PACKAGE_REVISION_RESOURCES = Table(
    porchv1alpha1.PACKAGE_REVISION_RESOURCES,
    porchv1alpha1.PackageRevisionResources,
    [
        ("Name", "string", _name),
        ("Package", "string", lambda o: _prr_spec(o).package_name or ""),
        ("WorkspaceName", "string", lambda o: _prr_spec(o).workspace_name or ""),
        ("Revision", "integer", lambda o: _prr_spec(o).revision or 0),
        ("Repository", "string", lambda o: _prr_spec(o).repository or ""),
        ("Files", "integer", lambda o: len(_prr_spec(o).resources or {})),
    ],
)

PACKAGES = Table(
    porchv1alpha1.PACKAGES,
    porchv1alpha1.PorchPackage,
    [
        ("Name", "string", lambda o: (o.metadata.name if o.metadata else None) or ""),
        ("Package", "string", lambda o: _package_spec(o).package_name or ""),
        ("Repository", "string", lambda o: _package_spec(o).repository or ""),
        (
            "Latest Revision",
            "integer",
            lambda o: (o.status.latest_revision if o.status else None) or 0,
        ),
    ],
)
