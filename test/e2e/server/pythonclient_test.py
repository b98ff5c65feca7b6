"""The official Python ``kubernetes`` client against a real standalone porch-server:
Repositories and package revisions with the dynamic client, the approval subresource,
``watch.Watch`` streams, and resource updates that render (or fail to)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client, config, dynamic, watch

from test.e2e import conftest as e2e

pytestmark = pytest.mark.e2e

GROUP, VERSION, PLURAL = "config.porch.kpt.dev", "v1alpha1", "repositories"
PORCH = "porch.kpt.dev"
PRS, PRRS = "packagerevisions", "packagerevisionresources"


@pytest.fixture(scope="module")
def api_client(shared_server: e2e.PorchServer) -> Iterator[client.ApiClient]:
    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(shared_server.kubeconfig), client_configuration=configuration
    )
    with client.ApiClient(configuration) as api:
        yield api


@pytest.fixture(scope="module")
def dyn(api_client: client.ApiClient, tmp_path_factory: pytest.TempPathFactory) -> Any:
    cache = tmp_path_factory.mktemp("discovery") / "discovery.json"
    return dynamic.DynamicClient(api_client, cache_file=str(cache))  # type: ignore[no-untyped-call]


def _repository(name: str, url: str, description: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "git", "git": {"repo": url}}
    if description:
        spec["description"] = description
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Repository",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def _synced(repos: Any, name: str) -> None:
    """Wait until the server synced the Repository's current spec: it writes the status
    after every sync of a new generation, so a read-modify-write cycle started before that
    would conflict (409), as with any controller writing status."""
    deadline = time.monotonic() + 30
    while True:
        repo = repos.get(name=name, namespace="default").to_dict()
        status = repo.get("status") or {}
        ready = [c for c in status.get("conditions", []) if c["type"] == "Ready"]
        if (
            ready
            and ready[0]["status"] == "True"
            and status.get("observedGeneration") == repo["metadata"]["generation"]
        ):
            return
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


@pytest.fixture(scope="module")
def porch_repo(shared_server: e2e.PorchServer, dyn: Any) -> str:
    """A Repository "py" over a local git repository, Ready."""
    repos = dyn.resources.get(api_version=f"{GROUP}/{VERSION}", kind="Repository")
    repos.create(body=_repository("py", shared_server.local_repository("py")), namespace="default")
    _synced(repos, "py")
    return "py"


def _collapsed(events: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Consecutive repeats folded: the server writes a Repository's finalizer and status
    while it registers it, each a MODIFIED event of its own."""
    return [e for i, e in enumerate(events) if i == 0 or events[i - 1] != e]


