"""Optimistic concurrency with the real kubectl against a real standalone porch-server.

A label change of a Published PackageRevision makes no git commit, but it is a change: it
moves the revision's resourceVersion, so a client that read the revision before the label
and writes back its copy gets 409 Conflict with Porch's text instead of silently undoing
the label.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from test.e2e import conftest as e2e
from test.e2e.server import conftest as fixtures

pytestmark = pytest.mark.e2e

REPO = "concurrency"


def _get(kubectl: fixtures.Kubectl, name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(
        kubectl("get", "packagerevision", name, "-o", "json").stdout
    )
    return result


def _published(kubectl: fixtures.Kubectl, package: str) -> str:
    """Create ``package`` in REPO with kubectl, propose it and approve it; its name."""
    name = f"{REPO}.{package}.v1"
    kubectl("create", "-f", "-", input=fixtures.package_revision_manifest(REPO, package, "v1"))
    kubectl(
        "patch",
        "packagerevision",
        name,
        "--type=merge",
        "-p",
        '{"spec":{"lifecycle":"Proposed"}}',
    )
    kubectl(
        "patch",
        "packagerevision",
        name,
        "--subresource=approval",
        "--type=merge",
        "-p",
        '{"spec":{"lifecycle":"Published"}}',
    )
    return name


def test_replace_of_a_copy_read_before_a_label_is_a_conflict(
    shared_server: e2e.PorchServer, kubectl: fixtures.Kubectl
) -> None:
    fixtures.register(kubectl, REPO, shared_server.local_repository(REPO))
    name = _published(kubectl, "labelled")
    stale = _get(kubectl, name)
    assert stale["spec"]["lifecycle"] == "Published"

    out = kubectl("label", "packagerevision", name, "team=blue").stdout
    assert out.strip() == f"packagerevision.porch.kpt.dev/{name} labeled"
    labelled = _get(kubectl, name)
    assert labelled["metadata"]["labels"]["team"] == "blue"
    assert labelled["metadata"]["resourceVersion"] != stale["metadata"]["resourceVersion"]

    stale["metadata"].setdefault("annotations", {})["owner"] = "alice"
    replaced = kubectl("replace", "-f", "-", input=json.dumps(stale), check=False)
    assert replaced.returncode == 1
    assert "Error from server (Conflict)" in replaced.stderr
    assert (
        "Operation cannot be fulfilled on packagerevisions.porch.kpt.dev "
        f'"{name}": the object has been modified; please apply your changes to the latest '
        "version and try again"
    ) in replaced.stderr
    # Nothing of the stale copy was stored, and the label is still there.
    current = _get(kubectl, name)
    assert current["metadata"]["labels"]["team"] == "blue"
    assert "owner" not in (current["metadata"].get("annotations") or {})
    assert current["metadata"]["resourceVersion"] == labelled["metadata"]["resourceVersion"]
