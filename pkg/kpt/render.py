"""kpt's `fn render` in Python: run every Kptfile pipeline of a package tree, write the results.

Where it sits: Porch's engine calls `render` on every package create and update (through a worker
thread: it is CPU-bound and synchronous), with the package resources as a `dict[str, str]` and a
`FunctionRuntime` (`pkg.kpt.fn.runtime`). `render_directory` does the same on a real directory, as
the `kpt fn render` command does; `render_to_text` is `kpt fn render -o stdout|unwrap` and
`eval_function` is `kpt fn eval -` (one function on a ResourceList). Below it: `pkgio`
(read/write items), `kptfile` (decode, validate, status) and the runtime; above it, nothing in
this package. `porchctl fn` (`pkg.cmd.porchctl.fn`) calls all four, with a `RenderObserver` that
prints kpt's progress lines and, for `--allow-exec`, `allow_exec=True`; porch-server never allows
`exec:` steps (they would run programs named by package content on the server).

What it reproduces (kpt's render_executor.go, 2026; see ../shared/reference/krm-functions.md §1):
- depth-first post-order over subpackages (or top-down with `kpt.dev/bfs-rendering: "true"`);
- per package: mutators in order, then validators on copies; `selectors`/`exclude`; function
  configs refreshed from the in-memory resources before each step; path/index annotation checks;
- on failure nothing but the root Kptfile's status is written, unless the root Kptfile has
  `kpt.dev/save-on-render-failure: "true"`; failures before any package ran write nothing;
- the root Kptfile gets the `Rendered` condition and `renderStatus` exactly as kpt writes them,
  and error texts are kpt's (`pkg.render: pkg ./db:\n\tpipeline.run: ...`).
"""

from __future__ import annotations

import dataclasses
import posixpath
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pkg.kpt import kptfile, pkgio, yamlutil
from pkg.kpt.fn import runtime as fnruntime

__all__ = [
    "ALREADY_HANDLED",
    "EXEC_NOT_ALLOWED",
    "RenderObserver",
    "RenderResult",
    "Step",
    "StepOutcome",
    "eval_function",
    "render",
    "render_directory",
    "render_to_text",
]

SAVE_ON_RENDER_FAILURE_ANNOTATION: Final = "kpt.dev/save-on-render-failure"
BFS_RENDER_ANNOTATION: Final = "kpt.dev/bfs-rendering"
RESOURCE_ID_ANNOTATION: Final = "internal.config.kubernetes.io/kpt-resource-id"
FUNCTION_INPUT_NAME: Final = "function-input"
ALREADY_HANDLED: Final = "already handled error"
EXEC_NOT_ALLOWED: Final = "must run with `--allow-exec` option to allow running function binaries"

# The virtual absolute path of the root package (kpt replaces it by "." in messages).
_ROOT: Final = "/__kpt_render_root__"


@dataclass(slots=True)
class RenderResult:
    """The outcome of a render.

    `files` is the package after the render (the input files when nothing was written),
    `result_list` kpt's FunctionResultList (what `--results-dir` gets, Porch's
    `renderStatus.result`), `exit_code` 0 or 1, `error` the render error ("" on success) and
    `status` the `status` written into the root Kptfile (None when none was written),
    `written` the resource files the render produced (what `kpt fn render -o <dir>` writes) and
    `cause` the innermost error of `error`, without the `pkg.render: pkg ./db:` wrapping: what
    kpt prints as `Error: <cause>` (`ALREADY_HANDLED` when a function failed: kpt has shown the
    function's own output and prints nothing more; "" on success).
    """

    files: dict[str, str]
    result_list: dict[str, Any]
    exit_code: int
    error: str
    status: dict[str, Any] | None = None
    written: dict[str, str] = field(default_factory=dict)
    cause: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """A function the renderer is about to run, as a `RenderObserver` sees it.

    `package` is the directory of the package whose pipeline runs it, relative to the root
    package ("" for the root; None in `eval_function`, which has no package), `function` the
    step with its image resolved (what results and renderStatus record), `item_count` the
    number of resources it gets (after `selectors`/`exclude`).
    """

    package: str | None
    function: kptfile.Function
    item_count: int

    @property
    def name(self) -> str:
        """How kpt names the function in its progress lines: the image, else the command."""
        return self.function.image or self.function.exec


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """How a step ended. `run` is what the function gave (None when the renderer refused its
    input before running it), `seconds` the time the step took, `error` the renderer's reason for
    failing the step around the function (non-KRM input or output, an output path outside the
    package, ...; "" when the function's own exit code decides)."""

    run: fnruntime.FunctionRunResult | None
    seconds: float
    error: str = ""

    @property
    def passed(self) -> bool:
        """kpt's `[PASS]`: the function ran, exited 0 and the renderer accepted its output."""
        return self.run is not None and self.run.exit_code == 0 and not self.error


class RenderObserver(Protocol):
    """Follows a render (or an eval) as it runs; porchctl prints kpt's progress lines from it.

    Calls come in execution order on the rendering thread. `package_started(package)` when the
    render reaches a package's pipeline, also an empty one (`package` relative to the root, ""
    for the root; depth-first post-order, or top-down with `kpt.dev/bfs-rendering`);
    `step_started(step)` before a step's function gets its input, and `step_finished(step,
    outcome)` once after it, however it ended. A step refused before that (an `exec:` step
    without `allow_exec`, a `tag:` no known tag satisfies, a configRef matching nothing) gets
    neither call: it ends the render with its error. An exception from the observer ends the
    render and propagates.
    """

    def package_started(self, package: str) -> None: ...

    def step_started(self, step: Step) -> None: ...

    def step_finished(self, step: Step, outcome: StepOutcome) -> None: ...


class _KptError(Exception):
    """kpt's `errors.Error` (op, package path, wrapped error) with its message format."""

    def __init__(self, op: str, path: str, err: BaseException | str) -> None:
        super().__init__(op)
        self.op = op
        self.path = path
        self.err = err
        if isinstance(err, _KptError):
            if err.path == path:
                err.path = ""
            if err.op == op:
                err.op = ""

    def __str__(self) -> str:
        out = ""
        if self.op:
            out = self.op
        if self.path:
            out = (out + ": " if out else "") + "pkg " + self.path
        if isinstance(self.err, _KptError):
            inner = str(self.err)
            out = (out + ":\n\t" if out else "") + inner
        else:
            text = str(self.err)
            out = (out + ": " if out else "") + text
        return out


class _StepError(Exception):
    """A failure around a function (input/output checks, unknown config) or the function's own
    failure (`handled`: already reported with its exit code and stderr)."""

    def __init__(self, message: str, *, handled: bool = False, exit_code: int = 1) -> None:
        super().__init__(message)
        self.handled = handled
        self.exit_code = exit_code


