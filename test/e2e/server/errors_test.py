"""Every error path of Porch's error summary (porch.md §3.10), as a client of the real
server sees it: the HTTP code, the Status reason and Porch's message.

porch-py answers with the code that fits where Porch answers 500 (duplicate workspace,
stale resourceVersion: 409; missing resourceVersion, failed render: 422), as
``pkg/registry/porch/interpret.py`` documents.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from test.e2e import conftest as e2e

pytestmark = pytest.mark.e2e

GV = "/apis/porch.kpt.dev/v1alpha1"
PRS = f"{GV}/namespaces/default/packagerevisions"
PRRS = f"{GV}/namespaces/default/packagerevisionresources"
PACKAGES = f"{GV}/namespaces/default/packages"
REPOS = "/apis/config.porch.kpt.dev/v1alpha1/namespaces/default/repositories"


def _pr(
    package: str,
    workspace: str,
    *,
    repository: str = "errs",
    lifecycle: str = "Draft",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"namespace": "default"}
    if labels:
        metadata["labels"] = labels
    return {
        "apiVersion": "porch.kpt.dev/v1alpha1",
        "kind": "PackageRevision",
        "metadata": metadata,
        "spec": {
            "packageName": package,
            "workspaceName": workspace,
            "repository": repository,
            "lifecycle": lifecycle,
            "tasks": [{"type": "init", "init": {"description": package}}],
        },
    }


def _repository(name: str, url: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "config.porch.kpt.dev/v1alpha1",
        "kind": "Repository",
        "metadata": metadata,
        "spec": {"type": "git", "git": {"repo": url}},
    }


@dataclass
class World:
    client: httpx.Client
    published: dict[str, Any]
    draft: dict[str, Any]
    draft_resources: dict[str, Any]


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.is_success, response.text
    body: dict[str, Any] = response.json()
    return body


def _wait_ready(client: httpx.Client, name: str) -> None:
    params = {"fieldSelector": f"metadata.name={name}", "watch": "true", "timeoutSeconds": "30"}
    with client.stream("GET", REPOS, params=params) as events:
        for line in events.iter_lines():
            status = json.loads(line)["object"].get("status") or {}
            ready = [c for c in status.get("conditions") or [] if c["type"] == "Ready"]
            if ready and ready[0]["status"] == "True":
                return
    raise AssertionError(f"repository {name} did not become Ready")


@pytest.fixture(scope="module")
def world(shared_server: e2e.PorchServer) -> Iterator[World]:
    context = ssl.create_default_context(cafile=str(shared_server.ca_file))
    context.load_cert_chain(*(str(p) for p in shared_server.admin_cert))
    with httpx.Client(base_url=shared_server.url, verify=context, timeout=30) as client:
        _ok(client.post(REPOS, json=_repository("errs", shared_server.local_repository("errs"))))
        migrated = shared_server.local_repository("migrated")
        annotations = {"porch.kpt.dev/v1alpha2-migration": "true"}
        _ok(client.post(REPOS, json=_repository("migrated", migrated, annotations)))
        _wait_ready(client, "errs")
        _wait_ready(client, "migrated")

        published = _ok(client.post(PRS, json=_pr("shipped", "v1")))
        name = published["metadata"]["name"]
        published["spec"]["lifecycle"] = "Proposed"
        published = _ok(client.put(f"{PRS}/{name}", json=published))
        published["spec"]["lifecycle"] = "Published"
        published = _ok(client.put(f"{PRS}/{name}/approval", json=published))

        draft = _ok(client.post(PRS, json=_pr("drafted", "v1")))
        resources = _ok(client.get(f"{PRRS}/{draft['metadata']['name']}"))
        yield World(client, published, draft, resources)


Request = Callable[[World], httpx.Response]


def _named(obj: dict[str, Any]) -> str:
    name: str = obj["metadata"]["name"]
    return name


def _stale_resources(world: World) -> httpx.Response:
    name = _named(world.draft_resources)
    edited = _ok(world.client.get(f"{PRRS}/{name}"))
    edited["spec"]["resources"]["README.md"] = "# edited\n"
    _ok(world.client.put(f"{PRRS}/{name}", json=edited))
    return world.client.put(f"{PRRS}/{name}", json=world.draft_resources)


def _without_resource_version(world: World) -> httpx.Response:
    body = _ok(world.client.get(f"{PRRS}/{_named(world.draft)}"))
    del body["metadata"]["resourceVersion"]
    return world.client.put(f"{PRRS}/{_named(world.draft)}", json=body)


def _approve_draft(world: World) -> httpx.Response:
    body = _ok(world.client.get(f"{PRS}/{_named(world.draft)}"))
    body["spec"]["lifecycle"] = "Published"
    return world.client.put(f"{PRS}/{_named(world.draft)}/approval", json=body)


def _publish_by_update(world: World) -> httpx.Response:
    body = _ok(world.client.get(f"{PRS}/{_named(world.draft)}"))
    body["spec"]["lifecycle"] = "Published"
    return world.client.put(f"{PRS}/{_named(world.draft)}", json=body)


CASES: list[tuple[str, Request, int, str, str]] = [
    (
        "no-repository",
        lambda w: w.client.post(PRS, json=_pr("p", "v1", repository="")),
        400,
        "BadRequest",
        "spec.repositoryName is required",
    ),
    (
        "unknown-field-selector",
        lambda w: w.client.get(PRS, params={"fieldSelector": "spec.color=blue"}),
        400,
        "BadRequest",
        'unknown fieldSelector field "spec.color"',
    ),
    (
        "empty-field-selector-value",
        lambda w: w.client.get(PRS, params={"fieldSelector": "spec.repository="}),
        400,
        "BadRequest",
        "unsupported fieldSelector value",
    ),
    (
        "create-published",
        lambda w: w.client.post(PRS, json=_pr("p", "v1", lifecycle="Published")),
        422,
        "Invalid",
        'spec.lifecycle: Invalid value: "Published": value can be only created as Draft',
    ),
    (
        "latest-label-on-create",
        lambda w: w.client.post(
            PRS, json=_pr("p", "v2", labels={"kpt.dev/latest-revision": "true"})
        ),
        422,
        "Invalid",
        "metadata.labels[kpt.dev/latest-revision]: Forbidden: label is managed by porch",
    ),
    (
        "bad-workspace-name",
        lambda w: w.client.post(PRS, json=_pr("p", "Not_A_Label")),
        422,
        "Invalid",
        "spec.workspaceName",
    ),
    (
        "draft-to-published",
        _publish_by_update,
        422,
        "Invalid",
        "value can be only updated to Draft,Proposed",
    ),
    (
        "approve-a-draft",
        _approve_draft,
        422,
        "Invalid",
        "cannot approve package with Draft lifecycle value; only Proposed packages can be approved",
    ),
    (
        "no-resource-version",
        _without_resource_version,
        422,
        "Invalid",
        "resourceVersion must be specified for an update",
    ),
    (
        "delete-published",
        lambda w: w.client.delete(f"{PRS}/{_named(w.published)}"),
        403,
        "Forbidden",
        "published PackageRevisions must be proposed for deletion by setting spec.lifecycle "
        "to 'DeletionProposed' prior to deletion",
    ),
    (
        "unknown-repository",
        lambda w: w.client.post(PRS, json=_pr("p", "v1", repository="nowhere")),
        404,
        "NotFound",
        'repositories.config.porch.kpt.dev "nowhere" not found',
    ),
    (
        "unknown-revision",
        lambda w: w.client.get(f"{PRS}/errs.nothing.v1"),
        404,
        "NotFound",
        'packagerevisions.porch.kpt.dev "errs.nothing.v1" not found',
    ),
    ("stale-resource-version", _stale_resources, 409, "Conflict", "the object has been modified"),
    (
        "duplicate-workspace",
        lambda w: w.client.post(PRS, json=_pr("drafted", "v1")),
        409,
        "AlreadyExists",
        "package revision workspaceNames must be unique",
    ),
    (
        "v1alpha2-repository",
        lambda w: w.client.post(PRS, json=_pr("p", "v1", repository="migrated")),
        410,
        "Gone",
        "repository migrated is managed by v1alpha2",
    ),
    (
        "create-package",
        lambda w: w.client.post(PACKAGES, json={"apiVersion": "porch.kpt.dev/v1alpha1"}),
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    ),
    (
        "delete-package",
        lambda w: w.client.delete(f"{PACKAGES}/errs.shipped"),
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    ),
]


@pytest.mark.parametrize(
    ("request_", "code", "reason", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_error_paths_answer_with_the_right_status(
    world: World, request_: Request, code: int, reason: str, message: str
) -> None:
    response = request_(world)
    assert response.status_code == code, response.text
    status = response.json()
    assert (status["kind"], status["status"], status["code"], status["reason"]) == (
        "Status",
        "Failure",
        code,
        reason,
    )
    assert message in status["message"]


def test_a_failed_create_leaves_nothing_behind(world: World) -> None:
    before = _ok(world.client.get(PRS, params={"fieldSelector": "spec.repository=errs"}))
    failed = world.client.post(PRS, json=_pr("drafted", "v1"))
    assert failed.status_code == 409
    after = _ok(world.client.get(PRS, params={"fieldSelector": "spec.repository=errs"}))
    assert [i["metadata"]["name"] for i in after["items"]] == [
        i["metadata"]["name"] for i in before["items"]
    ]
    # The revisions of a v1alpha2-managed repository are not served.
    assert world.client.get(f"{PRS}/migrated.p.v1").status_code == 404
