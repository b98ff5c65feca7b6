"""Image resolution and the builtin, exec and chain runtimes (exec runs real processes)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pkg.kpt import kptfile, yamlutil
from pkg.kpt.fn import fnerrors
from pkg.kpt.fn import runtime as fnruntime

PREFIX = fnruntime.DEFAULT_IMAGE_PREFIX


@pytest.mark.parametrize(
    ("image", "tag", "resolved"),
    [
        ("set-labels:latest", "", PREFIX + "set-labels:latest"),
        ("set-labels", "", PREFIX + "set-labels:latest"),
        (PREFIX + "set-labels", "~0.2", PREFIX + "set-labels:v0.2.5"),
        (PREFIX + "set-namespace", "0.4.1 - 0.4.3", PREFIX + "set-namespace:v0.4.3"),
        (PREFIX + "set-namespace", "^0.3", PREFIX + "set-namespace:v0.3.4"),
        (
            "gcr.io/kpt-fn/starlark@sha256:" + "a" * 64,
            "",
            "gcr.io/kpt-fn/starlark@sha256:" + "a" * 64,
        ),
    ],
)
def test_resolve_image(image: str, tag: str, resolved: str) -> None:
    assert fnruntime.resolve_image(image, tag, fnruntime.BuiltinRuntime()) == resolved


def test_unsatisfiable_tag_constraint() -> None:
    with pytest.raises(fnruntime.ImageResolutionError):
        fnruntime.resolve_image(PREFIX + "set-labels", "~9.0", fnruntime.BuiltinRuntime())


def _resource_list(*items: str, config: dict[str, str] | None = None) -> CommentedMap:
    rl = CommentedMap()
    rl["apiVersion"] = "config.kubernetes.io/v1"
    rl["kind"] = "ResourceList"
    rl["items"] = CommentedSeq(yamlutil.load(item) for item in items)
    if config is not None:
        rl["functionConfig"] = yamlutil.from_plain(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "function-input"},
                "data": config,
            }
        )
    return rl


def _echo(resource_list: CommentedMap) -> CommentedMap:
    return resource_list


def _broken(resource_list: CommentedMap) -> CommentedMap:
    raise fnerrors.FunctionError("bad config", results=[{"message": "m", "severity": "error"}])


def _crash(resource_list: CommentedMap) -> CommentedMap:
    raise KeyError("items")


@pytest.mark.parametrize(
    "image",
    [
        "echo",
        PREFIX + "echo:v1",
        "gcr.io/kpt-fn/echo:unstable",
        PREFIX + "echo@sha256:" + "b" * 64,
    ],
)
def test_builtin_names(image: str) -> None:
    runtime = fnruntime.BuiltinRuntime(functions={"echo": _echo})
    assert runtime.handles(image)
    assert not runtime.handles("example.com/other/echo:v1")


def test_builtin_failures_become_exit_codes() -> None:
    runtime = fnruntime.BuiltinRuntime(functions={"broken": _broken, "crash": _crash})
    failed = runtime.run(kptfile.Function(image="broken:v1"), _resource_list())
    assert (failed.exit_code, failed.stderr) == (1, "bad config")
    assert failed.resource_list is not None
    assert failed.resource_list["results"] == [{"message": "m", "severity": "error"}]
    crashed = runtime.run(kptfile.Function(image="crash:v1"), _resource_list())
    assert crashed.exit_code == 1
    assert crashed.stderr == "panic: KeyError: 'items'"


def test_the_real_builtins_are_registered() -> None:
    runtime = fnruntime.BuiltinRuntime()
    for name in fnruntime.BUILTIN_TAGS:
        assert runtime.handles(f"{PREFIX}{name}:latest"), name


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("apply-setters", ""),
        ("apply-setters:v0.2", "v0.2"),
        (PREFIX + "apply-setters:v0.2.4", "v0.2.4"),
        ("localhost:5000/fns/apply-setters:latest", "latest"),
        ("localhost:5000/fns/apply-setters", ""),
        (PREFIX + "apply-setters@sha256:" + "c" * 64, ""),
        (PREFIX + "apply-setters:v0.3@sha256:" + "c" * 64, "v0.3"),
    ],
)
def test_image_tag(image: str, tag: str) -> None:
    assert fnruntime.image_tag(image) == tag


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n" + (
    '    internal.config.kubernetes.io/path: cm.yaml\ndata:\n  foo: "bar" # kpt-set: ${foo}\n'
)


@pytest.mark.parametrize(
    ("image", "with_resource_ref"),
    [
        (PREFIX + "apply-setters:v0.2", False),
        ("gcr.io/kpt-fn/apply-setters:v0.2.2", False),
        (PREFIX + "apply-setters:v0.3.0", True),
        (PREFIX + "apply-setters:latest", True),
        (PREFIX + "apply-setters@sha256:" + "d" * 64, True),
    ],
)
def test_builtin_runs_as_the_catalog_version_its_tag_names(
    image: str, with_resource_ref: bool
) -> None:
    # porchctl prints `[info] v1/ConfigMap/cm data.foo: ...` for v0.3 results and
    # `[info] data.foo: ...` for v0.2 ones (Porch's rpkg-upgrade golden).
    runtime = fnruntime.BuiltinRuntime()
    ran = runtime.run(
        kptfile.Function(image=image), _resource_list(CONFIGMAP, config={"foo": "baz"})
    )
    assert ran.exit_code == 0
    assert ran.resource_list is not None
    assert ran.resource_list["items"][0]["data"]["foo"] == "baz"
    (result,) = yamlutil.to_plain(ran.resource_list["results"])
    assert result["message"] == 'set field value to "baz"'
    assert result["field"]["path"] == "data.foo"
    assert ("resourceRef" in result) == with_resource_ref
    assert ("severity" in result) == with_resource_ref


def _tagged(resource_list: CommentedMap, tag: str) -> CommentedMap:
    resource_list["results"] = CommentedSeq([CommentedMap(message=f"ran as {tag!r}")])
    return resource_list


def test_versioned_entry_points_get_the_tag_and_plain_functions_keep_working() -> None:
    runtime = fnruntime.BuiltinRuntime(
        functions={"echo": _echo, "tagged": _echo}, versioned_functions={"tagged": _tagged}
    )
    ran = runtime.run(kptfile.Function(image=PREFIX + "tagged:v1.2"), _resource_list())
    assert ran.resource_list is not None
    assert ran.resource_list["results"] == [{"message": "ran as 'v1.2'"}]
    plain = runtime.run(kptfile.Function(image=PREFIX + "echo:v1.2"), _resource_list())
    assert plain.resource_list is not None and "results" not in plain.resource_list
    # Functions given by the caller are not shadowed by the package's versioned builtins.
    own = fnruntime.BuiltinRuntime(functions={"apply-setters": _echo})
    ran = own.run(kptfile.Function(image="apply-setters:v0.2"), _resource_list(CONFIGMAP))
    assert ran.resource_list is not None and "results" not in ran.resource_list


FUNCTION = """
import sys, yaml
rl = yaml.safe_load(sys.stdin)
if rl["functionConfig"]["data"].get("fail"):
    sys.stderr.write("told to fail\\n")
    sys.exit(3)