@dataclass(eq=False)
class _Pkg:
    dir: str  # relative to the root, "" for the root
    abs: str
    kf: CommentedMap
    parent: _Pkg | None = None
    resources: list[CommentedMap] = field(default_factory=list)
    local_files: set[str] = field(default_factory=set)
    state: str = "dry"


@dataclass
class _Context:
    files: Mapping[str, str]
    runtime: fnruntime.FunctionRuntime
    display_root: str
    default_prefix: str
    allow_exec: bool = False
    observer: RenderObserver | None = None
    root: _Pkg | None = None
    pkgs: dict[str, _Pkg] = field(default_factory=dict)
    fn_results: list[dict[str, Any]] = field(default_factory=list)
    results_exit_code: int = 0
    mutation_steps: list[dict[str, Any]] = field(default_factory=list)
    validation_steps: list[dict[str, Any]] = field(default_factory=list)
    input_files: set[str] = field(default_factory=set)
    save_on_failure: bool = False


# ----------------------------------------------------------------------------------- entry points


def render(
    files: Mapping[str, str],
    *,
    runtime: fnruntime.FunctionRuntime,
    package_path: str = "",
    default_image_prefix: str = fnruntime.DEFAULT_IMAGE_PREFIX,
    write_status: bool = True,
    allow_exec: bool = False,
    observer: RenderObserver | None = None,
) -> RenderResult:
    """Render the package whose root Kptfile is `files["Kptfile"]`.

    `files` maps paths relative to the package root to their text; `package_path` is how the
    package is named in messages about its files (kpt prints the path it was given). Without
    `write_status` (kpt's out-of-place output) the root Kptfile gets no status.

    A step with `exec:` runs that command line as a local executable only with `allow_exec`
    (kpt's `--allow-exec`; relative paths from the current directory, as kpt runs them);
    otherwise it fails the render with `EXEC_NOT_ALLOWED`. `observer` follows the render.
    """
    ctx, early = _start(
        files,
        runtime,
        package_path,
        default_image_prefix,
        allow_exec=allow_exec,
        observer=observer,
    )
    if early is not None:
        return early
    root = ctx.root
    assert root is not None
    hyd_err = _hydrate_all(ctx, root)
    original = dict(files)
    new_files = dict(original)
    written: dict[str, str] = {}
    if hyd_err is None or ctx.save_on_failure:
        try:
            _adjust_rel_paths(root.resources)
        except _StepError as err:
            return _finish(ctx, original, _KptError("", "", str(err)), write_status=write_status)
        written = pkgio.write_resources(root.resources)
        if write_status:
            new_files.update(written)
            if hyd_err is None:
                for stale in ctx.input_files - set(written):
                    new_files.pop(stale, None)
    result = _finish(ctx, new_files, hyd_err, write_status=write_status)
    result.written = written
    return result


def render_to_text(
    files: Mapping[str, str],
    *,
    runtime: fnruntime.FunctionRuntime,
    unwrap: bool = False,
    package_path: str = "",
    default_image_prefix: str = fnruntime.DEFAULT_IMAGE_PREFIX,
    allow_exec: bool = False,
    observer: RenderObserver | None = None,
) -> tuple[RenderResult, str]:
    """`kpt fn render -o stdout` (a ResourceList whose items keep kpt's reader annotations) or,
    with `unwrap`, `-o unwrap` (the resources as multi-document YAML). Nothing is written into
    `files`; the text is "" when the render failed. `allow_exec` and `observer` as in `render`."""
    ctx, early = _start(
        files,
        runtime,
        package_path,
        default_image_prefix,
        allow_exec=allow_exec,
        observer=observer,
    )
    if early is not None:
        return early, ""
    root = ctx.root
    assert root is not None
    hyd_err = _hydrate_all(ctx, root)
    text = ""
    if hyd_err is None:
        try:
            _adjust_rel_paths(root.resources)
        except _StepError as err:
            hyd_err = _KptError("", "", str(err))
    if hyd_err is None:
        text = _unwrapped(root.resources) if unwrap else _wrapped(root.resources)
    return _finish(ctx, dict(files), hyd_err, write_status=False), text


def eval_function(
    text: str,
    function: kptfile.Function,
    *,
    runtime: fnruntime.FunctionRuntime,
    unwrap: bool = False,
    default_image_prefix: str = fnruntime.DEFAULT_IMAGE_PREFIX,
    function_config: Mapping[str, Any] | None = None,
    observer: RenderObserver | None = None,
) -> tuple[RenderResult, str]:
    """`kpt fn eval - --image <image>` (or `--exec <command>`): run one function on a
    ResourceList read from `text` and return the output ResourceList text (or, with `unwrap`,
    the bare resources).

    `function` names the image, or with `exec` the command line to run as a local executable
    (the caller named it, so no `allow_exec` is needed; results record it as `exec:`). Its
    functionConfig is `function_config` (`--fn-config`'s resource) or else the `function-input`
    ConfigMap of `function.config_map` (`-- KEY=VALUE`); giving both is a ValueError.
    `observer` sees the one step (with `package` None).
    """
    if function_config is not None and function.config_map:
        raise ValueError("function_config and function.config_map are mutually exclusive")
    ctx = _Context(
        files={},
        runtime=runtime,
        display_root="",
        default_prefix=default_image_prefix,
        allow_exec=True,
        observer=observer,
    )
    try:
        resource_list = yamlutil.load(text)
    except yamlutil.YAMLError as err:
        return _failed(ctx, {}, str(err)), ""
    raw_items = resource_list.get("items")
    items = [i for i in raw_items if isinstance(i, CommentedMap)] if raw_items else []
    pn = _Pkg(dir="", abs="", kf=CommentedMap())
    try:
        runner = _new_runner(ctx, pn, function)
    except _StepError as err:
        return _failed(ctx, {}, str(err)), ""
    if function_config is not None:
        runner.config = (
            yamlutil.copy_node(function_config)
            if isinstance(function_config, CommentedMap)
            else yamlutil.from_plain(function_config)
        )
    output, fn_err = _run_function(ctx, pn, runner, items, in_package=False)
    if fn_err is not None or output is None:
        message = str(fn_err) if fn_err is not None else "function produced no output"
        return _failed(ctx, {}, message), ""
    result = RenderResult(files={}, result_list=_result_list(ctx), exit_code=0, error="")
    return result, _unwrapped(output) if unwrap else _wrapped(output)


def _wrapped(items: Sequence[CommentedMap]) -> str:
    resource_list = CommentedMap()
    resource_list["apiVersion"] = "config.kubernetes.io/v1"
    resource_list["kind"] = "ResourceList"
    resource_list["items"] = CommentedSeq(items)
    return yamlutil.dump(resource_list)


