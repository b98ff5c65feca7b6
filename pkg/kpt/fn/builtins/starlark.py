"""The starlark catalog function (v0.5 line), run in-process on starlark-pyo3.

Where it sits: `BUILTINS["starlark"]`, called by the function runtime with a KRM
`ResourceList`. The script from a `StarlarkRun` (`source`, `params`) or a ConfigMap
(`data.source`) runs with the catalog's runtime contract (reference §8):

- the predeclared `ctx` struct: `ctx.resource_list` (apiVersion, kind, items, functionConfig as
  plain dicts and lists; the script changes, adds or removes `items`), `ctx.open_api` (a
  Kubernetes OpenAPI document of the built-in kinds) and `ctx.environment` (a function
  container's environment, never the server's own variables);
- `set()`, `while` (rewritten by `_dialect`), recursion, top-level statements and global
  re-assignment are allowed; `load()` offers
  the modules of `_starlib`; `print()` goes to stderr; `fail(msg)` fails with `fail: msg`;
- the items the script returns map back onto the input nodes: an item that came in keeps its
  comments, key order and quoting, keys the script added go to the end of their mapping in
  alphabetical order, and generated items come out with alphabetical keys (the catalog converts
  through a Go map; kpt then restores what came in).

Differences from the Go interpreter: starlark-pyo3 has no set type, so `set()` returns a dict
whose keys are the members (membership, `len()` and iteration work and `print()` shows
`set([...])`, but set methods do not); tuples reach Python as lists; runtime error messages are
the Rust interpreter's; a script is stopped after `TIME_LIMIT_SECONDS`.
"""

from __future__ import annotations

import copy
import functools
import re
import time
from collections.abc import Mapping
from typing import Any

import starlark as sl
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pkg.kpt.fn.builtins import _dialect, _krm, _starlib

_FN_GROUP = "fn.kpt.dev"
_FN_VERSION = "v1alpha1"
_FN_KIND = "StarlarkRun"
_DEFAULT_PROGRAM_NAME = "starlark-function-run"
_RESOURCE_LIST_API_VERSION = "config.kubernetes.io/v1"

# Go starlark's universe plus `struct` (for `ctx`); no other extension, so a script that
# works here works in the catalog image.
_GLOBALS = sl.Globals.extended_by([sl.LibraryExtension.StructType])
_PRELUDE = (
    "ctx = struct(resource_list = _resource_list, open_api = _open_api, "
    "environment = _environment)\n"
    # starlark-pyo3 has no set type: a dict keyed by the members stands in (module docstring)
    "def set(values = []):\n"
    "    return {v: _set_member for v in values}\n"
)
# The catalog image runs until kpt gives up; in-process a runaway script would hold a server
# worker, so it is stopped below Porch's fixed request timeout (291 s).
TIME_LIMIT_SECONDS = 240.0
# A function container's environment: what a script sees instead of the server's variables.
_ENVIRONMENT = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


class StarlarkRunError(Exception):
    """The script could not run; the message is the one the catalog reports.

    `stderr` is what the script printed before it failed.
    """

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


class _SetMember:
    """The value stored for each member of an emulated set (see the module docstring)."""


_SET_MEMBER = sl.OpaquePythonObject(_SetMember())


def _is_emulated_set(value: object) -> bool:
    return (
        isinstance(value, dict)
        and len(value) > 0
        and all(isinstance(v, _SetMember) for v in value.values())
    )


# --------------------------------------------------------------------------- config


def _configure(config: CommentedMap | None) -> tuple[str, str]:
    """(program name, source) from the functionConfig."""
    if config is None:
        raise StarlarkRunError("FunctionConfig is missing. Expect `ConfigMap` or `StarlarkRun`")
    if _krm.is_gvk(config, "", "v1", "ConfigMap"):
        data = config.get("data") or {}
        if not isinstance(data, Mapping):
            raise StarlarkRunError(
                "unable to convert object to *v1.ConfigMap with error: json: cannot unmarshal "
                f"{_krm.go_type_name(data)} into Go struct field ConfigMap.data of type "
                "map[string]string"
            )
        name = _krm.name(config)
        source = _krm.nested_string(data, "source")[0] if data.get("source") is not None else ""
    elif _krm.is_gvk(config, _FN_GROUP, _FN_VERSION, _FN_KIND):
        name = _krm.name(config)
        raw = config.get("source")
        if raw is not None and not isinstance(raw, str):
            raise StarlarkRunError(
                "unable to convert object to *starlark.StarlarkRun with error: json: cannot "
                f"unmarshal {_krm.go_type_name(raw)} into Go struct field StarlarkRun.source "
                "of type string"
            )
        source = str(raw) if raw is not None else ""
    else:
        group, version, kind = _krm.group_version_kind(config)
        raise StarlarkRunError(
            "`functionConfig` must be either /v1, Kind=ConfigMap or "
            f"{_FN_GROUP}/{_FN_VERSION}, Kind={_FN_KIND}, but we got: "
            f"{group}/{version}, Kind={kind}"
        )
    if source == "":
        raise StarlarkRunError("`source` must not be empty")
    return name or _DEFAULT_PROGRAM_NAME, source


