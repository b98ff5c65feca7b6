"""The real kubectl's server-side apply against a real standalone porch-server: field
ownership, conflicts as kubectl prints them, ``--force-conflicts``, fields removed by leaving
them out, ``--show-managed-fields``, and client-side writes followed by a server-side apply.
Repositories point at local git repositories, so each one is a real, synced Repository."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from test.e2e import conftest as e2e
from test.e2e.server import conftest as server_fixtures

pytestmark = pytest.mark.e2e

API_VERSION = "config.porch.kpt.dev/v1alpha1"


@pytest.fixture
def manifest(shared_server: e2e.PorchServer) -> Callable[..., str]:
    """A Repository manifest over a local git repository of the same name."""
    urls: dict[str, str] = {}

    def build(name: str, labels: dict[str, str] | None = None, **spec: Any) -> str:
        if name not in urls:
            urls[name] = shared_server.local_repository(name)
        metadata: dict[str, Any] = {"name": name}
        if labels:
            metadata["labels"] = labels
        return yaml.safe_dump(
            {
                "apiVersion": API_VERSION,
                "kind": "Repository",
                "metadata": metadata,
                "spec": {"type": "git", "git": {"repo": urls[name], "branch": "main"}, **spec},
            }
        )

    return build


def _get(kubectl: server_fixtures.Kubectl, name: str) -> dict[str, Any]:
    out = kubectl("get", "repository", name, "-o", "json", "--show-managed-fields").stdout
    result: dict[str, Any] = json.loads(out)
    return result


def _managers(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (entry["manager"], entry["operation"]): entry["fieldsV1"]
        for entry in obj["metadata"].get("managedFields", [])
    }


def _ssa(kubectl: server_fixtures.Kubectl, text: str, *flags: str, check: bool = True) -> Any:
    return kubectl("apply", "--server-side", *flags, "-f", "-", input=text, check=check)


def test_a_second_manager_conflicts_then_forces_and_takes_ownership(
    kubectl: server_fixtures.Kubectl, manifest: Callable[..., str]
) -> None:
    first = _ssa(kubectl, manifest("owned", description="alice's"), "--field-manager=alice")
    assert first.stdout.strip() == "repository.config.porch.kpt.dev/owned serverside-applied"

    refused = _ssa(
        kubectl, manifest("owned", description="bob's"), "--field-manager=bob", check=False
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        'error: Apply failed with 1 conflict: conflict with "alice": .spec.description\n'
    )
    assert "--force-conflicts" in refused.stderr
    assert _get(kubectl, "owned")["spec"]["description"] == "alice's"

    _ssa(
        kubectl,
        manifest("owned", description="bob's"),
        "--field-manager=bob",
        "--force-conflicts",
    )
    obj = _get(kubectl, "owned")
    assert obj["spec"]["description"] == "bob's"
    managers = _managers(obj)
    assert managers[("bob", "Apply")]["f:spec"]["f:description"] == {}
    # alice still co-owns what both applied with equal values, but not the description.
    assert "f:description" not in managers[("alice", "Apply")]["f:spec"]
    assert managers[("alice", "Apply")]["f:spec"]["f:git"]["f:repo"] == {}


def test_a_field_left_out_of_the_applied_file_disappears(
    kubectl: server_fixtures.Kubectl, manifest: Callable[..., str]
) -> None:
    _ssa(
        kubectl,
        manifest("pruned", labels={"team": "a", "tier": "x"}, description="d"),
        "--field-manager=alice",
    )
    obj = _get(kubectl, "pruned")
    assert obj["metadata"]["labels"] == {"team": "a", "tier": "x"}
    _ssa(kubectl, manifest("pruned", labels={"team": "a"}), "--field-manager=alice")
    obj = _get(kubectl, "pruned")
    assert obj["metadata"]["labels"] == {"team": "a"}
    assert "description" not in obj["spec"]
    assert _managers(obj)[("alice", "Apply")] == {
        "f:metadata": {"f:labels": {"f:team": {}}},
        "f:spec": {"f:git": {"f:branch": {}, "f:repo": {}}, "f:type": {}},
    }


def test_show_managed_fields_prints_the_entries(
    kubectl: server_fixtures.Kubectl, manifest: Callable[..., str]
) -> None:
    _ssa(kubectl, manifest("shown", description="d"), "--field-manager=alice")
    hidden = yaml.safe_load(kubectl("get", "repository", "shown", "-o", "yaml").stdout)
    assert "managedFields" not in hidden["metadata"]
    shown = yaml.safe_load(
        kubectl("get", "repository", "shown", "-o", "yaml", "--show-managed-fields").stdout
    )
    [entry] = shown["metadata"]["managedFields"]
    assert entry["manager"] == "alice"
    assert entry["operation"] == "Apply"
    assert entry["apiVersion"] == API_VERSION
    assert entry["fieldsType"] == "FieldsV1"
    assert entry["fieldsV1"]["f:spec"]["f:description"] == {}
    assert "time" in entry


def test_client_side_apply_then_server_side_apply_conflicts(
    kubectl: server_fixtures.Kubectl, manifest: Callable[..., str]
) -> None:
    kubectl("apply", "-f", "-", input=manifest("csa", description="one"))
    obj = _get(kubectl, "csa")
    assert ("kubectl-client-side-apply", "Update") in _managers(obj)

    refused = _ssa(kubectl, manifest("csa", description="two"), "--field-manager=ssa", check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        'error: Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using '
        "config.porch.kpt.dev/v1alpha1: .spec.description\n"
    )

    # An edit-style merge patch takes the field; the next apply conflicts with it.
    kubectl("patch", "repository", "csa", "--type=merge", "-p", '{"spec":{"description":"p"}}')
    assert ("kubectl-patch", "Update") in _managers(_get(kubectl, "csa"))
    refused = _ssa(kubectl, manifest("csa", description="two"), "--field-manager=ssa", check=False)
    assert refused.stderr.startswith(
        'error: Apply failed with 1 conflict: conflict with "kubectl-patch" using '
        "config.porch.kpt.dev/v1alpha1: .spec.description\n"
    )


def test_kubectl_upgrades_from_client_side_apply_without_conflicts(
    kubectl: server_fixtures.Kubectl, manifest: Callable[..., str]
) -> None:
    kubectl("apply", "-f", "-", input=manifest("upgraded", description="one"))
    # kubectl's own manager may take over what client-side apply set, as in Kubernetes.
    _ssa(kubectl, manifest("upgraded", description="two"))
    obj = _get(kubectl, "upgraded")
    assert obj["spec"]["description"] == "two"
    last_applied = json.loads(
        obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )
    assert last_applied["spec"]["description"] == "two"
    assert _managers(obj)[("kubectl", "Apply")]["f:spec"]["f:description"] == {}