def _unwrapped(items: Sequence[CommentedMap]) -> str:
    styles = []
    for item in items:
        styles.append(pkgio.get_annotation(item, pkgio.SEQ_INDENT_ANNOTATION) or yamlutil.COMPACT)
        for key in pkgio.READER_ANNOTATIONS:
            pkgio.remove_annotation(item, key)
        pkgio.clear_empty_annotations(item)
    return yamlutil.dump_all(list(items), seq_indent_style=styles)


def _start(
    files: Mapping[str, str],
    runtime: fnruntime.FunctionRuntime,
    package_path: str,
    default_image_prefix: str,
    *,
    allow_exec: bool,
    observer: RenderObserver | None,
) -> tuple[_Context, RenderResult | None]:
    """Read and check the root Kptfile; a failure here ends the render with nothing written."""
    ctx = _Context(
        files=files,
        runtime=runtime,
        display_root=package_path,
        default_prefix=default_image_prefix,
        allow_exec=allow_exec,
        observer=observer,
    )
    original = dict(files)
    if kptfile.KPTFILE_NAME not in files:
        shown = package_path or "."
        return ctx, _failed(ctx, original, f"No Kptfile found at {kptfile.go_quote(shown)}.")
    try:
        root_kf = _load_kptfile(ctx, "", _ROOT)
        _validate_package(ctx, "", root_kf)
    except kptfile.KptfileVersionError as err:
        return ctx, _failed(ctx, original, f"Kptfile at {_shown(ctx, 'Kptfile')} {err}.")
    except kptfile.KptfileReadError as err:
        return ctx, _failed(
            ctx,
            original,
            f"Kptfile at {_shown(ctx, 'Kptfile')} can't be read.\n\nDetails:\n{err.detail}",
        )
    except kptfile.KptfileError as err:
        return ctx, _failed(ctx, original, str(err))
    ctx.root = _Pkg(dir="", abs=_ROOT, kf=root_kf)
    annotations = kptfile.metadata_annotations(root_kf)
    ctx.save_on_failure = _is_true(annotations.get(SAVE_ON_RENDER_FAILURE_ANNOTATION))
    return ctx, None


def _hydrate_all(ctx: _Context, root: _Pkg) -> _KptError | None:
    if _is_true(kptfile.metadata_annotations(root.kf).get(BFS_RENDER_ANNOTATION)):
        return _hydrate_bfs(ctx, root)
    _, err = _hydrate(ctx, root)
    return err


def render_directory(
    path: Path,
    *,
    runtime: fnruntime.FunctionRuntime,
    results_dir: Path | None = None,
    output_dir: Path | None = None,
    default_image_prefix: str = fnruntime.DEFAULT_IMAGE_PREFIX,
    allow_exec: bool = False,
    observer: RenderObserver | None = None,
) -> RenderResult:
    """`kpt fn render <path> [-o <output_dir>]`: render a package directory.

    In place by default: files the render removes are deleted and the root Kptfile gets its
    status. With `output_dir` (which must not exist) the rendered resources are written there
    instead and the package is left alone. A symlinked package directory is resolved first
    (kpt warns and renders the target). With `results_dir`, kpt's `results.yaml` is written there.
    `allow_exec` and `observer` as in `render`.
    """
    resolved = path.resolve() if path.is_symlink() else path
    before = pkgio.read_directory(resolved)
    if output_dir is not None and output_dir.exists():
        message = (
            f"directory {kptfile.go_quote(output_dir.name)} already exists, please delete "
            "the directory and retry"
        )
        return RenderResult(
            files=before,
            result_list=_result_list(
                _Context(files=before, runtime=runtime, display_root="", default_prefix="")
            ),
            exit_code=1,
            error=message,
            cause=message,
        )
    result = render(
        before,
        runtime=runtime,
        package_path=path.name,
        default_image_prefix=default_image_prefix,
        write_status=output_dir is None,
        allow_exec=allow_exec,
        observer=observer,
    )
    if output_dir is None:
        pkgio.write_directory(resolved, before, result.files)
    elif result.exit_code == 0:
        pkgio.write_directory(output_dir, {}, result.written)
    if results_dir is not None:
        results_dir.mkdir(parents=True, exist_ok=True)
        (results_dir / "results.yaml").write_text(
            yamlutil.dump(_to_node(result.result_list), seq_indent_style=yamlutil.WIDE),
            encoding="utf-8",
        )
    return result


# ------------------------------------------------------------------------------------ finishing


def _failed(ctx: _Context, files: dict[str, str], message: str) -> RenderResult:
    return RenderResult(
        files=files,
        result_list=_result_list(ctx),
        exit_code=1,
        error=message,
        status=None,
        cause=message,
    )


def _finish(
    ctx: _Context, files: dict[str, str], hyd_err: _KptError | None, *, write_status: bool
) -> RenderResult:
    message = ""
    cause = ""
    if hyd_err is not None:
        message = str(hyd_err).replace(_ROOT, ".")
        cause = _innermost(hyd_err).replace(_ROOT, ".")
    status = None
    if write_status:
        status = _write_status(ctx, files, message if hyd_err is not None else None)
    return RenderResult(
        files=files,
        result_list=_result_list(ctx),
        exit_code=1 if hyd_err is not None else 0,
        error=message,
        status=status,
        cause=cause,
    )


def _innermost(err: _KptError) -> str:
    """The error a chain of kpt errors wraps (what kpt prints after `Error: `)."""
    inner: BaseException | str = err
    while isinstance(inner, _KptError):
        inner = inner.err
    return str(inner)


def _write_status(
    ctx: _Context, files: dict[str, str], message: str | None
) -> dict[str, Any] | None:
    """kpt's updateRenderStatus: the Rendered condition and renderStatus on the root Kptfile."""
    text = files.get(kptfile.KPTFILE_NAME)
    if text is None:
        return None
    try:
        kf = kptfile.decode(text)
    except kptfile.KptfileError:
        return None
    condition: dict[str, str] = {"type": "Rendered"}
    if message is None:
        condition.update(status="True", reason="RenderSuccess")
    else:
        condition.update(status="False", reason="RenderFailed", message=message)
    render_status: dict[str, Any] | None = None
    if ctx.mutation_steps or ctx.validation_steps:
        render_status = {}
        if ctx.mutation_steps:
            render_status["mutationSteps"] = ctx.mutation_steps
        if ctx.validation_steps:
            render_status["validationSteps"] = ctx.validation_steps
        if message is not None:
            lines = []
            for step in [*ctx.mutation_steps, *ctx.validation_steps]:
                name = step.get("name") or step.get("image") or step.get("exec") or ""
                if step.get("executionError"):
                    lines.append(f"{name}: {step['executionError']}")
                elif step.get("exitCode"):
                    lines.append(f"{name}: exit code {step['exitCode']}")
            if lines:
                render_status["errorSummary"] = "\n".join(lines)
    updated = kptfile.with_status(kf, condition, render_status)
    files[kptfile.KPTFILE_NAME] = kptfile.encode(updated)
    status = updated.get("status")
    return yamlutil.to_plain(status) if isinstance(status, Mapping) else None


