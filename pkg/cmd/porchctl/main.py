"""Entry point of porchctl (console script ``porchctl`` and the ``cmd/porchctl`` shim).

Where this sits: the top of the CLI. :func:`main` checks that ``git`` is installed (Porch's
porchctl refuses to start without it), runs the click command tree (``repo``, ``rpkg``,
``fn``, ``version``, ``completion``, ``help``), and turns every failure into Porch's output and
exit code (:func:`pkg.cmd.porchctl.cmdutil.render_error`). Commands talk to the server through
:mod:`pkg.client` (``fn`` works on local packages only); ``-v 6`` (or more) logs each request
on stderr.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import click
from click import shell_completion

from pkg.cmd.porchctl import cmdutil, docs, flags, fn, repo, rpkg

__all__ = ["cli", "main", "version_info"]

_PROG: Final = "porchctl"
_COMPLETE_VAR: Final = "_PORCHCTL_COMPLETE"
_SOURCE_ROOT: Final = Path(__file__).resolve().parents[3]


def _package_version() -> str:
    try:
        return importlib.metadata.version("porch-py")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def version_info() -> tuple[str, str]:
    """(version, git commit) of this porchctl; the commit ends in `` (dirty)`` when the
    source tree has local changes, and is empty outside a git checkout."""
    version = _package_version()
    commit = ""
    if (_SOURCE_ROOT / ".git").exists() and shutil.which("git"):
        git = ["git", "-C", str(_SOURCE_ROOT)]
        head = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        )
        if head.returncode == 0:
            commit = head.stdout.strip()
            status = subprocess.run(
                [*git, "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                check=False,
            )
            if status.stdout.strip():
                commit += " (dirty)"
    return version, commit


@click.group(
    _PROG,
    cls=flags.PorchGroup,
    help=docs.ROOT,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@flags.global_flags
def cli() -> None:
    """Manage porch repositories and packages."""
    flags.usage_without_subcommand()


@flags.command("version", short_help=docs.VERSION, help=docs.VERSION)
def version() -> None:
    """Print the version number of porchctl."""
    number, commit = version_info()
    cmdutil.write(cmdutil.stdout(), f"Version: {number}\nGit commit: {commit}\n")


@flags.command("completion", short_help="Print a shell completion script.", help=docs.COMPLETION)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(*, shell: str) -> None:
    """Print the shell completion script."""
    completer_class = shell_completion.get_completion_class(shell)
    assert completer_class is not None
    completer = completer_class(cli, {}, _PROG, _COMPLETE_VAR)
    cmdutil.write(cmdutil.stdout(), completer.source() + "\n")


@flags.command("help", short_help=docs.HELP, help=docs.HELP)
@click.argument("path", nargs=-1, metavar="[command]")
def help_command(*, path: Sequence[str]) -> None:
    """Print the help of a command."""
    command: click.Command = cli
    sub_ctx = click.Context(cli, info_name=_PROG, parent=None)
    for word in path:
        if not isinstance(command, click.Group):
            break
        found = command.get_command(sub_ctx, word)
        if found is None:
            raise cmdutil.PlainError(f'unknown help topic "{" ".join(path)}"')
        command = found
        sub_ctx = click.Context(command, info_name=found.name, parent=sub_ctx)
    cmdutil.write(cmdutil.stdout(), sub_ctx.get_help() + "\n")


for _command in (repo.repo, rpkg.rpkg, fn.fn, version, completion, help_command):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run porchctl with ``argv`` (default: the process arguments); return the exit code."""
    if shutil.which("git") is None:
        cmdutil.write(cmdutil.stderr(), "porchctl requires that `git` is installed and on the PATH")
        return 1
    if os.environ.get(_COMPLETE_VAR):
        # The shell asks for completions (the script `porchctl completion` printed).
        return shell_completion.shell_complete(
            cli, {}, _PROG, _COMPLETE_VAR, os.environ[_COMPLETE_VAR]
        )
    args = list(sys.argv[1:] if argv is None else argv)
    runtime = flags.Runtime()
    runtime.user_agent = f"{_PROG}/{_package_version()}"
    try:
        with cli.make_context(_PROG, args, obj=runtime) as ctx:
            cli.invoke(ctx)
    except click.exceptions.Exit as exit_:
        return exit_.exit_code
    except click.exceptions.Abort:
        cmdutil.write(cmdutil.stderr(), "Aborted!\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `porchctl rpkg get | head`: the reader left; nothing more to say.
        return 1
    except Exception as err:  # every failure becomes Porch's error output
        cmdutil.write(cmdutil.stderr(), cmdutil.render_error(err, stack_trace=runtime.stack_trace))
        return 1
    finally:
        runtime.close()
    return 0
