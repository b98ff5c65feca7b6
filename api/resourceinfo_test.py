"""ResourceInfo derives the names Kubernetes shows for a resource."""

from __future__ import annotations

import dataclasses

import pytest

from api import resourceinfo


def test_named_group_resource() -> None:
    info = resourceinfo.ResourceInfo(
        group="config.porch.kpt.dev",
        version="v1alpha1",
        kind="Repository",
        list_kind="RepositoryList",
        plural="repositories",
        singular="repository",
        namespaced=True,
        short_names=("repo",),
    )

    assert info.api_version == "config.porch.kpt.dev/v1alpha1"
    assert info.group_resource == "repositories.config.porch.kpt.dev"
    assert (info.categories, info.subresources) == ((), ())


def test_core_group_resource_has_no_group_part() -> None:
    info = resourceinfo.ResourceInfo(
        group="",
        version="v1",
        kind="Secret",
        list_kind="SecretList",
        plural="secrets",
        singular="secret",
        namespaced=True,
    )

    assert info.api_version == "v1"
    assert info.group_resource == "secrets"


def test_resource_info_is_immutable() -> None:
    info = resourceinfo.ResourceInfo("g", "v1", "K", "KList", "ks", "k", namespaced=False)

    with pytest.raises(dataclasses.FrozenInstanceError):
        info.plural = "other"  # type: ignore[misc]
