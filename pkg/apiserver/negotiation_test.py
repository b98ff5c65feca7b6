from __future__ import annotations

import pytest

from pkg.apimachinery import errors
from pkg.apiserver import negotiation
from pkg.apiserver.negotiation import Output, PatchType, Target

TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
METADATA_LIST_ACCEPT = (
    "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
)
AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)


@pytest.mark.parametrize(
    ("accept", "endpoint", "expected"),
    [
        pytest.param(None, "item", Output(), id="no-accept-is-json"),
        pytest.param("*/*", "list", Output(), id="wildcard"),
        pytest.param("application/json, */*", "item", Output(), id="json-then-wildcard"),
        pytest.param("application/yaml", "item", Output("yaml"), id="yaml"),
        pytest.param(TABLE_ACCEPT, "list", Output("json", Target.TABLE, "v1"), id="kubectl-table"),
        pytest.param(TABLE_ACCEPT, "watch", Output("json", Target.TABLE, "v1"), id="table-watch"),
        pytest.param(
            "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
            "item",
            Output("json", Target.TABLE, "v1beta1"),
            id="table-v1beta1",
        ),
        pytest.param(
            METADATA_LIST_ACCEPT,
            "list",
            Output("json", Target.PARTIAL_OBJECT_METADATA_LIST, "v1"),
            id="metadata-client-list-skips-protobuf",
        ),
        pytest.param(
            METADATA_LIST_ACCEPT, "item", Output(), id="list-metadata-on-get-falls-back-to-json"
        ),
        pytest.param(
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
            "watch",
            Output("json", Target.PARTIAL_OBJECT_METADATA, "v1"),
            id="metadata-watch",
        ),
        pytest.param(
            "application/vnd.kubernetes.protobuf,application/json",
            "item",
            Output(),
            id="protobuf-skipped",
        ),
        pytest.param(
            "application/yaml;q=0.5,application/json", "item", Output(), id="q-values-order"
        ),
        pytest.param("application/yaml, application/json", "watch", Output(), id="no-yaml-watch"),
    ],
)
def test_negotiate_output(
    accept: str | None, endpoint: negotiation.Endpoint, expected: Output
) -> None:
    assert negotiation.negotiate_output(accept, endpoint) == expected


@pytest.mark.parametrize(
    "accept",
    [
        pytest.param("application/vnd.kubernetes.protobuf", id="protobuf-only"),
        pytest.param("text/html", id="html"),
        pytest.param("application/json;as=Table;v=v2;g=meta.k8s.io", id="unknown-table-version"),
        pytest.param("application/json;q=0", id="q-zero"),
    ],
)
def test_negotiate_output_refuses_what_it_cannot_serve(accept: str) -> None:
    with pytest.raises(errors.StatusError) as caught:
        negotiation.negotiate_output(accept, "item")
    assert caught.value.code == 406
    assert caught.value.reason == "NotAcceptable"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        pytest.param(AGGREGATED_ACCEPT, ("json", "v2"), id="kubectl-1.30-plus"),
        pytest.param(
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
            "application/json",
            ("json", "v2beta1"),
            id="kubectl-1.27",
        ),
        pytest.param("application/json", ("json", None), id="python-client-legacy"),
        pytest.param(None, ("json", None), id="no-accept-legacy"),
        pytest.param("application/yaml", ("yaml", None), id="yaml-legacy"),
    ],
)
def test_negotiate_discovery(accept: str | None, expected: tuple[str, str | None]) -> None:
    assert negotiation.negotiate_discovery(accept) == expected


def test_aggregator_v2_only_without_fallback_is_answered() -> None:
    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    assert negotiation.negotiate_discovery(accept) == ("json", "v2")


def test_discovery_content_type_echoes_the_media_type() -> None:
    assert negotiation.discovery_content_type("v2") == (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )


@pytest.mark.parametrize(
    ("content_type", "protobuf", "expected"),
    [
        pytest.param(None, False, "json", id="none-is-json"),
        pytest.param("", False, "json", id="empty-is-json"),
        pytest.param("application/json; charset=utf-8", False, "json", id="json-params"),
        pytest.param("application/yaml", False, "yaml", id="yaml"),
        pytest.param(negotiation.PROTOBUF, True, "protobuf", id="protobuf-where-allowed"),
    ],
)
def test_body_format(content_type: str | None, protobuf: bool, expected: str) -> None:
    assert negotiation.body_format(content_type, protobuf=protobuf) == expected


@pytest.mark.parametrize("content_type", [negotiation.PROTOBUF, "text/plain"])
def test_body_format_refuses_unknown_formats(content_type: str) -> None:
    with pytest.raises(errors.StatusError) as caught:
        negotiation.body_format(content_type)
    assert caught.value.code == 415


@pytest.mark.parametrize("patch_type", list(PatchType))
def test_patch_type_reads_every_patch_format(patch_type: PatchType) -> None:
    assert negotiation.patch_type(f"{patch_type.value}; charset=utf-8") is patch_type


def test_patch_type_refuses_plain_json_with_the_list_of_types() -> None:
    with pytest.raises(errors.StatusError) as caught:
        negotiation.patch_type("application/json")
    assert caught.value.code == 415
    assert "application/merge-patch+json" in caught.value.message
