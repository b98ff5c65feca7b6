"""``porchctl fn render`` and ``porchctl fn eval``: kpt's function commands on local packages.

Where this sits: a porchctl command group that never talks to a server (no kubeconfig is read).
``render`` runs the Kptfile pipelines of a package directory with the renderer porch-server runs
on every package change (:func:`pkg.kpt.render.render_directory` and ``render_to_text``);
``eval`` runs one function over the resources of a package (Kptfile and subpackages included, as
``kpt fn eval`` does) with :func:`pkg.kpt.render.eval_function` and writes them back in place.
Functions run on the builtin Python implementations, then on the executables of a
``--function-exec`` file (porch-server's format and loader, :mod:`pkg.cmd.server.functions`):
no container runtime is needed.

Kptfile steps with ``exec:`` (and ``eval --exec``) run local executables: ``render`` only with
``--allow-exec``, as kpt.

What kpt prints is reproduced on stderr: ``Package "<name>":`` as each package's pipeline
starts, ``[RUNNING] "<image or command>"``, then ``[PASS]``/``[FAIL] "<name>" in <time>`` with
the function's results, stderr and exit code, ``Successfully executed N function(s) in M
package(s).`` after an in-place render, ``For complete results, see <dir>/results.yaml``, and
errors as kpt's ``Error: <innermost cause>`` (:attr:`pkg.kpt.render.RenderResult.cause`; a
function failure, already shown by its ``[FAIL]`` block, adds nothing). The progress lines come
from the renderer as it runs (:class:`_Progress` is its :class:`pkg.kpt.render.RenderObserver`),
so a function whose output the renderer rejects after it ran shows ``[FAIL]``, as in kpt.
"""

from __future__ import annotations

import os
import posixpath
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final, TypeVar

import click
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pkg.cmd.porchctl import cmdutil, docs, flags
from pkg.cmd.server import functions
from pkg.kpt import kptfile, pkgio, yamlutil
from pkg.kpt import render as kptrender
from pkg.kpt.fn import runtime as fnruntime

__all__ = ["fn", "parse_function_args", "result_lines"]

F = TypeVar("F", bound=Callable[..., Any])

RESULTS_FILE: Final = "results.yaml"
_TEXT_OUTPUTS: Final = ("stdout", "unwrap")

FN: Final = """Run KRM functions on local packages, as kpt's fn commands do, without a container
runtime and without a Porch server: the builtin functions (set-namespace, set-labels,
set-annotations, apply-setters, apply-replacements, starlark) run in-process, other images
through the executables of a --function-exec file."""

RENDER_SHORT: Final = "Render a package: run its Kptfile pipelines."
RENDER: Final = """Render the package in PKG_DIR in place: run the pipelines of its Kptfiles
(subpackages first, mutators then validators) with the renderer porch-server uses, write the
resulting resources back, and record the Rendered condition and renderStatus in the root
Kptfile. Progress and function results are printed on stderr.

With -o DIR the rendered resources are written to the new directory DIR instead; with
-o stdout (a ResourceList) or -o unwrap (plain YAML documents) they are printed, and the
package is left alone. On failure the command exits with 1 and, unless the root Kptfile
has the annotation kpt.dev/save-on-render-failure: "true", no resource changes.

Images run on the builtin functions, then on the executables of --function-exec CONFIG (a
YAML mapping from image to command, the format of porch-server's --function-exec flag).
Kptfile steps with `exec:` run their command (split like a shell's, relative paths from the
current directory) only with --allow-exec, and fail the render otherwise."""
RENDER_EXAMPLES: Final = docs.examples("""Examples:
  # Render the package in the current directory
  porchctl fn render .

  # Render, keeping the function results in ./results/results.yaml
  porchctl fn render my-app --results-dir results

  # Print the rendered resources without changing the package
  porchctl fn render my-app -o unwrap

  # Render a package whose pipeline also uses an image of your own
  porchctl fn render my-app --function-exec functions.yaml

  # Render a package whose pipeline runs local executables (exec: steps)
  porchctl fn render my-app --allow-exec""")

