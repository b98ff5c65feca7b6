"""The renderer with real function processes (exec runtime) and the builtins.

kpt's own render cases run in test/e2e/render; these tests cover what those cannot: functions
that re-serialise their input, unknown images, `exec:` steps and the library's contract.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pkg.kpt import kptfile, render
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


# A function run as a local executable (kpt's exec contract): labels every item with its
# functionConfig's data and its KEY=VALUE arguments, and says so on stderr.
EXEC_LABELLER = """
import sys, yaml
rl = yaml.safe_load(sys.stdin)
labels = dict((rl.get("functionConfig") or {}).get("data") or {})
labels.update(arg.split("=", 1) for arg in sys.argv[1:])
for item in rl["items"]:
    item["metadata"].setdefault("labels", {}).update(labels)
sys.stderr.write("labelled by exec\\n")
yaml.safe_dump(rl, sys.stdout)
"""

# A function that moves every item out of its package (the renderer must refuse its output).
EXEC_ESCAPER = """
import sys, yaml
rl = yaml.safe_load(sys.stdin)
for item in rl["items"]:
    annotations = item["metadata"]["annotations"]
    annotations["config.kubernetes.io/path"] = "../outside.yaml"
    annotations["internal.config.kubernetes.io/path"] = "../outside.yaml"