def _result_list(ctx: _Context) -> dict[str, Any]:
    return {
        "apiVersion": "kpt.dev/v1",
        "kind": "FunctionResultList",
        "metadata": {"name": "fnresults"},
        "exitCode": ctx.results_exit_code,
        "items": ctx.fn_results,
    }


def _to_node(data: Any) -> Any:
    if isinstance(data, Mapping):
        out = CommentedMap()
        for k, v in data.items():
            out[k] = _to_node(v)
        return out
    if isinstance(data, list):
        seq = CommentedSeq()
        seq.extend(_to_node(v) for v in data)
        return seq
    if isinstance(data, str):
        return yamlutil.new_string(data)
    return data


# -------------------------------------------------------------------------------------- packages


def _shown(ctx: _Context, rel: str) -> str:
    return kptfile.go_quote(posixpath.join(ctx.display_root, rel) if ctx.display_root else rel)


def _load_kptfile(ctx: _Context, pkg_dir: str, pkg_abs: str) -> CommentedMap:
    rel = posixpath.join(pkg_dir, kptfile.KPTFILE_NAME) if pkg_dir else kptfile.KPTFILE_NAME
    return kptfile.decode(ctx.files[rel], path=pkg_abs)


def _validate_package(ctx: _Context, pkg_dir: str, kf: CommentedMap) -> None:
    """kpt's `KptFile.Validate`, including opening each step's configPath file."""
    kptfile.validate(kf)
    for kind in ("mutators", "validators"):
        for index, fn in enumerate(kptfile.functions(kf, kind)):
            if fn.config_path:
                kptfile.config_path_resource(
                    ctx.files,
                    pkg_dir,
                    fn.config_path,
                    display_root=ctx.display_root,
                    field_path=f"pipeline.{kind}[{index}].configPath",
                )


def _child_abs(pkg_dir: str) -> str:
    return posixpath.join(_ROOT, pkg_dir) if pkg_dir else _ROOT


def _load_local(ctx: _Context, pn: _Pkg) -> list[CommentedMap]:
    items = pkgio.read_resources(ctx.files, pn.dir, pn.abs)
    prefix = pn.dir + "/" if pn.dir else ""
    for item in items:
        rel = pkgio.get_annotation(item, pkgio.PATH_ANNOTATION) or ""
        path = posixpath.normpath(prefix + rel)
        pn.local_files.add(rel)
        ctx.input_files.add(path)
    return items


def _subpackages(ctx: _Context, pn: _Pkg) -> list[_Pkg]:
    """kpt's DirectSubpackages: every nearest subpackage, its Kptfile read (not yet validated)."""
    out = []
    for sub_dir in pkgio.direct_subpackages(ctx.files, pn.dir):
        sub_abs = _child_abs(sub_dir)
        try:
            kf = _load_kptfile(ctx, sub_dir, sub_abs)
        except kptfile.KptfileVersionError as err:
            raise _KptError("pkg.Subpackages", sub_abs, str(err)) from err
        except kptfile.KptfileReadError as err:
            raise _KptError("pkg.Subpackages", sub_abs, str(err)) from err
        out.append(_Pkg(dir=sub_dir, abs=sub_abs, kf=kf, parent=pn))
    return out


def _hydrate(ctx: _Context, pn: _Pkg) -> tuple[list[CommentedMap] | None, _KptError | None]:
    """Depth-first post-order hydration of one package (kpt's `hydrate`)."""
    ctx.pkgs[pn.abs] = pn
    pn.state = "hydrating"
    try:
        input_items = _load_local(ctx, pn)
    except pkgio.PackageReadError as err:
        return None, _KptError("pkg.render", pn.abs, str(err))
    try:
        subs = _subpackages(ctx, pn)
    except _KptError as err:
        return None, _KptError("pkg.render", pn.abs, err)
    for sub in subs:
        try:
            _validate_package(ctx, sub.dir, sub.kf)
        except kptfile.KptfileError as err:
            return None, _KptError("pkg.render", sub.abs, _KptError("pkg.read", sub.abs, str(err)))
        transitive, sub_err = _hydrate(ctx, sub)
        if sub_err is not None:
            if transitive is not None and ctx.save_on_failure:
                input_items = input_items + transitive
                pn.resources = input_items
            return None, _KptError("pkg.render", sub.abs, sub_err)
        assert transitive is not None
        input_items = input_items + transitive
    output, run_err = _run_pipeline(ctx, pn, input_items)
    if run_err is not None:
        if ctx.save_on_failure:
            pn.resources = output if output is not None else input_items
        return output, _KptError("pkg.render", pn.abs, run_err)
    assert output is not None
    pn.state = "wet"
    pn.resources = output
    return output, None


def _hydrate_bfs(ctx: _Context, root: _Pkg) -> _KptError | None:
    """Top-down rendering (kpt's `hydrateBfsOrder`): each package's pipeline sees its own
    resources and its descendants'."""
    all_nodes: list[_Pkg] = []
    children: dict[str, list[_Pkg]] = {}
    queue = [root]
    try:
        while queue:
            current = queue.pop(0)
            all_nodes.append(current)
            ctx.pkgs[current.abs] = current
            current.resources = _load_local(ctx, current)
            subs = _subpackages(ctx, current)
            for sub in subs:
                _validate_package(ctx, sub.dir, sub.kf)
            queue.extend(subs)
            children[current.abs] = subs
    except pkgio.PackageReadError as err:
        return _KptError("pkg.render", root.abs, str(err))
    except _KptError as err:
        return _KptError("pkg.render", root.abs, err)
    except kptfile.KptfileError as err:
        return _KptError("pkg.render", root.abs, str(err))

    def descendants(node: _Pkg) -> list[CommentedMap]:
        out: list[CommentedMap] = []
        for child in children.get(node.abs, []):
            out.extend(child.resources)
            out.extend(descendants(child))
        return out

    for node in all_nodes:
        node.state = "hydrating"
        input_items = node.resources + descendants(node)
        output, run_err = _run_pipeline(ctx, node, input_items)
        if run_err is not None:
            if ctx.save_on_failure:
                node.resources = output if output is not None else input_items
                _propagate(node, all_nodes)
                root.resources = [r for n in all_nodes for r in n.resources]
            return _KptError("pkg.render", root.abs, run_err)
        assert output is not None
        node.resources = output
        node.state = "wet"
        _propagate(node, all_nodes)
    root.resources = [r for n in all_nodes for r in n.resources]
    return None


