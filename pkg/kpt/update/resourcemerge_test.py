"""Tests of resource pairing and per-resource handling in `resourcemerge` (Porch's merge3)."""

from __future__ import annotations

from pkg.kpt.update import resourcemerge

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:{comment}\n  name: {name}\ndata:\n  a: '{a}'\n"


def cm(name: str, a: str = "1", comment: str = "") -> str:
    return CM.format(name=name, a=a, comment=f" # kpt-merge: {comment}" if comment else "")


def test_resource_deleted_upstream_is_kept_when_clone_marked_it() -> None:
    """The merge comment clone adds makes the local copy differ from the original (Porch
    compares documents with comments), so an upstream deletion does not remove it."""
    out = resourcemerge.merge_resources({"c.yaml": cm("c")}, {}, {"c.yaml": cm("c", comment="/c")})
    assert out == {"c.yaml": cm("c", comment="/c")}


def test_resource_moved_to_another_file_is_not_paired() -> None:
    out = resourcemerge.merge_resources(
        {"a.yaml": cm("c")}, {"a.yaml": cm("c", a="2")}, {"b.yaml": cm("c")}
    )
    assert out == {"b.yaml": cm("c")}


def test_new_upstream_resource_joins_an_existing_local_file() -> None:
    out = resourcemerge.merge_resources(
        {"a.yaml": cm("x")},
        {"a.yaml": cm("x") + "---\n" + cm("y")},
        {"a.yaml": cm("x", a="local")},
    )
    assert out == {"a.yaml": cm("x", a="local") + "---\n" + cm("y")}


def test_merge_comment_parsing() -> None:
    assert resourcemerge.ns_and_name_for_merge("# kpt-merge: ns/name") == ("ns", "name")
    assert resourcemerge.ns_and_name_for_merge("# kpt-merge: /name") == ("", "name")
    assert resourcemerge.ns_and_name_for_merge("# kpt-merge: name") is None
    assert resourcemerge.ns_and_name_for_merge("# other: ns/name") is None