# --------------------------------------------------------------------------- conversion


def to_plain(value: object) -> Any:
    """A YAML node as the plain value the script sees (dates and tagged scalars as text)."""
    if isinstance(value, Mapping):
        # the catalog converts through a Go map[string]interface{}: keys are strings
        return {_key_text(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return _krm.scalar_text(value)


def _key_text(key: object) -> str:
    return key if isinstance(key, str) else _krm.scalar_text(key)


def from_plain(value: object) -> Any:
    """A script value as a new YAML node: mapping keys sorted, as Go's YAML encoder writes them."""
    if _is_emulated_set(value):
        assert isinstance(value, dict)
        return CommentedSeq(from_plain(v) for v in value)
    if isinstance(value, Mapping):
        node = CommentedMap()
        for key in sorted(value, key=str):
            node[key] = from_plain(value[key])
        return node
    if isinstance(value, list | tuple):
        return CommentedSeq(from_plain(v) for v in value)
    if isinstance(value, str):
        return _krm.string_scalar(value)
    return value


def _same_scalar(node: object, value: object) -> bool:
    plain = to_plain(node)
    return type(plain) is type(value) and plain == value


def merge(node: object, value: object) -> Any:
    """`value` laid over the input node `node`, keeping what kpt's runtime restores.

    Unchanged scalars keep their quoting, mappings keep key order and comments, removed keys go,
    added keys are appended in sorted order, sequences are matched by position.
    """
    if (
        isinstance(node, CommentedMap)
        and isinstance(value, Mapping)
        and not _is_emulated_set(value)
    ):
        for key in list(node.keys()):
            if key not in value:
                del node[key]
        for key in list(node.keys()):
            merged = merge(node[key], value[key])
            if merged is not node[key]:
                node[key] = merged
        for key in sorted((k for k in value if k not in node), key=str):
            node[key] = from_plain(value[key])
        return node
    if isinstance(node, CommentedSeq) and isinstance(value, list | tuple):
        for index in range(min(len(node), len(value))):
            merged = merge(node[index], value[index])
            if merged is not node[index]:
                node[index] = merged
        if len(value) > len(node):
            node.extend(from_plain(v) for v in value[len(node) :])
        else:
            del node[len(value) :]
        return node
    if _krm.is_scalar(node) and _krm.is_scalar(value) and _same_scalar(node, value):
        return node
    return from_plain(value)


# --------------------------------------------------------------------------- printing


def _go_repr(value: object) -> str:
    """Go starlark's String() of a value (what `print` and `str` show)."""
    if _is_emulated_set(value):
        assert isinstance(value, dict)
        return "set([" + ", ".join(_go_repr(v) for v in value) + "])"
    if isinstance(value, str):
        return _krm.go_quote(value)
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_go_repr(k)}: {_go_repr(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_go_repr(v) for v in value) + "]"
    return str(value)


def _go_float(value: float) -> str:
    text = repr(value)
    if "e" in text or "inf" in text or "nan" in text:
        return text.replace("inf", "+inf") if text == "inf" else text
    return text


def _print_arg(value: object) -> str:
    return value if isinstance(value, str) else _go_repr(value)


# --------------------------------------------------------------------------- open_api


_OPENAPI_PACKAGES = {
    "": "io.k8s.api.core",
    "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
    "apiregistration.k8s.io": "io.k8s.kube-aggregator.pkg.apis.apiregistration",
}


def _openapi_type(python_type: str) -> dict[str, object]:
    simple = {"str": "string", "int": "integer", "bool": "boolean", "float": "number"}
    if python_type in simple:
        return {"type": simple[python_type]}
    if python_type == "datetime":
        return {"type": "string", "format": "date-time"}
    if python_type.startswith("list["):
        return {"type": "array", "items": _openapi_type(python_type[5:-1])}
    return {"type": "object"}


@functools.cache
def open_api_document() -> dict[str, object]:
    """A Kubernetes OpenAPI (swagger 2.0) document of the built-in kinds.

    The catalog hands scripts kyaml's embedded Kubernetes schema. porch-py builds the
    definitions of the kinds it knows (the scope table of `_krm`) with their
    `x-kubernetes-group-version-kind` and top-level properties from the kubernetes client models.
    """
    from kubernetes.client import models  # heavy import, only when a script reads ctx.open_api

    definitions: dict[str, object] = {}
    for api_version, kind in sorted(_krm.namespace_scope_table()):
        group, version = _krm.parse_group_version(api_version)
        package = _OPENAPI_PACKAGES.get(group, f"io.k8s.api.{group.split('.')[0]}")
        definition: dict[str, object] = {
            "type": "object",
            "x-kubernetes-group-version-kind": [{"group": group, "kind": kind, "version": version}],
        }
        model = getattr(models, f"{version[0].upper()}{version[1:]}{kind}", None)
        if model is not None:
            definition["properties"] = {
                model.attribute_map[attr]: _openapi_type(python_type)
                for attr, python_type in model.openapi_types.items()
            }
        definitions[f"{package}.{version}.{kind}"] = definition
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "definitions": definitions,
    }


# --------------------------------------------------------------------------- running


_ERROR_LINE = re.compile(r"^error: (?P<message>.*)$", re.MULTILINE)
_POSITION = re.compile(r"^ --> (?P<file>.*):(?P<line>\d+):(?P<col>\d+)$", re.MULTILINE)
_EXPRESSION_STARTERS = ('"IDENTIFIER"', '"INTEGER"', '"STRING"')


def _error_message(name: str, err: sl.StarlarkError, origin: list[int]) -> str:
    """The catalog's message for an interpreter error (Go starlark's wording where it differs)."""
    text = str(err)
    match = _ERROR_LINE.search(text)
    message = match["message"] if match else text.strip()
    position = _POSITION.search(text)
    if message.startswith("Parse error: "):
        detail = message.removeprefix("Parse error: ")
        if detail.startswith("unexpected new line") and all(
            s in detail for s in _EXPRESSION_STARTERS
        ):
            detail = "got newline, want primary expression"
        if position:
            line = int(position["line"])
            line = origin[line - 1] if 0 < line <= len(origin) else line
            return f"{name}:{line}:{position['col']}: {detail}"
        return f"{name}: {detail}"
    return message.removeprefix(f"{_starlib.StarlibError.__name__}: ")


def _deadline(seconds: float) -> sl.EvalOptions:
    stop = time.monotonic() + seconds
    return sl.EvalOptions(check_cancelled=lambda: time.monotonic() > stop)


def execute(
    name: str,
    source: str,
    resource_list: dict[str, Any],
    *,
    time_limit: float = TIME_LIMIT_SECONDS,
) -> tuple[dict[str, Any], str]:
    """Run the script; returns the resource list it left and what it printed.

    Raises StarlarkRunError (with `.stderr` holding the printed text) when the script fails or
    runs longer than `time_limit` seconds.
    """
    started = time.monotonic()
    printed: list[str] = []

    def _print(*args: object, sep: str = " ") -> None:
        printed.append(sep.join(_print_arg(a) for a in args) + "\n")

    module = sl.Module()
    module["_resource_list"] = resource_list
    module["_open_api"] = open_api_document() if "open_api" in source else {}
    module["_environment"] = dict(_ENVIRONMENT)
    module.add_callable("print", _print)
    module["_set_member"] = _SET_MEMBER
    dialect = sl.Dialect.extended()
    rewritten = _dialect.rewrite_while(source)
    try:
        sl.eval(module, sl.parse("prelude.star", _PRELUDE, dialect), _GLOBALS)
        program = sl.parse(name, rewritten.source, dialect)
        for load in program.loads():
            if not _starlib.known(load.module_id):
                # the catalog's loader returns no module, so Go starlark misses the symbol
                symbol = next(iter(load.symbols.values()), "")
                raise StarlarkRunError(
                    f"load: name {symbol} not found in module {load.module_id}", "".join(printed)
                )
        sl.eval_with(_deadline(time_limit), module, program, _GLOBALS, _starlib.loader())
    except sl.StarlarkError as err:
        message = _error_message(name, err, rewritten.origin)
        if time.monotonic() - started >= time_limit:
            message = f"starlark program {name} ran longer than {time_limit:g}s and was stopped"
        raise StarlarkRunError(message, "".join(printed)) from err
    ctx = module["ctx"]
    out = ctx.get("resource_list") if isinstance(ctx, dict) else None
    if not isinstance(out, dict):
        raise StarlarkRunError("ctx.resource_list must stay a dict")
    return out, "".join(printed)


def _ids(items: CommentedSeq) -> tuple[list[str], set[int]]:
    """The id of every item (kpt's id annotation, or one added here) and which ids were added."""
    taken = {_krm.annotation(o, _krm.ID_ANNOTATION) for o in items}
    ids: list[str] = []
    added: set[int] = set()
    counter = 0
    for index, obj in enumerate(items):
        existing = _krm.annotation(obj, _krm.ID_ANNOTATION)
        if existing and existing not in ids:
            ids.append(existing)
            continue
        counter += 1
        while str(counter) in taken:
            counter += 1
        ids.append(str(counter))
        added.add(index)
    return ids, added


def _plain_items(items: CommentedSeq, ids: list[str], added: set[int]) -> list[dict[str, Any]]:
    out = []
    for index, obj in enumerate(items):
        plain = to_plain(obj)
        if index in added and isinstance(plain, dict):
            metadata = plain.setdefault("metadata", {})
            if isinstance(metadata, dict):
                annotations = metadata.get("annotations")
                if not isinstance(annotations, dict):
                    annotations = metadata["annotations"] = {}
                annotations[_krm.LEGACY_ID_ANNOTATION] = ids[index]
                annotations[_krm.ID_ANNOTATION] = ids[index]
        out.append(plain)
    return out


def _strip_added_ids(item: dict[str, Any], added_ids: set[str], had_annotations: bool) -> None:
    metadata = item.get("metadata")
    if not isinstance(metadata, dict):
        return
    annotations = metadata.get("annotations")
    if not isinstance(annotations, dict) or annotations.get(_krm.ID_ANNOTATION) not in added_ids:
        return
    annotations.pop(_krm.ID_ANNOTATION, None)
    annotations.pop(_krm.LEGACY_ID_ANNOTATION, None)
    if not annotations and not had_annotations:
        del metadata["annotations"]


def _map_back(
    items: CommentedSeq, ids: list[str], added: set[int], out_items: list[Any]
) -> CommentedSeq:
    originals = dict(zip(ids, items, strict=True))
    added_ids = {ids[i] for i in added}
    used: set[str] = set()
    result = CommentedSeq()
    for item in out_items:
        if not isinstance(item, dict):
            raise StarlarkRunError(f"resource must be a dict, got: {_go_repr(item)}")
        metadata = item.get("metadata")
        annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
        item_id = annotations.get(_krm.ID_ANNOTATION) if isinstance(annotations, dict) else None
        original = originals.get(item_id) if isinstance(item_id, str) else None
        had_annotations = (
            original is not None and _krm.get_map(original, "metadata", "annotations") is not None
        )
        _strip_added_ids(item, added_ids, had_annotations)
        if original is None:
            result.append(from_plain(item))
            continue
        assert isinstance(item_id, str)
        target = original if item_id not in used else copy.deepcopy(original)
        used.add(item_id)
        result.append(merge(target, item))
    return result


def run(resource_list: CommentedMap) -> CommentedMap:
    """Run the configured starlark script; see the module docstring."""
    rl = _krm.copy_resource_list(resource_list)
    config = _krm.function_config(rl)
    items = _krm.items(rl)
    try:
        name, source = _configure(config)
        ids, added = _ids(items)
        plain: dict[str, Any] = {
            "apiVersion": _RESOURCE_LIST_API_VERSION,
            "kind": "ResourceList",
            "items": _plain_items(items, ids, added),
        }
        if config is not None:
            plain["functionConfig"] = to_plain(config)
        out, printed = execute(name, source, plain)
        _krm.write_stderr(printed)
        out_items = out.get("items")
        if not isinstance(out_items, list):
            raise StarlarkRunError('ctx.resource_list["items"] must be a list')
        rl["items"] = _map_back(items, ids, added, out_items)
    except StarlarkRunError as err:
        _krm.fail(err.stderr + _krm.SDK_FAILURE_STDERR, [_krm.result(str(err), _krm.ERROR)])
    _krm.sort_items(rl)
    return rl


def environment() -> dict[str, str]:
    """The environment scripts see (exposed for tests and documentation)."""
    return dict(_ENVIRONMENT)


__all__ = ["StarlarkRunError", "environment", "execute", "merge", "open_api_document", "run"]
