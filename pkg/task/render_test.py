"""Tests of the render glue: success, failure with Porch's status, no Kptfile, subpackage root."""

from __future__ import annotations

import yaml

from pkg.kpt.fn import runtime as fnruntime
from pkg.task import render

KPTFILE = """\
apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: app
pipeline:
  mutators:
  - image: set-namespace:v0.4
    configMap:
      namespace: prod
"""
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm # keep\ndata:\n  a: b\n"


async def test_pipeline_runs_and_status_is_reported() -> None:
    outcome = await render.render_package(
        {"Kptfile": KPTFILE, "cm.yaml": CM}, runtime=fnruntime.BuiltinRuntime()
    )
    assert not outcome.failed
    assert yaml.safe_load(outcome.files["cm.yaml"])["metadata"]["namespace"] == "prod"
    assert "name: cm # keep" in outcome.files["cm.yaml"]
    conditions = yaml.safe_load(outcome.files["Kptfile"])["status"]["conditions"]
    assert conditions == [{"type": "Rendered", "status": "True", "reason": "RenderSuccess"}]


async def test_failure_keeps_input_and_returns_render_status() -> None:
    broken = KPTFILE.replace("set-namespace:v0.4", "quay.io/invalid/nonexistent-fn:v0.0.1")
    outcome = await render.render_package(
        {"Kptfile": broken, "cm.yaml": CM}, runtime=fnruntime.BuiltinRuntime()
    )
    assert outcome.failed
    assert outcome.files["cm.yaml"] == CM
    assert outcome.render_status is not None
    assert outcome.render_status.error == outcome.error
    assert outcome.render_status.result is not None
    assert outcome.render_status.result.exit_code == 1


async def test_without_kptfile_render_is_skipped() -> None:
    files = {"cm.yaml": CM}
    outcome = await render.render_package(files, runtime=fnruntime.BuiltinRuntime())
    assert (outcome.files, outcome.failed, outcome.render_status) == (files, False, None)


async def test_topmost_package_is_rendered() -> None:
    files = {"sub/Kptfile": KPTFILE, "sub/cm.yaml": CM, "other.txt": "x"}
    outcome = await render.render_package(files, runtime=fnruntime.BuiltinRuntime())
    assert yaml.safe_load(outcome.files["sub/cm.yaml"])["metadata"]["namespace"] == "prod"
    assert outcome.files["other.txt"] == "x"
