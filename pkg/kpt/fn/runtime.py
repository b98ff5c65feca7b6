"""KRM function runtimes: from a pipeline step's image to something that runs the function.

Where it sits: the renderer (`pkg.kpt.render`) resolves each step's image (`resolve_image`) and
hands the step and its ResourceList to a `FunctionRuntime`. porch-server builds a `ChainRuntime`
of the `BuiltinRuntime` (the Python functions in `pkg.kpt.fn.builtins`) and an `ExecRuntime`
(operator-configured executables, one per image), the order Porch uses (builtin first).

A runtime never raises for a failing function: it returns a `FunctionRunResult` with the exit
code and stderr a function process would have, as kpt records them. An image no runtime knows
gives exit code 125 (docker's "could not run the container") and a stderr naming the image.
`run_command` runs one executable as a function; `ExecRuntime` uses it for its images, and the
renderer for a Kptfile's `exec:` steps and `kpt fn eval --exec` (when its caller allows those).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pkg.kpt import kptfile, yamlutil
from pkg.kpt.fn import builtins, fnerrors

__all__ = [
    "DEFAULT_IMAGE_PREFIX",
    "EXEC_TIMEOUT",
    "LEGACY_IMAGE_PREFIX",
    "UNKNOWN_IMAGE_EXIT_CODE",
    "BuiltinRuntime",
    "ChainRuntime",
    "ExecRuntime",
    "FunctionRunResult",
    "FunctionRuntime",
    "ImageResolutionError",
    "image_tag",
    "resolve_image",
    "run_command",
]

DEFAULT_IMAGE_PREFIX: Final = "ghcr.io/kptdev/krm-functions-catalog/"
LEGACY_IMAGE_PREFIX: Final = "gcr.io/kpt-fn/"
UNKNOWN_IMAGE_EXIT_CODE: Final = 125
# kpt's limit for a local executable run as a function (its defaultLongTimeout).
EXEC_TIMEOUT: Final = 300.0

BuiltinFunction = Callable[[CommentedMap], CommentedMap]
# A builtin whose behaviour follows the catalog version its image tag names: (items, tag).
VersionedBuiltinFunction = Callable[[CommentedMap, str], CommentedMap]


@dataclass(slots=True)
class FunctionRunResult:
    """What running a function gave: the output ResourceList (also on failure, when the function
    produced one: its `results` still count), the process exit code and its stderr.

    `keeps_comments` says the output items already carry the comments and key order of the
    input items they came from (the builtins' contract); otherwise the renderer restores them,
    as kyaml does for every container function.
    """

    resource_list: CommentedMap | None
    exit_code: int
    stderr: str = ""
    keeps_comments: bool = False


class FunctionRuntime(Protocol):
    """Runs KRM functions named by image.

    `handles(image)` says whether this runtime can run the (resolved) image; `tags(image)` lists
    the tags it knows for an untagged image name (used to resolve a step's semver `tag:`);
    `run(function, resource_list)` runs `function` (its `image` already resolved) on the
    ResourceList and must not raise for a failing function.
    """

    def handles(self, image: str) -> bool: ...

    def tags(self, image: str) -> Sequence[str]: ...

    def run(self, function: kptfile.Function, resource_list: CommentedMap) -> FunctionRunResult: ...


class ImageResolutionError(Exception):
    """A step's `tag:` constraint that no known tag satisfies."""


# --------------------------------------------------------------------------- image resolution


def has_tag_or_digest(image: str) -> bool:
    if "@" in image:
        return True
    return ":" in image.rsplit("/", 1)[-1]


def image_tag(image: str) -> str:
    """The tag of an image reference (`v0.2` of `.../apply-setters:v0.2@sha256:...`), `""`
    when it has none (a bare name or a digest only)."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def resolve_image(
    image: str,
    tag: str,
    runtime: FunctionRuntime,
    *,
    default_prefix: str = DEFAULT_IMAGE_PREFIX,
) -> str:
    """The image kpt runs (and records) for a step: a name without registry gets the default
    prefix, a `tag:` semver constraint is resolved against the runtime's known tags, and an
    untagged image gets `:latest`."""
    if "/" not in image:
        image = default_prefix + image
    if tag:
        candidates = runtime.tags(image)
        best = _highest_matching(tag, candidates)
        if best is None:
            raise ImageResolutionError(
                f"no tag of {image} matches the semantic version constraint {tag!r}"
            )
        return f"{image}:{best}"
    if not has_tag_or_digest(image):
        image += ":latest"
    return image


# A small implementation of the Masterminds/semver constraint language kpt uses for `tag:`.
_VERSION_RE = re.compile(
    r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)
_Version = tuple[int, int, int, str]


def _parse_version(text: str) -> _Version | None:
    match = _VERSION_RE.fullmatch(text.strip())
    if not match:
        return None
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor or 0), int(patch or 0), pre or "")


def _version_key(v: _Version) -> tuple[int, int, int, int, str]:
    # a release sorts after its pre-releases
    return (v[0], v[1], v[2], 0 if v[3] else 1, v[3])


def _highest_matching(constraint: str, tags: Sequence[str]) -> str | None:
    best: tuple[tuple[int, int, int, int, str], str] | None = None
    for candidate in tags:
        version = _parse_version(candidate)
        if version is None or not _satisfies(version, constraint):
            continue
        key = _version_key(version)
        if best is None or key > best[0]:
            best = (key, candidate)
    return best[1] if best else None


def _satisfies(version: _Version, constraint: str) -> bool:
    for alternative in constraint.split("||"):
        clauses = _split_clauses(alternative.strip())
        if clauses and all(_clause_ok(version, c) for c in clauses):
            return True
    return False


def _split_clauses(text: str) -> list[str]:
    hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
    if hyphen:
        return [f">={hyphen.group(1)}", f"<={_upper_fill(hyphen.group(2))}"]
    return [c for c in re.split(r"[,\s]+", text.replace(", ", ",")) if c]


def _upper_fill(text: str) -> str:
    # "1.2" as an upper bound of a range means "<1.3.0"; kept simple: treat missing parts as max
    parts = text.lstrip("v").split(".")
    while len(parts) < 3:
        parts.append("999999")
    return ".".join(parts)


def _clause_ok(version: _Version, clause: str) -> bool:
    match = re.fullmatch(r"(>=|<=|!=|=>|=<|>|<|=|~>|~|\^)?\s*(.+)", clause)
    if not match:
        return False
    op, target_text = match.group(1) or "=", match.group(2)
    if version[3] and "-" not in target_text:
        return False  # pre-releases only match constraints that name one
    wildcard = [p for p in target_text.lstrip("v").split(".") if p]
    target = _parse_version(".".join("0" if p in ("x", "X", "*") else p for p in wildcard))
    if target is None:
        return False
    fixed = len([p for p in wildcard if p not in ("x", "X", "*")])
    v = _version_key(version)
    t = _version_key(target)
    if op in ("~", "~>"):
        upper = (target[0] + 1, 0, 0) if fixed <= 1 else (target[0], target[1] + 1, 0)
        return t <= v and v[:3] < upper
    if op == "^":
        if target[0] > 0 or fixed <= 1:
            upper = (target[0] + 1, 0, 0)
        elif target[1] > 0 or fixed == 2:
            upper = (0, target[1] + 1, 0)
        else:
            upper = (0, 0, target[2] + 1)
        return t <= v and v[:3] < upper
    if op == "=" and fixed < 3:
        return version[:fixed] == target[:fixed]
    return {
        ">=": v >= t,
        "=>": v >= t,
        "<=": v <= t,
        "=<": v <= t,
        ">": v > t,
        "<": v < t,
        "!=": v != t,
        "=": v[:4] == t[:4],
    }[op]


# ---------------------------------------------------------------------------------- builtins

# The tags the builtin implementations answer to when a step asks for a semver range (a registry
# would list them); the catalog's release tags of each function.
BUILTIN_TAGS: Final[Mapping[str, tuple[str, ...]]] = {
    "apply-replacements": ("v0.1.0", "v0.1.1", "v0.1.2", "v0.1.3", "v0.1.4", "v0.1.5"),
    "apply-setters": (
        "v0.1.0",
        "v0.1.1",
        "v0.2.0",
        "v0.2.1",
        "v0.2.2",
        "v0.2.3",
        "v0.2.4",
        "v0.3.0",
    ),
    "set-annotations": ("v0.1.0", "v0.1.1", "v0.1.2", "v0.1.3", "v0.1.4", "v0.1.5"),
    "set-labels": (
        "v0.1.0",
        "v0.1.1",
        "v0.1.2",
        "v0.1.3",
        "v0.1.4",
        "v0.1.5",
        "v0.2.0",
        "v0.2.1",
        "v0.2.2",
        "v0.2.3",
        "v0.2.4",
        "v0.2.5",
    ),
    "set-namespace": (
        "v0.1.0",
        "v0.1.1",
        "v0.1.2",
        "v0.1.3",
        "v0.1.4",
        "v0.2.0",
        "v0.3.0",
        "v0.3.1",
        "v0.3.2",
        "v0.3.3",
        "v0.3.4",
        "v0.4.0",
        "v0.4.1",
        "v0.4.2",
        "v0.4.3",
        "v0.4.4",
        "v0.4.5",
    ),
    "starlark": (
        "v0.1.0",
        "v0.2.0",
        "v0.2.1",
        "v0.3.0",
        "v0.4.0",
        "v0.4.1",
        "v0.4.2",
        "v0.4.3",
        "v0.5.0",
        "v0.5.1",
        "v0.5.2",
        "v0.5.3",
        "v0.5.4",
        "v0.5.5",
    ),
}


@dataclass(slots=True)
class BuiltinRuntime:
    """Runs the catalog functions implemented in Python (`pkg.kpt.fn.builtins`).

    An image names a builtin when, without tag or digest and without one of `prefixes`, it is
    the function's name: `set-labels`, `ghcr.io/kptdev/krm-functions-catalog/set-labels:v0.2`,
    `gcr.io/kpt-fn/set-labels@sha256:...` all run the same code. A builtin that also has a
    version-aware entry point (`versioned_functions`) is called through it with the image's
    tag (`image_tag`), so `apply-setters:v0.2` gives v0.2 results and `:latest` v0.3 ones.

    `functions` and `versioned_functions` default to the builtins package's `BUILTINS` and
    `VERSIONED_BUILTINS`; a runtime given its own `functions` has no versioned entry points
    unless it is given those too.
    """

    prefixes: tuple[str, ...] = (DEFAULT_IMAGE_PREFIX, LEGACY_IMAGE_PREFIX)
    functions: Mapping[str, BuiltinFunction] | None = None
    versioned_functions: Mapping[str, VersionedBuiltinFunction] | None = None

    def _registry(self) -> Mapping[str, BuiltinFunction]:
        return self.functions if self.functions is not None else builtins.BUILTINS

    def _versioned_registry(self) -> Mapping[str, VersionedBuiltinFunction]:
        if self.versioned_functions is not None:
            return self.versioned_functions
        # Functions supplied by the caller must not be shadowed by the package's versions.
        return {} if self.functions is not None else builtins.VERSIONED_BUILTINS

    def _entry_point(self, name: str, image: str) -> BuiltinFunction:
        versioned = self._versioned_registry().get(name)
        if versioned is None:
            return self._registry()[name]
        tag = image_tag(image)
        return lambda resource_list: versioned(resource_list, tag)

    def function_name(self, image: str) -> str | None:
        name = image.split("@", 1)[0]
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            name = name[: len(name) - len(last)] + last.split(":", 1)[0]
        for prefix in self.prefixes:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        return name if name in self._registry() else None

    def handles(self, image: str) -> bool:
        return self.function_name(image) is not None

    def tags(self, image: str) -> Sequence[str]:
        name = self.function_name(image)
        return BUILTIN_TAGS.get(name, ("latest",)) if name else ()

    def run(self, function: kptfile.Function, resource_list: CommentedMap) -> FunctionRunResult:
        name = self.function_name(function.image)
        if name is None:
            return unknown_image_result(function.image)
        impl = self._entry_point(name, function.image)
        with builtins.capture_stderr() as printed:
            try:
                output = impl(resource_list)
            except fnerrors.FunctionError as err:
                failed = CommentedMap()
                if err.results:
                    failed["results"] = CommentedSeq(err.results)
                return FunctionRunResult(failed, 1, err.stderr.strip())
            except Exception as err:
                return FunctionRunResult(None, 1, f"panic: {type(err).__name__}: {err}")
        stderr = "".join(printed).strip()
        exit_code = 1 if _has_error_result(output) else 0
        return FunctionRunResult(output, exit_code, stderr, keeps_comments=True)


def _has_error_result(resource_list: Mapping[str, Any] | None) -> bool:
    if not isinstance(resource_list, Mapping):
        return False
    results = resource_list.get("results")
    if isinstance(results, Mapping):
        results = results.get("items")
    if not isinstance(results, list):
        return False
    return any(isinstance(r, Mapping) and r.get("severity") == "error" for r in results)


def unknown_image_result(image: str) -> FunctionRunResult:
    return FunctionRunResult(
        None,
        UNKNOWN_IMAGE_EXIT_CODE,
        f"function image {image!r} is not available: no builtin function or configured "
        "executable runs it",
    )


# -------------------------------------------------------------------------------------- exec


@dataclass(slots=True)
class ExecRuntime:
    """Runs operator-configured executables as functions.

    `commands` maps an image (exact, or without tag to match every tag) to an argv. The process
    gets the ResourceList YAML on stdin and must print the output ResourceList on stdout; it is
    killed after `timeout` seconds.
    """

    commands: Mapping[str, Sequence[str]] = field(default_factory=dict)
    timeout: float = 60.0

    def _argv(self, image: str) -> Sequence[str] | None:
        if image in self.commands:
            return self.commands[image]
        untagged = image.split("@", 1)[0]
        last = untagged.rsplit("/", 1)[-1]
        if ":" in last:
            untagged = untagged[: len(untagged) - len(last)] + last.split(":", 1)[0]
        return self.commands.get(untagged)

    def handles(self, image: str) -> bool:
        return self._argv(image) is not None

    def tags(self, image: str) -> Sequence[str]:
        prefix = image + ":"
        return [key[len(prefix) :] for key in self.commands if key.startswith(prefix)]

    def run(self, function: kptfile.Function, resource_list: CommentedMap) -> FunctionRunResult:
        argv = self._argv(function.image)
        if argv is None:
            return unknown_image_result(function.image)
        return run_command(argv, resource_list, timeout=self.timeout)


def run_command(
    argv: Sequence[str], resource_list: CommentedMap, *, timeout: float = EXEC_TIMEOUT
) -> FunctionRunResult:
    """Run the executable `argv` as a KRM function (kpt's exec contract): the ResourceList YAML on
    its stdin, the output ResourceList read from its stdout, killed after `timeout` seconds.

    A relative executable path is taken from the current directory, as kpt's exec runner does.
    An executable that cannot be started gives exit code 125 and the OS error as stderr.
    """
    stdin = yamlutil.dump(resource_list)
    try:
        proc = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return FunctionRunResult(None, 1, f"function timed out after {timeout:g}s")
    except OSError as err:
        return FunctionRunResult(None, UNKNOWN_IMAGE_EXIT_CODE, str(err))
    stderr = proc.stderr.strip()
    output: CommentedMap | None = None
    if proc.stdout.strip():
        try:
            output = yamlutil.load(proc.stdout)
        except yamlutil.YAMLError as err:
            if proc.returncode == 0:
                return FunctionRunResult(None, 1, f"invalid function output: {err}")
    return FunctionRunResult(output, proc.returncode, stderr)


# ------------------------------------------------------------------------------------- chain


@dataclass(slots=True)
class ChainRuntime:
    """The first runtime that handles an image runs it."""

    runtimes: Sequence[FunctionRuntime]

    def handles(self, image: str) -> bool:
        return any(r.handles(image) for r in self.runtimes)

    def tags(self, image: str) -> Sequence[str]:
        out: list[str] = []
        for runtime in self.runtimes:
            out.extend(t for t in runtime.tags(image) if t not in out)
        return out

    def run(self, function: kptfile.Function, resource_list: CommentedMap) -> FunctionRunResult:
        for runtime in self.runtimes:
            if runtime.handles(function.image):
                return runtime.run(function, resource_list)
        return unknown_image_result(function.image)
