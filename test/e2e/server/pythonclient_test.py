"""The official Python ``kubernetes`` client against a real standalone porch-server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, dynamic, watch

from test.e2e import conftest as e2e

pytestmark = pytest.mark.e2e

GROUP, VERSION, PLURAL = "config.porch.kpt.dev", "v1alpha1", "repositories"


@pytest.fixture
def api_client(shared_server: e2e.PorchServer) -> Iterator[client.ApiClient]:
    configuration = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(shared_server.kubeconfig), client_configuration=configuration
    )
    with client.ApiClient(configuration) as api:
        yield api


def _body(name: str, description: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "git", "git": {"repo": f"https://example.com/{name}.git"}}
    if description:
        spec["description"] = description
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Repository",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def test_dynamic_client_crud(api_client: client.ApiClient, tmp_path: Path) -> None:
    dc = dynamic.DynamicClient(  # type: ignore[no-untyped-call]
        api_client, cache_file=str(tmp_path / "discovery.json")
    )
    repos = dc.resources.get(api_version=f"{GROUP}/{VERSION}", kind="Repository")
    assert "status" in repos.subresources

    created = repos.create(body=_body("dyn"), namespace="default")
    assert created.metadata.name == "dyn"
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
    current = repos.get(name="dyn", namespace="default").to_dict()
    current["spec"]["description"] = "replaced"
    assert repos.replace(body=current, namespace="default").spec.description == "replaced"
    applied = repos.server_side_apply(
        body=_body("dyn", "applied"),
        name="dyn",
        namespace="default",
        field_manager="pytest",
        force_conflicts=True,
    )
    assert applied.spec.description == "applied"
    status = repos.subresources["status"].patch(
        name="dyn",
        namespace="default",
        body={"status": {"packageCount": 3}},
        content_type="application/merge-patch+json",
    )
    assert status.status.packageCount == 3
    listed = repos.get(namespace="default", label_selector="")
    assert "dyn" in [item.metadata.name for item in listed.items]
    repos.delete(name="dyn", namespace="default")
    with pytest.raises(dynamic.exceptions.NotFoundError):
        repos.get(name="dyn", namespace="default")


def test_watch_streams_with_timeout_seconds(api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    assert isinstance(listed, dict)  # CustomObjectsApi returns the decoded JSON
    resource_version = listed["metadata"]["resourceVersion"]

    def changes() -> None:
        time.sleep(0.5)
        custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, _body("streamed"))
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, "streamed", {"spec": {"description": "d"}}
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
    assert events == [("ADDED", "streamed"), ("MODIFIED", "streamed"), ("DELETED", "streamed")]


def test_errors_are_api_exceptions_with_status_bodies(api_client: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api_client)
    with pytest.raises(client.ApiException) as caught:
        custom.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "nope")
    assert caught.value.status == 404
    assert '"reason":"NotFound"' in str(caught.value.body)