EVAL_SHORT: Final = "Run one function over the resources of a package."
EVAL: Final = """Run one KRM function over every resource of the package in PKG_DIR (its
Kptfile and subpackages included, each package's .krmignore applied) and write the resources
back in place. With PKG_DIR '-' a ResourceList is read from stdin and the result printed on
stdout; -o stdout or -o unwrap prints instead of writing.

The function is --image IMAGE (a builtin function, or an image of --function-exec CONFIG) or
--exec COMMAND (a local executable speaking the KRM function protocol). Its functionConfig
is the resource in --fn-config FILE, or the ConfigMap function-input whose data are the
KEY=VALUE arguments after '--'."""
EVAL_EXAMPLES: Final = docs.examples("""Examples:
  # Set a label on every resource of the package
  porchctl fn eval my-app --image set-labels -- tier=backend

  # Run a starlark script kept in a file
  porchctl fn eval my-app --image starlark --fn-config fn-config.yaml

  # Run a local executable as the function
  porchctl fn eval my-app --exec ./validate.sh

  # Chain functions on a rendered package without touching it
  porchctl fn render my-app -o stdout | \\
      porchctl fn eval - --image set-annotations -- owner=team-a | \\
      porchctl fn eval - --image set-namespace -o unwrap -- namespace=prod""")


@click.group("fn", cls=flags.PorchGroup, help=FN)
@flags.global_flags
def fn() -> None:
    """Run KRM functions on local packages."""
    flags.usage_without_subcommand()


_OUTPUT_HELP: Final = (
    "Where the resources go instead of the package: 'stdout' (a ResourceList), 'unwrap' "
    "(plain YAML documents)"
)


