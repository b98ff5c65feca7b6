from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apiserver import apiservertesting, groups, openapi

OPENAPI = Path(__file__).resolve().parents[2] / "api" / "openapi"
ITEM = "/apis/config.porch.kpt.dev/v1alpha1/namespaces/{namespace}/repositories/{name}"


@pytest.fixture
def gv(db: apiservertesting.Database) -> groups.APIGroupVersion:
    repos = apiservertesting.repositories(db)
    return groups.APIGroupVersion(
        configv1alpha1.GROUP,
        configv1alpha1.VERSION,
        {"repositories": repos, "repositories/status": repos.status()},
        OPENAPI / "porchconfig" / "v1alpha1.yaml",
    )


@pytest.fixture
def document(gv: groups.APIGroupVersion) -> dict[str, Any]:
    return openapi.build_document(gv)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_kind_schemas_carry_their_gvk_as_a_list(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["dev.kpt.porchconfig.v1alpha1.Repository"]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "config.porch.kpt.dev", "version": "v1alpha1", "kind": "Repository"}
    ]


def test_every_ref_resolves_inside_the_document(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    refs = _refs(document)
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schemas
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in schemas


def test_ref_with_siblings_becomes_all_of(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["dev.kpt.porchconfig.v1alpha1.Repository"]
    metadata = schema["properties"]["metadata"]
    assert metadata["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    ]
    assert "description" in metadata


@pytest.mark.parametrize("path", [ITEM, f"{ITEM}/status"])
def test_patch_operations_tell_kubectl_the_server_validates_fields(
    document: dict[str, Any], path: str
) -> None:
    patch = document["paths"][path]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "config.porch.kpt.dev",
        "version": "v1alpha1",
        "kind": "Repository",
    }
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    # Strategic merge patch is accepted but not advertised (kubectl apply would send it).
    assert sorted(patch["requestBody"]["content"]) == [
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
    ]


def test_paths_follow_capabilities(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert set(paths[ITEM]) == {"get", "put", "patch", "delete", "parameters"}
    assert set(paths[f"{ITEM}/status"]) == {"get", "put", "patch", "parameters"}
    assert "get" in paths["/apis/config.porch.kpt.dev/v1alpha1/repositories"]


def test_root_lists_only_our_group_versions_with_hashes(gv: groups.APIGroupVersion) -> None:
    served = openapi.OpenAPIV3([gv])
    root = json.loads(served.root)
    assert list(root["paths"]) == ["apis/config.porch.kpt.dev/v1alpha1"]
    url = root["paths"]["apis/config.porch.kpt.dev/v1alpha1"]["serverRelativeURL"]
    found = served.document("apis/config.porch.kpt.dev/v1alpha1")
    assert found is not None
    body, etag = found
    assert url == f"/openapi/v3/apis/config.porch.kpt.dev/v1alpha1?hash={etag}"
    assert json.loads(body)["openapi"].startswith("3.0")


def test_core_documents_use_kubernetes_names() -> None:
    assert openapi.schema_prefix(OPENAPI / "core" / "v1.yaml") == "io.k8s.api.core.v1"
    assert openapi.schema_prefix(OPENAPI / "porch" / "v1alpha1.yaml") == "dev.kpt.porch.v1alpha1"
