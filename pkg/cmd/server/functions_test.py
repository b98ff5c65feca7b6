"""The function runtime porch-server renders with: builtins, and executables an operator
configures with ``--function-exec``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pkg.cmd.server import functions
from pkg.kpt import kptfile, yamlutil
from pkg.kpt.fn import runtime as fnruntime

PREFIX = "ghcr.io/kptdev/krm-functions-catalog/"

# A function that stamps an annotation on every item (kpt's exec contract: stdin -> stdout).
STAMP = f"""#!{sys.executable}
import sys, yaml
rl = yaml.safe_load(sys.stdin)
for item in rl.get("items") or []:
    item.setdefault("metadata", {{}}).setdefault("annotations", {{}})["stamped"] = sys.argv[1]
yaml.safe_dump(rl, sys.stdout)
"""

RESOURCE_LIST = """\
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: cm
"""


@pytest.fixture
def stamp(tmp_path: Path) -> Path:
    program = tmp_path / "bin" / "stamp"
    program.parent.mkdir()
    program.write_text(STAMP)
    program.chmod(0o755)
    return program


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "functions.yaml"
    path.write_text(text)
    return path


def test_images_map_to_commands(tmp_path: Path, stamp: Path) -> None:
    config = _config(
        tmp_path,
        "example.com/fns/stamp:v1: [bin/stamp, one]\n"
        "stamp: bin/stamp 'two words'\n"
        "example.com/fns/echo: [cat]\n",
    )
    assert functions.load_exec_config(config, PREFIX) == {
        "example.com/fns/stamp:v1": [str(stamp), "one"],
        f"{PREFIX}stamp": [str(stamp), "two words"],
        "example.com/fns/echo": ["cat"],
    }


def test_a_configured_executable_runs_in_a_render_step(tmp_path: Path, stamp: Path) -> None:
    config = _config(tmp_path, f"example.com/fns/stamp: [{stamp}, by-porch]\n")
    runtime = functions.new_runtime(PREFIX, config)
    image = "example.com/fns/stamp:v2"
    assert runtime.handles(image)
    result = runtime.run(kptfile.Function(image=image), yamlutil.load(RESOURCE_LIST))
    assert result.exit_code == 0, result.stderr
    assert result.resource_list is not None
    assert result.resource_list["items"][0]["metadata"]["annotations"] == {"stamped": "by-porch"}
    # Builtins are still there, and an unknown image is refused as "not available".
    assert runtime.handles(f"{PREFIX}set-labels:v0.2")
    unknown = runtime.run(
        kptfile.Function(image="example.com/none:v1"), yamlutil.load(RESOURCE_LIST)
    )
    assert unknown.exit_code == fnruntime.UNKNOWN_IMAGE_EXIT_CODE


def test_builtins_answer_to_a_custom_default_prefix() -> None:
    runtime = functions.new_runtime("registry.example.com/kpt-fn/", None)
    assert runtime.handles("registry.example.com/kpt-fn/set-namespace:v0.4")
    assert runtime.handles(f"{PREFIX}set-namespace:v0.4")
    assert not runtime.handles("registry.example.com/kpt-fn/not-a-builtin:v1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("- a\n- b\n", "must be a mapping from function image to command", id="list"),
        pytest.param("a: [unclosed\n", "is not valid YAML", id="yaml"),
        pytest.param("a: []\n", "a: the command is empty", id="empty"),
        pytest.param("a: {x: 1}\n", "a: the command must be a list of strings", id="mapping"),
        pytest.param("a: [no-such-program-anywhere]\n", "is not found on PATH", id="path"),
        pytest.param("a: ./missing.sh\n", "missing.sh is not an executable file", id="file"),
        pytest.param("a: 'x \"y'\n", "a: cannot split the command line", id="quotes"),
    ],
)
def test_unusable_configs_say_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(functions.FunctionConfigError, match=message):
        functions.load_exec_config(_config(tmp_path, text), PREFIX)
