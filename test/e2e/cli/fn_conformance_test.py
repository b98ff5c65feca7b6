"""``porchctl fn render`` / ``fn eval``: the installed porchctl binary on the conformance cases.

The cases are run the way their upstream runners ran kpt, with ``porchctl fn`` in kpt's place
and no cluster (``KUBECONFIG`` names a file that does not exist):

* kpt's render cases (``../shared/conformance/kpt-fn-render``, a selection covering progress
  output, failures, subpackages, selectors, results, ``.krmignore``, a symlinked package and
  the out-of-place outputs): the case folder is copied and committed with git, rendered with
  ``porchctl fn render`` (``--results-dir results`` when ``results.yaml`` is expected), and
  compared as kpt's runner compares it: the exit code; stderr, which must contain ``stdErr``
  once ``stdErrStripLines`` are dropped and ``[PASS]``/``[FAIL]`` timings read ``in 0s``;
  stdout, which must contain ``stdOut``; ``git diff`` against ``.expected/diff.patch`` byte
  for byte; ``results.yaml`` as text. The chain cases pipe ``fn render -o stdout`` through
  two ``fn eval -`` commands, as their upstream scripts piped kpt.
* the function catalog's imperative cases (``../shared/conformance/krm-functions``, every
  ``eval-args`` and ``eval-fn-config`` case): ``porchctl fn eval . --image IMAGE`` with the
  case's ``key=value`` arguments or ``--fn-config FILE``, then the folder must equal a copy
  with ``.expected/diff.patch`` applied, with the expected exit code and stderr.

The copying, git, diff and tree helpers are the render and function conformance suites' own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import pytest

from test.e2e.functions import functions_conformance_test as fncases
from test.e2e.render import render_conformance_test as rendercases

PORCHCTL: Final = Path(sys.executable).parent / "porchctl"
_TIMING: Final = re.compile(r"^(\[(?:PASS|FAIL)\] .*) in [0-9.]+(?:h|m|s|ms)+$", re.MULTILINE)
_CHAIN_PREFIX: Final = "ghcr.io/kptdev/krm-functions-catalog/"

# kpt-fn-render cases run here, with what their upstream invocation needs.
RENDER_CASES: Final = (
    "basicpipeline",
    "short-image-path",
    "fn-failure",
    "no-fnconfig",
    "fn-success-with-stderr",
    "validate-resource-failure",
    "subpkgs",
    "subpkg-fn-failure",
    "selectors/generator",
    "save-on-render-failure/bfs-subpkg-mutator-fails",
    "subpkgs-with-krmignore",
    "non-krm-resource",
    "fnconfig-not-relative",
    "basicpipeline-symlink",
    "out-of-place-dir",
    "out-of-place-dir-exists-error",
    "out-of-place-unwrap",
    "out-of-place-fnchain-stdout",
    "out-of-place-fnchain-unwrap",
)
_INVOCATIONS: Final = {case.name: case.invocation for case in rendercases.CASES}
EVAL_CASES: Final = [case for case in fncases.CASES if case["invocation"].startswith("eval")]


def porchctl(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if not PORCHCTL.exists():
        pytest.fail(f"{PORCHCTL} is not installed (pip install -e . installs the console script)")
    env = {**os.environ, "KUBECONFIG": str(cwd / "no-such-kubeconfig")}
    return subprocess.run(
        [str(PORCHCTL), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def clean_stderr(stderr: str, config: Mapping[str, Any]) -> str:
    """kpt's runner clean-up: stripped lines dropped, timings as `in 0s`."""
    stripped = set(config.get("stdErrStripLines") or [])
    kept = [line for line in stderr.splitlines(True) if line.rstrip("\n") not in stripped]
    return _TIMING.sub(r"\1 in 0s", "".join(kept))


# -- kpt render cases ------------------------------------------------------------------