def test_dynamic_client_crud_on_repositories(shared_server: e2e.PorchServer, dyn: Any) -> None:
    repos = dyn.resources.get(api_version=f"{GROUP}/{VERSION}", kind="Repository")
    assert "status" in repos.subresources

    url = shared_server.local_repository("dyn")
    created = repos.create(body=_repository("dyn", url), namespace="default")
    assert created.metadata.name == "dyn"
    _synced(repos, "dyn")
    registered = repos.get(name="dyn", namespace="default")
    assert registered.metadata.finalizers == ["config.porch.kpt.dev/repository"]
    # DynamicClient.patch() sends a strategic merge patch by default.
    patched = repos.patch(name="dyn", namespace="default", body={"spec": {"description": "smp"}})
    assert patched.spec.description == "smp"
    merged = repos.patch(
        name="dyn",
        namespace="default",
        body={"spec": {"description": "merge"}},
        content_type="application/merge-patch+json",
    )
    assert merged.spec.description == "merge"
    _synced(repos, "dyn")
    current = repos.get(name="dyn", namespace="default").to_dict()
    current["spec"]["description"] = "replaced"
    assert repos.replace(body=current, namespace="default").spec.description == "replaced"
    applied = repos.server_side_apply(
        body=_repository("dyn", url, "applied"),
        name="dyn",
        namespace="default",
        field_manager="pytest",
        force_conflicts=True,
    )
    assert applied.spec.description == "applied"
    listed = repos.get(namespace="default", label_selector="")
    assert "dyn" in [item.metadata.name for item in listed.items]
    repos.delete(name="dyn", namespace="default")
    # The finalizer holds the object until the server unregistered the repository.
    deadline = time.monotonic() + 30
    while True:
        try:
            repos.get(name="dyn", namespace="default")
        except dynamic.exceptions.NotFoundError:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_watch_streams_repositories_with_timeout_seconds(
    shared_server: e2e.PorchServer, api_client: client.ApiClient
) -> None:
    custom = client.CustomObjectsApi(api_client)
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    assert isinstance(listed, dict)  # CustomObjectsApi returns the decoded JSON
    resource_version = listed["metadata"]["resourceVersion"]
    url = shared_server.local_repository("streamed")

    def changes() -> None:
        time.sleep(0.5)
        custom.create_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, _repository("streamed", url)
        )
        custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "streamed")

    writer = threading.Thread(target=changes)
    writer.start()
    started = time.monotonic()
    events = [
        (event["type"], event["object"]["metadata"]["name"])
        for event in watch.Watch().stream(  # type: ignore[no-untyped-call]
            custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            "default",
            PLURAL,
            resource_version=resource_version,
            timeout_seconds=3,
        )
    ]
    writer.join()
    assert 2.5 < time.monotonic() - started < 10
    assert _collapsed(events) == [
        ("ADDED", "streamed"),
        ("MODIFIED", "streamed"),
        ("DELETED", "streamed"),
    ]


def _package_revision(package: str, workspace: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{PORCH}/v1alpha1",
        "kind": "PackageRevision",
        "metadata": {"namespace": "default"},
        "spec": {
            "packageName": package,
            "workspaceName": workspace,
            "repository": "py",
            "tasks": [{"type": "init", "init": {"description": package}}],
        },
    }


def test_dynamic_client_on_package_revisions_and_approval(porch_repo: str, dyn: Any) -> None:
    prs = dyn.resources.get(api_version=f"{PORCH}/v1alpha1", kind="PackageRevision")
    assert "approval" in prs.subresources
    created = prs.create(body=_package_revision("dynpkg", "v1"), namespace="default")
    name = created.metadata.name
    assert name == "py.dynpkg.v1"
    assert created.spec.lifecycle == "Draft"

    labelled = prs.patch(
        name=name,
        namespace="default",
        body={"metadata": {"labels": {"owner": "py"}}},
        content_type="application/merge-patch+json",
    )
    assert labelled.metadata.labels["owner"] == "py"
    proposed = prs.get(name=name, namespace="default").to_dict()
    proposed["spec"]["lifecycle"] = "Proposed"
    assert prs.replace(body=proposed, namespace="default").spec.lifecycle == "Proposed"

    approval = prs.subresources["approval"]
    current = prs.get(name=name, namespace="default").to_dict()
    current["spec"]["lifecycle"] = "Published"
    published = approval.replace(body=current, name=name, namespace="default")
    assert published.spec.lifecycle == "Published"
    assert published.spec.revision == 1
    assert published.metadata.labels["kpt.dev/latest-revision"] == "true"
    assert published.metadata.labels["owner"] == "py"

    listed = prs.get(namespace="default", label_selector="owner=py")
    assert [item.metadata.name for item in listed.items] == [name]
    with pytest.raises(dynamic.exceptions.ForbiddenError):
        prs.delete(name=name, namespace="default")


