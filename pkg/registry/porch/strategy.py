"""The packagerevisions strategy: Porch's create and update rules as driver hooks.

Where this sits: the packagerevisions storage (:mod:`pkg.registry.porch.packagerevision`)
runs :func:`pkg.registry.rest.create.before_create` and
:func:`pkg.registry.rest.update.before_update` with :data:`STRATEGY` before it calls the
engine, so a request that breaks a rule is refused with one 422 Invalid listing every bad
field, before any repository is touched. The rules themselves are written once, in the
engine (:mod:`pkg.engine.validation`, :mod:`pkg.engine.lifecycle`), which checks them
again for callers that do not come through the API.

Create (porch.md §3.4; ``spec.repository`` and the namespace are checked by the storage
first, as Porch does, with 400):

* the label ``kpt.dev/latest-revision`` is Porch's (``metadata.labels[kpt.dev/latest-
  revision]``: "label is managed by porch and cannot be set by users");
* ``spec.packageName`` is a path of DNS-1123 labels, ``spec.workspaceName`` a DNS-1123
  label, ``spec.lifecycle`` empty or ``Draft``;
* labels, annotations and finalizers follow the usual Kubernetes syntax;
* a client-supplied ``metadata.name`` (or ``generateName``) is ignored: the server names
  revisions ``<repository>.<package path dotted>.<workspaceName>``; a warning says so.

Update through the main resource (porch.md §3.2): a missing ``spec.packageMetadata`` is
taken from the stored object (clients that do not know the field must not wipe the
Kptfile's labels); the latest-revision label cannot change; the lifecycle change must be in
the table of :mod:`pkg.engine.lifecycle` (Draft <-> Proposed; Published <->
DeletionProposed); a published revision's spec cannot change otherwise; an empty lifecycle
is stored as Draft. The status of the request is kept: for a Draft, its conditions are
written into the Kptfile (that is how controllers set readiness conditions).
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import field
from pkg.engine import lifecycle, validation
from pkg.registry.rest import objectmeta, rest
from pkg.repository import repository as repo_api

__all__ = [
    "KIND",
    "STRATEGY",
    "PackageRevisionStrategy",
    "canonicalize_lifecycle",
    "computed_name",
    "validate_metadata",
]

KIND: Final = "PackageRevision"


def _revision(obj: BaseModel) -> porchv1alpha1.PackageRevision:
    assert isinstance(obj, porchv1alpha1.PackageRevision), type(obj)
    return obj


def _spec(obj: porchv1alpha1.PackageRevision) -> porchv1alpha1.PackageRevisionSpec:
    if obj.spec is None:
        obj.spec = porchv1alpha1.PackageRevisionSpec()
    return obj.spec


def computed_name(obj: porchv1alpha1.PackageRevision) -> str | None:
    """The name the server gives the revision ``obj`` describes; None while its spec does
    not name a repository, package and workspace."""
    spec = obj.spec or porchv1alpha1.PackageRevisionSpec()
    if not (spec.repository and spec.package_name and spec.workspace_name):
        return None
    parent, _, package = spec.package_name.strip("/").rpartition("/")
    return repo_api.compose_package_revision_name(
        spec.repository, parent, package, spec.workspace_name
    )


def _no_name_rule(name: str) -> list[str]:
    # The engine checks the computed name (porch.md §2.1), with Porch's messages.
    del name
    return []


def validate_metadata(meta: metav1.ObjectMeta, name: str | None) -> field.ErrorList:
    """Namespace, label, annotation and finalizer syntax of ``meta``; ``name`` stands in
    for the name (the server's, on create), whose own rules the engine checks."""
    return objectmeta.validate_object_meta(
        meta.model_copy(update={"name": name or "unnamed", "generate_name": None}),
        namespaced=True,
        name_validator=_no_name_rule,
    )


def canonicalize_lifecycle(obj: BaseModel) -> None:
    """An empty ``spec.lifecycle`` is a Draft."""
    spec = _spec(_revision(obj))
    if not spec.lifecycle:
        spec.lifecycle = porchv1alpha1.LIFECYCLE_DRAFT


class PackageRevisionStrategy:
    """``rest.CreateStrategy`` and ``rest.UpdateStrategy`` of ``packagerevisions``."""

    # -- create ---------------------------------------------------------------------------

    def prepare_for_create(self, ctx: rest.RequestContext, obj: BaseModel) -> None:
        # The status is computed from the repository; nothing a client sends is kept.
        _revision(obj).status = None

    def validate(self, ctx: rest.RequestContext, obj: BaseModel) -> field.ErrorList:
        revision = _revision(obj)
        errs = validation.validate_create(revision)
        errs.extend(validate_metadata(objectmeta.meta_of(revision), computed_name(revision)))
        return errs

    def warnings_on_create(self, ctx: rest.RequestContext, obj: BaseModel) -> list[str]:
        revision = _revision(obj)
        meta = objectmeta.meta_of(revision)
        computed = computed_name(revision)
        if meta.generate_name:
            return [
                f"metadata.generateName {meta.generate_name!r} is ignored: package revisions "
                f"are named <repository>.<package path>.<workspaceName> ({computed!r})"
            ]
        if meta.name and meta.name != computed:
            return [
                f"metadata.name {meta.name!r} is ignored: package revisions are named "
                f"<repository>.<package path>.<workspaceName> ({computed!r})"
            ]
        return []

    def canonicalize(self, obj: BaseModel) -> None:
        canonicalize_lifecycle(obj)

    # -- update ---------------------------------------------------------------------------

    def allow_create_on_update(self) -> bool:
        # Only server-side apply creates (the storage's force_allow_create), as in Porch.
        return False

    def prepare_for_update(self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel) -> None:
        revision = _revision(new)
        revision.spec = validation.prepare_for_update(_revision(old), revision).spec

    def validate_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> field.ErrorList:
        revision = _revision(new)
        errs = validation.validate_update(lifecycle.Endpoint.MAIN, _revision(old), revision)
        meta = objectmeta.meta_of(revision)
        errs.extend(validate_metadata(meta, meta.name))
        return errs

    def warnings_on_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> list[str]:
        return []


STRATEGY: Final = PackageRevisionStrategy()