def _copy_render_case(name: str, tmp_path: Path) -> tuple[Path, str]:
    """The case folder under its own name, committed; (folder, first commit)."""
    source = rendercases.CONFORMANCE / name
    work = tmp_path / source.name
    shutil.copytree(source, work, symlinks=True)
    for path in [work, *work.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    rendercases._git(work, "init", "-q")
    return work, rendercases._commit_all(work, "initial")


def _run_chain(work: Path, invocation: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """render -o stdout | eval - set-annotations foo=bar | eval - set-labels tier=backend
    (the last with -o unwrap in the unwrap chain); (last process, all stderr in order)."""
    unwrap = invocation.endswith("-unwrap")
    render = porchctl("fn", "render", ".", "-o", "stdout", cwd=work)
    assert render.returncode == 0, render.stderr
    first = porchctl(
        "fn",
        "eval",
        "-",
        "--image",
        f"{_CHAIN_PREFIX}set-annotations:latest",
        "--",
        "foo=bar",
        cwd=work,
        stdin=render.stdout,
    )
    assert first.returncode == 0, first.stderr
    output = ("-o", "unwrap") if unwrap else ()
    last = porchctl(
        "fn",
        "eval",
        "-",
        "--image",
        f"{_CHAIN_PREFIX}set-labels:latest",
        *output,
        "--",
        "tier=backend",
        cwd=work,
        stdin=first.stdout,
    )
    return last, render.stderr + first.stderr + last.stderr


@pytest.mark.e2e
@pytest.mark.parametrize("name", RENDER_CASES)
def test_fn_render_case(name: str, tmp_path: Path) -> None:
    source = rendercases.CONFORMANCE / name
    config = rendercases._expected_config(source)
    work, first = _copy_render_case(name, tmp_path)
    invocation = _INVOCATIONS[name]
    expected_results = source / ".expected" / "results.yaml"
    if invocation == "render-via-symlink":
        # upstream: in the package, `ln -s ./ new-link`, render new-link, remove the link
        (work / "new-link").symlink_to("./", target_is_directory=True)
        proc = porchctl("fn", "render", "new-link", cwd=work)
        (work / "new-link").unlink()
        stderr = proc.stderr
    elif invocation in ("render-out-dir", "render-out-dir-existing"):
        shutil.rmtree(work / "out", ignore_errors=True)
        if invocation == "render-out-dir-existing":
            (work / "out").mkdir()
        proc = porchctl("fn", "render", ".", "-o", "out", cwd=work)
        stderr = proc.stderr
    elif invocation in ("render-stdout", "render-unwrap"):
        output = "unwrap" if invocation == "render-unwrap" else "stdout"
        proc = porchctl("fn", "render", ".", "-o", output, cwd=work)
        stderr = proc.stderr
    elif invocation.startswith("render-stdout-then-eval-chain"):
        proc, stderr = _run_chain(work, invocation)
    else:
        results = ("--results-dir", "results") if expected_results.exists() else ()
        proc = porchctl("fn", "render", name.rsplit("/", 1)[-1], *results, cwd=tmp_path)
        stderr = proc.stderr

    assert proc.returncode == int(config.get("exitCode", 0)), stderr
    want_err = config.get("stdErr")
    if isinstance(want_err, str):
        got_err = clean_stderr(stderr, config)
        assert want_err.strip() in got_err, f"stderr lacks\n{want_err}\ngot:\n{got_err}"
    want_out = config.get("stdOut")
    if isinstance(want_out, str):
        assert want_out.strip() in proc.stdout, f"stdout lacks\n{want_out}\ngot:\n{proc.stdout}"

    rendercases._commit_all(work, "rendered")
    strip = config.get("diffStripRegEx")
    got = rendercases._normalize_diff(rendercases._git(work, "diff", first, "HEAD"), strip)
    diff_file = source / ".expected" / "diff.patch"
    want = diff_file.read_text(encoding="utf-8") if diff_file.exists() else ""
    assert got == rendercases._normalize_diff(want, strip)

    if expected_results.exists():
        written = (tmp_path / "results" / "results.yaml").read_text(encoding="utf-8")
        assert written.strip() == expected_results.read_text(encoding="utf-8").strip()
        assert "For complete results, see results/results.yaml\n" in stderr


# -- function catalog eval cases -------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("case", fncases._params(EVAL_CASES))
def test_fn_eval_case(case: dict[str, Any], tmp_path: Path) -> None:
    work, expected = fncases._copy_case(case, tmp_path)
    invocation = case["invocation"]
    if invocation == "eval-args":
        data = case["functionConfig"]["data"]
        function_args = ["--", *(f"{key}={value}" for key, value in data.items())]
    else:
        function_args = ["--fn-config", invocation.split()[1]]
    proc = porchctl("fn", "eval", ".", "--image", case["image"], *function_args, cwd=work)

    assert proc.returncode == case.get("exitCode", 0), proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith(f'[RUNNING] "{case["image"]}"\n')
    config = fncases._expected_config(case)
    if "stdErr" in config:
        assert str(config["stdErr"]).strip() in proc.stderr
    fncases._assert_same_tree(work, expected)
