from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from pkg.kpt import render
from pkg.kpt.fn import runtime as fnruntime
from test.bench import packages


def test_the_render_package_has_twenty_files_and_three_mutators() -> None:
    files = packages.render_package("demo")
    assert len(files) == 20
    kptfile = YAML(typ="safe").load(files["Kptfile"])
    images = [m["image"] for m in kptfile["pipeline"]["mutators"]]
    assert [i.rsplit("/", 1)[1].split(":")[0] for i in images] == [
        "set-namespace",
        "set-labels",
        "set-annotations",
    ]


def test_the_builtin_runtime_renders_it_without_images() -> None:
    result = render.render(packages.render_package("demo"), runtime=fnruntime.BuiltinRuntime())
    assert result.error == ""
    resources = [
        YAML(typ="safe").load(text)
        for path, text in result.files.items()
        if path.endswith(".yaml") and "/" in path
    ]
    assert len(resources) == 18
    for resource in resources:
        metadata = resource["metadata"]
        assert metadata["namespace"] == packages.NAMESPACE
        assert metadata["labels"]["app.kubernetes.io/part-of"] == packages.PART_OF
        assert metadata["annotations"]["bench.porch.kpt.dev/rendered"] == "true"


def test_each_bump_changes_one_deployment_and_survives_a_render() -> None:
    files = packages.render_package("demo")
    rendered = render.render(files, runtime=fnruntime.BuiltinRuntime()).files
    bumped = packages.bump_replicas(rendered, 7)
    changed = [path for path in rendered if rendered[path] != bumped[path]]
    assert changed == ["app-1/deployment.yaml"]
    assert YAML(typ="safe").load(bumped["app-1/deployment.yaml"])["spec"]["replicas"] == 9


def test_a_deployment_without_replicas_is_refused() -> None:
    files = packages.render_package("demo")
    files["app-0/deployment.yaml"] = "apiVersion: apps/v1\nkind: Deployment\n"
    with pytest.raises(ValueError, match="replicas"):
        packages.bump_replicas(files, 0)
