"""What the generic store needs from a resource's strategy, and defaults for the common case.

Where this sits: a resource package (``pkg/registry/core/secret``,
``pkg/registry/porchconfig/repository``) subclasses :class:`DefaultStrategy`, overrides the
hooks its resource needs, and passes an instance to
:class:`pkg.registry.generic.store.Store`. The store never calls the create/update hooks
itself: it runs them through the drivers :func:`pkg.registry.rest.create.before_create` and
:func:`pkg.registry.rest.update.before_update`. It calls the two hooks below directly:
:meth:`Strategy.get_attrs` to filter lists and watches with selectors, and
:meth:`Strategy.allow_unconditional_update` when an update carries no resourceVersion.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Final, Protocol, TypeVar

from pydantic import BaseModel

from pkg.apimachinery import field, validation
from pkg.registry.rest import create, objectmeta, rest, update

__all__ = [
    "NAMESPACE_FIELD",
    "NAME_FIELD",
    "DefaultStrategy",
    "StatusStrategy",
    "Strategy",
    "object_meta_fields",
]

_T = TypeVar("_T")

NAME_FIELD = "metadata.name"
NAMESPACE_FIELD = "metadata.namespace"


class Strategy(create.CreateStrategy, update.UpdateStrategy, Protocol):
    """A resource's rules as the generic store uses them."""

    def selectable_fields(self) -> frozenset[str]:
        """Every field a field selector may name (``metadata.name``, ``metadata.namespace``
        and the resource's own, e.g. ``type`` for secrets); others are 400 BadRequest."""
        ...

    def get_attrs(self, obj: BaseModel) -> tuple[Mapping[str, str], Mapping[str, str]]:
        """``(labels, fields)`` of ``obj`` for selectors (Go's ``GetAttrs``); ``fields`` has
        a value for every name in :meth:`selectable_fields`."""
        ...

    def allow_unconditional_update(self) -> bool:
        """Whether an update without ``metadata.resourceVersion`` overwrites (True for
        built-in types) or is 422 Invalid (False, as for custom resources)."""
        ...


def object_meta_fields(obj: BaseModel) -> dict[str, str]:
    """The two fields every resource can be selected by."""
    meta = objectmeta.meta_of(obj)
    return {NAME_FIELD: meta.name or "", NAMESPACE_FIELD: meta.namespace or ""}


class DefaultStrategy:
    """A namespaced resource with no rules of its own: subclass and override.

    It validates the generic metadata (names are DNS subdomains, labels, annotations,
    finalizers) and allows unconditional updates, as built-in Kubernetes types do.

    Status is the store's business only through a :class:`StatusStrategy`; this main
    strategy drops ``status`` on create and keeps the stored one on update when the model
    has a ``status`` field, as a resource with a status subresource must.
    """

    def selectable_fields(self) -> frozenset[str]:
        return frozenset({NAME_FIELD, NAMESPACE_FIELD})

    def get_attrs(self, obj: BaseModel) -> tuple[Mapping[str, str], Mapping[str, str]]:
        return objectmeta.meta_of(obj).labels or {}, object_meta_fields(obj)

    def allow_unconditional_update(self) -> bool:
        return True

    def allow_create_on_update(self) -> bool:
        return False

    def prepare_for_create(self, ctx: rest.RequestContext, obj: BaseModel) -> None:
        if "status" in type(obj).model_fields:
            obj.status = None  # type: ignore[attr-defined]

    def prepare_for_update(self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel) -> None:
        if "status" in type(new).model_fields:
            new.status = _copy(getattr(old, "status", None))  # type: ignore[attr-defined]

    def validate(self, ctx: rest.RequestContext, obj: BaseModel) -> field.ErrorList:
        """The generic metadata rules, names as DNS subdomains (most resources' rule)."""
        return objectmeta.validate_object_meta(
            objectmeta.meta_of(obj),
            namespaced=True,
            name_validator=validation.is_dns1123_subdomain,
        )

    def validate_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> field.ErrorList:
        return self.validate(ctx, new)

    def warnings_on_create(self, ctx: rest.RequestContext, obj: BaseModel) -> list[str]:
        return []

    def warnings_on_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> list[str]:
        return []

    def canonicalize(self, obj: BaseModel) -> None:
        return None


class StatusStrategy:
    """The ``/status`` subresource's update rules: only ``.status`` changes.

    Everything else is taken from the stored object, as the real apiserver's status
    strategies do (a ``/status`` write cannot relabel or re-spec an object); of the metadata,
    what Go's ``ResetObjectMetaForStatus`` resets. The request's ``resourceVersion`` stays
    (a stale status write is a 409) and so do its ``managedFields`` (the API server recorded
    the status writer's entry there). Subclass to validate the status.
    """

    def allow_create_on_update(self) -> bool:
        return False

    def prepare_for_update(self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel) -> None:
        for name in type(old).model_fields:
            if name not in ("status", "metadata"):
                setattr(new, name, _copy(getattr(old, name)))
        new_meta, old_meta = objectmeta.meta_of(new), objectmeta.meta_of(old)
        for name in _STATUS_RESET_METADATA:
            setattr(new_meta, name, _copy(getattr(old_meta, name)))

    def validate_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> field.ErrorList:
        return field.ErrorList()

    def warnings_on_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> list[str]:
        return []

    def canonicalize(self, obj: BaseModel) -> None:
        return None


_STATUS_RESET_METADATA: Final = (
    "deletion_timestamp",
    "generation",
    "self_link",
    "labels",
    "annotations",
    "finalizers",
    "owner_references",
)


def _copy(value: _T) -> _T:
    # The old object may be the store's own; never share its parts with the new one.
    return copy.deepcopy(value)
