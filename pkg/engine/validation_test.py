"""Tests of the request validation functions the engine and the registry share."""

from __future__ import annotations

from api.porch import v1alpha1 as porchv1alpha1
from pkg.engine import enginetesting, lifecycle, validation


def test_valid_create_has_no_errors() -> None:
    assert validation.validate_create(enginetesting.package_revision("a/b-c", "ws-1")) == []


def test_all_create_problems_are_reported_together() -> None:
    obj = enginetesting.package_revision(
        "A", "", lifecycle="Proposed", labels={"kpt.dev/latest-revision": "true"}
    )
    assert [e.field for e in validation.validate_create(obj)] == [
        "metadata.labels[kpt.dev/latest-revision]",
        "spec.packageName",
        "spec.workspaceName",
        "spec.lifecycle",
    ]


def test_missing_package_metadata_is_taken_from_the_old_object() -> None:
    metadata = porchv1alpha1.PackageMetadata(labels={"a": "b"})
    old = enginetesting.package_revision("p", "ws", package_metadata=metadata)
    new = enginetesting.package_revision("p", "ws")
    prepared = validation.prepare_for_update(old, new)
    assert prepared.spec is not None and prepared.spec.package_metadata == metadata
    assert new.spec is not None and new.spec.package_metadata is None


def test_published_spec_may_only_toggle_lifecycle() -> None:
    old = enginetesting.package_revision("p", "ws", lifecycle="Published")
    toggled = enginetesting.package_revision("p", "ws", lifecycle="DeletionProposed")
    assert validation.validate_update(lifecycle.Endpoint.MAIN, old, toggled) == []
    changed = enginetesting.package_revision(
        "p", "ws", lifecycle="Published", readiness_gates=["x"]
    )
    errs = validation.validate_update(lifecycle.Endpoint.MAIN, old, changed)
    assert [e.field for e in errs] == ["spec"]
    # Empty and absent lists are the same spec.
    empty = enginetesting.package_revision("p", "ws", lifecycle="Published", readiness_gates=[])
    assert validation.validate_update(lifecycle.Endpoint.MAIN, old, empty) == []
