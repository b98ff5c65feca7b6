"""Package revisions with the real kubectl against a real standalone porch-server, stored in
a loopback smart-HTTP git repository that wants basic auth (credentials from a Secret).

One server, one git server and one registered Repository ("blue") for the module; each
test works on packages of its own.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pkg.testing import gitserver
from test.e2e import conftest as e2e
from test.e2e.server import conftest as fixtures

pytestmark = pytest.mark.e2e

REPO = "blue"
PR_COLUMNS = ["NAME", "PACKAGE", "WORKSPACENAME", "REVISION", "LATEST", "LIFECYCLE", "REPOSITORY"]


@pytest.fixture(scope="module")
def blue(
    shared_server: e2e.PorchServer,
    git_remote: gitserver.GitServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """The Repository "blue" over the git server, registered with a basic-auth Secret."""
    cache = tmp_path_factory.mktemp("kube-cache")

    def kubectl(
        *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        return shared_server.kubectl(
            *args, input=input, check=check, timeout=timeout, cache_dir=cache
        )

    fixtures.create_git_secret(kubectl)
    fixtures.register(
        kubectl,
        REPO,
        fixtures.new_remote(git_remote, REPO),
        secret=fixtures.GIT_SECRET,
    )
    return REPO


def _create(kubectl: fixtures.Kubectl, package: str, workspace: str = "v1", **kw: Any) -> str:
    name = f"{REPO}.{package}.{workspace}"
    out = kubectl(
        "create",
        "-f",
        "-",
        input=fixtures.package_revision_manifest(REPO, package, workspace, **kw),
    ).stdout
    assert out.strip() == f"packagerevision.porch.kpt.dev/{name} created"
    return name


def _get(kubectl: fixtures.Kubectl, name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(
        kubectl("get", "packagerevision", name, "-o", "json").stdout
    )
    return result


def _table(kubectl: fixtures.Kubectl, *args: str) -> list[list[str]]:
    return [line.split() for line in kubectl("get", "packagerevisions", *args).stdout.splitlines()]


def _propose(kubectl: fixtures.Kubectl, name: str) -> None:
    kubectl(
        "patch",
        "packagerevision",
        name,
        "--type",
        "merge",
        "-p",
        '{"spec":{"lifecycle":"Proposed"}}',
    )


def _approve(kubectl: fixtures.Kubectl, name: str) -> None:
    kubectl(
        "patch",
        "packagerevision",
        name,
        "--subresource=approval",
        "--type",
        "merge",
        "-p",
        '{"spec":{"lifecycle":"Published"}}',
    )


def test_api_resources_lists_porch_resources_with_their_verbs(
    kubectl: fixtures.Kubectl,
) -> None:
    out = kubectl("api-resources", "--api-group=porch.kpt.dev", "-o", "wide").stdout
    lines = out.splitlines()
    assert lines[0].split() == [
        "NAME",
        "SHORTNAMES",
        "APIVERSION",
        "NAMESPACED",
        "KIND",
        "VERBS",
        "CATEGORIES",
    ]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows == {
        "packagerevisionresources": [
            "porch.kpt.dev/v1alpha1",
            "true",
            "PackageRevisionResources",
            "get,list,patch,update",
        ],
        "packagerevisions": [
            "porch.kpt.dev/v1alpha1",
            "true",
            "PackageRevision",
            "create,delete,get,list,patch,update,watch",
        ],
        "packages": ["porch.kpt.dev/v1alpha1", "true", "PorchPackage", "get,list"],
    }


def test_explain_packagerevision_spec(kubectl: fixtures.Kubectl) -> None:
    out = kubectl("explain", "packagerevision.spec").stdout
    assert "GROUP:      porch.kpt.dev" in out
    assert "KIND:       PackageRevision" in out
    for field in ("lifecycle", "packageName", "repository", "tasks", "workspaceName"):
        assert f"  {field}\t" in out, out


def _wait_for(
    lines: Callable[[], list[str]], predicate: Callable[[list[str]], bool], deadline: float
) -> None:
    while not predicate(lines()):
        assert time.monotonic() < deadline, f"not seen in time; got {lines()}"
        time.sleep(0.05)


@contextlib.contextmanager
def _watching(server: e2e.PorchServer, cache: Path) -> Iterator[Callable[[], list[str]]]:
    """``kubectl get packagerevisions -w --output-watch-events`` in the background; yields a
    function returning the lines printed so far."""
    process = server.kubectl_process(
        "get", "packagerevisions", "-w", "--output-watch-events", cache_dir=cache
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        yield lambda: list(lines)
    finally:
        process.terminate()
        process.communicate(timeout=10)
        reader.join(5)


def _event(kind: str, name: str, lifecycle: str) -> Callable[[list[str]], bool]:
    def seen(lines: list[str]) -> bool:
        return any(line.split()[:2] == [kind, name] and lifecycle in line.split() for line in lines)

    return seen


def test_the_lifecycle_over_git_with_kubectl(
    blue: str,
    shared_server: e2e.PorchServer,
    kubectl: fixtures.Kubectl,
    git_remote: gitserver.GitServer,
    tmp_path: Path,
) -> None:
    name = _create(kubectl, "basens", description="the base namespace")
    with _watching(shared_server, tmp_path / "watch") as watch_events:
        deadline = time.monotonic() + 30
        # Listed as ADDED: the watch is open, later changes arrive as events.
        _wait_for(watch_events, _event("ADDED", name, "Draft"), deadline)
        _check_lifecycle(kubectl, name)
        _wait_for(watch_events, _event("MODIFIED", name, "Published"), deadline)
        ours = [line.split() for line in watch_events() if line.split()[1:2] == [name]]
    assert [(row[0], row[6]) for row in ours] == [
        ("ADDED", "Draft"),
        ("MODIFIED", "Proposed"),
        ("MODIFIED", "Published"),
    ]

    latest = [row[0] for row in _table(kubectl, "-l", "kpt.dev/latest-revision=true")[1:]]
    assert name in latest
    assert f"{REPO}.basens.main" not in latest  # the placeholder is never latest
    by_package = _table(kubectl, "--field-selector", "spec.packageName=basens")
    assert sorted(row[0] for row in by_package[1:]) == [f"{REPO}.basens.main", name]

    # What git holds: the published revision's tag; the server authenticated with Basic.
    refs = git_remote.refs(f"{REPO}.git")
    assert "refs/tags/basens/v1" in refs
    assert "refs/heads/drafts/basens/v1" not in refs
    schemes = {r.auth_scheme for r in git_remote.requests if r.status == 200}
    assert schemes == {"Basic"}


def _check_lifecycle(kubectl: fixtures.Kubectl, name: str) -> None:
    """Draft -> Proposed -> Published, checked with get (Table and YAML) on the way."""
    table = _table(kubectl, name)
    assert table == [PR_COLUMNS, [name, "basens", "v1", "0", "false", "Draft", REPO]]
    as_yaml = yaml.safe_load(kubectl("get", "packagerevision", name, "-o", "yaml").stdout)
    assert as_yaml["spec"]["tasks"] == [
        {"type": "init", "init": {"description": "the base namespace"}}
    ]
    assert as_yaml["metadata"]["namespace"] == "default"
    assert as_yaml["status"]["selfLock"]["git"]["ref"] == "drafts/basens/v1"

    _propose(kubectl, name)
    assert _get(kubectl, name)["spec"]["lifecycle"] == "Proposed"
    _approve(kubectl, name)
    published = _get(kubectl, name)
    assert published["spec"]["lifecycle"] == "Published"
    assert published["spec"]["revision"] == 1
    assert published["metadata"]["labels"]["kpt.dev/latest-revision"] == "true"
    assert published["status"]["publishedBy"]


def test_apply_client_and_server_side(blue: str, kubectl: fixtures.Kubectl) -> None:
    manifest = fixtures.package_revision_manifest(REPO, "applied", "v1")
    created = kubectl("apply", "-f", "-", input=manifest).stdout
    assert created.strip() == f"packagerevision.porch.kpt.dev/{REPO}.applied.v1 created"
    labelled = yaml.safe_load(manifest)
    labelled["metadata"]["labels"] = {"team": "blue"}
    kubectl("apply", "-f", "-", input=yaml.safe_dump(labelled))
    assert _get(kubectl, f"{REPO}.applied.v1")["metadata"]["labels"]["team"] == "blue"

    server_side = fixtures.package_revision_manifest(REPO, "ssa", "v1")
    out = kubectl("apply", "--server-side", "-f", "-", input=server_side).stdout
    assert out.strip() == f"packagerevision.porch.kpt.dev/{REPO}.ssa.v1 serverside-applied"
    again = yaml.safe_load(server_side)
    again["spec"]["packageMetadata"] = {"labels": {"tier": "gold"}}
    kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump(again))
    stored = _get(kubectl, f"{REPO}.ssa.v1")
    assert stored["spec"]["packageMetadata"]["labels"] == {"tier": "gold"}
    resources = json.loads(
        kubectl("get", "packagerevisionresources", f"{REPO}.ssa.v1", "-o", "json").stdout
    )
    assert "tier: gold" in resources["spec"]["resources"]["Kptfile"]


def test_replace_patch_json_and_delete(blue: str, kubectl: fixtures.Kubectl) -> None:
    name = _create(kubectl, "replaced")
    current = _get(kubectl, name)
    current["metadata"].setdefault("annotations", {})["owner"] = "alice"
    out = kubectl("replace", "-f", "-", input=json.dumps(current)).stdout
    assert out.strip() == f"packagerevision.porch.kpt.dev/{name} replaced"
    assert _get(kubectl, name)["metadata"]["annotations"]["owner"] == "alice"

    # The resources: a replace makes a new commit, so a replace of what was read before
    # it is stale.
    before = json.loads(kubectl("get", "packagerevisionresources", name, "-o", "json").stdout)
    edited = json.loads(json.dumps(before))
    edited["spec"]["resources"]["README.md"] = "# replaced\n"
    kubectl("replace", "-f", "-", input=json.dumps(edited))
    stale = kubectl("replace", "-f", "-", input=json.dumps(before), check=False)
    assert stale.returncode == 1
    assert "Error from server (Conflict)" in stale.stderr
    assert "the object has been modified" in stale.stderr

    kubectl(
        "patch",
        "packagerevision",
        name,
        "--type",
        "json",
        "-p",
        '[{"op":"replace","path":"/spec/lifecycle","value":"Proposed"}]',
    )
    assert _get(kubectl, name)["spec"]["lifecycle"] == "Proposed"
    _approve(kubectl, name)

    forbidden = kubectl("delete", "packagerevision", name, check=False)
    assert forbidden.returncode == 1
    assert "Error from server (Forbidden)" in forbidden.stderr
    kubectl(
        "patch",
        "packagerevision",
        name,
        "--type",
        "merge",
        "-p",
        '{"spec":{"lifecycle":"DeletionProposed"}}',
    )
    out = kubectl("delete", "packagerevision", name).stdout
    assert out.strip() == f'packagerevision.porch.kpt.dev "{name}" deleted'
    gone = kubectl("get", "packagerevision", name, check=False)
    assert f'packagerevisions.porch.kpt.dev "{name}" not found' in gone.stderr
