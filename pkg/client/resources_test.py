"""The typed resources over the transport: paths, verbs, bodies, headers, decoding, errors,
watch streams and Tables, against a scripted loopback API server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.client import client, clienttesting, config, errors

PRS = "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions"
REPOS = "/apis/config.porch.kpt.dev/v1alpha1/namespaces/ns/repositories"


def _pr(name: str, lifecycle: str = "Draft", rv: str = "7") -> dict[str, Any]:
    return {
        "apiVersion": "porch.kpt.dev/v1alpha1",
        "kind": "PackageRevision",
        "metadata": {"name": name, "namespace": "ns", "resourceVersion": rv},
        "spec": {"packageName": "basens", "repository": "blueprints", "lifecycle": lifecycle},
    }


@pytest.fixture
def api() -> Iterator[clienttesting.FakeAPIServer]:
    with clienttesting.FakeAPIServer() as server:
        yield server


@pytest.fixture
def porch(api: clienttesting.FakeAPIServer, tmp_path: Path) -> Iterator[client.Client]:
    path = clienttesting.kubeconfig(tmp_path / "kubeconfig", api.url, namespace="ns", token="t0k")
    loaded = config.load(
        config.Overrides(
            kubeconfig=str(path), impersonate_user="alice", impersonate_groups=("g1", "g2")
        )
    ).with_user_agent("porchctl/9.9")
    with client.Client(loaded) as c:
        yield c


def test_get_decodes_the_model_and_sends_credentials(
    api: clienttesting.FakeAPIServer, porch: client.Client
) -> None:
    api.on("GET", f"{PRS}/b.basens.v1", _pr("b.basens.v1", "Published"))
    pr = porch.package_revisions.get("b.basens.v1")
    assert isinstance(pr, porchv1alpha1.PackageRevision)
    assert pr.spec is not None and pr.spec.lifecycle == "Published"
    (request,) = api.requests
    assert request.header("Authorization") == "Bearer t0k"
    assert request.header("User-Agent") == "porchctl/9.9"
    assert request.header("Accept") == "application/json"
    assert request.header("Impersonate-User") == "alice"
    # Both groups arrive (as two headers, which the server joins).
    assert request.header("Impersonate-Group") == "g1, g2"


def test_list_sends_selectors_and_all_namespaces_path(
    api: clienttesting.FakeAPIServer, porch: client.Client
) -> None:
    body = {
        "kind": "PackageRevisionList",
        "apiVersion": "porch.kpt.dev/v1alpha1",
        "metadata": {"resourceVersion": "9"},
        "items": [_pr("a"), _pr("b")],
    }
    api.on("GET", "/apis/porch.kpt.dev/v1alpha1/packagerevisions", body)
    listed = porch.package_revisions.list(
        all_namespaces=True,
        field_selector="spec.packageName=basens",
        label_selector="kpt.dev/latest-revision=true",
        limit=5,
    )
    assert [i.metadata.name for i in listed.items if i.metadata] == ["a", "b"]
    (request,) = api.requests
    assert request.query == {
        "fieldSelector": ["spec.packageName=basens"],
        "labelSelector": ["kpt.dev/latest-revision=true"],
        "limit": ["5"],
    }


def test_status_error_keeps_reason_and_message(
    api: clienttesting.FakeAPIServer, porch: client.Client
) -> None:
    api.on(
        "DELETE",
        f"{PRS}/x",
        clienttesting.Response(
            403,
            clienttesting.status_body(
                403, "Forbidden", 'packagerevisions.porch.kpt.dev "x" is forbidden: published'
            ),
        ),
    )
    with pytest.raises(errors.ForbiddenError) as caught:
        porch.package_revisions.delete("x")
    assert str(caught.value) == 'packagerevisions.porch.kpt.dev "x" is forbidden: published'
    assert caught.value.status.code == 403
    # DeleteOptions go in the body, as kubectl sends them.
    assert api.requests[0].body["kind"] == "DeleteOptions"


def test_non_status_error_body_gets_client_gos_generic_message(
    api: clienttesting.FakeAPIServer, porch: client.Client
) -> None:
    api.on("GET", f"{PRS}/gone", clienttesting.Response(404, "404 page not found", "text/plain"))
    with pytest.raises(errors.NotFoundError) as caught:
        porch.package_revisions.get("gone")
    assert str(caught.value) == (
        "the server could not find the requested resource (get packagerevisions.porch.kpt.dev gone)"
    )
    assert caught.value.status.details is not None
    causes = caught.value.status.details.causes or []
    assert causes[0].message == "404 page not found"


def test_connection_refused_is_a_transport_error(tmp_path: Path) -> None:
    path = clienttesting.kubeconfig(tmp_path / "k", "http://127.0.0.1:9", namespace="ns")
    loaded = config.load(config.Overrides(kubeconfig=str(path)))
    loaded.configuration.retries = 0
    with client.Client(loaded) as porch, pytest.raises(errors.TransportError) as caught:
        porch.repositories.get("r")
    assert "connect: connection refused" in str(caught.value)
    assert str(caught.value).startswith('Get "http://127.0.0.1:9/apis/config.porch.kpt.dev/')


def test_create_update_patch_bodies(api: clienttesting.FakeAPIServer, porch: client.Client) -> None:
    api.on(
        "POST",
        PRS,
        lambda req: clienttesting.Response(
            201,
            {
                **req.body,
                "metadata": {"name": "b.basens.ws", "namespace": "ns", "resourceVersion": "1"},
            },
        ),
    )
    api.on("PUT", f"{PRS}/b.basens.ws", lambda req: clienttesting.Response(200, req.body))
    api.on("PATCH", f"{PRS}/b.basens.ws", _pr("b.basens.ws", "Proposed"))
    created = porch.package_revisions.create(
        porchv1alpha1.PackageRevision(
            metadata=metav1.ObjectMeta(),
            spec=porchv1alpha1.PackageRevisionSpec(
                package_name="basens", repository="b", workspace_name="ws"
            ),
        )
    )
    assert created.metadata is not None and created.metadata.name == "b.basens.ws"
    post = api.requests_to("POST", PRS)[0]
    assert post.header("Content-Type") == "application/json"
    # Encoded by alias, without unset fields.
    assert post.body["spec"] == {"packageName": "basens", "repository": "b", "workspaceName": "ws"}
    assert created.spec is not None
    created.spec.lifecycle = "Proposed"
    porch.package_revisions.update(created)
    put = api.requests_to("PUT", f"{PRS}/b.basens.ws")[0]
    assert put.body["metadata"]["resourceVersion"] == "1"
    assert put.body["spec"]["lifecycle"] == "Proposed"
    porch.package_revisions.patch("b.basens.ws", {"metadata": {"labels": {"a": None}}})
    patch = api.requests_to("PATCH", f"{PRS}/b.basens.ws")[0]
    assert patch.header("Content-Type") == "application/merge-patch+json"
    # A null in a merge patch deletes the key: it must reach the server.
    assert patch.body == {"metadata": {"labels": {"a": None}}}


def test_subresources(api: clienttesting.FakeAPIServer, porch: client.Client) -> None:
    api.on("PUT", f"{PRS}/p/approval", lambda req: clienttesting.Response(200, req.body))
    api.on("PUT", f"{REPOS}/r/status", lambda req: clienttesting.Response(200, req.body))
    pr = porchv1alpha1.PackageRevision.model_validate(_pr("p", "Proposed"))
    assert pr.spec is not None
    pr.spec.lifecycle = "Published"
    approved = porch.package_revisions.update_approval(pr)
    assert approved.spec is not None and approved.spec.lifecycle == "Published"
    repo = configv1alpha1.Repository(
        metadata=metav1.ObjectMeta(name="r", namespace="ns"),
        status=configv1alpha1.RepositoryStatus(package_count=3),
    )
    assert porch.repositories.update_status(repo).status == repo.status


def test_table_request_asks_like_porchctl(
    api: clienttesting.FakeAPIServer, porch: client.Client
) -> None:
    table = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "3"},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0}
        ],
        "rows": [
            {"cells": ["a"], "object": {"kind": "PartialObjectMetadata", "metadata": {"name": "a"}}}
        ],
    }
    api.on("GET", PRS, table)
    got = porch.package_revisions.list_table(field_selector="spec.revision=1")
    assert [r.cells for r in got.rows] == [["a"]]
    request = api.requests[0]
    assert (
        request.header("Accept") == "application/json;as=Table;g=meta.k8s.io;v=v1,application/json"
    )


def test_server_without_table_support_gets_the_name_age_fallback(
    api: clienttesting.FakeAPIServer, porch: client.Client
) -> None:
    item = _pr("a")
    item["metadata"]["creationTimestamp"] = "2020-01-01T00:00:00Z"
    api.on(
        "GET",
        PRS,
        {
            "kind": "PackageRevisionList",
            "apiVersion": "porch.kpt.dev/v1alpha1",
            "metadata": {},
            "items": [item],
        },
    )
    table = porch.package_revisions.list_table()
    assert [c.name for c in table.column_definitions] == ["Name", "Age"]
    assert table.rows[0].cells[0] == "a"
    assert "y" in table.rows[0].cells[1]  # years old, in kubectl's HumanDuration


def test_watch_streams_events_and_raises_error_events(
    api: clienttesting.FakeAPIServer, porch: client.Client
) -> None:
    api.on(
        "GET",
        PRS,
        clienttesting.Response(
            stream_lines=[
                {"type": "ADDED", "object": _pr("a")},
                {"type": "MODIFIED", "object": _pr("a", "Proposed", rv="8")},
                {
                    "type": "ERROR",
                    "object": clienttesting.status_body(
                        410, "Expired", "too old resource version: 5 (8)"
                    ),
                },
            ]
        ),
        query=lambda q: q.get("watch") == ["true"],
    )
    events = []
    with (
        porch.package_revisions.watch(resource_version="5", allow_bookmarks=True) as watch,
        pytest.raises(errors.GoneError, match="too old resource version"),
    ):
        for event in watch:
            events.append((event.type, event.object.spec.lifecycle if event.object.spec else None))
    assert events == [("ADDED", "Draft"), ("MODIFIED", "Proposed")]
    assert api.requests[0].query == {
        "resourceVersion": ["5"],
        "watch": ["true"],
        "allowWatchBookmarks": ["true"],
    }


def test_unreadable_object_is_a_decode_error(
    api: clienttesting.FakeAPIServer, porch: client.Client
) -> None:
    api.on("GET", f"{PRS}/bad", {"kind": "PackageRevision", "spec": {"revision": "one"}})
    with pytest.raises(errors.DecodeError, match="PackageRevision"):
        porch.package_revisions.get("bad")


def test_raw_reads_return_the_servers_json(
    api: clienttesting.FakeAPIServer, porch: client.Client
) -> None:
    body = _pr("a")
    body["spec"]["futureField"] = {"x": 1}
    api.on("GET", f"{PRS}/a", body)
    assert porch.package_revisions.get_raw("a")["spec"]["futureField"] == {"x": 1}
