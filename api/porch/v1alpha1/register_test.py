"""The registration facts of porch.kpt.dev/v1alpha1 agree with Porch and with the models."""

from __future__ import annotations

import inspect

import pytest

from api.porch import v1alpha1 as porchv1alpha1
from api.porch.v1alpha1 import zz_generated_models


def test_resources_are_named_as_porch_names_them() -> None:
    facts = {
        (r.plural, r.singular, r.kind, r.list_kind, r.subresources, r.short_names)
        for r in porchv1alpha1.RESOURCES
    }

    assert facts == {
        (
            "packagerevisions",
            "packagerevision",
            "PackageRevision",
            "PackageRevisionList",
            ("approval",),
            (),
        ),
        (
            "packagerevisionresources",
            "packagerevisionresources",
            "PackageRevisionResources",
            "PackageRevisionResourcesList",
            (),
            (),
        ),
        ("packages", "package", "PorchPackage", "PorchPackageList", (), ()),
    }
    assert all(
        r.namespaced and r.api_version == "porch.kpt.dev/v1alpha1" for r in porchv1alpha1.RESOURCES
    )
    assert porchv1alpha1.PACKAGE_REVISIONS.group_resource == "packagerevisions.porch.kpt.dev"


@pytest.mark.parametrize("kind", sorted(porchv1alpha1.KINDS))
def test_kind_maps_to_the_model_whose_schema_declares_it(kind: str) -> None:
    model = porchv1alpha1.KINDS[kind]
    extra = model.model_config.get("json_schema_extra")

    assert isinstance(extra, dict)
    assert extra["x-kubernetes-group-version-kind"] == [
        {"group": porchv1alpha1.GROUP, "version": porchv1alpha1.VERSION, "kind": kind}
    ]


def test_every_resource_kind_and_list_kind_has_a_model() -> None:
    for info in porchv1alpha1.RESOURCES:
        assert porchv1alpha1.KINDS[info.kind].__name__ == info.kind
        assert porchv1alpha1.KINDS[info.list_kind].__name__ == info.list_kind


def test_package_exports_every_generated_model() -> None:
    generated = {
        name
        for name, obj in vars(zz_generated_models).items()
        if inspect.isclass(obj) and obj.__module__ == zz_generated_models.__name__
    }

    assert generated <= set(porchv1alpha1.__all__)
