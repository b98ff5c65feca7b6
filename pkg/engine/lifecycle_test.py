"""Tests of the lifecycle table: every (endpoint, from, to) pair against Porch's state machine."""

from __future__ import annotations

import itertools

import pytest

from pkg.engine import lifecycle
from pkg.repository import repository as repo_api

L = repo_api.Lifecycle

ALLOWED = {
    (lifecycle.Endpoint.MAIN, L.DRAFT, L.DRAFT),
    (lifecycle.Endpoint.MAIN, L.DRAFT, L.PROPOSED),
    (lifecycle.Endpoint.MAIN, L.PROPOSED, L.DRAFT),
    (lifecycle.Endpoint.MAIN, L.PROPOSED, L.PROPOSED),
    (lifecycle.Endpoint.MAIN, L.PUBLISHED, L.PUBLISHED),
    (lifecycle.Endpoint.MAIN, L.PUBLISHED, L.DELETION_PROPOSED),
    (lifecycle.Endpoint.MAIN, L.DELETION_PROPOSED, L.PUBLISHED),
    (lifecycle.Endpoint.MAIN, L.DELETION_PROPOSED, L.DELETION_PROPOSED),
    (lifecycle.Endpoint.APPROVAL, L.PROPOSED, L.DRAFT),
    (lifecycle.Endpoint.APPROVAL, L.PROPOSED, L.PUBLISHED),
    (lifecycle.Endpoint.APPROVAL, L.PUBLISHED, L.DELETION_PROPOSED),
    (lifecycle.Endpoint.APPROVAL, L.DELETION_PROPOSED, L.PUBLISHED),
}


@pytest.mark.parametrize(
    ("endpoint", "old", "new"),
    list(itertools.product(lifecycle.Endpoint, L, L)),
    ids=lambda v: str(v.value) if hasattr(v, "value") else str(v),
)
def test_transition_table(endpoint: lifecycle.Endpoint, old: L, new: L) -> None:
    errs = lifecycle.check_transition(endpoint, old, new.value)
    assert (not errs) == ((endpoint, old, new) in ALLOWED)
    assert all(e.field in ("spec.lifecycle", "spec") for e in errs)


def test_empty_lifecycle_means_draft() -> None:
    assert not lifecycle.check_transition(lifecycle.Endpoint.MAIN, L.PROPOSED, "")
    assert lifecycle.parse_lifecycle(None) is L.DRAFT


@pytest.mark.parametrize(
    ("endpoint", "old", "new", "message"),
    [
        (
            lifecycle.Endpoint.MAIN,
            L.DRAFT,
            "Final",
            'spec.lifecycle: Invalid value: "Final": value can be only updated to '
            "Draft,Proposed,Published,DeletionProposed",
        ),
        (
            lifecycle.Endpoint.APPROVAL,
            L.DRAFT,
            "Published",
            'spec.lifecycle: Invalid value: "Draft": cannot approve package with Draft lifecycle '
            "value; only Proposed packages can be approved",
        ),
        (
            lifecycle.Endpoint.APPROVAL,
            L.DELETION_PROPOSED,
            "Draft",
            'spec.lifecycle: Invalid value: "DeletionProposed": package with DeletionProposed '
            "lifecycle value can only be updated to 'Published'",
        ),
    ],
)
def test_messages(endpoint: lifecycle.Endpoint, old: L, new: str, message: str) -> None:
    assert lifecycle.check_transition(endpoint, old, new).to_aggregate() == message


def test_deletion_approval_of_unpublished_says_why() -> None:
    errs = lifecycle.check_transition(lifecycle.Endpoint.APPROVAL, L.DRAFT, "DeletionProposed")
    assert [e.detail for e in errs] == [
        "cannot approve package with Draft lifecycle value; only Proposed packages can be approved",
        "cannot update lifecycle DeletionProposed; only Published packages require approval "
        "for deletion",
    ]
