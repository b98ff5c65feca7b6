from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from api import resourceinfo
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import codec
from pkg.apiserver import apiservertesting, discovery, groups
from pkg.registry.generic import store
from pkg.registry.rest import rest


class ReadOnly:
    """A storage with only get and list (as Porch's ``packages``)."""

    def __init__(self, inner: store.Store[Any]) -> None:
        self._inner = inner

    @property
    def resource(self) -> resourceinfo.ResourceInfo:
        return self._inner.resource

    def new_object(self) -> type[BaseModel]:
        return self._inner.new_object()

    def new_list(self) -> type[BaseModel]:
        return self._inner.new_list()

    async def get(self, ctx: rest.RequestContext, name: str) -> BaseModel:
        return await self._inner.get(ctx, name)

    async def list(self, ctx: rest.RequestContext, options: rest.ListOptions) -> rest.ListResult:
        return await self._inner.list(ctx, options)


@pytest.fixture
def gvs(db: apiservertesting.Database) -> list[groups.APIGroupVersion]:
    repos = apiservertesting.repositories(db)
    secrets = ReadOnly(apiservertesting.secrets(db))
    return [
        groups.APIGroupVersion("", "v1", {"secrets": secrets}),
        groups.APIGroupVersion(
            configv1alpha1.GROUP,
            configv1alpha1.VERSION,
            {"repositories": repos, "repositories/status": repos.status()},
        ),
    ]


def _dict(model: BaseModel) -> dict[str, Any]:
    return codec.to_dict(model)


def test_legacy_group_list_versions_equal_preferred_version_by_dict(
    gvs: list[groups.APIGroupVersion],
) -> None:
    body = _dict(discovery.api_group_list(gvs))
    assert body["kind"] == "APIGroupList"
    (group,) = body["groups"]  # the core group is not a named group
    assert group["name"] == configv1alpha1.GROUP
    # The Python dynamic client finds the preferred version by dict equality.
    assert (
        group["versions"][0]
        == group["preferredVersion"]
        == {
            "groupVersion": "config.porch.kpt.dev/v1alpha1",
            "version": "v1alpha1",
        }
    )


def test_resource_list_has_kinds_verbs_and_subresources(gvs: list[groups.APIGroupVersion]) -> None:
    body = _dict(discovery.api_resource_list(gvs[1]))
    assert body["groupVersion"] == "config.porch.kpt.dev/v1alpha1"
    by_name = {r["name"]: r for r in body["resources"]}
    repositories = by_name["repositories"]
    assert repositories["kind"] == "Repository"
    assert repositories["namespaced"] is True
    assert repositories["singularName"] == "repository"
    assert repositories["shortNames"] == ["repo"]
    assert repositories["verbs"] == [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ]
    status = by_name["repositories/status"]
    assert (status["kind"], status["verbs"]) == ("Repository", ["get", "patch", "update"])


def test_verbs_come_from_capabilities_only(gvs: list[groups.APIGroupVersion]) -> None:
    body = _dict(discovery.api_resource_list(gvs[0]))
    assert body["groupVersion"] == "v1"
    assert body["resources"][0]["verbs"] == ["get", "list"]


def test_aggregated_discovery_carries_response_kinds_and_freshness(
    gvs: list[groups.APIGroupVersion],
) -> None:
    body = _dict(discovery.aggregated_discovery(gvs, "v2beta1", core=False))
    assert body["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
    (group,) = body["items"]
    assert group["metadata"] == {"name": configv1alpha1.GROUP}
    (version,) = group["versions"]
    assert version["freshness"] == "Current"
    (resource,) = version["resources"]
    gvk = {"group": configv1alpha1.GROUP, "version": "v1alpha1", "kind": "Repository"}
    assert resource["responseKind"] == gvk
    assert resource["scope"] == "Namespaced"
    assert resource["singularResource"] == "repository"
    assert resource["subresources"] == [
        {"subresource": "status", "responseKind": gvk, "verbs": ["get", "patch", "update"]}
    ]


def test_aggregated_discovery_of_the_core_group(gvs: list[groups.APIGroupVersion]) -> None:
    body = _dict(discovery.aggregated_discovery(gvs, "v2", core=True))
    (group,) = body["items"]
    assert group["metadata"] == {}
    assert group["versions"][0]["resources"][0]["resource"] == "secrets"


def test_api_versions_lists_core_versions(gvs: list[groups.APIGroupVersion]) -> None:
    body = _dict(discovery.api_versions(gvs, "127.0.0.1:9443"))
    assert body["versions"] == ["v1"]
    assert body["serverAddressByClientCIDRs"] == [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:9443"}
    ]


def test_api_group_of_unknown_group_is_none(gvs: list[groups.APIGroupVersion]) -> None:
    assert discovery.api_group(gvs, "nope.example.com") is None
