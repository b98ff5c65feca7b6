"""The kind facts of kpt.dev/v1 agree with the models generated from the OpenAPI document."""

from __future__ import annotations

import inspect

import pytest

from api.kptfile import v1 as kptfilev1
from api.kptfile.v1 import zz_generated_models


@pytest.mark.parametrize(
    ("model", "api_version", "kind"),
    [
        (kptfilev1.Kptfile, kptfilev1.API_VERSION, kptfilev1.KPTFILE_KIND),
        (kptfilev1.FunctionResultList, kptfilev1.API_VERSION, kptfilev1.FUNCTION_RESULT_LIST_KIND),
        (kptfilev1.ResourceList, kptfilev1.RESOURCE_LIST_API_VERSION, kptfilev1.RESOURCE_LIST_KIND),
    ],
    ids=["Kptfile", "FunctionResultList", "ResourceList"],
)
def test_model_schema_declares_the_recorded_kind(
    model: type[kptfilev1.Kptfile | kptfilev1.FunctionResultList | kptfilev1.ResourceList],
    api_version: str,
    kind: str,
) -> None:
    group, version = api_version.split("/")
    extra = model.model_config.get("json_schema_extra")

    assert isinstance(extra, dict)
    assert extra["x-kubernetes-group-version-kind"] == [
        {"group": group, "version": version, "kind": kind}
    ]


def test_kinds_cover_the_kpt_dev_kinds_and_no_api_resource() -> None:
    assert dict(kptfilev1.KINDS) == {
        "Kptfile": kptfilev1.Kptfile,
        "FunctionResultList": kptfilev1.FunctionResultList,
    }
    assert kptfilev1.API_VERSION == "kpt.dev/v1"
    assert kptfilev1.RESOURCES == ()


def test_package_exports_every_generated_model() -> None:
    generated = {
        name
        for name, obj in vars(zz_generated_models).items()
        if inspect.isclass(obj) and obj.__module__ == zz_generated_models.__name__
    }

    assert generated <= set(kptfilev1.__all__)