for item in rl["items"]:
    item["metadata"].setdefault("labels", {})["by"] = "exec"
yaml.safe_dump(rl, sys.stdout)
"""


def test_exec_runtime_runs_a_process(tmp_path: Path) -> None:
    script = tmp_path / "fn.py"
    script.write_text(FUNCTION)
    runtime = fnruntime.ExecRuntime(commands={"example.com/label": [sys.executable, str(script)]})
    assert runtime.handles("example.com/label:v1")
    ok = runtime.run(
        kptfile.Function(image="example.com/label:v1"),
        _resource_list("apiVersion: v1\nkind: A\nmetadata:\n  name: a\n", config={"x": "y"}),
    )
    assert ok.exit_code == 0
    assert ok.resource_list is not None
    assert ok.resource_list["items"][0]["metadata"]["labels"] == {"by": "exec"}
    failed = runtime.run(
        kptfile.Function(image="example.com/label:v1"), _resource_list(config={"fail": "1"})
    )
    assert (failed.exit_code, failed.stderr) == (3, "told to fail")


def test_exec_runtime_times_out(tmp_path: Path) -> None:
    runtime = fnruntime.ExecRuntime(
        commands={"slow": [sys.executable, "-c", "import time; time.sleep(5)"]}, timeout=0.2
    )
    result = runtime.run(kptfile.Function(image="slow"), _resource_list())
    assert result.exit_code == 1
    assert "timed out" in result.stderr


def test_chain_prefers_the_first_runtime_and_reports_unknown_images() -> None:
    first = fnruntime.BuiltinRuntime(functions={"echo": _echo})
    second = fnruntime.ExecRuntime(commands={PREFIX + "echo": ["false"]})
    chain = fnruntime.ChainRuntime([first, second])
    assert chain.run(kptfile.Function(image=PREFIX + "echo:v1"), _resource_list()).exit_code == 0
    unknown = chain.run(kptfile.Function(image=PREFIX + "dne:latest"), _resource_list())
    assert unknown.exit_code == fnruntime.UNKNOWN_IMAGE_EXIT_CODE
    assert PREFIX + "dne:latest" in unknown.stderr
