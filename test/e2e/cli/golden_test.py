"""porchctl golden cases: Porch's own (``../shared/conformance/porchctl``) and ours.

Each case is a folder with a ``config.yaml`` listing commands with their expected stdout,
stderr and exit code; the runner has the semantics of Porch's e2e CLI runner as the
conformance README describes them:

* every case gets a fresh standalone porch-server (shared fixture of ``test/e2e``) and
  loopback smart-HTTP git servers: ``nephio/porch-test`` (one commit of README.md on
  ``main``) behind basic auth (``nephio``/``secret``), and ``nephio/test-blueprints.git``
  (from ``../shared/testdata/test-blueprints.bundle``) readable without credentials, as
  the cases' Gitea serves a public repository; their Gitea URLs are replaced by the
  loopback ones in arguments, stdin and expectations;
* ``porchctl`` is our console script; ``kubectl``, ``sh``, ``sleep`` run as they are (with
  the server's kubeconfig, and our porchctl first on PATH); ``kpt fn eval --image`` needs
  a container runtime: without one the step is reported as unavailable, never faked;
* stdout is compared after keeping the first line and sorting the others; ``yaml: true``
  compares the YAML re-encoded (after dropping ``resourceVersion:`` and
  ``creationTimestamp:`` lines); ``ignoreWhitespace`` collapses runs of spaces, as do
  expectations that held a substituted URL (its length changes column widths); stderr
  drops ``[PASS]`` lines, may turn tabs into spaces, or be a substring check
  (``containsErrorString``);
* after a command with ``register`` in its arguments, the Repository named by ``--name=``
  must become Ready within 60 s; ``/tmp/porch-e2e`` is the scratch directory (wiped
  before the suite).

A case passes when every step matches. Every step runs, also after an unavailable one, and
none is faked. A step fails the case on any mismatch unless it depends on what an
unavailable step would have done (`Dependencies`): the directory `kpt fn eval` would have
changed, and, followed through the later steps, whatever a dependent step wrote (paths it
names, package revisions it names or created, listings of the namespace once a revision is
affected). Mismatches of dependent steps may be consequences of the missing step: the case
is then reported as skipped ("unavailable"), listing every such mismatch. Our own cases
live in ``testdata/<case>/config.yaml``; ``PORCHCTL_UPDATE_GOLDEN=1`` rewrites their
expectations from what the commands print (Porch's cases are never rewritten). The session
ends with ``porchctl-golden: <passed>/<total> passed`` (see conftest.py).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

import pytest
import yaml
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from pkg.client import client as porchclient
from pkg.client import config as clientconfig
from pkg.client import errors as clienterrors
from pkg.testing import gitserver
from test.e2e.conftest import PorchServer, PorchServerFactory

_HERE: Final = Path(__file__).resolve().parent
_REPO: Final = _HERE.parents[2]
_SHARED: Final = (_REPO / ".." / "shared").resolve()
PORCH_CASES: Final = _SHARED / "conformance" / "porchctl"
OUR_CASES: Final = _HERE / "testdata"
BLUEPRINTS_BUNDLE: Final = _SHARED / "testdata" / "test-blueprints.bundle"
SCRATCH: Final = Path("/tmp/porch-e2e")  # the path the cases are written for
UPDATE_ENV: Final = "PORCHCTL_UPDATE_GOLDEN"

GITEA: Final = "http://gitea.gitea.svc.cluster.local:3000"
PORCH_TEST_URL: Final = f"{GITEA}/nephio/porch-test"
BLUEPRINTS_URL: Final = f"{GITEA}/nephio/test-blueprints.git"
GIT_USER: Final = ("nephio", "secret")
READY_TIMEOUT: Final = 60.0
COMMAND_TIMEOUT: Final = 300.0


# -- cases -----------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    folder: Path
    config: dict[str, Any]

    @property
    def commands(self) -> list[dict[str, Any]]:
        return list(self.config.get("commands") or [])


def _load_cases(root: Path) -> list[Case]:
    if not root.is_dir():
        return []
    cases = []
    for folder in sorted(p for p in root.iterdir() if (p / "config.yaml").is_file()):
        config = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8")) or {}
        cases.append(Case(folder.name, folder, config))
    return cases


# -- environment -----------------------------------------------------------------------


@dataclass
class Environment:
    """One case's servers and the URL substitutions that point the case at them."""

    server: PorchServer
    git: gitserver.GitServer
    workdir: Path
    bin_dir: Path
    replacements: dict[str, str] = field(default_factory=dict)

    def substitute(self, text: str) -> str:
        for placeholder, actual in self.replacements.items():
            text = text.replace(placeholder, actual)
        return text

    def unsubstitute(self, text: str) -> str:
        for placeholder, actual in self.replacements.items():
            text = text.replace(actual, placeholder)
        return text

    def env(self) -> dict[str, str]:
        env = self.server.kubectl_env()
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return env


