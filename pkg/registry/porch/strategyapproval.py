"""The packagerevisions/approval strategy: lifecycle changes only (porch.md §3.2).

Where this sits: the approval storage (:mod:`pkg.registry.porch.packagerevisionapproval`)
runs :func:`pkg.registry.rest.update.before_update` with :data:`STRATEGY` before it calls
the engine. The subresource is what separates approvers from authors in RBAC, so it changes
the lifecycle and nothing else: whatever else the request body says (labels, spec, status)
is replaced by the stored object, as a Kubernetes subresource ignores fields outside its
scope. The request's ``metadata.resourceVersion`` is kept, so a stale approval is still a
409 Conflict, and so are its ``metadata.managedFields``: the API server recorded the
approver's write there (an entry with ``subresource: approval``), and the engine stores
them with the revision (left unset, the stored ones stay).

Transitions (the table of :mod:`pkg.engine.lifecycle`, ``Endpoint.APPROVAL``): Proposed ->
Published ("approve", the engine assigns the next revision number) or Draft ("reject");
Published -> DeletionProposed; DeletionProposed -> Published. Anything else is 422 Invalid
with Porch's words ("cannot approve package with Draft lifecycle value; only Proposed
packages can be approved"). There is no create-on-update: approving a revision that does
not exist is 404.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel

from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import field
from pkg.engine import lifecycle, validation
from pkg.registry.porch import strategy
from pkg.registry.rest import rest

__all__ = ["STRATEGY", "ApprovalStrategy"]


def _revision(obj: BaseModel) -> porchv1alpha1.PackageRevision:
    assert isinstance(obj, porchv1alpha1.PackageRevision), type(obj)
    return obj


class ApprovalStrategy:
    """``rest.UpdateStrategy`` of ``packagerevisions/approval``."""

    def allow_create_on_update(self) -> bool:
        return False

    def prepare_for_update(self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel) -> None:
        revision, stored = _revision(new), _revision(old)
        requested_lifecycle = revision.spec.lifecycle if revision.spec else None
        requested_version = revision.metadata.resource_version if revision.metadata else None
        requested_managed = revision.metadata.managed_fields if revision.metadata else None
        stored_spec = stored.spec or porchv1alpha1.PackageRevisionSpec()
        revision.spec = stored_spec.model_copy(deep=True, update={"lifecycle": requested_lifecycle})
        if stored.metadata is not None:
            kept: dict[str, Any] = {"resource_version": requested_version}
            # Unset keeps the stored ones, which the copy holds. (Not left to the update
            # driver: it carries managedFields over into the request's metadata object,
            # which this replaces.)
            if requested_managed is not None:
                kept["managed_fields"] = requested_managed
            revision.metadata = stored.metadata.model_copy(deep=True, update=kept)
        revision.status = stored.status.model_copy(deep=True) if stored.status else None

    def validate_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> field.ErrorList:
        return validation.validate_update(
            lifecycle.Endpoint.APPROVAL, _revision(old), _revision(new)
        )

    def warnings_on_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> list[str]:
        return []

    def canonicalize(self, obj: BaseModel) -> None:
        strategy.canonicalize_lifecycle(obj)


STRATEGY: Final = ApprovalStrategy()