yaml.safe_dump(rl, sys.stdout)
"""

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def _command(tmp_path: Path, name: str, body: str, *args: str) -> str:
    script = tmp_path / name
    script.write_text(body)
    return " ".join([sys.executable, str(script), *args])


def _exec_kptfile(command: str, kind: str = "mutators") -> str:
    return (
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\npipeline:\n"
        f"  {kind}:\n    - exec: '{command}'\n      configMap:\n        team: blue\n"
    )


@dataclass
class Recorder:
    """A RenderObserver that keeps what it was told."""

    events: list[tuple[Any, ...]] = field(default_factory=list)

    def package_started(self, package: str) -> None:
        self.events.append(("package", package))

    def step_started(self, step: render.Step) -> None:
        self.events.append(("start", step.package, step.name, step.item_count))

    def step_finished(self, step: render.Step, outcome: render.StepOutcome) -> None:
        exit_code = None if outcome.run is None else outcome.run.exit_code
        self.events.append(("finish", step.name, outcome.passed, exit_code, outcome.error))


def test_exec_steps_run_when_allowed(tmp_path: Path) -> None:
    command = _command(tmp_path, "labeller.py", EXEC_LABELLER, "by=exec")
    files = {"Kptfile": _exec_kptfile(command), "cm.yaml": CM.format(name="a")}
    result = render.render(files, runtime=fnruntime.BuiltinRuntime(), allow_exec=True)
    assert result.exit_code == 0, result.error
    assert (
        result.files["cm.yaml"] == CM.format(name="a") + "  labels:\n    by: exec\n    team: blue\n"
    )
    assert result.result_list["items"] == [
        {"exec": command, "stderr": "labelled by exec", "exitCode": 0}
    ]
    assert result.status is not None
    assert result.status["renderStatus"]["mutationSteps"] == [
        {"exec": command, "stderr": "labelled by exec", "exitCode": 0}
    ]
    # the same package, not allowed: nothing runs, nothing but the status changes
    refused = render.render(files, runtime=fnruntime.BuiltinRuntime())
    assert (refused.exit_code, refused.cause) == (1, render.EXEC_NOT_ALLOWED)
    assert refused.error == f"pkg.render: pkg .:\n\tpipeline.run: {render.EXEC_NOT_ALLOWED}"
    assert refused.files["cm.yaml"] == CM.format(name="a")
    assert refused.result_list["items"] == []


def test_exec_validators_are_refused_unless_allowed(tmp_path: Path) -> None:
    command = _command(tmp_path, "labeller.py", EXEC_LABELLER)
    files = {"Kptfile": _exec_kptfile(command, "validators"), "cm.yaml": CM.format(name="a")}
    refused = render.render(files, runtime=fnruntime.BuiltinRuntime())
    assert refused.cause == render.EXEC_NOT_ALLOWED
    assert refused.status is not None
    assert refused.status["renderStatus"]["validationSteps"] == [
        {"exec": command, "executionError": render.EXEC_NOT_ALLOWED, "exitCode": 1}
    ]
    allowed = render.render(files, runtime=fnruntime.BuiltinRuntime(), allow_exec=True)
    assert allowed.exit_code == 0, allowed.error
    # a validator's output is thrown away
    assert allowed.files["cm.yaml"] == CM.format(name="a")


def test_exec_command_must_parse(tmp_path: Path) -> None:
    files = {"Kptfile": _exec_kptfile('./fn "unclosed'), "cm.yaml": CM.format(name="a")}
    result = render.render(files, runtime=fnruntime.BuiltinRuntime(), allow_exec=True)
    assert result.exit_code == 1
    assert result.cause == ('exec command "./fn \\"unclosed" must be valid: No closing quotation')


def test_observer_follows_the_render_in_execution_order(tmp_path: Path) -> None:
    labels = KPTFILE.format(image="set-labels:latest")
    files = {
        "Kptfile": labels,
        "cm.yaml": CM.format(name="root"),
        "a/Kptfile": labels,
        "a/x/Kptfile": "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: x\n",
        "b/Kptfile": labels,
    }
    image = PREFIX + "set-labels:latest"
    dfs = Recorder()
    assert render.render(files, runtime=fnruntime.BuiltinRuntime(), observer=dfs).exit_code == 0
    assert dfs.events == [
        ("package", "a/x"),
        ("package", "a"),
        ("start", "a", image, 2),
        ("finish", image, True, 0, ""),
        ("package", "b"),
        ("start", "b", image, 1),
        ("finish", image, True, 0, ""),
        ("package", ""),
        ("start", "", image, 5),
        ("finish", image, True, 0, ""),
    ]
    bfs_root = labels.replace(
        "  name: app\n", "  name: app\n  annotations:\n    kpt.dev/bfs-rendering: 'true'\n"
    )
    bfs = Recorder()
    render.render({**files, "Kptfile": bfs_root}, runtime=fnruntime.BuiltinRuntime(), observer=bfs)
    assert [e[1] for e in bfs.events if e[0] in ("package", "start")] == [
        "",
        "",
        "a",
        "a",
        "b",
        "b",
        "a/x",
    ]


def test_rejected_output_fails_its_step_and_is_the_cause(tmp_path: Path) -> None:
    command = _command(tmp_path, "escaper.py", EXEC_ESCAPER)
    files = {
        "Kptfile": "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\n",
        "db/Kptfile": "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: db\n",
        "db/x/Kptfile": _exec_kptfile(command),
        "db/x/cm.yaml": CM.format(name="x"),
    }
    seen = Recorder()
    result = render.render(
        files, runtime=fnruntime.BuiltinRuntime(), allow_exec=True, observer=seen
    )
    rejection = (
        "function must not modify resources outside of package: resource has path ../outside.yaml"
    )
    assert result.exit_code == 1
    assert result.cause == rejection
    assert result.error == ("pkg.render: pkg ./db:\n\tpkg ./db/x:\n\tpipeline.run: " + rejection)
    # the function ran and exited 0; the renderer refused what it gave
    assert seen.events[-1] == ("finish", command, False, 0, rejection)
    assert result.files["db/x/cm.yaml"] == CM.format(name="x")


def test_non_krm_input_fails_the_step_before_the_function_runs(tmp_path: Path) -> None:
    files = {"Kptfile": KPTFILE.format(image="set-labels:latest"), "bad.yaml": "kind: Thing\n"}
    seen = Recorder()
    result = render.render(files, runtime=fnruntime.BuiltinRuntime(), observer=seen)
    problem = "input resource list must contain only KRM resources: bad.yaml: resource must have"
    assert result.cause.startswith(problem)
    assert seen.events[-1][:4] == ("finish", PREFIX + "set-labels:latest", False, None)
    assert seen.events[-1][4].startswith(problem)


RESOURCE_LIST = (
    "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"
    "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n"
)


def test_eval_takes_a_function_config_object() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    result, text = render.eval_function(
        RESOURCE_LIST,
        kptfile.Function(image="set-labels"),
        runtime=fnruntime.BuiltinRuntime(),
        unwrap=True,
        function_config={**config, "data": {"tier": "db"}},
    )
    assert result.exit_code == 0, result.error
    assert (
        text == "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    tier: db\n"
    )
    with pytest.raises(ValueError, match="mutually exclusive"):
        render.eval_function(
            RESOURCE_LIST,
            kptfile.Function(image="set-labels", config_map={"a": "b"}),
            runtime=fnruntime.BuiltinRuntime(),
            function_config=config,
        )


def test_eval_runs_an_exec_function_named_by_its_command(tmp_path: Path) -> None:
    command = _command(tmp_path, "labeller.py", EXEC_LABELLER, "by=eval")
    seen = Recorder()
    result, text = render.eval_function(
        RESOURCE_LIST,
        kptfile.Function(exec=command, config_map={"team": "red"}),
        runtime=fnruntime.BuiltinRuntime(),
        unwrap=True,
        observer=seen,
    )
    assert result.exit_code == 0, result.error
    assert "  labels:\n    by: eval\n    team: red\n" in text
    assert result.result_list["items"] == [
        {"exec": command, "stderr": "labelled by exec", "exitCode": 0}
    ]
    assert seen.events == [
        ("start", None, command, 1),
        ("finish", command, True, 0, ""),
    ]