def _porchctl_bin_dir(tmp: Path) -> Path:
    """A directory whose ``porchctl`` is ours (for ``sh -c`` steps that call it by name)."""
    script = Path(sys.executable).parent / "porchctl"
    if script.exists():
        return script.parent
    shim = tmp / "bin" / "porchctl"
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{_REPO / "cmd" / "porchctl" / "main.py"}" "$@"\n'
    )
    shim.chmod(0o755)
    return shim.parent


def _make_porch_test(git: gitserver.GitServer, tmp: Path) -> None:
    bare = git.create_empty("nephio/porch-test.git")
    work = tmp / "porch-test-work"
    gitserver.git("init", "--quiet", "--initial-branch=main", work)
    (work / "README.md").write_text("# porch-test\n")
    gitserver.git("add", "README.md", cwd=work)
    gitserver.git("commit", "--quiet", "-m", "Initial commit", cwd=work)
    gitserver.git("push", "--quiet", bare, "main", cwd=work)


@pytest.fixture
def environment(porch_server_factory: PorchServerFactory, tmp_path: Path) -> Iterator[Environment]:
    # Gitea, which the cases were written for, lets anyone read a public repository and
    # asks for the password only to write: rpkg-clone clones test-blueprints by URL with no
    # secret. So test-blueprints (only ever read) is served to anonymous readers, and
    # porch-test (written to) only with basic auth.
    with (
        gitserver.GitServer(tmp_path / "git", basic_auth=GIT_USER) as git,
        gitserver.GitServer(tmp_path / "git-public") as public,
    ):
        _make_porch_test(git, tmp_path)
        public.create_from_bundle("nephio/test-blueprints.git", BLUEPRINTS_BUNDLE)
        server = porch_server_factory()
        yield Environment(
            server=server,
            git=git,
            workdir=tmp_path,
            bin_dir=_porchctl_bin_dir(tmp_path),
            replacements={
                PORCH_TEST_URL: git.repo_url("nephio/porch-test"),
                BLUEPRINTS_URL: public.repo_url("nephio/test-blueprints.git"),
            },
        )


@pytest.fixture(scope="session")
def scratch() -> Path:
    """``/tmp/porch-e2e``, wiped once before the suite (the cases write below it)."""
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir(parents=True)
    return SCRATCH


