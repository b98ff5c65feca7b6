"""The API server over a real loopback socket: routes, Status errors, negotiation, limits."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any

import httpx
import pytest

from pkg.apimachinery import user as userinfo
from pkg.apiserver import apiservertesting, authentication, protobuf_test, server
from pkg.apiserver.conftest import API, GV, REPOS, TABLE, expect_status, repository

_status = expect_status


# --- discovery, version, OpenAPI, health -------------------------------------------------------


async def test_version_reports_a_kubectl_minor(api: API) -> None:
    body = (await api.client.get("/version?timeout=5s")).json()
    assert (body["major"], body["minor"]) == ("1", "32")
    assert body["gitVersion"].startswith("v1.32.")


async def test_apis_answers_aggregated_discovery_with_the_exact_content_type(api: API) -> None:
    accept = (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
        "application/json"
    )
    response = await api.client.get("/apis?timeout=32s", headers={"Accept": accept})
    assert response.headers["content-type"] == (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )
    names = [item["metadata"]["name"] for item in response.json()["items"]]
    assert names == ["config.porch.kpt.dev", "broken.example.com"]


async def test_apis_answers_legacy_discovery_to_plain_json(api: API) -> None:
    response = await api.client.get("/apis", headers={"Accept": "application/json"})
    assert response.headers["content-type"] == "application/json"
    assert response.json()["kind"] == "APIGroupList"
    group = (await api.client.get("/apis/config.porch.kpt.dev")).json()
    assert group["preferredVersion"]["version"] == "v1alpha1"


async def test_core_group_is_discoverable(api: API) -> None:
    assert (await api.client.get("/api")).json()["versions"] == ["v1"]
    resources = (await api.client.get("/api/v1")).json()["resources"]
    assert [r["name"] for r in resources] == ["secrets"]


async def test_openapi_v3_root_and_documents(api: API) -> None:
    root = (await api.client.get("/openapi/v3")).json()
    assert set(root["paths"]) == {"api/v1", "apis/config.porch.kpt.dev/v1alpha1"}
    url = root["paths"]["apis/config.porch.kpt.dev/v1alpha1"]["serverRelativeURL"]
    document = await api.client.get(f"{url}&timeout=32s")
    assert document.status_code == 200
    assert f"{GV}/namespaces/{{namespace}}/repositories/{{name}}" in document.json()["paths"]
    cached = await api.client.get(url, headers={"If-None-Match": document.headers["etag"]})
    assert cached.status_code == 304


async def test_openapi_v2_is_not_served(api: API) -> None:
    _status(await api.client.get("/openapi/v2"), 404, "NotFound")


async def test_health_answers_anonymous_probes(api: API) -> None:
    async with httpx.AsyncClient(base_url=api.url) as anonymous:
        for path in ("/healthz", "/livez", "/readyz", "/healthz/ping"):
            response = await anonymous.get(path)
            assert (response.status_code, response.text) == (200, "ok"), path
        verbose = await anonymous.get("/readyz?verbose")
    assert verbose.text == "[+]ping ok\n[+]shutdown ok\nreadyz check passed\n"
    assert verbose.headers["content-type"] == "text/plain; charset=utf-8"


async def test_readyz_fails_once_the_server_is_stopping(api: API) -> None:
    api.state.stopping.set()
    response = await api.client.get("/readyz")
    assert response.status_code == 500
    assert "[-]shutdown failed: reason withheld" in response.text
    assert (await api.client.get("/livez")).status_code == 200


# --- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/apis", REPOS, "/no/such/path", f"{REPOS}/x/nope"])
async def test_anonymous_requests_are_unauthorized(api: API, path: str) -> None:
    async with httpx.AsyncClient(base_url=api.url) as anonymous:
        body = _status(await anonymous.get(path), 401, "Unauthorized")
    assert body["message"] == "Unauthorized"


async def test_bearer_tokens_the_cluster_vouches_for_are_its_users(api: API) -> None:
    def review(body: dict[str, Any]) -> dict[str, Any]:
        # The cluster's TokenReview answered in process: kube-apiserver cannot run here (the
        # kubernetes client's side is tested against a loopback stand-in in
        # authentication_test.py).
        if body["spec"]["token"] != "sa-token":
            return {"status": {"authenticated": False, "error": "invalid bearer token"}}
        user = {"username": "system:serviceaccount:porch-system:ctl", "groups": ["sa"]}
        return {"status": {"authenticated": True, "user": user}}

    authn = authentication.Authenticator(
        tokens={"tok": userinfo.UserInfo("alice")},
        token_review=authentication.TokenReviewAuthenticator(review),
    )
    app = server.new_app(dataclasses.replace(api.state.config, authenticator=authn))
    async with apiservertesting.serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        served = await client.get(REPOS, headers={"Authorization": "Bearer sa-token"})
        missing = await client.get("/no/such/path", headers={"Authorization": "Bearer sa-token"})
        denied = await client.get(REPOS, headers={"Authorization": "Bearer other-token"})
    assert served.status_code == 200, served.text
    # Known to be a user, so told the truth about paths (anonymous callers get 401).
    _status(missing, 404, "NotFound")
    assert _status(denied, 401, "Unauthorized")["message"] == "Unauthorized"


# --- errors --------------------------------------------------------------------------------------


async def test_unknown_paths_and_methods_are_status(api: API) -> None:
    body = _status(await api.client.get("/apis/nope.example.com/v1"), 404, "NotFound")
    assert body["message"] == "the server could not find the requested resource"
    _status(await api.client.post(f"{REPOS}/x"), 405, "MethodNotAllowed")


async def test_not_found_names_the_resource(api: API) -> None:
    body = _status(await api.client.get(f"{REPOS}/nope"), 404, "NotFound")
    assert body["message"] == 'repositories.config.porch.kpt.dev "nope" not found'
    assert body["details"] == {
        "name": "nope",
        "group": "config.porch.kpt.dev",
        "kind": "repositories",
    }


async def test_bugs_are_internal_errors_logged_once_with_the_trace_id(
    api: API, caplog: pytest.LogCaptureFixture
) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    caplog.set_level(logging.INFO)
    response = await api.client.get(
        "/apis/broken.example.com/v1/namespaces/default/things/x",
        headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"},
    )
    body = _status(response, 500, "InternalError")
    assert body["message"] == "Internal error occurred: the database caught fire"
    errors_logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors_logged) == 1
    assert trace in errors_logged[0].getMessage()
    assert errors_logged[0].exc_info is not None
    access = [r.getMessage() for r in caplog.records if r.name == "pkg.apiserver.access"]
    assert any("500" in line and f"trace_id={trace}" in line for line in access)


async def test_request_bodies_over_the_limit_are_413(api: API) -> None:
    body = repository("big", description="x" * (7 * 1024 * 1024))
    response = await api.client.post(REPOS, content=json.dumps(body))
    _status(response, 413, "RequestEntityTooLarge")


@pytest.mark.parametrize("api", [{"max_request_body_size": 16 * 1024}], indirect=True)
async def test_the_body_limit_is_configurable(api: API) -> None:
    small = await api.client.post(REPOS, json=repository("small"))
    assert small.status_code == 201
    large = await api.client.post(REPOS, json=repository("large", description="x" * 20000))
    _status(large, 413, "RequestEntityTooLarge")


async def test_unacceptable_accept_is_406_before_any_work(api: API) -> None:
    response = await api.client.post(
        REPOS, json=repository("r"), headers={"Accept": "application/vnd.kubernetes.protobuf"}
    )
    _status(response, 406, "NotAcceptable")
    assert await api.stored_repositories() == []


@pytest.mark.parametrize("api", [{"request_timeout": 0.3}], indirect=True)
async def test_slow_storage_calls_time_out_with_504_but_writes_complete(api: API) -> None:
    api.db.write_delay = 1.0
    response = await api.client.post(REPOS, json=repository("slow"))
    body = _status(response, 504, "Timeout")
    assert body["message"] == "Timeout: request did not complete within the allotted timeout"
    await asyncio.sleep(1.0)
    assert ("default", "slow") in await api.stored_repositories()


# --- create, read, update, delete -----------------------------------------------------------


async def test_create_get_list_round_trip(api: API) -> None:
    # The Python client sends POST without a Content-Type.
    created = await api.client.post(REPOS, content=json.dumps(repository("r1")))
    assert created.status_code == 201
    obj = created.json()
    assert (obj["apiVersion"], obj["kind"]) == ("config.porch.kpt.dev/v1alpha1", "Repository")
    assert obj["metadata"]["namespace"] == "default"
    got = (await api.client.get(f"{REPOS}/r1")).json()
    assert got == obj
    listed = (await api.client.get(f"{REPOS}?limit=500")).json()
    assert listed["kind"] == "RepositoryList"
    assert listed["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
    assert [i["kind"] for i in listed["items"]] == ["Repository"]
    everywhere = (await api.client.get(f"{GV}/repositories")).json()
    assert [i["metadata"]["name"] for i in everywhere["items"]] == ["r1"]


async def test_create_accepts_yaml_and_records_the_field_manager(api: API) -> None:
    body = (
        "apiVersion: config.porch.kpt.dev/v1alpha1\nkind: Repository\nmetadata:\n  name: y\n"
        "spec:\n  description: d\n"
    )
    response = await api.client.post(
        f"{REPOS}?fieldManager=kubectl-create",
        content=body,
        headers={"Content-Type": "application/yaml", "Accept": "application/yaml"},
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/yaml"
    assert "manager: kubectl-create" in response.text


async def test_create_conflicts_and_generate_name(api: API) -> None:
    assert (await api.client.post(REPOS, json=repository("r1"))).status_code == 201
    body = _status(await api.client.post(REPOS, json=repository("r1")), 409, "AlreadyExists")
    assert body["message"] == 'repositories.config.porch.kpt.dev "r1" already exists'
    generated = repository("")
    generated["metadata"] = {"generateName": "repo-"}
    response = await api.client.post(REPOS, json=generated)
    assert response.status_code == 201
    assert response.json()["metadata"]["name"].startswith("repo-")


async def test_create_rejects_a_body_of_another_kind(api: API) -> None:
    body = repository("r1")
    body["kind"] = "Secret"
    _status(await api.client.post(REPOS, json=body), 400, "BadRequest")


async def test_dry_run_create_persists_nothing(api: API) -> None:
    response = await api.client.post(f"{REPOS}?dryRun=All", json=repository("dry"))
    assert response.status_code == 201
    assert await api.stored_repositories() == []
    _status(await api.client.post(f"{REPOS}?dryRun=Yes", json=repository("dry")), 400, "BadRequest")


@pytest.mark.parametrize(
    ("validation", "code", "warning"),
    [
        pytest.param("Strict", 400, None, id="strict"),
        pytest.param("Warn", 201, '299 - "unknown field \\"spec.foo\\""', id="warn"),
        pytest.param(None, 201, '299 - "unknown field \\"spec.foo\\""', id="default-warn"),
        pytest.param("Ignore", 201, None, id="ignore"),
    ],
)
async def test_field_validation(
    api: API, validation: str | None, code: int, warning: str | None
) -> None:
    query = f"?fieldValidation={validation}" if validation else ""
    response = await api.client.post(f"{REPOS}{query}", json=repository("r", foo=1))
    assert response.status_code == code, response.text
    if code == 400:
        assert response.json()["message"] == 'strict decoding error: unknown field "spec.foo"'
    assert response.headers.get("warning") == warning


async def test_storage_warnings_become_warning_headers(api: API) -> None:
    body = repository("w")
    body["metadata"]["labels"] = {"deprecated": "yes"}
    response = await api.client.post(REPOS, json=body)
    assert response.headers["warning"] == "299 - \"label 'deprecated' is set\""


async def test_update_checks_resource_version_and_name(api: API) -> None:
    created = (await api.client.post(REPOS, json=repository("r1"))).json()
    created["spec"]["description"] = "new"
    updated = await api.client.put(f"{REPOS}/r1?fieldManager=kubectl-replace", json=created)
    assert updated.status_code == 200
    assert updated.json()["spec"]["description"] == "new"
    stale = await api.client.put(f"{REPOS}/r1", json=created)
    body = _status(stale, 409, "Conflict")
    assert "the object has been modified" in body["message"]
    _status(await api.client.put(f"{REPOS}/other", json=updated.json()), 400, "BadRequest")


async def test_status_subresource_changes_only_status(api: API) -> None:
    await api.client.post(REPOS, json=repository("r1"))
    response = await api.client.patch(
        f"{REPOS}/r1/status",
        content=json.dumps({"spec": {"description": "ignored"}, "status": {"packageCount": 2}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200
    assert response.json()["status"] == {"packageCount": 2}
    assert "description" not in response.json()["spec"]


async def test_a_field_manager_kubernetes_refuses_is_422_and_writes_nothing(api: API) -> None:
    too_long = await api.client.post(f"{REPOS}?fieldManager={'m' * 129}", json=repository("r1"))
    body = _status(too_long, 422, "Invalid")
    assert body["details"]["kind"] == "CreateOptions"
    assert body["details"]["causes"][0]["field"] == "fieldManager"
    assert "may not be more than 128" in body["message"]
    assert await api.stored_repositories() == []
    await api.client.post(REPOS, json=repository("r1"))
    tab = await api.client.patch(
        f"{REPOS}/r1?fieldManager=a%09b",
        content=json.dumps({"spec": {"description": "x"}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    body = _status(tab, 422, "Invalid")
    assert "invalid character U+0009 (at position 1)" in body["message"]
    got = (await api.client.get(f"{REPOS}/r1")).json()
    assert "description" not in got["spec"]


async def test_status_writes_are_owned_and_checked_like_any_write(api: API) -> None:
    created = (await api.client.post(f"{REPOS}?fieldManager=creator", json=repository("r1"))).json()
    created["status"] = {"packageCount": 3}
    created["metadata"]["labels"] = {"ignored": "yes"}
    updated = await api.client.put(f"{REPOS}/r1/status?fieldManager=controller", json=created)
    assert updated.status_code == 200
    meta = updated.json()["metadata"]
    assert "labels" not in meta  # a status write cannot relabel
    entries = {(e["manager"], e.get("subresource", "")): e for e in meta["managedFields"]}
    assert set(entries) == {("creator", ""), ("controller", "status")}
    assert entries[("controller", "status")]["fieldsV1"] == {
        "f:status": {".": {}, "f:packageCount": {}}
    }
    # The copy read before that write is stale for the status too.
    created["status"] = {"packageCount": 4}
    _status(await api.client.put(f"{REPOS}/r1/status", json=created), 409, "Conflict")


async def test_delete_with_dry_run_in_the_body_keeps_the_object(api: API) -> None:
    await api.client.post(REPOS, json=repository("r1"))
    dry = await api.client.request(
        "DELETE",
        f"{REPOS}/r1",
        content=json.dumps({"propagationPolicy": "Background", "dryRun": ["All"]}),
        headers={"Content-Type": "application/json"},
    )
    assert dry.status_code == 200
    assert ("default", "r1") in await api.stored_repositories()
    deleted = await api.client.delete(f"{REPOS}/r1")
    assert deleted.json()["metadata"]["name"] == "r1"
    assert await api.stored_repositories() == []


async def test_delete_preconditions_conflict(api: API) -> None:
    await api.client.post(REPOS, json=repository("r1"))
    response = await api.client.request(
        "DELETE", f"{REPOS}/r1", json={"preconditions": {"uid": "not-the-uid"}}
    )
    _status(response, 409, "Conflict")


async def test_delete_collection_by_label(api: API) -> None:
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        body = repository(name)
        body["metadata"]["labels"] = {"app": app}
        await api.client.post(REPOS, json=body)
    response = await api.client.delete(f"{REPOS}?labelSelector=app%3Dx")
    assert [i["metadata"]["name"] for i in response.json()["items"]] == ["a", "b"]
    assert await api.stored_repositories() == [("default", "c")]


async def test_protobuf_secret_from_kubectl(api: API) -> None:
    response = await api.client.post(
        "/api/v1/namespaces/default/secrets?fieldManager=kubectl-create&fieldValidation=Strict",
        content=protobuf_test.BASIC_AUTH,
        headers={
            "Content-Type": "application/vnd.kubernetes.protobuf",
            "Accept": "application/vnd.kubernetes.protobuf,application/json",
        },
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["type"] == "kubernetes.io/basic-auth"


# --- lists: paging, Table, metadata ----------------------------------------------------------


async def test_limit_and_continue_page_through_a_list(api: API) -> None:
    for name in ("a", "b", "c"):
        await api.client.post(REPOS, json=repository(name))
    first = (await api.client.get(f"{REPOS}?limit=2")).json()
    assert [i["metadata"]["name"] for i in first["items"]] == ["a", "b"]
    assert first["metadata"]["remainingItemCount"] == 1
    token = first["metadata"]["continue"]
    second = (await api.client.get(f"{REPOS}?limit=2&continue={token}")).json()
    assert [i["metadata"]["name"] for i in second["items"]] == ["c"]
    assert "continue" not in second["metadata"]


async def test_table_rows_carry_objects_as_asked(api: API) -> None:
    await api.client.post(REPOS, json=repository("r1"))
    table = (await api.client.get(REPOS, headers={"Accept": TABLE})).json()
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert table["metadata"]["resourceVersion"]
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    (row,) = table["rows"]
    assert row["cells"][0] == "r1"
    assert row["object"]["kind"] == "PartialObjectMetadata"
    full = (await api.client.get(f"{REPOS}?includeObject=Object", headers={"Accept": TABLE})).json()
    assert full["rows"][0]["object"]["kind"] == "Repository"
    assert full["rows"][0]["object"]["spec"]["type"] == "git"
    bare = (await api.client.get(f"{REPOS}?includeObject=None", headers={"Accept": TABLE})).json()
    assert "object" not in bare["rows"][0]
    one = (await api.client.get(f"{REPOS}/r1", headers={"Accept": TABLE})).json()
    assert len(one["rows"]) == 1


async def test_partial_object_metadata_list(api: API) -> None:
    await api.client.post(REPOS, json=repository("r1"))
    accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
    body = (await api.client.get(REPOS, headers={"Accept": accept})).json()
    assert body["kind"] == "PartialObjectMetadataList"
    assert body["items"][0] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": body["items"][0]["metadata"],
    }
    assert body["items"][0]["metadata"]["name"] == "r1"


async def test_unsupported_field_selector_is_400(api: API) -> None:
    response = await api.client.get(f"{REPOS}?fieldSelector=spec.foo%3Dbar")
    _status(response, 400, "BadRequest")


# --- patch ------------------------------------------------------------------------------------


async def _patch(api: API, body: Any, content_type: str, query: str = "") -> httpx.Response:
    return await api.client.patch(
        f"{REPOS}/r1{query}", content=json.dumps(body), headers={"Content-Type": content_type}
    )


async def test_merge_json_and_strategic_patches(api: API) -> None:
    await api.client.post(REPOS, json=repository("r1"))
    merged = await _patch(api, {"spec": {"description": "m"}}, "application/merge-patch+json")
    assert merged.json()["spec"]["description"] == "m"
    jsonp = [{"op": "replace", "path": "/spec/description", "value": "j"}]
    assert (await _patch(api, jsonp, "application/json-patch+json")).json()["spec"][
        "description"
    ] == "j"
    smp = {"spec": {"description": "s"}}
    assert (await _patch(api, smp, "application/strategic-merge-patch+json")).json()["spec"][
        "description"
    ] == "s"


async def test_patch_errors(api: API) -> None:
    created = (await api.client.post(REPOS, json=repository("r1"))).json()
    failed_test = [{"op": "test", "path": "/spec/type", "value": "oci"}]
    _status(await _patch(api, failed_test, "application/json-patch+json"), 422, "Invalid")
    stale = {"metadata": {"resourceVersion": "1"}, "spec": {"description": "x"}}
    _status(await _patch(api, stale, "application/merge-patch+json"), 409, "Conflict")
    current = {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]}}
    assert (await _patch(api, current, "application/merge-patch+json")).status_code == 200
    _status(await _patch(api, {}, "application/json"), 415, "UnsupportedMediaType")
    missing = await api.client.patch(
        f"{REPOS}/nope", content="{}", headers={"Content-Type": "application/merge-patch+json"}
    )
    _status(missing, 404, "NotFound")


async def test_server_side_apply_creates_then_updates(api: API) -> None:
    applied = repository("r1", description="one")
    no_manager = await _patch(api, applied, "application/apply-patch+yaml")
    body = _status(no_manager, 422, "Invalid")
    assert "fieldManager: Required value" in body["message"]
    created = await _patch(
        api, applied, "application/apply-patch+yaml", "?fieldManager=me&force=True"
    )
    assert created.status_code == 201
    entry = created.json()["metadata"]["managedFields"][0]
    assert (entry["manager"], entry["operation"], entry["fieldsType"]) == (
        "me",
        "Apply",
        "FieldsV1",
    )
    assert entry["fieldsV1"]["f:spec"]["f:description"] == {}
    again = await _patch(
        api, repository("r1", description="two"), "application/apply-patch+yaml", "?fieldManager=me"
    )
    assert again.status_code == 200
    assert again.json()["spec"]["description"] == "two"
    assert len(again.json()["metadata"]["managedFields"]) == 1
    dry = await _patch(
        api,
        repository("r1", description="three"),
        "application/apply-patch+yaml",
        "?fieldManager=me&dryRun=All",
    )
    assert dry.json()["spec"]["description"] == "three"
    assert (await api.client.get(f"{REPOS}/r1")).json()["spec"]["description"] == "two"


async def test_apply_of_another_object_is_refused(api: API) -> None:
    response = await _patch(
        api, repository("other"), "application/apply-patch+yaml", "?fieldManager=me"
    )
    _status(response, 400, "BadRequest")
