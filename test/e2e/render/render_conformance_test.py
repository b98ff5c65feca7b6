"""kpt's own `fn render` conformance cases, run against porch-py's renderer.

Each case of ../shared/conformance/kpt-fn-render (indexed by its cases.yaml) is copied into a
scratch directory with the same base name, committed with the real `git` CLI, rendered in place
with the builtin function runtime, committed again, and `git diff <first> HEAD` is compared with
the case's `.expected/diff.patch` byte for byte, as kpt's own e2e runner does. The exit code, the
error text (`stdErr` of the case, where it is an error message rather than CLI progress output)
and `results.yaml` (item by item) are compared too.

Cases that ran a shell script upstream are run the way the README describes (out-of-place
directory, symlink). Cases whose folder had no `.expected` upstream (`runUpstream: false`) are
unverified inputs: they only get the checks their notes make certain (exit code, untouched
resources). The session prints `kpt-fn-render: <passed>/<total> passed`.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from pkg.kpt import kptfile, pkgio
from pkg.kpt import render as kptrender
from pkg.kpt.fn import runtime as fnruntime

CONFORMANCE = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "conformance" / "kpt-fn-render"
).resolve()

# Cases porch-py cannot pass, each with the reason (strict: they must keep failing).
XFAIL: dict[str, str] = {}


@dataclass(frozen=True)
class Case:
    name: str  # path below the conformance folder (group/sub for grouped cases)
    invocation: str
    run_upstream: bool
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _load_cases() -> list[Case]:
    index = yaml.safe_load((CONFORMANCE / "cases.yaml").read_text(encoding="utf-8"))
    out: list[Case] = []
    for entry in index["cases"]:
        subcases = entry.get("subcases")
        if subcases:
            for sub in subcases:
                out.append(
                    Case(
                        name=f"{entry['case']}/{sub['case']}",
                        invocation=entry.get("invocation", "render-in-place"),
                        run_upstream=bool(sub.get("runUpstream", True)),
                        notes=entry.get("notes", ""),
                    )
                )
        else:
            out.append(
                Case(
                    name=entry["case"],
                    invocation=entry.get("invocation", "render-in-place"),
                    run_upstream=bool(entry.get("runUpstream", True)),
                    notes=entry.get("notes", ""),
                )
            )
    return out


CASES = _load_cases()


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = []
        if case.name in XFAIL:
            marks.append(pytest.mark.xfail(reason=XFAIL[case.name], strict=True))
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


# ------------------------------------------------------------------------------------ git helpers


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_DIFF_OPTS": "", "GIT_CONFIG_NOSYSTEM": "1"}
    proc = subprocess.run(
        [
            "git",
            "-c",
            "user.name=porch-py",
            "-c",
            "user.email=porch-py@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.autocrlf=false",
            *args,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def _commit_all(repo: Path, message: str) -> str:
    _git(repo, "add", "--all")
    _git(repo, "commit", "--allow-empty", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD").strip()


def _normalize_diff(text: str, strip_regex: str | None) -> str:
    text = text.strip()
    if not strip_regex:
        return text
    pattern = re.compile(strip_regex)
    lines = []
    for line in text.split("\n"):
        if pattern.search(line):
            continue
        if line.startswith("index "):
            lines.append("index")
        elif line.startswith("@@ "):
            lines.append("@@ @@")
        else:
            lines.append(line)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- checks


def _expected_config(case_dir: Path) -> dict[str, Any]:
    config = case_dir / ".expected" / "config.yaml"
    if not config.exists():
        return {}
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _is_error_text(expected: str) -> bool:
    """stdErr of failure cases is kpt's error message; progress lines are CLI output only."""
    return not any(marker in expected for marker in ("[RUNNING]", "[PASS]", "[FAIL]", 'Package "'))


def _result_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    items = data.get("items") or []
    out = []
    for item in items:
        out.append(
            {
                "image": item.get("image"),
                "exitCode": item.get("exitCode", 0),
                "stderr": item.get("stderr", ""),
                "results": [
                    {k: r.get(k) for k in ("message", "severity", "resourceRef", "field", "file")}
                    for r in item.get("results") or []
                ],
            }
        )
    return out


def _runtime() -> fnruntime.FunctionRuntime:
    return fnruntime.BuiltinRuntime()


