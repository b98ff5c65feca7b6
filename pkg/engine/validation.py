"""Request validation of PackageRevision creates and updates, as pure functions.

Where it sits: the engine (`pkg.engine.engine.CaDEngine`) runs these before it touches a
repository; the registry's strategies may run the same functions (`Validate`,
`ValidateUpdate`) so that a bad request is refused before the engine is called. Each function
returns a `field.ErrorList` (empty when valid) with Porch's strategy messages (porch.md §3.2,
§3.4); the engine raises them as one `ValidationError` (422 Invalid).
"""

from __future__ import annotations

from typing import Any

from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import codec, field, validation
from pkg.engine import lifecycle

__all__ = [
    "prepare_for_update",
    "validate_create",
    "validate_update",
]

_LATEST_PATH = field.new_path("metadata", "labels").key(porchv1alpha1.LATEST_REVISION_LABEL)


def _labels(obj: porchv1alpha1.PackageRevision) -> dict[str, str]:
    return dict(obj.metadata.labels or {}) if obj.metadata is not None else {}


def directory_name_problem(path: str) -> str | None:
    """Porch's `ValidateDirectoryName(path, mandatory=true)`: a package path is DNS-1123
    labels joined by `/`. Returns the problem, None when valid."""
    if "//" in path:
        return "consecutive '/' characters are not allowed"
    problems = validation.is_dns1123_label(path.replace("/", ""))
    return ",".join(problems) if problems else None


def validate_create(obj: porchv1alpha1.PackageRevision) -> field.ErrorList:
    """`packageRevisionStrategy.Validate`: the latest-revision label is Porch's, the package
    name is a path of DNS labels, the workspace a DNS label, and a revision starts as Draft."""
    errs = field.ErrorList()
    spec = obj.spec or porchv1alpha1.PackageRevisionSpec()
    if porchv1alpha1.LATEST_REVISION_LABEL in _labels(obj):
        errs.append(
            field.forbidden(_LATEST_PATH, "label is managed by porch and cannot be set by users")
        )
    package_name = spec.package_name or ""
    if (problem := directory_name_problem(package_name)) is not None:
        errs.append(field.invalid(field.new_path("spec", "packageName"), package_name, problem))
    workspace = spec.workspace_name or ""
    if problems := validation.is_dns1123_label(workspace):
        errs.append(
            field.invalid(field.new_path("spec", "workspaceName"), workspace, ",".join(problems))
        )
    parsed = lifecycle.parse_lifecycle(spec.lifecycle)
    if parsed not in lifecycle.CREATE_LIFECYCLES:
        errs.append(
            field.invalid(
                field.new_path("spec", "lifecycle"),
                spec.lifecycle,
                "value can be only created as Draft",
            )
        )
    return errs


def prepare_for_update(
    old: porchv1alpha1.PackageRevision, new: porchv1alpha1.PackageRevision
) -> porchv1alpha1.PackageRevision:
    """`PrepareForUpdate`: a missing `spec.packageMetadata` in the new object is taken from the
    old one (clients that do not know the field must not wipe the Kptfile's labels). Returns
    a new object; `new` is not changed."""
    old_spec = old.spec or porchv1alpha1.PackageRevisionSpec()
    new_spec = new.spec or porchv1alpha1.PackageRevisionSpec()
    if new_spec.package_metadata is None and old_spec.package_metadata is not None:
        new_spec = new_spec.model_copy(update={"package_metadata": old_spec.package_metadata})
        return new.model_copy(update={"spec": new_spec})
    return new


def _normalised(value: Any) -> Any:
    """JSON data with empty maps/lists dropped (Go's semantic equality treats nil and empty
    alike for our purposes)."""
    if isinstance(value, dict):
        out = {k: _normalised(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    return value


def _spec_data(spec: porchv1alpha1.PackageRevisionSpec | None, lifecycle_value: str) -> Any:
    data = codec.to_dict(spec) if spec is not None else {}
    data["lifecycle"] = lifecycle_value
    return _normalised(data)


def validate_update(
    endpoint: lifecycle.Endpoint,
    old: porchv1alpha1.PackageRevision,
    new: porchv1alpha1.PackageRevision,
) -> field.ErrorList:
    """`ValidateUpdate` of the main resource or the approval subresource: the latest-revision
    label may not change, the lifecycle change must be in the table, and a published
    revision's spec may change only in its lifecycle (Published <-> DeletionProposed)."""
    errs = field.ErrorList()
    if _labels(old).get(porchv1alpha1.LATEST_REVISION_LABEL, "") != _labels(new).get(
        porchv1alpha1.LATEST_REVISION_LABEL, ""
    ):
        errs.append(
            field.forbidden(
                _LATEST_PATH, "label is managed by porch and cannot be modified by users"
            )
        )
    old_lifecycle = lifecycle.parse_lifecycle(old.spec.lifecycle if old.spec else None)
    assert old_lifecycle is not None  # the server only serves known lifecycles
    new_value = new.spec.lifecycle if new.spec else None
    transition = lifecycle.check_transition(endpoint, old_lifecycle, new_value)
    errs.extend(transition)
    if (
        not transition
        and endpoint is lifecycle.Endpoint.MAIN
        and old_lifecycle.is_published
        and _spec_data(old.spec, "") != _spec_data(new.spec, "")
    ):
        errs.append(
            field.invalid(
                field.new_path("spec"),
                new_value,
                "spec can only update package with lifecycle value one of Draft,Proposed",
            )
        )
    return errs