def _propagate(current: _Pkg, all_nodes: Sequence[_Pkg]) -> None:
    by_pkg: dict[str, list[CommentedMap]] = {}
    for item in current.resources:
        pkg_path = pkgio.get_annotation(item, pkgio.PACKAGE_PATH_ANNOTATION) or current.abs
        by_pkg.setdefault(pkg_path, []).append(item)
    remaining: list[CommentedMap] = []
    for node in all_nodes:
        items = by_pkg.get(node.abs)
        if items is None:
            continue
        if node is current:
            remaining.extend(items)
        else:
            node.resources = items
    current.resources = remaining


def _is_true(value: Any) -> bool:
    return isinstance(value, str | bool) and str(value).lower() == "true"


# -------------------------------------------------------------------------------------- pipeline


def _run_pipeline(
    ctx: _Context, pn: _Pkg, input_items: list[CommentedMap]
) -> tuple[list[CommentedMap] | None, _KptError | str | None]:
    if ctx.observer is not None:
        ctx.observer.package_started(pn.dir)
    mutators = kptfile.functions(pn.kf, "mutators")
    validators = kptfile.functions(pn.kf, "validators")
    if not mutators and not validators:
        problem = _krm_problem(input_items)
        if problem:
            return None, f"input resource list must contain only KRM resources: {problem}"
        return input_items, None
    try:
        _validate_pipeline(pn, mutators, validators)
    except kptfile.KptfileValidationError as err:
        return None, str(err)
    mutated, mut_err = _run_mutators(ctx, pn, mutators, input_items)
    if mut_err is not None:
        return mutated, _KptError("pipeline.run", pn.abs, mut_err)
    assert mutated is not None
    verr = _run_validators(ctx, pn, validators, mutated)
    if verr is not None:
        return mutated, _KptError("pipeline.run", pn.abs, verr)
    return mutated, None


def _validate_pipeline(
    pn: _Pkg, mutators: Sequence[kptfile.Function], validators: Sequence[kptfile.Function]
) -> None:
    """kpt's ValidatePipeline: a configPath must name a file of the package's own resources."""
    for kind, fns in (("mutators", mutators), ("validators", validators)):
        for index, fn in enumerate(fns):
            if not fn.config_path:
                continue
            if posixpath.normpath(fn.config_path) in pn.local_files:
                continue
            raise kptfile.KptfileValidationError(
                f"pipeline.{kind}[{index}].configPath",
                fn.config_path,
                f"functionConfig resource for {kind[:-1]} {kptfile.go_quote(fn.display_name)} "
                f"is missing from path {kptfile.go_quote(fn.config_path)}, this also occurs if "
                f"{kptfile.go_quote(fn.config_path)} is part of a subpackage",
            )


@dataclass(slots=True)
class _Runner:
    fn: kptfile.Function  # image resolved
    config: CommentedMap | None
    argv: tuple[str, ...] | None = None  # the command of an `exec` function


def _new_runner(ctx: _Context, pn: _Pkg, fn: kptfile.Function) -> _Runner:
    """kpt's fnChain check and NewRunner: an `exec` step only when allowed, its command line
    split like a shell's; the step's initial functionConfig and its resolved image."""
    argv: tuple[str, ...] | None = None
    if fn.exec:
        if not ctx.allow_exec:
            raise _StepError(EXEC_NOT_ALLOWED)
        try:
            # kpt runs the unsplit text when it has no words (and fails to start it)
            argv = tuple(shlex.split(fn.exec)) or (fn.exec,)
        except ValueError as err:
            raise _StepError(
                f"exec command {kptfile.go_quote(fn.exec)} must be valid: {err}"
            ) from err
    config: CommentedMap | None = None
    if fn.config_map:
        config = CommentedMap()
        config["apiVersion"] = "v1"
        config["kind"] = "ConfigMap"
        meta = CommentedMap()
        meta["name"] = FUNCTION_INPUT_NAME
        config["metadata"] = meta
        data = CommentedMap()
        for key, value in fn.config_map.items():
            data[key] = yamlutil.new_string(value)
        config["data"] = data
    elif fn.config_path:
        rel = posixpath.normpath(posixpath.join(pn.dir, fn.config_path))
        docs = yamlutil.load_all(ctx.files.get(rel, ""))
        config = docs[0] if docs else None
    if argv is not None:
        return _Runner(fn, config, argv)
    try:
        image = fnruntime.resolve_image(
            fn.image, fn.tag, ctx.runtime, default_prefix=ctx.default_prefix
        )
    except fnruntime.ImageResolutionError as err:
        raise _StepError(str(err)) from err
    return _Runner(dataclasses.replace(fn, image=image), config)


def _pre_exec_failure(fn: kptfile.Function, image: str, err: _StepError) -> dict[str, Any]:
    step = _step_head(fn, image)
    step["executionError"] = str(err)
    step["exitCode"] = 1
    return step


def _step_head(fn: kptfile.Function, image: str) -> dict[str, Any]:
    step: dict[str, Any] = {}
    if fn.name:
        step["name"] = fn.name
    if image:
        step["image"] = image
    if fn.exec:
        step["exec"] = fn.exec
    return step


def _run_mutators(
    ctx: _Context, pn: _Pkg, mutators: Sequence[kptfile.Function], input_items: list[CommentedMap]
) -> tuple[list[CommentedMap] | None, _StepError | None]:
    runners: list[_Runner] = []
    for fn in mutators:
        try:
            runners.append(_new_runner(ctx, pn, fn))
        except _StepError as err:
            ctx.mutation_steps.append(_pre_exec_failure(fn, fn.image, err))
            return None, err
    items = input_items
    for runner in runners:
        fn = runner.fn
        _refresh_config(runner, pn, items)
        if fn.config_ref is not None:
            try:
                runner.config = _resolve_config_ref(fn.config_ref, items)
            except _StepError as err:
                ctx.mutation_steps.append(_pre_exec_failure(fn, fn.image, err))
                return items, err
        use_selection = bool(fn.selectors or fn.exclude)
        if use_selection:
            for index, item in enumerate(items):
                pkgio.set_annotation(item, RESOURCE_ID_ANNOTATION, str(index))
        selected = _select(items, fn.selectors, fn.exclude) if use_selection else items
        if ctx.save_on_failure:
            selected = [yamlutil.copy_node(item) for item in selected]
        results_before = len(ctx.fn_results)
        output, fn_err = _run_function(ctx, pn, runner, selected)
        if fn_err is not None:
            _clear_run_annotations(items)
            ctx.mutation_steps.append(_capture_step(ctx, fn, results_before, fn_err))
            return items, fn_err
        assert output is not None
        ctx.mutation_steps.append(_capture_step(ctx, fn, results_before, None))
        if use_selection:
            items = _merge_with_input(output, selected, items)
            for item in items:
                pkgio.remove_annotation(item, RESOURCE_ID_ANNOTATION)
        else:
            items = output
    return items, None


