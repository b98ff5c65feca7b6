"""``porchctl fn render`` / ``fn eval`` in-process: arguments, files written and exact output.

The commands run through :func:`pkg.cmd.porchctl.main.main` on packages written to
``tmp_path``, with the builtin functions and real executables (``--exec``,
``--function-exec``); ``KUBECONFIG`` names a file that does not exist, since these commands
must never need a cluster. ``test/e2e/cli/fn_conformance_test.py`` runs the installed binary on
kpt's and the function catalog's conformance cases.
"""

from __future__ import annotations

import io
import re
import stat
import sys
from pathlib import Path

import pytest
import yaml

from pkg.cmd.porchctl import fn
from pkg.cmd.porchctl import main as porchctl

KPTFILE = """\
apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: {name}
pipeline:
  mutators:
    - image: {image}
      configMap:
        {key}: {value}
"""

PLAIN_KPTFILE = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {name}\n"


def _cm(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n"


@pytest.fixture(autouse=True)
def _no_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """Package ``app`` (set-namespace) with subpackage ``db`` (set-labels)."""
    root = tmp_path / "app"
    (root / "db").mkdir(parents=True)
    (root / "Kptfile").write_text(
        KPTFILE.format(name="app", image="set-namespace:latest", key="namespace", value="prod")
    )
    (root / "cm.yaml").write_text(_cm("app-cm"))
    (root / "db" / "Kptfile").write_text(
        KPTFILE.format(name="db", image="set-labels:latest", key="tier", value="db")
    )
    (root / "db" / "cm.yaml").write_text(_cm("db-cm"))
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = porchctl.main(["fn", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _executable(path: Path, body: str) -> Path:
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# A KRM function (kpt's exec contract) that annotates every item with its first argument
# ("exec" without one) and says so on stderr.
ANNOTATE = """\
import sys, yaml
rl = yaml.safe_load(sys.stdin)
for item in rl["items"]:
    seen_by = sys.argv[1] if len(sys.argv) > 1 else "exec"
    item["metadata"].setdefault("annotations", {})["seen-by"] = seen_by
print("annotated", len(rl["items"]), file=sys.stderr)
yaml.safe_dump(rl, sys.stdout)
"""

# A function that moves every item out of its package: its output is refused after it ran.
ESCAPE = """\
import sys, yaml
rl = yaml.safe_load(sys.stdin)
for item in rl["items"]:
    annotations = item["metadata"]["annotations"]
    annotations["config.kubernetes.io/path"] = "../outside.yaml"
    annotations["internal.config.kubernetes.io/path"] = "../outside.yaml"
yaml.safe_dump(rl, sys.stdout)
"""

EXEC_KPTFILE = """\
apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: {name}
pipeline:
  mutators:
    - exec: {command}
"""

_TIMING = re.compile(r"^(\[(?:PASS|FAIL)\] .*) in [0-9.]+(?:h|m|s|ms)+$", re.MULTILINE)


def timeless(err: str) -> str:
    """kpt's test runner's clean-up: every ``[PASS]``/``[FAIL]`` time reads ``in 0s`` (a
    process's start-up may pass kpt's 100ms resolution)."""
    return _TIMING.sub(r"\1 in 0s", err)


# -- render ----------------------------------------------------------------------------


def test_render_in_place_prints_kpt_progress(capsys: pytest.CaptureFixture[str], app: Path) -> None:
    code, out, err = run(capsys, "render", "app")
    assert code == 0, err
    assert out == ""
    assert err == (
        'Package "app/db":\n'
        '[RUNNING] "ghcr.io/kptdev/krm-functions-catalog/set-labels:latest" on package "app/db"\n'
        '[PASS] "ghcr.io/kptdev/krm-functions-catalog/set-labels:latest" in 0s\n'
        "  [Results]:\n"
        "    [info]: set 2 labels in total\n"
        "\n"
        'Package "app":\n'
        '[RUNNING] "ghcr.io/kptdev/krm-functions-catalog/set-namespace:latest" on package "app"\n'
        '[PASS] "ghcr.io/kptdev/krm-functions-catalog/set-namespace:latest" in 0s\n'
        "  [Results]:\n"
        '    [info]: namespace [default] updated to "prod", 2 value(s) changed\n'
        "    [info]: all `depends-on` annotations are up-to-date. no `namespace` changed\n"
        "\n"
        "Successfully executed 2 function(s) in 2 package(s).\n"
    )
    db_cm = yaml.safe_load((app / "db" / "cm.yaml").read_text())
    assert db_cm["metadata"] == {"name": "db-cm", "namespace": "prod", "labels": {"tier": "db"}}
    root_status = yaml.safe_load((app / "Kptfile").read_text())["status"]
    assert root_status["conditions"][0]["reason"] == "RenderSuccess"


def test_render_shows_empty_packages_and_selected_counts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = tmp_path / "sel"
    (root / "empty").mkdir(parents=True)
    (root / "Kptfile").write_text(
        KPTFILE.format(name="sel", image="set-labels:latest", key="a", value="b")
        + "      selectors:\n        - kind: ConfigMap\n"
    )
    (root / "cm.yaml").write_text(_cm("x"))
    (root / "empty" / "Kptfile").write_text(PLAIN_KPTFILE.format(name="empty"))
    (root / "empty" / "cm.yaml").write_text(_cm("y"))
    code, _, err = run(capsys, "render", "sel")
    assert code == 0, err
    image = "ghcr.io/kptdev/krm-functions-catalog/set-labels:latest"
    assert err == (
        'Package "sel/empty":\n'
        'Package "sel":\n'
        f'[RUNNING] "{image}" on 2 resource(s) on package "sel"\n'
        f'[PASS] "{image}" in 0s\n'
        "  [Results]:\n"
        "    [info]: set 2 labels in total\n"
        "\n"
        "Successfully executed 1 function(s) in 2 package(s).\n"
    )


def test_render_results_dir_and_unwrap_leave_the_package_alone(
    capsys: pytest.CaptureFixture[str], app: Path, tmp_path: Path
) -> None:
    before = {p: p.read_text() for p in app.rglob("*") if p.is_file()}
    code, out, err = run(capsys, "render", "app", "-o", "unwrap", "--results-dir", "res")
    assert code == 0, err
    assert {p: p.read_text() for p in app.rglob("*") if p.is_file()} == before
    documents = list(yaml.safe_load_all(out))
    assert sorted(d["metadata"]["name"] for d in documents) == ["app", "app-cm", "db", "db-cm"]
    assert all(d["metadata"]["namespace"] == "prod" for d in documents if d["kind"] != "Kptfile")
    assert "config.kubernetes.io/path" not in out
    assert "Successfully executed" not in err
    assert err.endswith("\nFor complete results, see res/results.yaml\n")
    results = yaml.safe_load((tmp_path / "res" / "results.yaml").read_text())
    assert [item["image"] for item in results["items"]] == [
        "ghcr.io/kptdev/krm-functions-catalog/set-labels:latest",
        "ghcr.io/kptdev/krm-functions-catalog/set-namespace:latest",
    ]


def test_render_function_failure_is_reported_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = tmp_path / "broken"
    root.mkdir()
    (root / "Kptfile").write_text(
        KPTFILE.format(name="broken", image="example.com/nope:v1", key="a", value="b")
    )
    (root / "cm.yaml").write_text(_cm("x"))
    code, out, err = run(capsys, "render", "broken")
    assert (code, out) == (1, "")
    assert err == (
        'Package "broken":\n'
        '[RUNNING] "example.com/nope:v1" on package "broken"\n'
        '[FAIL] "example.com/nope:v1" in 0s\n'
        "  Stderr:\n"
        "    function image 'example.com/nope:v1' is not available: no builtin function or "
        "configured executable runs it\n"
        "  Exit code: 125\n"
        "\n"
    )
    assert (root / "cm.yaml").read_text() == _cm("x")


def test_render_error_is_kpts_innermost_cause(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = tmp_path / "nonkrm"
    root.mkdir()
    (root / "Kptfile").write_text(PLAIN_KPTFILE.format(name="nonkrm"))
    (root / "bad.yaml").write_text("kind: Thing\n")
    code, _, err = run(capsys, "render", "nonkrm")
    assert code == 1
    assert err == (
        "Error: input resource list must contain only KRM resources: bad.yaml: resource must "
        "have `apiVersion` \n"
    )
    code, _, err = run(capsys, "render", "missing")
    assert (code, err) == (1, 'Error: No Kptfile found at "missing". \n')


def test_render_runs_function_exec_images(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _executable(tmp_path / "annotate.py", ANNOTATE)
    (tmp_path / "functions.yaml").write_text("example.com/annotate: ./annotate.py\n")
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "Kptfile").write_text(
        KPTFILE.format(name="pkg", image="example.com/annotate:v1", key="a", value="b")
    )
    (root / "cm.yaml").write_text(_cm("x"))
    code, _, err = run(capsys, "render", "pkg", "--function-exec", "functions.yaml")
    assert code == 0, err
    assert "  Stderr:\n    annotated 2\n" in err
    cm = yaml.safe_load((root / "cm.yaml").read_text())
    assert cm["metadata"]["annotations"] == {"seen-by": "exec"}


def test_render_rejects_a_bad_function_exec_file(
    capsys: pytest.CaptureFixture[str], app: Path, tmp_path: Path
) -> None:
    (tmp_path / "functions.yaml").write_text("- not a mapping\n")
    code, _, err = run(capsys, "render", "app", "--function-exec", "functions.yaml")
    assert code == 1
    assert err == (
        "Error: --function-exec: functions.yaml must be a mapping from function image to "
        "command, not a list \n"
    )


def test_render_runs_exec_steps_only_with_allow_exec(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _executable(tmp_path / "annotate.py", ANNOTATE)
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "Kptfile").write_text(EXEC_KPTFILE.format(name="pkg", command="./annotate.py"))
    (root / "cm.yaml").write_text(_cm("x"))
    code, out, err = run(capsys, "render", "pkg")
    assert (code, out) == (1, "")
    assert err == (
        "Error: must run with `--allow-exec` option to allow running function binaries \n"
    )
    assert (root / "cm.yaml").read_text() == _cm("x")

    code, _, err = run(capsys, "render", "pkg", "--allow-exec", "--results-dir", "r")
    assert code == 0, err
    assert timeless(err) == (
        'Package "pkg":\n'
        '[RUNNING] "./annotate.py" on package "pkg"\n'
        '[PASS] "./annotate.py" in 0s\n'
        "  Stderr:\n"
        "    annotated 2\n"
        "\n"
        "Successfully executed 1 function(s) in 1 package(s).\n"
        "For complete results, see r/results.yaml\n"
    )
    cm = yaml.safe_load((root / "cm.yaml").read_text())
    assert cm["metadata"]["annotations"] == {"seen-by": "exec"}
    results = yaml.safe_load((tmp_path / "r" / "results.yaml").read_text())
    assert results["items"] == [{"exec": "./annotate.py", "stderr": "annotated 2", "exitCode": 0}]


def test_render_fails_a_step_whose_output_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _executable(tmp_path / "escape.py", ESCAPE)
    root = tmp_path / "pkg"
    (root / "db").mkdir(parents=True)
    (root / "Kptfile").write_text(PLAIN_KPTFILE.format(name="pkg"))
    (root / "db" / "Kptfile").write_text(EXEC_KPTFILE.format(name="db", command="./escape.py"))
    (root / "db" / "cm.yaml").write_text(_cm("x"))
    code, _, err = run(capsys, "render", "pkg", "--allow-exec")
    assert code == 1
    # kpt: [FAIL] for the step, then the renderer's reason as the error
    assert timeless(err) == (
        'Package "pkg/db":\n'
        '[RUNNING] "./escape.py" on package "pkg/db"\n'
        '[FAIL] "./escape.py" in 0s\n'
        "Error: function must not modify resources outside of package: resource has path "
        "../outside.yaml \n"
    )
    assert (root / "db" / "cm.yaml").read_text() == _cm("x")


def test_render_progress_follows_breadth_first_rendering(
    capsys: pytest.CaptureFixture[str], app: Path
) -> None:
    kptfile = (app / "Kptfile").read_text()
    (app / "Kptfile").write_text(
        kptfile.replace(
            "  name: app\n", "  name: app\n  annotations:\n    kpt.dev/bfs-rendering: 'true'\n"
        )
    )
    code, _, err = run(capsys, "render", "app")
    assert code == 0, err
    assert [line for line in err.splitlines() if line.startswith(("Package", "[RUNNING]"))] == [
        'Package "app":',
        '[RUNNING] "ghcr.io/kptdev/krm-functions-catalog/set-namespace:latest" on package "app"',
        'Package "app/db":',
        '[RUNNING] "ghcr.io/kptdev/krm-functions-catalog/set-labels:latest" on package "app/db"',
    ]


# -- eval ------------------------------------------------------------------------------


def test_eval_in_place_covers_kptfiles_and_subpackages(
    capsys: pytest.CaptureFixture[str], app: Path
) -> None:
    code, out, err = run(capsys, "eval", "app", "--image", "set-annotations", "--", "team=a")
    assert code == 0, err
    assert out == ""
    assert err.startswith(
        '[RUNNING] "ghcr.io/kptdev/krm-functions-catalog/set-annotations:latest"\n'
        '[PASS] "ghcr.io/kptdev/krm-functions-catalog/set-annotations:latest" in 0s\n'
    )
    for path in ("Kptfile", "cm.yaml", "db/Kptfile", "db/cm.yaml"):
        document = yaml.safe_load((app / path).read_text())
        assert document["metadata"]["annotations"] == {"team": "a"}, path
    # eval never renders: no status
    assert "status" not in yaml.safe_load((app / "Kptfile").read_text())


def test_eval_fn_config_and_deleted_resources(
    capsys: pytest.CaptureFixture[str], app: Path, tmp_path: Path
) -> None:
    (tmp_path / "drop.yaml").write_text(
        "apiVersion: fn.kpt.dev/v1alpha1\nkind: StarlarkRun\nmetadata:\n  name: drop\n"
        "source: |\n"
        '  ctx.resource_list["items"] = [r for r in ctx.resource_list["items"]\n'
        '      if r["metadata"]["name"] != "db-cm"]\n'
    )
    code, _, err = run(capsys, "eval", "app", "-i", "starlark", "--fn-config", "drop.yaml")
    assert code == 0, err
    assert not (app / "db" / "cm.yaml").exists()
    assert (app / "cm.yaml").read_text() == _cm("app-cm")


def test_eval_reads_stdin_and_prints(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    resource_list = (
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n"
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(resource_list))
    code, out, err = run(capsys, "eval", "-", "-i", "set-labels", "-o", "unwrap", "--", "x=y")
    assert code == 0, err
    assert out == "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    x: y\n"


def test_eval_exec_names_the_command(
    capsys: pytest.CaptureFixture[str], app: Path, tmp_path: Path
) -> None:
    _executable(tmp_path / "annotate.py", ANNOTATE)
    command = "./annotate.py 'the eval'"
    code, _, err = run(capsys, "eval", "app", "--exec", command, "--results-dir", "r")
    assert code == 0, err
    assert timeless(err) == (
        f'[RUNNING] "{command}"\n'
        f'[PASS] "{command}" in 0s\n'
        "  Stderr:\n"
        "    annotated 4\n"
        "For complete results, see r/results.yaml\n"
    )
    assert (tmp_path / "r" / "results.yaml").read_text() == (
        "apiVersion: kpt.dev/v1\nkind: FunctionResultList\nmetadata:\n  name: fnresults\n"
        f"exitCode: 0\nitems:\n  - exec: {command}\n    stderr: annotated 4\n"
        "    exitCode: 0\n"
    )
    assert yaml.safe_load((app / "db" / "cm.yaml").read_text())["metadata"]["annotations"] == {
        "seen-by": "the eval"
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["app"], "Error: exactly one of --image and --exec must be given \n", id="no-function"
        ),
        pytest.param(
            ["app", "-i", "set-labels", "--exec", "true"],
            "Error: exactly one of --image and --exec must be given \n",
            id="image-and-exec",
        ),
        pytest.param(
            ["app", "-i", "set-labels", "--fn-config", "x.yaml", "--", "a=b"],
            "Error: --fn-config and KEY=VALUE arguments cannot be used together \n",
            id="config-and-args",
        ),
        pytest.param(
            ["app", "-i", "set-labels", "--", "a=b", "novalue"],
            'Error: function argument "novalue" must have the form KEY=VALUE \n',
            id="bad-argument",
        ),
        pytest.param(
            ["app", "-i", "set-labels", "--fn-config", "missing.yaml"],
            "Error: cannot read --fn-config missing.yaml: No such file or directory \n",
            id="missing-fn-config",
        ),
        pytest.param(
            ["app", "--exec", "./fn 'unclosed"],
            'Error: exec command "./fn \'unclosed" must be valid: No closing quotation \n',
            id="bad-exec-command",
        ),
        pytest.param(
            ["nowhere", "-i", "set-labels", "--", "a=b"],
            'Error: "nowhere" is not a directory \n',
            id="not-a-directory",
        ),
        pytest.param(
            ["app", "-i", "set-labels", "-o", "json"],
            "error: Invalid value for '-o' / '--output': \"json\" is not one of stdout, unwrap\n",
            id="bad-output",
        ),
    ],
)
def test_eval_argument_errors(
    capsys: pytest.CaptureFixture[str], app: Path, args: list[str], message: str
) -> None:
    before = {p: p.read_text() for p in app.rglob("*") if p.is_file()}
    code, out, err = run(capsys, "eval", *args)
    assert (code, out, err) == (1, "", message)
    assert {p: p.read_text() for p in app.rglob("*") if p.is_file()} == before


# -- helpers ---------------------------------------------------------------------------


def test_parse_function_args() -> None:
    assert fn.parse_function_args(["a=b", "c=d=e", "empty="]) == {"a": "b", "c": "d=e", "empty": ""}


def test_result_lines_follow_kpt() -> None:
    results = {
        "items": [
            {"message": "plain"},
            {
                "message": "ref",
                "severity": "error",
                "resourceRef": {"apiVersion": "v1", "kind": "ConfigMap", "name": "a"},
                "field": {"path": "data.k"},
            },
            {
                "message": "legacy ref",
                "severity": "warning",
                "resourceRef": {"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}},
            },
        ]
    }
    assert fn.result_lines({"results": results}) == [
        "[info]: plain",
        "[error] v1/ConfigMap/a data.k: ref",
        "[warning] Pod/ns/p: legacy ref",
    ]
    assert fn.result_lines({"results": results["items"][:1]}) == ["[info]: plain"]
    assert fn.result_lines(None) == []
