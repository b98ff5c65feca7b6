"""The update driver: the fixed order of hooks a storage runs before it stores a changed object.

After k8s.io/apiserver's ``pkg/registry/rest/update.go``. A storage's ``update`` reads the
current object, computes the new one (``UpdatedObjectInfo``), checks the resourceVersion
precondition, then calls :func:`before_update` exactly once with its resource's
:class:`UpdateStrategy`. The driver owns what is the same for every resource:

1. the object's namespace must match the request's (400 BadRequest), and is filled in
   from the request when the body leaves it out;
2. ``generation`` is taken from the old object (clients cannot set it);
3. ``strategy.prepare_for_update`` (carry over status, or everything but status);
4. server-owned metadata the body left out is carried over: ``uid``,
   ``creationTimestamp``, ``deletionTimestamp``, ``deletionGracePeriodSeconds``,
   ``managedFields``;
5. identity checks (:func:`~pkg.registry.rest.objectmeta.validate_object_meta_update`)
   and ``strategy.validate_update``; every field error is raised as one 422 Invalid;
6. ``strategy.warnings_on_update`` are appended to ``ctx.warnings``;
7. ``strategy.canonicalize``.

Bumping ``generation`` and ``resourceVersion`` is the storage's job when it persists.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from pkg.apimachinery import errors, field
from pkg.registry.rest import create, objectmeta, rest

__all__ = ["DefaultUpdatedObjectInfo", "UpdateStrategy", "before_update"]


class UpdateStrategy(Protocol):
    """Hooks run on update, in the order :func:`before_update` calls them."""

    def allow_create_on_update(self) -> bool:
        """Whether PUT/apply of a missing object creates it."""
        ...

    def prepare_for_update(self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel) -> None:
        """Carry over fields the request may not change (status, server metadata)."""
        ...

    def validate_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> field.ErrorList:
        """Every field error of the transition ``old`` -> ``new`` (immutability, lifecycle).

        Validate the whole new object here too (names, labels, spec), as Go's
        ``ValidateUpdate`` does; the driver adds only the identity checks.
        """
        ...

    def warnings_on_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> list[str]:
        """Non-fatal warnings returned to the client as Warning headers."""
        ...

    def canonicalize(self, obj: BaseModel) -> None:
        """Normalise ``obj`` after validation."""
        ...


def before_update(
    strategy: UpdateStrategy,
    ctx: rest.RequestContext,
    new: BaseModel,
    old: BaseModel,
    kind: errors.GroupKind,
) -> None:
    """Run the update steps in order (module docstring); raise one StatusError on failure.

    Raises BadRequest (400) for a namespace that differs from the request's and Invalid
    (422) carrying every field error (immutable identity fields, the strategy's rules).
    """
    new_meta = objectmeta.meta_of(new)
    old_meta = objectmeta.meta_of(old)
    if ctx.namespace is not None:
        if new_meta.namespace and new_meta.namespace != ctx.namespace:
            raise errors.new_bad_request(create.NAMESPACE_MISMATCH)
        new_meta.namespace = ctx.namespace
    new_meta.generation = old_meta.generation

    strategy.prepare_for_update(ctx, new, old)

    if not new_meta.uid:
        new_meta.uid = old_meta.uid
    if old_meta.creation_timestamp is not None:
        new_meta.creation_timestamp = old_meta.creation_timestamp
    # An update can never set, move or clear a deletion: only delete does that.
    new_meta.deletion_timestamp = old_meta.deletion_timestamp
    new_meta.deletion_grace_period_seconds = old_meta.deletion_grace_period_seconds
    if new_meta.managed_fields is None:
        # Leaving managedFields out keeps them; sending [] clears them (as in Go).
        new_meta.managed_fields = old_meta.managed_fields

    errs = objectmeta.validate_object_meta_update(new_meta, old_meta)
    errs.extend(strategy.validate_update(ctx, new, old))
    if errs:
        raise errors.new_invalid(kind, create.name_of(new), errs)
    ctx.warnings.extend(strategy.warnings_on_update(ctx, new, old))
    strategy.canonicalize(new)


class DefaultUpdatedObjectInfo:
    """The UpdatedObjectInfo of a PUT: the new object is the request body, whatever is stored.

    (Go's ``rest.DefaultUpdatedObjectInfo`` without transformers.) The body is returned as
    is; the storage copies it before it changes anything.
    """

    def __init__(self, obj: BaseModel) -> None:
        self._obj = obj

    async def updated_object(self, ctx: rest.RequestContext, old: BaseModel | None) -> BaseModel:
        del ctx, old  # a PUT replaces the whole object
        return self._obj