def container_runtime_available() -> bool:
    """Whether ``kpt fn eval --image`` could run a container here."""
    for tool in ("docker", "podman"):
        path = shutil.which(tool)
        if path is None:
            continue
        try:
            probe = subprocess.run([path, "info"], capture_output=True, timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return True
    return False


def _needs_container_runtime(args: list[str]) -> bool:
    return args[:3] == ["kpt", "fn", "eval"] and any(
        a == "--image" or a.startswith(("--image=", "-i")) for a in args
    )


# -- running and comparing -------------------------------------------------------------


@dataclass
class StepResult:
    index: int
    args: list[str]
    exit_code: int = 0
    stdout: str = ""
    stderr: str = ""
    problems: list[str] = field(default_factory=list)
    unavailable: str = ""


def _run_step(env: Environment, case: Case, index: int, command: dict[str, Any]) -> StepResult:
    args = [env.substitute(str(a)) for a in command.get("args") or []]
    result = StepResult(index=index, args=args)
    if _needs_container_runtime(args) and not container_runtime_available():
        result.unavailable = (
            "needs a container runtime to run the function image; none is reachable here"
        )
        return result
    argv = list(args)
    if argv and argv[0] == "porchctl":
        argv[0] = str(env.bin_dir / "porchctl")
    stdin = env.substitute(str(command.get("stdin") or "")) if "stdin" in command else None
    try:
        completed = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            env=env.env(),
            cwd=case.folder.parent,  # the cases name test_pkgs/... relative to their suite
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        result.problems.append(f"timed out after {COMMAND_TIMEOUT:.0f}s")
        return result
    result.exit_code = completed.returncode
    result.stdout = completed.stdout
    result.stderr = completed.stderr
    result.problems = _compare(env, command, result)
    if "register" in args and completed.returncode == 0:
        problem = _wait_ready(env, args)
        if problem:
            result.problems.append(problem)
    return result


def _compare(env: Environment, command: dict[str, Any], result: StepResult) -> list[str]:
    problems = []
    want_code = int(command.get("exitCode") or 0)
    if result.exit_code != want_code:
        problems.append(f"exit code {result.exit_code}, want {want_code}")
    want_out = str(command.get("stdout") or "")
    substituted = env.substitute(want_out)
    ignore_ws = bool(command.get("ignoreWhitespace"))
    got_out = result.stdout
    if command.get("yaml"):
        got_out, want = _canonical_yaml(_drop_volatile(got_out)), _canonical_yaml(substituted)
    else:
        # A substituted URL changes column widths: compare with runs of spaces collapsed.
        collapse = ignore_ws or substituted != want_out
        got_out, want = _sorted_lines(got_out, collapse), _sorted_lines(substituted, collapse)
    if got_out != want:
        problems.append(f"stdout differs:\n--- want\n{want}--- got\n{got_out}---")
    want_err = env.substitute(str(command.get("stderr") or ""))
    got_err = _clean_stderr(result.stderr)
    if command.get("stdErrTabToWhitespace"):
        got_err = got_err.replace("\t", "  ")
    if ignore_ws:
        got_err, want_err = _collapse(got_err), _collapse(want_err)
    if command.get("containsErrorString"):
        if want_err not in got_err:
            problems.append(f"stderr does not contain {want_err!r}:\n{got_err}")
    elif got_err != _lines(want_err):
        problems.append(f"stderr differs:\n--- want\n{_lines(want_err)}--- got\n{got_err}---")
    return problems


def _lines(text: str) -> str:
    """Every line terminated by a newline (Porch's runner rebuilds output line by line)."""
    return "".join(line + "\n" for line in text.splitlines())


def _collapse(text: str) -> str:
    return re.sub(r" +", " ", text)


def _sorted_lines(text: str, collapse: bool) -> str:
    lines = text.splitlines()
    if collapse:
        lines = [_collapse(line) for line in lines]
    return _lines("\n".join(lines[:1] + sorted(lines[1:])))


def _drop_volatile(text: str) -> str:
    return "".join(
        line + "\n"
        for line in text.splitlines()
        if "resourceVersion:" not in line and "creationTimestamp:" not in line
    )


def _canonical_yaml(text: str) -> str:
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return text
    data: Any = documents[0] if len(documents) == 1 else documents
    return yaml.safe_dump(data, indent=2, sort_keys=True, default_flow_style=False, width=1 << 16)


def _clean_stderr(text: str) -> str:
    return _lines("\n".join(line for line in text.splitlines() if "[PASS]" not in line))


def _wait_ready(env: Environment, args: list[str]) -> str:
    name = next((a.split("=", 1)[1] for a in args if a.startswith("--name=")), "")
    namespace = next((a.split("=", 1)[1] for a in args if a.startswith("--namespace=")), None)
    if not name:
        return ""
    porch = porchclient.Client(
        clientconfig.load(
            clientconfig.Overrides(kubeconfig=str(env.server.kubeconfig), namespace=namespace)
        )
    )
    deadline = time.monotonic() + READY_TIMEOUT
    last = "not found"
    try:
        while time.monotonic() < deadline:
            try:
                repository = porch.repositories.get(name)
            except clienterrors.ClientError as err:
                last = str(err)
            else:
                conditions = (repository.status.conditions if repository.status else None) or []
                ready = next((c for c in conditions if c.type == "Ready"), None)
                if ready is not None and ready.status == "True":
                    return ""
                last = f"Ready={ready.status}: {ready.message}" if ready else "no Ready condition"
            time.sleep(0.25)
    finally:
        porch.close()
    return f"repository {name!r} did not become Ready within {READY_TIMEOUT:.0f}s ({last})"


def run_case(env: Environment, case: Case) -> list[StepResult]:
    return [_run_step(env, case, i, c) for i, c in enumerate(case.commands, start=1)]


# Words of a command line or script: paths, names, flag values (`--name=x` gives `x`).
_WORD = re.compile(r"[^\s\"'|;&<>()=]+")
# A Porch package revision name: `<repository>.<package>.<workspace>` (DNS labels).
_REVISION = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?){2,}")
_CREATED = re.compile(r"^(\S+) created$", re.MULTILINE)


