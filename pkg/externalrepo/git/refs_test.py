"""Ref names of Porch's layout and how fetched refs are classified."""

from __future__ import annotations

import pytest

from pkg.externalrepo.git import refs


@pytest.mark.parametrize(
    ("ref", "kind", "full_path", "suffix"),
    [
        ("refs/remotes/origin/main", refs.RefKind.BRANCH, "", ""),
        ("refs/remotes/origin/drafts/a/b/pkg/ws", refs.RefKind.DRAFT, "a/b/pkg", "ws"),
        ("refs/remotes/origin/proposed/pkg/ws", refs.RefKind.PROPOSED, "pkg", "ws"),
        (
            "refs/remotes/origin/deletionProposed/pkg/v3",
            refs.RefKind.DELETION_PROPOSED,
            "pkg",
            "v3",
        ),
        ("refs/tags/catalog/pkg/v2", refs.RefKind.TAG, "catalog/pkg", "v2"),
        ("refs/tags/v1.0", refs.RefKind.OTHER, "", ""),  # release tag: no package
        ("refs/remotes/origin/drafts/ws", refs.RefKind.OTHER, "", ""),  # no package path
        ("refs/remotes/origin/feature", refs.RefKind.OTHER, "", ""),
        ("refs/remotes/origin/blueprint/bp1/v1", refs.RefKind.OTHER, "", ""),
    ],
)
def test_classify(ref: str, kind: refs.RefKind, full_path: str, suffix: str) -> None:
    assert refs.classify(ref, "main") == refs.ClassifiedRef(kind, full_path, suffix)


def test_registered_branch_can_be_nested() -> None:
    assert refs.classify("refs/remotes/origin/nested/release", "nested/release").kind is (
        refs.RefKind.BRANCH
    )


@pytest.mark.parametrize(
    ("suffix", "revision"), [("v1", 1), ("12", 12), ("v2.0.0", -1), ("main", -1), ("v", -1)]
)
def test_tag_revision(suffix: str, revision: int) -> None:
    assert refs.tag_revision(suffix) == revision


def test_names_and_translations() -> None:
    assert refs.draft_branch("a/pkg", "ws") == "drafts/a/pkg/ws"
    assert refs.proposed_branch("pkg", "ws") == "proposed/pkg/ws"
    assert refs.deletion_proposed_branch("pkg", "v2") == "deletionProposed/pkg/v2"
    assert refs.published_tag("a/pkg", 3) == "a/pkg/v3"
    assert refs.remote_to_local("refs/heads/drafts/p/w") == "refs/remotes/origin/drafts/p/w"
    assert refs.local_to_remote("refs/remotes/origin/main") == "refs/heads/main"
    assert refs.remote_to_local("refs/tags/p/v1") == "refs/tags/p/v1"
    assert refs.short("refs/heads/drafts/p/w") == "drafts/p/w"
    assert refs.short("refs/tags/p/v1") == "p/v1"
    assert refs.in_directory("catalog/pkg", "catalog")
    assert not refs.in_directory("catalog", "catalog")
    assert not refs.in_directory("catalogue/pkg", "catalog")
    assert refs.in_directory("pkg", "")
    assert refs.relative_to("catalog/gcp/bucket", "catalog/gcp") == "bucket"