def _run_validators(
    ctx: _Context, pn: _Pkg, validators: Sequence[kptfile.Function], items: list[CommentedMap]
) -> _StepError | None:
    for fn in validators:
        try:
            runner = _new_runner(ctx, pn, fn)
        except _StepError as err:
            ctx.validation_steps.append(_pre_exec_failure(fn, fn.image, err))
            return err
        _refresh_config(runner, pn, items)
        if fn.config_ref is not None:
            try:
                runner.config = _resolve_config_ref(fn.config_ref, items)
            except _StepError as err:
                ctx.validation_steps.append(_pre_exec_failure(runner.fn, runner.fn.image, err))
                return err
        selected = _select(items, fn.selectors, fn.exclude)
        copies = [yamlutil.copy_node(item) for item in selected]
        results_before = len(ctx.fn_results)
        _, fn_err = _run_function(ctx, pn, runner, copies)
        ctx.validation_steps.append(_capture_step(ctx, runner.fn, results_before, fn_err))
        if fn_err is not None:
            return fn_err
    return None


def _capture_step(
    ctx: _Context, fn: kptfile.Function, results_before: int, err: _StepError | None
) -> dict[str, Any]:
    """kpt's captureStepResult: the renderStatus entry of one executed step."""
    step = _step_head(fn, fn.image)
    exit_code = 0
    stderr = ""
    results: list[dict[str, Any]] = []
    if results_before < len(ctx.fn_results):
        last = ctx.fn_results[-1]
        stderr = last.get("stderr", "")
        exit_code = int(last.get("exitCode", 0))
        results = list(last.get("results", []))
    if err is not None and not err.handled:
        step["executionError"] = str(err)
    if stderr:
        step["stderr"] = stderr
    if err is not None:
        if err.handled:
            exit_code = err.exit_code
        elif exit_code == 0:
            exit_code = 1
    step["exitCode"] = exit_code
    if results:
        step["results"] = results
        errors = [r for r in results if r.get("severity") == "error"]
        if errors:
            step["errorResults"] = errors
    return step


def _refresh_config(runner: _Runner, pn: _Pkg, items: Sequence[CommentedMap]) -> None:
    """Swap in the current in-memory version of the step's configPath resource."""
    path = runner.fn.config_path
    if not path:
        return
    wanted = posixpath.normpath(path)
    for item in items:
        if pkgio.get_annotation(item, pkgio.PACKAGE_PATH_ANNOTATION) != pn.abs:
            continue
        item_path = pkgio.get_annotation(item, pkgio.PATH_ANNOTATION) or ""
        if posixpath.normpath(item_path) == wanted:
            runner.config = item
            return


def _resolve_config_ref(ref: Mapping[str, str], items: Sequence[CommentedMap]) -> CommentedMap:
    matches = []
    for item in items:
        meta = item.get("metadata")
        if not isinstance(meta, Mapping):
            continue
        if ref.get("apiVersion") and item.get("apiVersion") != ref["apiVersion"]:
            continue
        if item.get("kind") != ref.get("kind") or meta.get("name") != ref.get("name"):
            continue
        if ref.get("namespace") and meta.get("namespace") != ref["namespace"]:
            continue
        matches.append(item)
    described = "/".join(v for v in (ref.get("kind", ""), ref.get("name", "")) if v)
    if not matches:
        raise _StepError(f"configRef {described}: no matching resource found in the package")
    if len(matches) > 1:
        raise _StepError(f"configRef {described}: {len(matches)} resources match, expected one")
    return matches[0]


# ------------------------------------------------------------------------------------ selection


def _matches(item: Mapping[str, Any], sel: kptfile.Selector) -> bool:
    meta = item.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    if sel.api_version and item.get("apiVersion") != sel.api_version:
        return False
    if sel.kind and item.get("kind") != sel.kind:
        return False
    if sel.name and meta.get("name") != sel.name:
        return False
    if sel.namespace and meta.get("namespace") != sel.namespace:
        return False
    for key, field_name in ((sel.labels, "labels"), (sel.annotations, "annotations")):
        if key:
            actual = meta.get(field_name)
            if not isinstance(actual, Mapping):
                return False
            for k, v in key.items():
                if k not in actual or str(actual[k]) != v:
                    return False
    return True


def _select(
    items: Sequence[CommentedMap],
    selectors: Sequence[kptfile.Selector],
    exclude: Sequence[kptfile.Selector],
) -> list[CommentedMap]:
    """kpt's SelectInput: items matching any selector (all when none), minus excluded ones."""
    if not selectors and not exclude:
        return list(items)
    if selectors:
        selected = [item for sel in selectors for item in items if _matches(item, sel)]
    else:
        selected = list(items)
    active_exclusions = [sel for sel in exclude if not sel.is_empty()]
    if active_exclusions:
        selected = [i for i in selected if not any(_matches(i, s) for s in active_exclusions)]
    return selected


def _merge_with_input(
    output: Sequence[CommentedMap],
    selected: Sequence[CommentedMap],
    items: Sequence[CommentedMap],
) -> list[CommentedMap]:
    """kpt's MergeWithInput: selected items replaced by their output, generated ones appended."""
    by_id: dict[str, list[CommentedMap]] = {}
    generated: list[CommentedMap] = []
    for node in output:
        rid = pkgio.get_annotation(node, RESOURCE_ID_ANNOTATION)
        if rid is None:
            generated.append(node)
        else:
            by_id.setdefault(rid, []).append(node)
    selected_ids = {pkgio.get_annotation(node, RESOURCE_ID_ANNOTATION) for node in selected}
    merged: list[CommentedMap] = []
    used: set[str] = set()
    for node in items:
        rid = pkgio.get_annotation(node, RESOURCE_ID_ANNOTATION)
        if rid is not None and rid in selected_ids:
            if rid in by_id and rid not in used:
                merged.extend(by_id[rid])
                used.add(rid)
            continue
        merged.append(node)
    for rid, nodes in by_id.items():
        if rid not in selected_ids:
            merged.extend(nodes)
    merged.extend(generated)
    return merged


# ------------------------------------------------------------------------------- function calls


_RUN_ANNOTATIONS: Final = (
    pkgio.LEGACY_ID_ANNOTATION,
    pkgio.ID_ANNOTATION,
    pkgio.ANNOTATIONS_MIGRATION_RESOURCE_ID,
)


def _clear_run_annotations(items: Sequence[CommentedMap]) -> None:
    for item in items:
        for key in (*_RUN_ANNOTATIONS, RESOURCE_ID_ANNOTATION):
            pkgio.remove_annotation(item, key)


