"""The create driver: the fixed order of hooks a storage runs before it stores a new object.

After k8s.io/apiserver's ``pkg/registry/rest/create.go``. A storage's ``create`` (and the
create branch of create-on-update) calls :func:`before_create` exactly once with its
resource's :class:`CreateStrategy`; the driver owns everything that is the same for every
resource, so a strategy only holds its resource's own rules:

1. the object's namespace must match the request's (400 BadRequest), and is filled in
   from the request when the body leaves it out;
2. ``deletionTimestamp``/``deletionGracePeriodSeconds`` are cleared;
3. ``strategy.prepare_for_create`` (drop status, default fields);
4. a name is generated from ``generateName`` when no name is given;
5. server-owned metadata is filled: ``uid``, ``creationTimestamp``;
6. ``strategy.validate``; every field error is raised as one 422 Invalid;
7. ``strategy.warnings_on_create`` are appended to ``ctx.warnings``;
8. ``strategy.canonicalize``.

``resourceVersion`` and ``generation`` are the storage's to set when it persists.
"""

from __future__ import annotations

import secrets
from typing import Final, Protocol
from uuid import uuid4

from pydantic import BaseModel

from pkg.apimachinery import errors, field
from pkg.registry.rest import objectmeta, rest

__all__ = [
    "MAX_GENERATED_NAME_LENGTH",
    "CreateStrategy",
    "before_create",
    "generate_name",
    "name_of",
]

# Go's names.SimpleNameGenerator: five characters from an alphabet without vowels (no
# accidental words) and without look-alikes (0/o, 1/l).
_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
_RANDOM_LENGTH: Final = 5
MAX_GENERATED_NAME_LENGTH: Final = 63 - _RANDOM_LENGTH
"""A generateName prefix is cut to this length so that the name stays a DNS label."""

NAMESPACE_MISMATCH: Final = (
    "the namespace of the provided object does not match the namespace sent on the request"
)


class CreateStrategy(Protocol):
    """Hooks run on create, in the order :func:`before_create` calls them."""

    def prepare_for_create(self, ctx: rest.RequestContext, obj: BaseModel) -> None:
        """Clear fields the user may not set (status, server-owned metadata); default others.

        Mutates ``obj`` in place. Must not fail: reject in ``validate``.
        """
        ...

    def validate(self, ctx: rest.RequestContext, obj: BaseModel) -> field.ErrorList:
        """Every field error of ``obj``, with full paths (``spec.tasks[0].init``).

        Runs after the name was generated, so it sees the final name; strategies check it
        with :func:`pkg.registry.rest.objectmeta.validate_object_meta`.
        """
        ...

    def warnings_on_create(self, ctx: rest.RequestContext, obj: BaseModel) -> list[str]:
        """Non-fatal warnings returned to the client as Warning headers."""
        ...

    def canonicalize(self, obj: BaseModel) -> None:
        """Normalise ``obj`` after validation (e.g. empty lifecycle -> Draft)."""
        ...


def name_of(obj: BaseModel) -> str:
    """``metadata.name`` of ``obj``, or ``""``."""
    metadata = getattr(obj, "metadata", None)
    name = getattr(metadata, "name", None)
    return name or ""


def generate_name(base: str) -> str:
    """A name for ``metadata.generateName`` = ``base``: the prefix plus 5 random characters."""
    base = base[:MAX_GENERATED_NAME_LENGTH]
    return base + "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))


def before_create(
    strategy: CreateStrategy,
    ctx: rest.RequestContext,
    obj: BaseModel,
    kind: errors.GroupKind,
) -> None:
    """Run the create steps in order (module docstring); raise one StatusError on failure.

    Raises BadRequest (400) for a namespace that differs from the request's and Invalid
    (422) carrying every field error of the strategy's ``validate``.
    """
    meta = objectmeta.meta_of(obj)
    if ctx.namespace is not None:
        if meta.namespace and meta.namespace != ctx.namespace:
            raise errors.new_bad_request(NAMESPACE_MISMATCH)
        meta.namespace = ctx.namespace
    meta.deletion_timestamp = None
    meta.deletion_grace_period_seconds = None

    strategy.prepare_for_create(ctx, obj)

    if not meta.name and meta.generate_name:
        meta.name = generate_name(meta.generate_name)
    meta.uid = str(uuid4())
    meta.creation_timestamp = objectmeta.now()

    errs = strategy.validate(ctx, obj)
    if errs:
        raise errors.new_invalid(kind, name_of(obj), errs)
    ctx.warnings.extend(strategy.warnings_on_create(ctx, obj))
    strategy.canonicalize(obj)