def test_watch_streams_package_revision_events(
    porch_repo: str, api_client: client.ApiClient
) -> None:
    custom = client.CustomObjectsApi(api_client)
    listed = custom.list_namespaced_custom_object(PORCH, "v1alpha1", "default", PRS)
    assert isinstance(listed, dict)
    resource_version = listed["metadata"]["resourceVersion"]

    def changes() -> None:
        time.sleep(0.5)
        created = custom.create_namespaced_custom_object(
            PORCH, "v1alpha1", "default", PRS, _package_revision("watched", "v1")
        )
        assert isinstance(created, dict)
        created["spec"]["lifecycle"] = "Proposed"
        custom.replace_namespaced_custom_object(
            PORCH, "v1alpha1", "default", PRS, "py.watched.v1", created
        )
        custom.delete_namespaced_custom_object(PORCH, "v1alpha1", "default", PRS, "py.watched.v1")

    writer = threading.Thread(target=changes)
    writer.start()
    events = [
        (event["type"], event["object"]["metadata"]["name"], event["object"]["spec"]["lifecycle"])
        for event in watch.Watch().stream(  # type: ignore[no-untyped-call]
            custom.list_namespaced_custom_object,
            PORCH,
            "v1alpha1",
            "default",
            PRS,
            resource_version=resource_version,
            timeout_seconds=3,
        )
    ]
    writer.join()
    assert [e for e in events if e[1] == "py.watched.v1"] == [
        ("ADDED", "py.watched.v1", "Draft"),
        ("MODIFIED", "py.watched.v1", "Proposed"),
        ("DELETED", "py.watched.v1", "Proposed"),
    ]


KPTFILE_WITH_PIPELINE = """\
apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: rendered
  annotations:
    config.kubernetes.io/local-config: "true"
info:
  description: rendered
pipeline:
  mutators:
  - image: set-labels:v0.2
    configMap:
      team: blue
"""

CONFIG_MAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: green
"""


def test_resources_update_renders_the_pipeline(
    porch_repo: str, api_client: client.ApiClient
) -> None:
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(
        PORCH, "v1alpha1", "default", PRS, _package_revision("rendered", "v1")
    )
    resources = custom.get_namespaced_custom_object(
        PORCH, "v1alpha1", "default", PRRS, "py.rendered.v1"
    )
    assert isinstance(resources, dict)
    resources["spec"]["resources"]["Kptfile"] = KPTFILE_WITH_PIPELINE
    resources["spec"]["resources"]["settings.yaml"] = CONFIG_MAP
    updated = custom.replace_namespaced_custom_object(
        PORCH, "v1alpha1", "default", PRRS, "py.rendered.v1", resources
    )
    assert isinstance(updated, dict)
    assert updated["status"]["renderStatus"]["result"]["exitCode"] == 0
    rendered = yaml.safe_load(updated["spec"]["resources"]["settings.yaml"])
    assert rendered["metadata"]["labels"] == {"team": "blue"}
    stored = custom.get_namespaced_custom_object(
        PORCH, "v1alpha1", "default", PRRS, "py.rendered.v1"
    )
    assert isinstance(stored, dict)
    assert stored["spec"]["resources"] == updated["spec"]["resources"]


def test_a_render_failure_stores_nothing(porch_repo: str, api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    custom.create_namespaced_custom_object(
        PORCH, "v1alpha1", "default", PRS, _package_revision("unrendered", "v1")
    )
    before = custom.get_namespaced_custom_object(
        PORCH, "v1alpha1", "default", PRRS, "py.unrendered.v1"
    )
    assert isinstance(before, dict)
    broken = yaml.safe_load(yaml.safe_dump(before))
    broken["spec"]["resources"]["Kptfile"] = KPTFILE_WITH_PIPELINE.replace(
        "set-labels:v0.2", "example.com/functions/not-available:v1"
    )
    broken["spec"]["resources"]["settings.yaml"] = CONFIG_MAP
    with pytest.raises(client.ApiException) as caught:
        custom.replace_namespaced_custom_object(
            PORCH, "v1alpha1", "default", PRRS, "py.unrendered.v1", broken
        )
    assert caught.value.status == 422
    assert "error rendering package in kpt function pipeline" in str(caught.value.body)
    after = custom.get_namespaced_custom_object(
        PORCH, "v1alpha1", "default", PRRS, "py.unrendered.v1"
    )
    assert after == before


def test_errors_are_api_exceptions_with_status_bodies(api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    with pytest.raises(client.ApiException) as caught:
        custom.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "nope")
    assert caught.value.status == 404
    assert '"reason":"NotFound"' in str(caught.value.body)