def _common_flags(f: F) -> F:
    """The flags render and eval share (function runtime, results)."""
    decorators: list[Callable[[F], F]] = [
        flags.option(
            "--results-dir",
            default="",
            metavar="DIR",
            help="Directory to write the function results to (results.yaml, kpt's "
            "FunctionResultList); created when missing.",
        ),
        flags.option(
            "--function-exec",
            default="",
            metavar="CONFIG",
            help="YAML file mapping function images to the executables that run them "
            "(porch-server's --function-exec format).",
        ),
        flags.option(
            "--default-image-prefix",
            default=fnruntime.DEFAULT_IMAGE_PREFIX,
            show_default=True,
            metavar="PREFIX",
            help="Registry prefix of images named without one (set-labels:v0.2).",
        ),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


# -- render ----------------------------------------------------------------------------


@fn.command(
    "render",
    cls=flags.PorchCommand,
    short_help=RENDER_SHORT,
    help=RENDER,
    epilog=RENDER_EXAMPLES,
)
@click.argument("pkg_dir", metavar="PKG_DIR")
@flags.option(
    "-o",
    "--output",
    default="",
    metavar="DIR|stdout|unwrap",
    help=_OUTPUT_HELP + ", or a directory DIR (which must not exist).",
)
@flags.bool_flag(
    "--allow-exec",
    help="Allow the pipeline steps with `exec:` to run their command as a local executable.",
)
@_common_flags
@flags.global_flags
def render_cmd(
    *,
    pkg_dir: str,
    output: str,
    allow_exec: bool,
    results_dir: str,
    function_exec: str,
    default_image_prefix: str,
) -> None:
    """Render a package."""
    err = cmdutil.stderr()
    # abspath, not resolve: render_directory resolves a symlinked package itself, as kpt does
    path = Path(os.path.abspath(pkg_dir))
    real = Path(os.path.realpath(path))
    if path.is_symlink():
        cmdutil.write(
            err,
            f'[WARN] resolved symlink "{pkg_dir}" to "{os.path.relpath(real)}", please note '
            "that the symlinks within the package are ignored\n",
        )
    # kpt shows packages by the name of the directory rendered, the symlink's target's
    progress = _Progress(err, root=real.name)
    runtime = _base_runtime(function_exec, default_image_prefix)
    results = Path(results_dir) if results_dir else None
    text = ""
    if output in _TEXT_OUTPUTS:
        result, text = kptrender.render_to_text(
            pkgio.read_directory(real),
            runtime=runtime,
            unwrap=output == "unwrap",
            package_path=path.name,
            default_image_prefix=default_image_prefix,
            allow_exec=allow_exec,
            observer=progress,
        )
        _save_results(results, result.result_list)
    else:
        result = kptrender.render_directory(
            path,
            runtime=runtime,
            results_dir=results,
            output_dir=Path(output) if output else None,
            default_image_prefix=default_image_prefix,
            allow_exec=allow_exec,
            observer=progress,
        )
    if result.exit_code == 0:
        progress.finish()
        if not output:
            cmdutil.write(
                err,
                f"Successfully executed {progress.executed} function(s) in "
                f"{progress.packages} package(s).\n",
            )
    _print_results_info(err, results_dir)
    _raise_for(result)
    if text:
        cmdutil.write(cmdutil.stdout(), text)


# -- eval ------------------------------------------------------------------------------


@fn.command(
    "eval",
    cls=flags.PorchCommand,
    short_help=EVAL_SHORT,
    help=EVAL,
    epilog=EVAL_EXAMPLES,
)
@click.argument("pkg_dir", metavar="PKG_DIR")
@click.argument("fn_args", nargs=-1, metavar="[-- KEY=VALUE...]")
@flags.option("-i", "--image", default="", metavar="IMAGE", help="Image of the function to run.")
@flags.option(
    "--exec",
    "exec_command",
    default="",
    metavar="COMMAND",
    help="Local executable to run as the function (a command line, split like a shell's).",
)
@flags.option(
    "--fn-config",
    default="",
    metavar="FILE",
    help="File holding the functionConfig resource (instead of KEY=VALUE arguments).",
)
@flags.option("-o", "--output", default="", metavar="stdout|unwrap", help=_OUTPUT_HELP + ".")
@_common_flags
@flags.global_flags
def eval_cmd(
    *,
    pkg_dir: str,
    fn_args: Sequence[str],
    image: str,
    exec_command: str,
    fn_config: str,
    output: str,
    results_dir: str,
    function_exec: str,
    default_image_prefix: str,
) -> None:
    """Run one function over the resources of a package."""
    if output not in ("", *_TEXT_OUTPUTS):
        raise click.BadParameter(
            f"{kptfile.go_quote(output)} is not one of stdout, unwrap",
            param_hint="'-o' / '--output'",
        )
    if bool(image) == bool(exec_command):
        raise cmdutil.KptError("exactly one of --image and --exec must be given")
    data = parse_function_args(fn_args)
    if fn_config and data:
        raise cmdutil.KptError("--fn-config and KEY=VALUE arguments cannot be used together")
    config = _load_fn_config(Path(fn_config)) if fn_config else None
    runtime = _base_runtime(function_exec, default_image_prefix)
    stderr = cmdutil.stderr()
    progress = _Progress(stderr)
    function = kptfile.Function(image=image, exec=exec_command, config_map=data or None)
    unwrap = output == "unwrap"

    if pkg_dir == "-":
        result, text = kptrender.eval_function(
            sys.stdin.read(),
            function,
            runtime=runtime,
            unwrap=unwrap,
            default_image_prefix=default_image_prefix,
            function_config=config,
            observer=progress,
        )
        to_stdout = True
    else:
        root = Path(pkg_dir)
        if not root.is_dir():
            raise cmdutil.KptError(f"{kptfile.go_quote(pkg_dir)} is not a directory")
        files = pkgio.read_directory(root)
        items, sources = _package_items(files)
        result, text = kptrender.eval_function(
            _resource_list_text(items),
            function,
            runtime=runtime,
            unwrap=unwrap,
            default_image_prefix=default_image_prefix,
            function_config=config,
            observer=progress,
        )
        to_stdout = bool(output)
        if result.exit_code == 0 and not to_stdout:
            _write_back(root, files, sources, text)
    _save_results(Path(results_dir) if results_dir else None, result.result_list)
    _print_results_info(stderr, results_dir)
    _raise_for(result)
    if to_stdout:
        cmdutil.write(cmdutil.stdout(), text)


def parse_function_args(args: Iterable[str]) -> dict[str, str]:
    """kpt's ``-- KEY=VALUE`` arguments as the data of the function-input ConfigMap."""
    data: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise cmdutil.KptError(
                f"function argument {kptfile.go_quote(arg)} must have the form KEY=VALUE"
            )
        data[key] = value
    return data


# -- runtime and progress ---------------------------------------------------------------


def _base_runtime(function_exec: str, default_prefix: str) -> fnruntime.FunctionRuntime:
    try:
        return functions.new_runtime(default_prefix, Path(function_exec) if function_exec else None)
    except functions.FunctionConfigError as err:
        raise cmdutil.KptError(f"--function-exec: {err}") from err


class _Progress:
    """kpt's CLI output of a render or an eval, written to ``out`` as the renderer reports it
    (a :class:`pkg.kpt.render.RenderObserver`).

    A package's ``Package "<name>":`` line waits for the next function to start, or for the
    render to succeed (:meth:`finish`): packages with an empty pipeline are listed on the way,
    and a package whose pipeline fails before any function starts is not listed. A blank line
    closes a package in which functions ran. ``root`` is the name shown for the root package
    (kpt shows ``root`` and ``root/<dir>``); an eval's step has no package.
    """

    def __init__(self, out: IO[str], root: str = "") -> None:
        self._out = out
        self._root = root
        self._pending: list[str] = []  # packages reached but not yet listed
        self._ran = False  # a function ran in the package listed last
        self.packages = 0
        self.executed = 0

    def package_started(self, package: str) -> None:
        self.packages += 1
        self._pending.append(package)

    def step_started(self, step: kptrender.Step) -> None:
        self._list_pending()
        self._ran = True
        text = f"[RUNNING] {kptfile.go_quote(step.name)}"
        if step.function.selectors or step.function.exclude:
            text += f" on {step.item_count} resource(s)"
        if step.package is not None:
            text += f" on package {kptfile.go_quote(self._display(step.package))}"
        self._write(text + "\n")

    def step_finished(self, step: kptrender.Step, outcome: kptrender.StepOutcome) -> None:
        took = _go_duration(outcome.seconds)
        run = outcome.run
        if outcome.passed and run is not None:
            self.executed += 1
            lines = [f"[PASS] {kptfile.go_quote(step.name)} in {took}\n"]
            lines += _block("[Results]", result_lines(run.resource_list))
            lines += _block("Stderr", run.stderr.split("\n") if run.stderr else [])
        else:
            lines = [f"[FAIL] {kptfile.go_quote(step.name)} in {took}\n"]
            # a step the renderer failed around the function (its input or output refused)
            # shows no more: kpt prints that error at the end
            if run is not None and not outcome.error:
                lines += _block("[Results]", result_lines(run.resource_list))
                lines += _block("Stderr", run.stderr.split("\n") if run.stderr else [])
                lines.append(f"  Exit code: {run.exit_code}\n\n")
        self._write("".join(lines))

    def finish(self) -> None:
        """After a successful render: list the packages left and close the last one."""
        self._list_pending()
        if self._ran:
            self._write("\n")
            self._ran = False

    def _list_pending(self) -> None:
        for package in self._pending:
            if self._ran:
                self._write("\n")
                self._ran = False
            self._write(f"Package {kptfile.go_quote(self._display(package))}:\n")
        self._pending.clear()

    def _display(self, package: str) -> str:
        return posixpath.join(self._root, package) if package else self._root

    def _write(self, text: str) -> None:
        cmdutil.write(self._out, text)


def _block(title: str, lines: Sequence[str]) -> list[str]:
    """kpt's MultiLineFormatter: a title line, then each line indented (not truncated:
    porchctl truncates nothing)."""
    if not lines:
        return []
    # newlines inside a line would break the layout
    flat = [line.replace("\n", " ") for line in lines]
    return [f"  {title}:\n", *(f"    {line}\n" for line in flat)]


def result_lines(resource_list: Mapping[str, Any] | None) -> list[str]:
    """The function's result items as kpt prints them: ``[severity] <ref> <field>: message``."""
    if not isinstance(resource_list, Mapping):
        return []
    raw = resource_list.get("results")
    if isinstance(raw, Mapping):
        raw = raw.get("items")
    if not isinstance(raw, list):
        return []
    return [_result_line(item) for item in raw if isinstance(item, Mapping)]


def _result_line(item: Mapping[str, Any]) -> str:
    text = f"[{item.get('severity') or 'info'}]"
    ref = item.get("resourceRef")
    if isinstance(ref, Mapping):
        # function SDKs of old put the name and namespace under metadata (kpt migrates them)
        meta = ref.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        parts = (
            ref.get("apiVersion"),
            ref.get("kind"),
            ref.get("namespace") or meta.get("namespace"),
            ref.get("name") or meta.get("name"),
        )
        ident = "/".join(str(p) for p in parts if p not in (None, "", "''"))
        if ident:
            text += " " + ident
    fld = item.get("field")
    if isinstance(fld, Mapping):
        text += f" {fld.get('path') or ''}"
    return f"{text}: {item.get('message') or ''}"


def _go_duration(seconds: float) -> str:
    """A run time as kpt prints it: Go's Duration string of the time truncated to 100ms."""
    tenths = int(seconds * 10)
    if tenths == 0:
        return "0s"
    if tenths < 10:
        return f"{tenths * 100}ms"
    hours, rest = divmod(tenths, 36000)
    minutes, rest = divmod(rest, 600)
    secs, frac = divmod(rest, 10)
    text = f"{secs}.{frac}s" if frac else f"{secs}s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    if minutes:
        return f"{minutes}m{text}"
    return text


# -- errors and results ----------------------------------------------------------------


def _raise_for(result: kptrender.RenderResult) -> None:
    if result.exit_code == 0:
        return
    cause = result.cause or result.error
    if cause == kptrender.ALREADY_HANDLED:
        # the [FAIL] block said it all; kpt exits 1 without another word
        raise click.exceptions.Exit(1)
    raise cmdutil.KptError(cause)


def _save_results(results_dir: Path | None, result_list: Mapping[str, Any]) -> None:
    """Write kpt's results.yaml, as render_directory does for in-place renders."""
    if results_dir is None:
        return
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / RESULTS_FILE).write_text(
        yamlutil.dump(yamlutil.from_plain(result_list), seq_indent_style=yamlutil.WIDE),
        encoding="utf-8",
    )


