"""ObjectMeta rules every resource shares (k8s.io/apimachinery/pkg/api/validation/objectmeta.go).

Where this sits: the create/update drivers (:mod:`pkg.registry.rest.create`,
:mod:`pkg.registry.rest.update`) call :func:`validate_object_meta_update` for every update;
each resource's strategy calls :func:`validate_object_meta` from its ``validate`` hook with
the name rule of its resource (DNS subdomain for most, DNS label for some), as Go strategies
call ``ValidateObjectMeta``. Storages use :func:`meta_of` to reach an object's metadata and
:func:`now` for server timestamps (``metav1.Time`` has second precision).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from pydantic import BaseModel

from api.meta import v1 as metav1
from pkg.apimachinery import field, validation

__all__ = [
    "NameValidator",
    "meta_of",
    "now",
    "validate_object_meta",
    "validate_object_meta_update",
]

NameValidator = Callable[[str], list[str]]
"""A name rule from :mod:`pkg.apimachinery.validation`: the problems with a name, or []."""

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
"""Bytes of all annotation keys and values together (Go's TotalAnnotationSizeLimitB)."""

_IMMUTABLE = "field is immutable"


def meta_of(obj: BaseModel) -> metav1.ObjectMeta:
    """The object's ``metadata``, created empty when the object has none.

    Every model served through the registry has an optional ``metadata: ObjectMeta``
    field; a request body may leave it out, so create it rather than check at every use.
    """
    meta = getattr(obj, "metadata", None)
    if meta is None:
        meta = metav1.ObjectMeta()
        obj.metadata = meta  # type: ignore[attr-defined]
    if not isinstance(meta, metav1.ObjectMeta):
        raise TypeError(f"{type(obj).__name__}.metadata is not an ObjectMeta")
    return meta


def now() -> datetime.datetime:
    """The current time as the API stores timestamps: UTC, whole seconds."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def validate_object_meta(
    meta: metav1.ObjectMeta,
    *,
    namespaced: bool,
    name_validator: NameValidator,
    path: field.Path | None = None,
) -> field.ErrorList:
    """Every generic problem with ``meta`` of an object about to be stored.

    Name (required unless generateName is set; checked by ``name_validator``), namespace
    (required exactly for namespaced resources), label keys and values, annotation keys
    and total size, finalizer names. ``path`` defaults to ``metadata``.
    """
    path = path or field.new_path("metadata")
    errs = field.ErrorList()
    if meta.generate_name:
        # Go checks the prefix with the same rule, allowing the trailing dash a prefix has.
        prefix = meta.generate_name.removesuffix("-") or meta.generate_name
        errs.extend(
            field.invalid(path.child("generateName"), meta.generate_name, msg)
            for msg in name_validator(prefix)
        )
    if not meta.name:
        if not meta.generate_name:
            errs.append(field.required(path.child("name"), "name or generateName is required"))
    else:
        errs.extend(
            field.invalid(path.child("name"), meta.name, msg) for msg in name_validator(meta.name)
        )
    if namespaced:
        if not meta.namespace:
            errs.append(field.required(path.child("namespace"), ""))
        else:
            errs.extend(
                field.invalid(path.child("namespace"), meta.namespace, msg)
                for msg in validation.is_dns1123_label(meta.namespace)
            )
    elif meta.namespace:
        errs.append(field.forbidden(path.child("namespace"), "not allowed on this type"))
    errs.extend(_validate_labels(meta.labels or {}, path.child("labels")))
    errs.extend(_validate_annotations(meta.annotations or {}, path.child("annotations")))
    errs.extend(_validate_finalizers(meta.finalizers or [], path.child("finalizers")))
    return errs


def _validate_labels(labels: dict[str, str], path: field.Path) -> field.ErrorList:
    errs = field.ErrorList()
    for key, value in labels.items():
        errs.extend(field.invalid(path, key, msg) for msg in validation.is_qualified_name(key))
        # Go reports a bad value on the labels path itself, not on the key.
        errs.extend(
            field.invalid(path, value, msg) for msg in validation.is_valid_label_value(value)
        )
    return errs


def _validate_annotations(annotations: dict[str, str], path: field.Path) -> field.ErrorList:
    errs = field.ErrorList()
    total = 0
    for key, value in annotations.items():
        errs.extend(
            field.invalid(path, key, msg) for msg in validation.is_qualified_name(key.lower())
        )
        total += len(key.encode()) + len(value.encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(field.too_long(path, "", TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def _validate_finalizers(finalizers: list[str], path: field.Path) -> field.ErrorList:
    errs = field.ErrorList()
    for i, name in enumerate(finalizers):
        errs.extend(
            field.invalid(path.index(i), name, msg) for msg in validation.is_qualified_name(name)
        )
    return errs


def validate_object_meta_update(
    new: metav1.ObjectMeta, old: metav1.ObjectMeta, path: field.Path | None = None
) -> field.ErrorList:
    """Problems with changing ``old`` into ``new``: the server-owned identity is immutable.

    Name, namespace, uid and creationTimestamp may not change, and an object being deleted
    may not gain finalizers (the identity half of Go's ``ValidateObjectMetaUpdate``; the
    update driver runs it for every resource, and strategies check the new object's
    labels, annotations and name through :func:`validate_object_meta` in
    ``validate_update``, so that no error is reported twice).
    """
    path = path or field.new_path("metadata")
    errs = field.ErrorList()
    for name, new_value, old_value in (
        ("name", new.name, old.name),
        ("namespace", new.namespace, old.namespace),
        ("uid", new.uid, old.uid),
        ("creationTimestamp", new.creation_timestamp, old.creation_timestamp),
    ):
        if new_value != old_value:
            shown = new_value.isoformat() if isinstance(new_value, datetime.datetime) else new_value
            errs.append(field.invalid(path.child(name), shown or "", _IMMUTABLE))
    if old.deletion_timestamp is not None:
        added = [f for f in new.finalizers or [] if f not in set(old.finalizers or [])]
        if added:
            shown_list = ", ".join(f'"{f}"' for f in added)
            errs.append(
                field.forbidden(
                    path.child("finalizers"),
                    "no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers []string{{{shown_list}}}",
                )
            )
    return errs
