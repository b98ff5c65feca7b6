"""The renderer with real function processes (exec runtime) and the builtins.

kpt's own render cases run in test/e2e/render; these tests cover what those cannot: functions
that re-serialise their input, unknown images, `exec:` steps and the library's contract.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pkg.kpt import render
from pkg.kpt.fn import runtime as fnruntime

PREFIX = fnruntime.DEFAULT_IMAGE_PREFIX

KPTFILE = """apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: app
pipeline:
  mutators:
    - image: {image}
      configMap:
        team: blue
"""

RESOURCES = """# Deployment of the app
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # the name
spec:
  replicas: 3 # kpt-set: ${replicas}
  template:
    spec:
      containers:
      - name: web
        image: nginx
"""

# A function written without kyaml: it loads and dumps plain data, so comments are lost and keys
# come back sorted; kpt restores both from its input, and so must the renderer.
REWRITER = """
import sys, yaml
rl = yaml.safe_load(sys.stdin)
team = rl["functionConfig"]["data"]["team"]
for item in rl["items"]:
    item["metadata"].setdefault("labels", {})["team"] = team
sys.stderr.write("labelled\\n")
yaml.safe_dump(rl, sys.stdout, sort_keys=True)
"""


def _runtime(tmp_path: Path) -> fnruntime.FunctionRuntime:
    script = tmp_path / "rewriter.py"
    script.write_text(REWRITER)
    return fnruntime.ChainRuntime(
        [
            fnruntime.BuiltinRuntime(),
            fnruntime.ExecRuntime(commands={"example.com/rewriter": [sys.executable, str(script)]}),
        ]
    )


def test_comments_and_key_order_survive_a_rewriting_function(tmp_path: Path) -> None:
    files = {
        "Kptfile": KPTFILE.format(image="example.com/rewriter:v1"),
        "deploy.yaml": RESOURCES,
    }
    result = render.render(files, runtime=_runtime(tmp_path))
    assert result.exit_code == 0, result.error
    assert result.files["deploy.yaml"] == RESOURCES.replace(
        "  name: web # the name\n", "  name: web # the name\n  labels:\n    team: blue\n"
    )
    assert result.result_list["items"] == [
        {"image": "example.com/rewriter:v1", "stderr": "labelled", "exitCode": 0}
    ]
    assert files["deploy.yaml"] == RESOURCES  # the input mapping is left alone


def test_unknown_image_fails_the_render_and_writes_only_the_status(tmp_path: Path) -> None:
    files = {"Kptfile": KPTFILE.format(image="example.com/nothing"), "deploy.yaml": RESOURCES}
    result = render.render(files, runtime=_runtime(tmp_path))
    assert result.exit_code == 1
    assert result.error == "pkg.render: pkg .:\n\tpipeline.run: already handled error"
    assert result.files["deploy.yaml"] == RESOURCES
    assert result.status is not None
    step = result.status["renderStatus"]["mutationSteps"][0]
    assert step["image"] == "example.com/nothing:latest"
    assert step["exitCode"] == fnruntime.UNKNOWN_IMAGE_EXIT_CODE
    assert result.status["renderStatus"]["errorSummary"] == (
        "example.com/nothing:latest: exit code 125"
    )
    assert (
        'status:\n  conditions:\n    - type: Rendered\n      status: "False"'
        in (result.files["Kptfile"])
    )


def test_exec_steps_are_refused(tmp_path: Path) -> None:
    kptfile_text = KPTFILE.replace("- image: {image}", "- exec: ./run.sh")
    result = render.render({"Kptfile": kptfile_text}, runtime=_runtime(tmp_path))
    assert result.exit_code == 1
    assert result.status is not None
    assert result.status["renderStatus"]["mutationSteps"] == [
        {"exec": "./run.sh", "executionError": render.EXEC_NOT_ALLOWED, "exitCode": 1}
    ]


def test_builtins_render_a_package_with_a_subpackage(tmp_path: Path) -> None:
    files = {
        "Kptfile": KPTFILE.format(image="set-labels:latest").replace("team: blue", "tier: web"),
        "deploy.yaml": RESOURCES,
        "db/Kptfile": KPTFILE.format(image=PREFIX + "set-namespace:latest").replace(
            "team: blue", "namespace: db"
        ),
        "db/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db\n",
    }
    result = render.render(files, runtime=_runtime(tmp_path))
    assert result.exit_code == 0, result.error
    assert result.files["db/cm.yaml"] == (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db\n  namespace: db\n"
        "  labels:\n    tier: web\n"
    )
    steps = result.status["renderStatus"]["mutationSteps"] if result.status else []
    assert [s["image"] for s in steps] == [
        PREFIX + "set-namespace:latest",
        PREFIX + "set-labels:latest",
    ]


def test_missing_kptfile() -> None:
    result = render.render(
        {"a.yaml": "a: 1\n"}, runtime=fnruntime.BuiltinRuntime(), package_path="p"
    )
    assert result.exit_code == 1
    assert result.error == 'No Kptfile found at "p".'
    assert result.files == {"a.yaml": "a: 1\n"}


def test_render_directory_out_of_place(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "Kptfile").write_text(KPTFILE.format(image="set-labels:latest"))
    out = tmp_path / "out"
    result = render.render_directory(pkg, runtime=fnruntime.BuiltinRuntime(), output_dir=out)
    assert result.exit_code == 0, result.error
    assert "team: blue" in (out / "Kptfile").read_text()
    assert "status:" not in (out / "Kptfile").read_text()
    assert (pkg / "Kptfile").read_text() == KPTFILE.format(image="set-labels:latest")
    again = render.render_directory(pkg, runtime=fnruntime.BuiltinRuntime(), output_dir=out)
    assert again.exit_code == 1
    assert again.error == 'directory "out" already exists, please delete the directory and retry'