def _print_results_info(err: IO[str], results_dir: str) -> None:
    if results_dir and (Path(results_dir) / RESULTS_FILE).is_file():
        path = os.path.join(results_dir, RESULTS_FILE)
        cmdutil.write(err, f"For complete results, see {path}\n")


# -- eval input and output -------------------------------------------------------------


def _package_items(files: Mapping[str, str]) -> tuple[list[CommentedMap], set[str]]:
    """``kpt fn eval``'s input: the resources of the package and every subpackage (each
    package's .krmignore applied), with paths relative to the root, in the order kyaml walks
    the tree; and the files they came from."""
    items: list[CommentedMap] = []
    for pkg_dir in sorted({"", *pkgio.package_dirs(files)}):
        try:
            found = pkgio.read_resources(files, pkg_dir, pkg_dir or ".")
        except pkgio.PackageReadError as err:
            raise cmdutil.KptError(str(err)) from err
        for item in found:
            rel = posixpath.join(pkg_dir, pkgio.get_annotation(item, pkgio.PATH_ANNOTATION) or "")
            pkgio.set_annotation(item, pkgio.PATH_ANNOTATION, rel)
            pkgio.set_annotation(item, pkgio.LEGACY_PATH_ANNOTATION, rel)
            # eval has no package tree: its functions never see the renderer's package paths
            pkgio.remove_annotation(item, pkgio.PACKAGE_PATH_ANNOTATION)
            items.append(item)

    def walk_key(item: CommentedMap) -> tuple[str, ...]:
        return tuple((pkgio.get_annotation(item, pkgio.PATH_ANNOTATION) or "").split("/"))

    # a stable sort: the documents of one file keep their order
    items.sort(key=walk_key)
    sources = {pkgio.get_annotation(item, pkgio.PATH_ANNOTATION) or "" for item in items}
    return items, sources


