"""``kubectl get`` Tables of the porch.kpt.dev resources: Porch's columns, types and cells."""

from __future__ import annotations

import pytest

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import codec, errors
from pkg.registry.porch import porchtesting, table

CTX = porchtesting.context()


def _revision(
    name: str, *, revision: int | None, lifecycle: str, latest: bool = False
) -> porchv1alpha1.PackageRevision:
    return porchv1alpha1.PackageRevision.model_validate(
        {
            "apiVersion": "porch.kpt.dev/v1alpha1",
            "kind": "PackageRevision",
            "metadata": {
                "name": name,
                "namespace": "default",
                "labels": {"kpt.dev/latest-revision": "true"} if latest else {"team": "blue"},
            },
            "spec": {
                "packageName": "path/app",
                "workspaceName": name.rsplit(".", 1)[-1],
                "repository": "blueprints",
                "lifecycle": lifecycle,
                **({"revision": revision} if revision is not None else {}),
            },
        }
    )


def test_packagerevisions_columns_and_cells() -> None:
    rows = [
        _revision("blueprints.path.app.v1", revision=1, lifecycle="Published", latest=True),
        _revision("blueprints.path.app.draft", revision=None, lifecycle="Draft"),
        _revision("blueprints.path.app.main", revision=-1, lifecycle="Published"),
    ]
    got = codec.to_dict(table.PACKAGE_REVISIONS.convert_to_table(CTX, rows, "None"))
    assert got["columnDefinitions"] == [
        {"name": name, "type": kind, "format": "", "description": "", "priority": 0}
        for name, kind in (
            ("Name", "string"),
            ("Package", "string"),
            ("WorkspaceName", "string"),
            ("Revision", "integer"),
            ("Latest", "boolean"),
            ("Lifecycle", "string"),
            ("Repository", "string"),
        )
    ]
    assert [row["cells"] for row in got["rows"]] == [
        ["blueprints.path.app.v1", "path/app", "v1", 1, True, "Published", "blueprints"],
        ["blueprints.path.app.draft", "path/app", "draft", 0, False, "Draft", "blueprints"],
        ["blueprints.path.app.main", "path/app", "main", -1, False, "Published", "blueprints"],
    ]
    assert all("object" not in row or row["object"] is None for row in got["rows"])


def test_rows_carry_metadata_for_kubectl_by_default() -> None:
    row = _revision("blueprints.path.app.v1", revision=1, lifecycle="Published")
    got = table.PACKAGE_REVISIONS.convert_to_table(CTX, [row], "Metadata")
    obj = got.rows[0].object
    assert obj is not None
    data = codec.to_dict(obj)
    assert data["kind"] == "PartialObjectMetadata"
    assert data["metadata"]["labels"] == {"team": "blue"}


def test_packagerevisionresources_count_files() -> None:
    prr = porchv1alpha1.PackageRevisionResources.model_validate(
        {
            "metadata": {"name": "repo.app.ws", "namespace": "default"},
            "spec": {
                "packageName": "app",
                "workspaceName": "ws",
                "repository": "repo",
                "resources": {"Kptfile": "x", "README.md": "y", "a/b.yaml": "z"},
            },
        }
    )
    got = table.PACKAGE_REVISION_RESOURCES.convert_to_table(CTX, [prr], "None")
    assert [(c.name, c.type) for c in got.column_definitions] == [
        ("Name", "string"),
        ("Package", "string"),
        ("WorkspaceName", "string"),
        ("Revision", "integer"),
        ("Repository", "string"),
        ("Files", "integer"),
    ]
    assert got.rows[0].cells == ["repo.app.ws", "app", "ws", 0, "repo", 3]


def test_packages_show_the_latest_revision() -> None:
    pkg = porchv1alpha1.PorchPackage.model_validate(
        {
            "metadata": {"name": "repo.path.app", "namespace": "default"},
            "spec": {"packageName": "path/app", "repository": "repo"},
            "status": {"latestRevision": 4},
        }
    )
    got = table.PACKAGES.convert_to_table(CTX, [pkg], "None")
    assert [(c.name, c.type) for c in got.column_definitions] == [
        ("Name", "string"),
        ("Package", "string"),
        ("Repository", "string"),
        ("Latest Revision", "integer"),
    ]
    assert got.rows[0].cells == ["repo.path.app", "path/app", "repo", 4]


def test_an_object_of_another_type_is_not_acceptable() -> None:
    with pytest.raises(errors.StatusError) as info:
        table.PACKAGES.convert_to_table(CTX, [metav1.Status()], "None")
    assert (info.value.code, info.value.reason, info.value.message) == (
        406,
        "NotAcceptable",
        "packages.porch.kpt.dev does not support Table format",
    )