def _words(step: StepResult, command: dict[str, Any]) -> list[str]:
    texts = [*step.args, str(command.get("stdin") or "")]
    return [word for text in texts for word in _WORD.findall(text)]


def _touches(word: str, path: str) -> bool:
    """Whether the path `word` is `path`, inside it, or a directory holding it."""
    if not word.startswith("/") or word == "/":
        return False
    a, b = PurePosixPath(word), PurePosixPath(path)
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


def _lists_revisions(step: StepResult, words: list[str]) -> bool:
    """A `get` that names no package revision: it shows every revision of the namespace."""
    args = step.args
    getter = args[:3] == ["porchctl", "rpkg", "get"] or (args[:1] == ["kubectl"] and "get" in args)
    return getter and not any(_REVISION.fullmatch(w) for w in words)


@dataclass
class Dependencies:
    """What the unavailable steps of a case would have changed, followed step by step.

    An unavailable `kpt fn eval` would have changed the directories it names. A later step
    depends on that when it names such a path (or a directory holding one), names an affected
    package revision, or lists the namespace's revisions while one is affected; whatever a
    dependent step could have written is affected in turn: the absolute paths and revision
    names it mentions, and the revisions it reports as created (`<name> created`, printed or
    expected). Deliberately generous: a step is only excused when it may differ *because of*
    the missing step, and a mismatch of any other step fails the case.
    """

    paths: set[str] = field(default_factory=set)
    revisions: set[str] = field(default_factory=set)

    def depends(self, step: StepResult, command: dict[str, Any]) -> bool:
        words = _words(step, command)
        if any(_touches(w, p) for w in words for p in self.paths):
            return True
        if any(w in self.revisions for w in words):
            return True
        return bool(self.revisions) and _lists_revisions(step, words)

    def affected_by(self, step: StepResult, command: dict[str, Any]) -> None:
        """Record what `step` (unavailable, or dependent) could have changed."""
        words = _words(step, command)
        self.paths |= {w for w in words if w.startswith("/") and w != "/"}
        self.revisions |= {w for w in words if _REVISION.fullmatch(w)}
        for printed in (step.stdout, str(command.get("stdout") or "")):
            self.revisions |= set(_CREATED.findall(printed))


def _describe(step: StepResult) -> str:
    return f"step {step.index} `{' '.join(step.args)}`"