def _resource_list_text(items: Sequence[CommentedMap]) -> str:
    resource_list = CommentedMap()
    resource_list["apiVersion"] = "config.kubernetes.io/v1"
    resource_list["kind"] = "ResourceList"
    resource_list["items"] = CommentedSeq(items)
    return yamlutil.dump(resource_list)


def _write_back(root: Path, files: Mapping[str, str], sources: set[str], text: str) -> None:
    """Write eval's output ResourceList over the package: files by the items' path
    annotations, files whose resources are all gone deleted (kyaml's writer)."""
    raw = yamlutil.load(text).get("items")
    items = [item for item in raw if isinstance(item, CommentedMap)] if raw else []
    after = {path: body for path, body in files.items() if path not in sources}
    after.update(pkgio.write_resources(items))
    pkgio.write_directory(root, files, after)


def _load_fn_config(path: Path) -> CommentedMap:
    try:
        docs = yamlutil.load_all(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise cmdutil.KptError(f"cannot read --fn-config {path}: {err.strerror}") from err
    except yamlutil.YAMLError as err:
        raise cmdutil.KptError(f"--fn-config {path} is not valid YAML: {err}") from err
    configs = [doc for doc in docs if isinstance(doc, CommentedMap)]
    if len(configs) != 1:
        raise cmdutil.KptError(
            f"--fn-config {path} must hold exactly one resource, found {len(configs)}"
        )
    return configs[0]