def _krm_problem(items: Sequence[Mapping[str, Any]]) -> str:
    """kpt's AreKRM: the first non-KRM item as `<path>: <problem>` ("" when all are KRM)."""
    for item in items:
        if _is_kustomization(item):
            continue
        problem = kptfile.krm_problem(item)
        if problem:
            path = pkgio.get_annotation(item, pkgio.PATH_ANNOTATION) or ""
            return f"{path}: {problem}"
    return ""


def _is_kustomization(item: Mapping[str, Any]) -> bool:
    path = pkgio.get_annotation(item, pkgio.PATH_ANNOTATION) or ""
    if posixpath.basename(path) in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        return True
    api_version = item.get("apiVersion")
    if isinstance(api_version, str) and api_version.startswith("kustomize.config.k8s.io"):
        return True
    return item.get("kind") == "Kustomization" and not api_version


def _run_function(
    ctx: _Context,
    pn: _Pkg,
    runner: _Runner,
    items: list[CommentedMap],
    *,
    in_package: bool = True,
) -> tuple[list[CommentedMap] | None, _StepError | None]:
    """kpt's FunctionRunner.Filter for one step: the observer's calls around `_call_function`.
    `in_package` is False for eval (no package: no package path on new items)."""
    if ctx.observer is None:
        _, output, err = _call_function(ctx, pn, runner, items, set_package_path=in_package)
        return output, err
    step = Step(package=pn.dir if in_package else None, function=runner.fn, item_count=len(items))
    ctx.observer.step_started(step)
    start = time.monotonic()
    run, output, err = _call_function(ctx, pn, runner, items, set_package_path=in_package)
    outcome = StepOutcome(
        run=run,
        seconds=time.monotonic() - start,
        error=str(err) if err is not None and not err.handled else "",
    )
    ctx.observer.step_finished(step, outcome)
    return output, err


def _call_function(
    ctx: _Context,
    pn: _Pkg,
    runner: _Runner,
    items: list[CommentedMap],
    *,
    set_package_path: bool,
) -> tuple[fnruntime.FunctionRunResult | None, list[CommentedMap] | None, _StepError | None]:
    """kpt's FunctionRunner.do around kyaml's FunctionFilter, for one step: (what the function
    gave, None when its input was refused; the output items; the step's error)."""
    problem = _krm_problem(items)
    if problem:
        return (
            None,
            None,
            _StepError(f"input resource list must contain only KRM resources: {problem}"),
        )
    fn = runner.fn
    originals: dict[str, tuple[CommentedMap, dict[str, str | None]]] = {}
    for index, item in enumerate(items):
        ident = str(index + 1)
        originals[ident] = (item, {key: pkgio.get_annotation(item, key) for key in _FILE_KEYS})
        pkgio.set_annotation(item, pkgio.LEGACY_ID_ANNOTATION, ident)
        pkgio.set_annotation(item, pkgio.ID_ANNOTATION, ident)
        pkgio.set_annotation(item, pkgio.ANNOTATIONS_MIGRATION_RESOURCE_ID, str(index))
    resource_list = CommentedMap()
    resource_list["apiVersion"] = "config.kubernetes.io/v1"
    resource_list["kind"] = "ResourceList"
    resource_list["items"] = CommentedSeq(items)
    if runner.config is not None:
        resource_list["functionConfig"] = yamlutil.copy_node(runner.config)
    if runner.argv is not None:
        run = fnruntime.run_command(runner.argv, resource_list)
    else:
        run = ctx.runtime.run(fn, resource_list)
    for item in items:
        for key in _RUN_ANNOTATIONS:
            pkgio.remove_annotation(item, key)
    results = _parse_results(run.resource_list)
    fn_result: dict[str, Any] = {}
    if fn.image:
        fn_result["image"] = fn.image
    if fn.exec:
        fn_result["exec"] = fn.exec
    if run.exit_code != 0:
        if run.stderr:
            fn_result["stderr"] = run.stderr
        fn_result["exitCode"] = run.exit_code
        if results:
            fn_result["results"] = results
        ctx.fn_results.append(fn_result)
        ctx.results_exit_code = 1
        return run, None, _StepError(ALREADY_HANDLED, handled=True, exit_code=run.exit_code)
    out_items = run.resource_list.get("items") if run.resource_list is not None else None
    output: list[CommentedMap] = []
    if isinstance(out_items, list):
        for node in out_items:
            if not isinstance(node, CommentedMap):
                return (
                    run,
                    None,
                    _StepError(
                        "output resource list must contain only KRM resources: "
                        "resource must be a mapping"
                    ),
                )
            output.append(node)
    try:
        _after_run(
            output,
            originals,
            pn,
            restore=not run.keeps_comments,
            set_package_path=set_package_path,
        )
    except _StepError as err:
        return run, None, err
    problem = _krm_problem(output)
    if problem:
        return (
            run,
            None,
            _StepError(f"output resource list must contain only KRM resources: {problem}"),
        )
    if run.stderr:
        fn_result["stderr"] = run.stderr
    fn_result["exitCode"] = 0
    if results:
        fn_result["results"] = results
    ctx.fn_results.append(fn_result)
    return run, output, None


_FILE_KEYS: Final = (
    pkgio.LEGACY_PATH_ANNOTATION,
    pkgio.PATH_ANNOTATION,
    pkgio.LEGACY_INDEX_ANNOTATION,
    pkgio.INDEX_ANNOTATION,
)


def _after_run(
    output: list[CommentedMap],
    originals: Mapping[str, tuple[CommentedMap, dict[str, str | None]]],
    pn: _Pkg,
    *,
    restore: bool,
    set_package_path: bool,
) -> None:
    """What kyaml's FunctionFilter and kpt do with a function's output items: restore comments
    and key order of re-created items, reconcile the two spellings of path/index, give new items
    a default path and index, record the owning package, and check the paths."""
    for node in output:
        ident = pkgio.get_annotation(node, pkgio.LEGACY_ID_ANNOTATION) or pkgio.get_annotation(
            node, pkgio.ID_ANNOTATION
        )
        before: dict[str, str | None] | None = None
        if ident is not None and ident in originals:
            source, before = originals[ident]
            if restore and source is not node:
                yamlutil.copy_comments(source, node)
                yamlutil.sync_order(source, node)
        for key in _RUN_ANNOTATIONS:
            pkgio.remove_annotation(node, key)
        _reconcile(node, before, pkgio.LEGACY_PATH_ANNOTATION, pkgio.PATH_ANNOTATION)
        _reconcile(node, before, pkgio.LEGACY_INDEX_ANNOTATION, pkgio.INDEX_ANNOTATION)
    _default_path_and_index(output)
    seen: dict[tuple[str, str, str], bool] = {}
    for node in output:
        if set_package_path and pkgio.get_annotation(node, pkgio.PACKAGE_PATH_ANNOTATION) is None:
            pkgio.set_annotation(node, pkgio.PACKAGE_PATH_ANNOTATION, pn.abs)
        pkg_path = pkgio.get_annotation(node, pkgio.PACKAGE_PATH_ANNOTATION) or ""
        path = pkgio.get_annotation(node, pkgio.PATH_ANNOTATION) or ""
        index = pkgio.get_annotation(node, pkgio.INDEX_ANNOTATION) or ""
        clean = posixpath.normpath(path) if path else "."
        if clean.startswith("../") or clean == "..":
            raise _StepError(
                "function must not modify resources outside of package: resource has path " + path
            )
        location = (pkg_path, clean, index)
        if location in seen:
            raise _StepError(
                f"resource at path {kptfile.go_quote(clean)} and index "
                f"{kptfile.go_quote(index)} already exists"
            )
        seen[location] = True


