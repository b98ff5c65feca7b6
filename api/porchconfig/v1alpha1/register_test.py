"""The registration facts of config.porch.kpt.dev/v1alpha1 agree with the CRD and the models."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from api.porchconfig import v1alpha1 as configv1alpha1
from api.porchconfig.v1alpha1 import zz_generated_models

CRD = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "reference"
    / "crds"
    / "config.porch.kpt.dev_repositories.yaml"
)


def test_repositories_match_the_crd_names() -> None:
    crd: dict[str, Any] = YAML(typ="safe", pure=True).load(CRD)
    names = crd["spec"]["names"]
    info = configv1alpha1.REPOSITORIES

    assert crd["spec"]["group"] == info.group
    assert [v["name"] for v in crd["spec"]["versions"]] == [info.version]
    assert (info.kind, info.list_kind, info.plural, info.singular) == (
        names["kind"],
        names["listKind"],
        names["plural"],
        names["singular"],
    )
    assert info.short_names == tuple(names["shortNames"])
    assert info.namespaced == (crd["spec"]["scope"] == "Namespaced")
    assert info.subresources == tuple(crd["spec"]["versions"][0]["subresources"])
    assert info.group_resource == crd["metadata"]["name"]


@pytest.mark.parametrize("kind", sorted(configv1alpha1.KINDS))
def test_kind_maps_to_the_model_whose_schema_declares_it(kind: str) -> None:
    extra = configv1alpha1.KINDS[kind].model_config.get("json_schema_extra")

    assert isinstance(extra, dict)
    assert extra["x-kubernetes-group-version-kind"] == [
        {"group": configv1alpha1.GROUP, "version": configv1alpha1.VERSION, "kind": kind}
    ]


def test_package_exports_every_generated_model() -> None:
    generated = {
        name
        for name, obj in vars(zz_generated_models).items()
        if inspect.isclass(obj) and obj.__module__ == zz_generated_models.__name__
    }

    assert generated <= set(configv1alpha1.__all__)
