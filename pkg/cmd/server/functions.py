"""The KRM function runtime of porch-server: builtin functions, then ``--function-exec`` ones.

Where this sits: :func:`pkg.cmd.server.config.new_config` calls :func:`new_runtime` once at
start (a bad ``--function-exec`` file stops the start with a message naming the flag); the
server hands the runtime to the CaD engine, which renders Kptfile pipelines with it
(``pkg.task.render`` -> ``pkg.kpt.render`` -> ``pkg.kpt.fn.runtime``). Builtins come first,
as in Porch; an image neither runs fails its render step with exit code 125.

``--function-exec CONFIG`` is a YAML mapping from a function image to the command that runs it::

    # image: argv (a list), or a command line (split like a shell; no shell runs it)
    ghcr.io/kptdev/krm-functions-catalog/set-image:v0.1.1: [/opt/fns/set-image]
    example.com/fns/validate: [python3, /opt/fns/validate.py]   # no tag: every tag
    ensure-name-substring: /opt/fns/ensure-name-substring --strict

* A key without ``/`` gets ``--default-image-prefix``, as a pipeline step's image does, so
  ``ensure-name-substring`` above serves
  ``ghcr.io/kptdev/krm-functions-catalog/ensure-name-substring``.
* A key without a tag (or digest) serves every tag of that image; a tagged key only that tag
  (and its tag is offered to pipeline steps that ask for a semver range with ``tag:``).
* The program is found on ``PATH`` unless it contains ``/``; a relative path is relative to
  the CONFIG file's directory. It must exist and be executable when the server starts.
* The process gets the ResourceList YAML on stdin and must print the output ResourceList on
  stdout (kpt's ``exec`` contract); a non-zero exit fails the step with its stderr. It is
  killed after 60 seconds.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path

import yaml

from pkg.kpt.fn import runtime as fnruntime

__all__ = ["FunctionConfigError", "load_exec_config", "new_runtime"]


class FunctionConfigError(ValueError):
    """The ``--function-exec`` file cannot be used; the message says what to fix."""


def _image_key(image: str, default_prefix: str) -> str:
    image = image.strip()
    if "/" not in image:
        # The same rule pipeline steps follow (fnruntime.resolve_image).
        return default_prefix + image
    return image


def _argv(image: str, value: object, base: Path) -> list[str]:
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as err:
            raise FunctionConfigError(f"{image}: cannot split the command line: {err}") from None
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        argv = list(value)
    else:
        raise FunctionConfigError(
            f"{image}: the command must be a list of strings or a command line"
        )
    if not argv or not argv[0]:
        raise FunctionConfigError(f"{image}: the command is empty")
    program = argv[0]
    if "/" in program:
        path = Path(program)
        if not path.is_absolute():
            path = base / path
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise FunctionConfigError(f"{image}: {path} is not an executable file")
        argv[0] = str(path)
    elif shutil.which(program) is None:
        raise FunctionConfigError(f"{image}: {program!r} is not found on PATH")
    return argv


def load_exec_config(path: Path, default_prefix: str) -> dict[str, list[str]]:
    """The image -> argv table of a ``--function-exec`` file (format in the module doc)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise FunctionConfigError(f"cannot read {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise FunctionConfigError(f"{path} is not valid YAML: {err}") from None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise FunctionConfigError(
            f"{path} must be a mapping from function image to command, "
            f"not a {type(document).__name__}"
        )
    commands: dict[str, list[str]] = {}
    base = path.resolve().parent
    for image, value in document.items():
        if not isinstance(image, str) or not image.strip():
            raise FunctionConfigError(f"{path}: every key must be a function image, got {image!r}")
        commands[_image_key(image, default_prefix)] = _argv(image, value, base)
    return commands


def new_runtime(default_prefix: str, exec_config: Path | None) -> fnruntime.FunctionRuntime:
    """Builtins (known under ``default_prefix`` as well as kpt's prefixes), then the
    executables of ``exec_config`` when given."""
    prefixes = tuple(
        dict.fromkeys(
            (default_prefix, fnruntime.DEFAULT_IMAGE_PREFIX, fnruntime.LEGACY_IMAGE_PREFIX)
        )
    )
    builtin = fnruntime.BuiltinRuntime(prefixes=prefixes)
    if exec_config is None:
        return builtin
    commands = load_exec_config(exec_config, default_prefix)
    return fnruntime.ChainRuntime([builtin, fnruntime.ExecRuntime(commands=commands)])
