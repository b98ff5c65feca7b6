"""The packagerevisions/approval strategy through the update driver: the approval table and
"lifecycle only"."""

from __future__ import annotations

from typing import Any

import pytest

from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import codec, errors
from pkg.engine import enginetesting
from pkg.registry.porch import porchtesting, strategyapproval
from pkg.registry.rest import update

KIND = errors.GroupKind("porch.kpt.dev", "PackageRevision")


def _stored(lifecycle: str) -> porchv1alpha1.PackageRevision:
    return porchv1alpha1.PackageRevision.model_validate(
        {
            "metadata": {
                "name": "repo.app.ws",
                "namespace": "default",
                "uid": "uid-1",
                "resourceVersion": "abc",
                "labels": {"team": "blue"},
            },
            "spec": {
                "packageName": "app",
                "workspaceName": "ws",
                "repository": "repo",
                "lifecycle": lifecycle,
            },
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
    )


def _approve(old: porchv1alpha1.PackageRevision, lifecycle: Any) -> porchv1alpha1.PackageRevision:
    new = old.model_copy(deep=True)
    assert new.spec is not None
    new.spec.lifecycle = lifecycle
    update.before_update(strategyapproval.STRATEGY, porchtesting.context(), new, old, KIND)
    return new


@pytest.mark.parametrize(
    ("old", "new", "messages"),
    [
        ("Proposed", "Published", []),
        ("Proposed", "Draft", []),
        ("Proposed", None, []),
        ("Published", "DeletionProposed", []),
        ("DeletionProposed", "Published", []),
        (
            "Draft",
            "Published",
            [
                "cannot approve package with Draft lifecycle value; only Proposed packages can "
                "be approved"
            ],
        ),
        (
            "Draft",
            "DeletionProposed",
            [
                "cannot approve package with Draft lifecycle value; only Proposed packages can "
                "be approved",
                "cannot update lifecycle DeletionProposed; only Published packages require "
                "approval for deletion",
            ],
        ),
        ("Proposed", "DeletionProposed", ["value for approval can be only one of Draft,Published"]),
        (
            "Published",
            "Draft",
            ["package with Published lifecycle value can only be updated to 'ProposeDeletion'"],
        ),
        (
            "DeletionProposed",
            "Draft",
            ["package with DeletionProposed lifecycle value can only be updated to 'Published'"],
        ),
        ("Proposed", "Final", ["value for approval can be only one of Draft,Published"]),
    ],
)
def test_approval_table(old: str, new: str | None, messages: list[str]) -> None:
    if not messages:
        approved = _approve(_stored(old), new)
        assert approved.spec is not None and approved.spec.lifecycle == (new or "Draft")
        return
    with pytest.raises(errors.StatusError) as info:
        _approve(_stored(old), new)
    assert (info.value.code, info.value.reason) == (422, "Invalid")
    assert info.value.details is not None
    got = [c.message or "" for c in info.value.details.causes or []]
    assert len(got) == len(messages)
    for message, want in zip(got, messages, strict=True):
        assert message.endswith(want), message


def test_approval_keeps_everything_but_the_lifecycle_and_the_resource_version() -> None:
    old = _stored("Proposed")
    new = old.model_copy(deep=True)
    assert new.spec is not None and new.metadata is not None
    new.spec.lifecycle = "Published"
    new.spec.readiness_gates = [porchv1alpha1.ReadinessGate(condition_type="sneaked")]
    new.metadata.labels = {"team": "red"}
    new.metadata.resource_version = "stale"
    new.status = None
    update.before_update(strategyapproval.STRATEGY, porchtesting.context(), new, old, KIND)
    prepared = codec.to_dict(new)  # what the engine will be given
    assert prepared["spec"]["lifecycle"] == "Published"
    assert "readinessGates" not in prepared["spec"]
    assert prepared["metadata"]["labels"] == {"team": "blue"}
    assert prepared["metadata"]["resourceVersion"] == "stale", "a stale copy must stay stale"
    assert prepared["status"] == codec.to_dict(old)["status"]


def test_approval_keeps_the_managed_fields_the_api_server_hands_over() -> None:
    old = _stored("Proposed")
    assert old.metadata is not None
    author = enginetesting.managed_fields_entry("kubectl-client-side-apply")
    approver = enginetesting.managed_fields_entry("porchctl", subresource="approval")
    old.metadata.managed_fields = [author]
    for handed_over, prepared in (([author, approver], [author, approver]), (None, [author])):
        new = old.model_copy(deep=True)
        assert new.spec is not None and new.metadata is not None
        new.spec.lifecycle = "Published"
        new.metadata.managed_fields = handed_over
        update.before_update(strategyapproval.STRATEGY, porchtesting.context(), new, old, KIND)
        # The approver's entry is what the engine is given; left unset, the stored ones.
        assert new.metadata.managed_fields == prepared


def test_approval_never_creates() -> None:
    assert strategyapproval.STRATEGY.allow_create_on_update() is False