def _run_case(case: Case, tmp_path: Path) -> None:
    source = CONFORMANCE / case.name
    base = source.name
    work = tmp_path / base
    shutil.copytree(source, work, symlinks=True)
    for path in [work, *work.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    config = _expected_config(source)
    expected_exit = int(config.get("exitCode", 0))
    _git(work, "init", "-q")
    first = _commit_all(work, "initial")
    results_dir = tmp_path / "results"
    want_results = (source / ".expected" / "results.yaml").exists()

    if case.invocation == "render-out-dir-existing":
        (work / "out").mkdir()
        result = kptrender.render_directory(work, runtime=_runtime(), output_dir=work / "out")
    elif case.invocation == "render-out-dir":
        shutil.rmtree(work / "out", ignore_errors=True)
        result = kptrender.render_directory(work, runtime=_runtime(), output_dir=work / "out")
    elif case.invocation.startswith(("render-stdout", "render-unwrap")):
        _run_stream_case(case, work, config)
        return
    elif case.invocation == "render-via-symlink":
        link = work / "new-link"
        link.symlink_to("./", target_is_directory=True)
        result = kptrender.render_directory(
            link, runtime=_runtime(), results_dir=results_dir if want_results else None
        )
        link.unlink()
    else:
        result = kptrender.render_directory(
            work, runtime=_runtime(), results_dir=results_dir if want_results else None
        )

    if not case.run_upstream:
        _check_unverified(case, work, first, result)
        return

    assert result.exit_code == expected_exit, (
        f"exit code {result.exit_code}, want {expected_exit}; error: {result.error}"
    )
    diff_file = source / ".expected" / "diff.patch"
    expected_err = config.get("stdErr")
    # where the expected diff shows the Rendered condition, its message is the reference for the
    # error text; otherwise the error text must contain kpt's
    if (
        isinstance(expected_err, str)
        and expected_exit != 0
        and not diff_file.exists()
        and _is_error_text(expected_err)
    ):
        assert expected_err.strip() in result.error, (
            f"error text {result.error!r} lacks {expected_err.strip()!r}"
        )

    _commit_all(work, "rendered")
    actual_diff = _git(work, "diff", first, "HEAD")
    expected_diff = diff_file.read_text(encoding="utf-8") if diff_file.exists() else ""
    strip = config.get("diffStripRegEx")
    got = _normalize_diff(actual_diff, strip)
    want = _normalize_diff(expected_diff, strip)
    assert got == want, "render diff differs from .expected/diff.patch:\n" + "".join(
        difflib.unified_diff(want.splitlines(True), got.splitlines(True), "expected", "actual", n=2)
    )

    if want_results:
        expected = yaml.safe_load(
            (source / ".expected" / "results.yaml").read_text(encoding="utf-8")
        )
        assert expected["exitCode"] == result.result_list["exitCode"]
        assert _result_items(result.result_list) == _result_items(expected)


_CHAIN_PREFIX = "ghcr.io/kptdev/krm-functions-catalog/"


def _run_stream_case(case: Case, work: Path, config: dict[str, Any]) -> None:
    """`kpt fn render -o stdout|unwrap`, optionally piped through two `kpt fn eval -` steps
    (set-annotations foo=bar, then set-labels tier=backend; the last one `-o unwrap` in the
    unwrap chain), as the cases' upstream scripts did. The package must stay untouched."""
    before = pkgio.read_directory(work)
    chain = case.invocation.startswith("render-stdout-then-eval-chain")
    unwrap_last = case.invocation.endswith("-unwrap")
    result, text = kptrender.render_to_text(
        before,
        runtime=_runtime(),
        unwrap=unwrap_last and not chain,
        package_path=work.name,
    )
    assert result.exit_code == 0, result.error
    if chain:
        steps = [("set-annotations", {"foo": "bar"}), ("set-labels", {"tier": "backend"})]
        for index, (name, data) in enumerate(steps):
            function = kptfile.Function(image=f"{_CHAIN_PREFIX}{name}:latest", config_map=data)
            result, text = kptrender.eval_function(
                text,
                function,
                runtime=_runtime(),
                unwrap=unwrap_last and index == len(steps) - 1,
            )
            assert result.exit_code == 0, result.error
    assert pkgio.read_directory(work) == before
    expected = config.get("stdOut")
    assert isinstance(expected, str)
    assert expected.strip() in text, "stdout differs:\n" + "".join(
        difflib.unified_diff(
            expected.splitlines(True), text.splitlines(True), "expected", "actual", n=2
        )
    )


def _check_unverified(case: Case, work: Path, first: str, result: kptrender.RenderResult) -> None:
    """Unverified inputs: the behaviour their notes make certain."""
    if case.name == "invalid-inline-fnconfig":
        assert result.exit_code == 1
        assert "field config not found in type v1.Function" in result.error
        return
    assert result.exit_code == 0, result.error
    _commit_all(work, "rendered")
    changed = _git(work, "diff", "--name-only", first, "HEAD").split()
    # without pipelines, with validators only, or with ignored files, nothing but the root
    # Kptfile (its Rendered status) may change
    assert changed == ["Kptfile"], changed
    assert result.status is not None
    assert result.status["conditions"][-1]["status"] == "True"


@pytest.mark.e2e
@pytest.mark.parametrize("case", _params())
def test_kpt_fn_render(case: Case, tmp_path: Path) -> None:
    _run_case(case, tmp_path)