def judge(case: Case, results: list[StepResult]) -> None:
    """Fail, skip (unavailable) or pass the case (see the module docstring)."""
    dependencies = Dependencies()
    hard: list[StepResult] = []
    soft: list[StepResult] = []
    for step, command in zip(results, case.commands, strict=True):
        if step.unavailable:
            dependencies.affected_by(step, command)
        elif dependencies.depends(step, command):
            dependencies.affected_by(step, command)
            if step.problems:
                soft.append(step)
        elif step.problems:
            hard.append(step)
    if hard:
        pytest.fail(
            f"{case.name}: "
            + "\n\n".join(f"{_describe(s)}: " + "\n".join(s.problems) for s in hard)
            + "".join(
                f"\n\n(depends on an unavailable step) {_describe(s)}: " + "\n".join(s.problems)
                for s in soft
            ),
            pytrace=False,
        )
    unavailable = [s for s in results if s.unavailable]
    if unavailable:
        notes = [f"{_describe(s)} unavailable: {s.unavailable}" for s in unavailable]
        notes += [
            f"later {_describe(s)} depends on it and diverged: " + "\n".join(s.problems)
            for s in soft
        ]
        pytest.skip(f"unavailable: {case.name}: " + "; ".join(notes))


def _scalar(text: str) -> str:
    """A literal block for plain multi-line text; quoted when a line ends in a space (editors
    strip those from block scalars, and porchctl's errors end in one)."""
    scalar: str = text
    if any(line != line.rstrip(" ") for line in text.split("\n")):
        scalar = DoubleQuotedScalarString(text)
    elif text.endswith("\n"):
        scalar = LiteralScalarString(text)
    return scalar


def _update_case(env: Environment, case: Case, results: list[StepResult]) -> None:
    """Rewrite our case's expectations from what the commands printed."""
    rt = YAML(typ="rt")
    rt.width = 1 << 16
    rt.indent(mapping=2, sequence=4, offset=2)  # the layout the cases are written in
    rt.preserve_quotes = True
    path = case.folder / "config.yaml"
    document = rt.load(path.read_text(encoding="utf-8"))
    for command, result in zip(document["commands"], results, strict=True):
        if result.unavailable:
            continue
        for key, printed in (("stdout", result.stdout), ("stderr", _clean_stderr(result.stderr))):
            text = env.unsubstitute(printed)
            if command.get("yaml") and key == "stdout":
                text = _canonical_yaml(_drop_volatile(text))
            if text:
                command[key] = _scalar(text)
            elif key in command:
                del command[key]
        if result.exit_code:
            command["exitCode"] = result.exit_code
        elif "exitCode" in command:
            del command["exitCode"]
    buffer = io.StringIO()
    rt.dump(document, buffer)
    path.write_text(buffer.getvalue(), encoding="utf-8")


# -- tests -----------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("case", _load_cases(PORCH_CASES), ids=lambda c: c.name)
def test_porch_golden(case: Case, environment: Environment, scratch: Path) -> None:
    """Porch's own porchctl cases, unchanged."""
    if case.config.get("skip"):
        pytest.skip(f"case says skip: {case.config['skip']}")
    judge(case, run_case(environment, case))


@pytest.mark.e2e
@pytest.mark.parametrize("case", _load_cases(OUR_CASES), ids=lambda c: c.name)
def test_porchctl_cases(case: Case, environment: Environment, scratch: Path) -> None:
    """porch-py's own cases for what Porch's goldens do not cover."""
    if case.config.get("skip"):
        pytest.skip(f"case says skip: {case.config['skip']}")
    results = run_case(environment, case)
    if os.environ.get(UPDATE_ENV):
        _update_case(environment, case, results)
        return
    judge(case, results)


# -- the judge (no server) ---------------------------------------------------------------


