"""The packagerevisionresources strategy: a Draft's files are replaced (porch.md §3.6).

Where this sits: the packagerevisionresources storage
(:mod:`pkg.registry.porch.packagerevisionresources`) runs
:func:`pkg.registry.rest.update.before_update` with :data:`STRATEGY` before it calls the
engine. A PackageRevisionResources is a view of a revision: only ``spec.resources`` can be
changed through it. The identity fields of the spec (package, workspace, revision,
repository) follow from the name and are taken from the stored object; ``status`` is output
only (the render results of this update); the revision's labels and annotations are changed
through packagerevisions, so they are taken from the stored object too.

``spec.resources`` replaces the package's files completely (a file left out is deleted).
Its keys must be safe file paths inside the package and include the root ``Kptfile``
(the rule every repository backend enforces, :mod:`pkg.repository.paths`); breaking it is
422 Invalid on ``spec.resources`` before anything is rendered. Whether the revision may be
changed at all (it must be a Draft) is the engine's to say.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import field
from pkg.registry.rest import rest
from pkg.repository import errors as repoerrors
from pkg.repository import paths

__all__ = ["KIND", "STRATEGY", "ResourcesStrategy"]

KIND: Final = "PackageRevisionResources"

_RESOURCES_PATH = field.new_path("spec", "resources")


def _resources(obj: BaseModel) -> porchv1alpha1.PackageRevisionResources:
    assert isinstance(obj, porchv1alpha1.PackageRevisionResources), type(obj)
    return obj


class ResourcesStrategy:
    """``rest.UpdateStrategy`` of ``packagerevisionresources``."""

    def allow_create_on_update(self) -> bool:
        return False

    def prepare_for_update(self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel) -> None:
        prr, stored = _resources(new), _resources(old)
        files = prr.spec.resources if prr.spec else None
        stored_spec = stored.spec or porchv1alpha1.PackageRevisionResourcesSpec()
        prr.spec = stored_spec.model_copy(update={"resources": dict(files or {})})
        prr.status = None
        if prr.metadata is not None and stored.metadata is not None:
            prr.metadata.labels = stored.metadata.labels
            prr.metadata.annotations = stored.metadata.annotations
            prr.metadata.finalizers = stored.metadata.finalizers
            prr.metadata.owner_references = stored.metadata.owner_references

    def validate_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> field.ErrorList:
        prr = _resources(new)
        files = (prr.spec.resources if prr.spec else None) or {}
        errs = field.ErrorList()
        try:
            paths.validate_resource_paths(files)
        except repoerrors.InvalidPackageError as err:
            errs.append(field.invalid(_RESOURCES_PATH, field.OMIT_VALUE, str(err)))
        return errs

    def warnings_on_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> list[str]:
        return []

    def canonicalize(self, obj: BaseModel) -> None:
        return None


STRATEGY: Final = ResourcesStrategy()