def _reconcile(
    node: CommentedMap, before: Mapping[str, str | None] | None, legacy: str, internal: str
) -> None:
    """kyaml's legacy/internal annotation reconciliation: a changed spelling wins."""
    old_legacy = before.get(legacy) if before else None
    old_internal = before.get(internal) if before else None
    new_legacy = pkgio.get_annotation(node, legacy)
    new_internal = pkgio.get_annotation(node, internal)
    if new_legacy == new_internal:
        return
    if new_legacy is None and new_internal is not None:
        pkgio.set_annotation(node, legacy, new_internal)
        return
    if new_internal is None and new_legacy is not None:
        pkgio.set_annotation(node, internal, new_legacy)
        return
    legacy_changed = new_legacy != old_legacy
    internal_changed = new_internal != old_internal
    if legacy_changed and not internal_changed and new_legacy is not None:
        pkgio.set_annotation(node, internal, new_legacy)
    elif internal_changed and not legacy_changed and new_internal is not None:
        pkgio.set_annotation(node, legacy, new_internal)
    else:
        raise _StepError(
            f"resource has mismatched annotations {legacy}={new_legacy!r} and "
            f"{internal}={new_internal!r}"
        )


def _default_path_and_index(nodes: Sequence[CommentedMap]) -> None:
    """kyaml's DefaultPathAndIndexAnnotation for items a function added without a file."""
    counts: dict[str, int] = {}
    for node in nodes:
        path = pkgio.get_annotation(node, pkgio.PATH_ANNOTATION)
        if path is not None:
            index_text = pkgio.get_annotation(node, pkgio.INDEX_ANNOTATION)
            if index_text is not None:
                try:
                    index = int(index_text)
                except ValueError:
                    index = 0
                if index > counts.get(path, 0):
                    counts[path] = index
            continue
        path = pkgio.default_path(node)
        pkgio.set_annotation(node, pkgio.PATH_ANNOTATION, path)
        pkgio.set_annotation(node, pkgio.LEGACY_PATH_ANNOTATION, path)
    for node in nodes:
        if pkgio.get_annotation(node, pkgio.INDEX_ANNOTATION) is not None:
            continue
        path = pkgio.get_annotation(node, pkgio.PATH_ANNOTATION) or ""
        count = counts.get(path, 0)
        counts[path] = count + 1
        pkgio.set_annotation(node, pkgio.INDEX_ANNOTATION, str(count))
        pkgio.set_annotation(node, pkgio.LEGACY_INDEX_ANNOTATION, str(count))


_RESULT_FIELDS: Final = ("message", "severity", "resourceRef", "field", "file", "tags")
_REF_FIELDS: Final = ("apiVersion", "kind", "name", "namespace")


def _parse_results(resource_list: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The function's result items as kpt's fnresult ResultItem marshals them."""
    if not isinstance(resource_list, Mapping):
        return []
    raw = resource_list.get("results")
    if isinstance(raw, Mapping):
        raw = raw.get("items")
    if not isinstance(raw, list):
        return []
    out = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        result: dict[str, Any] = {}
        for key in _RESULT_FIELDS:
            value = item.get(key)
            if key == "resourceRef":
                value = _resource_ref(value)
                if value is None:
                    continue
                result[key] = value
            elif key == "field":
                if isinstance(value, Mapping):
                    fld = {
                        k: yamlutil.to_plain(value[k])
                        for k in ("path", "currentValue", "proposedValue")
                        if value.get(k) not in (None, "")
                    }
                    suggested = value.get("suggestedValue")
                    if suggested is not None and "proposedValue" not in fld:
                        fld["proposedValue"] = yamlutil.to_plain(suggested)
                    result[key] = fld
            elif key == "file":
                if isinstance(value, Mapping):
                    file_entry: dict[str, Any] = {}
                    if value.get("path"):
                        file_entry["path"] = str(value["path"])
                    index = value.get("index")
                    if isinstance(index, int) and not isinstance(index, bool) and index != 0:
                        file_entry["index"] = int(index)
                    result[key] = file_entry
            elif key == "tags":
                if isinstance(value, Mapping) and value:
                    result[key] = {str(k): str(v) for k, v in value.items()}
            elif value not in (None, ""):
                result[key] = str(value)
        out.append(result)
    return out


def _resource_ref(value: Any) -> dict[str, str] | None:
    if not isinstance(value, Mapping):
        return None
    ref: dict[str, str] = {}
    meta = value.get("metadata")
    for key in _REF_FIELDS:
        field_value = value.get(key)
        if field_value in (None, "") and isinstance(meta, Mapping) and key in ("name", "namespace"):
            field_value = meta.get(key)
        if field_value not in (None, "", "''"):
            ref[key] = str(field_value)
    return ref


# --------------------------------------------------------------------------------- writing back


def _adjust_rel_paths(items: Sequence[CommentedMap]) -> None:
    """kpt's adjustRelPath: make every path relative to the root and drop the package path."""
    for item in items:
        pkg_path = pkgio.get_annotation(item, pkgio.PACKAGE_PATH_ANNOTATION) or _ROOT
        path = pkgio.get_annotation(item, pkgio.PATH_ANNOTATION) or pkgio.get_annotation(
            item, pkgio.LEGACY_PATH_ANNOTATION
        )
        if path is None:
            path = pkgio.default_path(item)
        rel_pkg = posixpath.relpath(pkg_path, _ROOT)
        if rel_pkg == ".." or rel_pkg.startswith("../"):
            raise _StepError(f"subpackage {pkg_path!r} is not a descendant of {_ROOT!r}")
        cleaned = posixpath.normpath(path)
        new_path = posixpath.normpath(posixpath.join(rel_pkg, cleaned.lstrip("/")))
        pkgio.set_annotation(item, pkgio.PATH_ANNOTATION, new_path)
        pkgio.set_annotation(item, pkgio.LEGACY_PATH_ANNOTATION, new_path)
        pkgio.remove_annotation(item, pkgio.PACKAGE_PATH_ANNOTATION)