def _synthetic(*steps: tuple[list[str], str]) -> tuple[Case, list[StepResult]]:
    """A case of `(args, problem)` steps; an eval step is unavailable, `problem` a mismatch."""
    commands = [{"args": args} for args, _ in steps]
    results = []
    for index, (args, problem) in enumerate(steps, start=1):
        result = StepResult(index=index, args=args, problems=[problem] if problem else [])
        if _needs_container_runtime(args):
            result.unavailable = "no container runtime"
        results.append(result)
    return Case("synthetic", Path("."), {"commands": commands}), results


EVAL = ["kpt", "fn", "eval", "--image", "example.com/fn:v1", "/tmp/porch-e2e/pkg", "--", "a=b"]


def test_a_mismatch_independent_of_the_unavailable_step_fails_the_case() -> None:
    case, results = _synthetic(
        (EVAL, ""),
        (["sh", "-c", "cat /tmp/porch-e2e/other/Kptfile"], "stdout differs"),
    )
    with pytest.raises(pytest.fail.Exception, match="step 2 `sh -c cat"):
        judge(case, results)


def test_a_mismatch_before_the_unavailable_step_fails_the_case() -> None:
    case, results = _synthetic((["porchctl", "rpkg", "get"], "exit code 1, want 0"), (EVAL, ""))
    with pytest.raises(pytest.fail.Exception, match="step 1"):
        judge(case, results)


def test_mismatches_that_follow_from_the_unavailable_step_are_only_reported() -> None:
    case, results = _synthetic(
        (EVAL, ""),
        (["porchctl", "rpkg", "push", "git.pkg.ws", "/tmp/porch-e2e/pkg"], ""),
        (["porchctl", "rpkg", "pull", "git.pkg.ws"], "stdout differs"),
        (["porchctl", "rpkg", "get", "--namespace=ns"], "stdout differs"),
        (["porchctl", "rpkg", "copy", "--workspace=v2", "git.pkg.ws"], ""),
    )
    results[4].stdout = "git.pkg.v2 created\n"
    with pytest.raises(pytest.skip.Exception, match="unavailable: synthetic") as skipped:
        judge(case, results)
    assert "step 3 `porchctl rpkg pull git.pkg.ws` depends on it" in str(skipped.value)
    assert "step 4 `porchctl rpkg get --namespace=ns` depends on it" in str(skipped.value)
    # the copy created git.pkg.v2 from an affected revision: it is affected too, while an
    # unrelated revision and the repositories are not
    for args, verdict in (
        (["porchctl", "rpkg", "approve", "git.pkg.v2"], pytest.skip.Exception),
        (["porchctl", "rpkg", "approve", "git.other.v1"], pytest.fail.Exception),
        (["porchctl", "repo", "get"], pytest.fail.Exception),
    ):
        case, results = _synthetic(
            (EVAL, ""),
            (["porchctl", "rpkg", "push", "git.pkg.ws", "/tmp/porch-e2e/pkg"], ""),
            (["porchctl", "rpkg", "copy", "--workspace=v2", "git.pkg.ws"], ""),
            (args, "exit code 1, want 0"),
        )
        results[2].stdout = "git.pkg.v2 created\n"
        with pytest.raises(verdict):
            judge(case, results)


@pytest.mark.parametrize(
    ("name", "unavailable", "dependent"),
    [("rpkg-push", 6, range(7, 13)), ("rpkg-unready", 4, range(5, 11))],
)
def test_every_step_after_the_eval_in_porchs_unavailable_cases_depends_on_it(
    name: str, unavailable: int, dependent: range
) -> None:
    # Both cases push the directory `kpt fn eval` would have changed and go on with that
    # package revision: every later step may show the missing change.
    (case,) = [c for c in _load_cases(PORCH_CASES) if c.name == name]
    dependencies = Dependencies()
    found = []
    for index, command in enumerate(case.commands, start=1):
        step = StepResult(index=index, args=[str(a) for a in command["args"]])
        if index == unavailable:
            assert _needs_container_runtime(step.args)
            dependencies.affected_by(step, command)
        elif dependencies.depends(step, command):
            found.append(index)
            dependencies.affected_by(step, command)
    assert found == list(dependent)
