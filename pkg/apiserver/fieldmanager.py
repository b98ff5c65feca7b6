"""``metadata.managedFields``: which manager last wrote an object, and how.

Where this sits: the create, update and patch handlers of :mod:`pkg.apiserver.handlers`
call :func:`record` on the object they are about to hand to the storage, once they know
the ``fieldManager`` of the request. This is a deliberately small version of Kubernetes'
field manager (see :mod:`pkg.apiserver.patch` for what server-side apply does and does
not do here): one entry per (manager, operation, apiVersion, subresource), its ``time``
refreshed on every write; an ``Apply`` entry lists the fields of the applied
configuration (``FieldsV1``, maps and struct fields as ``f:<name>``, lists as a whole),
an ``Update`` entry lists nothing. kubectl hides managedFields unless
``--show-managed-fields``; it accepts these entries (kubernetes-api-contract.md §3.8).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel

from api.meta import v1 as metav1
from pkg.registry.rest import objectmeta

__all__ = ["applied_fields", "record"]

Operation = Literal["Apply", "Update"]

# Identity fields are never "owned": every object has them.
_SKIPPED_METADATA: Final = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
    }
)


def applied_fields(applied: Mapping[str, Any]) -> dict[str, Any]:
    """The FieldsV1 set of an applied configuration (``apiVersion``/``kind`` excluded)."""

    def walk(node: Mapping[str, Any], top: bool, in_metadata: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            if top and key in ("apiVersion", "kind"):
                continue
            if in_metadata and key in _SKIPPED_METADATA:
                continue
            if isinstance(value, Mapping) and value:
                out[f"f:{key}"] = walk(value, False, top and key == "metadata")
            else:
                out[f"f:{key}"] = {}
        return out

    return walk(applied, True, False)


def record(
    obj: BaseModel,
    manager: str | None,
    operation: Operation,
    api_version: str,
    *,
    subresource: str = "",
    fields: dict[str, Any] | None = None,
) -> None:
    """Add or refresh ``manager``'s entry in ``obj.metadata.managedFields`` (no manager: no-op)."""
    if not manager:
        return
    meta = objectmeta.meta_of(obj)
    entries = list(meta.managed_fields or [])
    entry = metav1.ManagedFieldsEntry(
        manager=manager,
        operation=operation,
        api_version=api_version,
        time=objectmeta.now(),
        fields_type="FieldsV1",
        fields_v1=metav1.FieldsV1.model_validate(fields or {}),
        subresource=subresource or None,
    )
    for i, existing in enumerate(entries):
        if (
            existing.manager == manager
            and existing.operation == operation
            and existing.api_version == api_version
            and (existing.subresource or "") == subresource
        ):
            entries[i] = entry
            break
    else:
        entries.append(entry)
    meta.managed_fields = entries
