from __future__ import annotations

import pytest

from pkg.apiserver import params, requestinfo
from pkg.apiserver.requestinfo import RequestInfo

G = "porch.kpt.dev"
PREFIX = f"/apis/{G}/v1alpha1"


def _info(method: str, url: str) -> RequestInfo:
    path, _, query = url.partition("?")
    return requestinfo.new_request_info(method, path, params.parse_query(query))


@pytest.mark.parametrize(
    ("method", "url", "verb", "namespace", "resource", "name", "subresource"),
    [
        pytest.param(
            "GET",
            f"{PREFIX}/namespaces/ns/packagerevisions",
            "list",
            "ns",
            "packagerevisions",
            "",
            "",
            id="list",
        ),
        pytest.param(
            "GET",
            f"{PREFIX}/packagerevisions",
            "list",
            "",
            "packagerevisions",
            "",
            "",
            id="list-all-namespaces",
        ),
        pytest.param(
            "GET",
            f"{PREFIX}/namespaces/ns/packagerevisions?watch=True",
            "watch",
            "ns",
            "packagerevisions",
            "",
            "",
            id="watch-capital-true",
        ),
        pytest.param(
            "GET",
            f"{PREFIX}/namespaces/ns/packagerevisions?watch=0",
            "list",
            "ns",
            "packagerevisions",
            "",
            "",
            id="watch-zero-is-list",
        ),
        pytest.param(
            "GET",
            f"{PREFIX}/watch/namespaces/ns/packagerevisions",
            "watch",
            "ns",
            "packagerevisions",
            "",
            "",
            id="legacy-watch-prefix",
        ),
        pytest.param(
            "GET",
            f"{PREFIX}/namespaces/ns/packagerevisions?fieldSelector=metadata.name%3Dx&watch=true",
            "watch",
            "ns",
            "packagerevisions",
            "x",
            "",
            id="watch-one-by-field-selector",
        ),
        pytest.param(
            "GET",
            f"{PREFIX}/namespaces/ns/packagerevisions/x",
            "get",
            "ns",
            "packagerevisions",
            "x",
            "",
            id="get",
        ),
        pytest.param(
            "PUT",
            f"{PREFIX}/namespaces/ns/packagerevisions/x/approval",
            "update",
            "ns",
            "packagerevisions",
            "x",
            "approval",
            id="subresource",
        ),
        pytest.param(
            "PATCH",
            f"{PREFIX}/namespaces/ns/packagerevisions/x",
            "patch",
            "ns",
            "packagerevisions",
            "x",
            "",
            id="patch",
        ),
        pytest.param(
            "POST",
            f"{PREFIX}/namespaces/ns/packagerevisions",
            "create",
            "ns",
            "packagerevisions",
            "",
            "",
            id="create",
        ),
        pytest.param(
            "DELETE",
            f"{PREFIX}/namespaces/ns/packagerevisions/x",
            "delete",
            "ns",
            "packagerevisions",
            "x",
            "",
            id="delete",
        ),
        pytest.param(
            "DELETE",
            f"{PREFIX}/namespaces/ns/packagerevisions",
            "deletecollection",
            "ns",
            "packagerevisions",
            "",
            "",
            id="deletecollection",
        ),
        pytest.param(
            "GET",
            "/api/v1/namespaces/ns/secrets/s",
            "get",
            "ns",
            "secrets",
            "s",
            "",
            id="core-group",
        ),
        pytest.param(
            "GET",
            "/api/v1/namespaces/ns",
            "get",
            "ns",
            "namespaces",
            "ns",
            "",
            id="namespace-object",
        ),
        pytest.param(
            "PUT",
            "/api/v1/namespaces/ns/finalize",
            "update",
            "ns",
            "namespaces",
            "ns",
            "finalize",
            id="namespace-subresource",
        ),
    ],
)
def test_resource_requests(
    method: str, url: str, verb: str, namespace: str, resource: str, name: str, subresource: str
) -> None:
    info = _info(method, url)
    assert info.is_resource_request
    assert (info.verb, info.namespace, info.resource, info.name, info.subresource) == (
        verb,
        namespace,
        resource,
        name,
        subresource,
    )


def test_group_and_version() -> None:
    info = _info("GET", f"{PREFIX}/namespaces/ns/packagerevisions")
    assert (info.api_prefix, info.api_group, info.api_version) == ("apis", G, "v1alpha1")


@pytest.mark.parametrize(
    ("method", "url", "verb"),
    [
        pytest.param("GET", "/healthz", "get", id="health"),
        pytest.param("GET", "/apis", "get", id="apis"),
        pytest.param("GET", f"/apis/{G}", "get", id="group"),
        pytest.param("GET", f"/apis/{G}/v1alpha1", "get", id="group-version"),
        pytest.param("GET", "/openapi/v3/apis/x/v1", "get", id="openapi"),
        pytest.param("POST", "/version", "post", id="method-as-verb"),
    ],
)
def test_non_resource_requests(method: str, url: str, verb: str) -> None:
    info = _info(method, url)
    assert not info.is_resource_request
    assert info.verb == verb


def test_a_bad_field_selector_only_means_no_name() -> None:
    info = _info("GET", f"{PREFIX}/namespaces/ns/packagerevisions?fieldSelector=nonsense")
    assert (info.verb, info.name) == ("list", "")
