"""The modules a starlark script of the starlark builtin can `load()`.

Where it sits: used only by `pkg.kpt.fn.builtins.starlark`, which hands `loader()` to the
interpreter (starlark-pyo3). The catalog function offers qri-io/starlib's modules plus its own
`krmfn.star` (reference §8). Here each module is a frozen starlark module whose symbol is a
struct of Python functions:

- `encoding/base64.star`, `encoding/csv.star`, `encoding/json.star`, `encoding/yaml.star`,
  `hash.star`, `math.star`, `re.star`, `time.star` and `krmfn.star` work;
- `bsoup.star`, `geo.star`, `html.star`, `http.star`, `xlsx.star` and `zipfile.star` load, and
  their functions fail with a clear message (no HTML/geo/spreadsheet parsers here, and a builtin
  function never reaches the network).
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import io
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import starlark as sl
from ruamel.yaml import YAML

from pkg.kpt.fn.builtins import _krm


class StarlibError(Exception):
    """An error raised by a library function; the interpreter shows `StarlibError: <msg>`."""


_GLOBALS = sl.Globals.extended_by([sl.LibraryExtension.StructType])


def _module(
    symbol: str, functions: Mapping[str, Callable[..., Any]], constants: str = ""
) -> sl.FrozenModule:
    module = sl.Module()
    for name, fn in functions.items():
        module.add_callable(f"_{name}", fn)
    members = ", ".join(f"{name} = _{name}" for name in functions)
    if constants:
        members = f"{members}, {constants}" if members else constants
    sl.eval(module, sl.parse(f"{symbol}.star", f"{symbol} = struct({members})\n"), _GLOBALS)
    return module.freeze()


def _function_module(symbol: str, fn: Callable[..., Any]) -> sl.FrozenModule:
    """A module whose symbol is a function itself (zipfile.star exports `ZipFile`)."""
    module = sl.Module()
    module.add_callable(symbol, fn)
    return module.freeze()


def _unsupported(module: str) -> Callable[..., Any]:
    def fail(*_args: object, **_kwargs: object) -> object:
        raise StarlibError(f"{module} is not available in porch-py's builtin starlark function")

    return fail


# --------------------------------------------------------------------------- base64

_B64 = {
    "standard": (base64.b64encode, base64.b64decode, True),
    "standard_raw": (base64.b64encode, base64.b64decode, False),
    "url": (base64.urlsafe_b64encode, base64.urlsafe_b64decode, True),
    "url_raw": (base64.urlsafe_b64encode, base64.urlsafe_b64decode, False),
}


def _b64_codec(encoding: str) -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes], bool]:
    if encoding not in _B64:
        raise StarlibError(f"unsupported encoding format: {encoding}")
    return _B64[encoding]


def _b64_encode(src: str, encoding: str = "standard") -> str:
    encode, _, padded = _b64_codec(encoding)
    text = encode(src.encode()).decode()
    return text if padded else text.rstrip("=")


def _b64_decode(src: str, encoding: str = "standard") -> str:
    _, decode, padded = _b64_codec(encoding)
    if not padded:
        src += "=" * (-len(src) % 4)
    try:
        return decode(src.encode()).decode()
    except ValueError as err:
        raise StarlibError(str(err)) from err


# --------------------------------------------------------------------------- csv


def _csv_read_all(  # noqa: PLR0917 - starlib's signature
    source: str,
    comma: str = ",",
    comment: str = "",
    lazy_quotes: bool = False,  # Python's csv reader is always lenient about quotes
    trim_leading_space: bool = False,
    fields_per_record: int = 0,
    skip: int = 0,
) -> list[list[str]]:
    rows = []
    reader = csv.reader(io.StringIO(source), delimiter=comma, skipinitialspace=trim_leading_space)
    for row in reader:
        if comment and row and row[0].startswith(comment):
            continue
        if fields_per_record > 0 and len(row) != fields_per_record:
            raise StarlibError(f"record on line {reader.line_num}: wrong number of fields")
        rows.append(row)
    return rows[skip:]


def _csv_write_all(data: list[list[object]], comma: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=comma, lineterminator="\n")
    writer.writerows([[str(v) for v in row] for row in data])
    return out.getvalue()


# --------------------------------------------------------------------------- json / yaml


def _json_encode(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _json_decode(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise StarlibError(str(err)) from err


def _json_indent(text: str, prefix: str = "", indent: str = "\t") -> str:
    value = _json_decode(text)
    lines = json.dumps(value, indent=indent, ensure_ascii=False).split("\n")
    return "\n".join([lines[0], *(prefix + line for line in lines[1:])])


def _yaml_loads(text: str) -> object:
    return YAML(typ="safe", pure=True).load(text)


def _yaml_dumps(value: object) -> str:
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(value, out)
    return out.getvalue()


# --------------------------------------------------------------------------- re


def _re_findall(pattern: str, text: str, flags: int = 0) -> list[str]:
    # starlib returns the whole matches (a tuple; tuples reach starlark-pyo3 as lists)
    return [m.group(0) for m in re.finditer(pattern, text, flags)]


def _re_split(pattern: str, text: str, maxsplit: int = 0, flags: int = 0) -> list[str]:
    return re.split(pattern, text, maxsplit=maxsplit, flags=flags)


def _re_sub(pattern: str, repl: str, text: str, count: int = 0, flags: int = 0) -> str:
    return re.sub(pattern, repl, text, count=count, flags=flags)


def _re_match(pattern: str, text: str, flags: int = 0) -> list[list[str]]:
    match = re.match(pattern, text, flags)
    return [[match.group(0), *match.groups()]] if match else []


# --------------------------------------------------------------------------- time


def _time_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _time_from_timestamp(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


# --------------------------------------------------------------------------- krmfn


def _gvk(resource: object) -> tuple[str, str, str]:
    if not isinstance(resource, Mapping):
        raise StarlibError("resource must be a dict")
    return _krm.group_version_kind(resource)


def _match_gvk(resource: object, api_version: str, kind: str) -> bool:
    # The catalog compares against GroupVersionKind{Group: "", Version: apiVersion}, so an
    # apiVersion with a group ("apps/v1") never matches; kept for fidelity.
    group, version, obj_kind = _gvk(resource)
    return group == "" and version == api_version and obj_kind == kind


def _match_name(resource: object, name: str) -> bool:
    _gvk(resource)
    return _krm.name(resource) == name


def _match_namespace(resource: object, namespace: str) -> bool:
    _gvk(resource)
    return _krm.namespace(resource) == namespace


# --------------------------------------------------------------------------- registry


def _hash(algorithm: str) -> Callable[[str], str]:
    def digest(text: str) -> str:
        return hashlib.new(algorithm, text.encode()).hexdigest()

    return digest


def _math_functions() -> dict[str, Callable[..., Any]]:
    names = (
        "ceil fabs floor exp sqrt acos asin atan atan2 cos hypot sin tan degrees radians "
        "acosh asinh atanh cosh sinh tanh gamma remainder"
    ).split()
    functions: dict[str, Callable[..., Any]] = {n: getattr(math, n) for n in names}
    functions["pow"] = math.pow
    functions["mod"] = math.fmod
    functions["round"] = lambda x: (
        float(math.floor(x + 0.5)) if x >= 0 else -float(math.floor(-x + 0.5))
    )
    functions["log"] = lambda x, base=math.e: math.log(x, base)
    return functions


_BUILDERS: dict[str, Callable[[], sl.FrozenModule]] = {
    "encoding/base64.star": lambda: _module(
        "base64", {"encode": _b64_encode, "decode": _b64_decode}
    ),
    "encoding/csv.star": lambda: _module(
        "csv", {"read_all": _csv_read_all, "write_all": _csv_write_all}
    ),
    "encoding/json.star": lambda: _module(
        "json", {"encode": _json_encode, "decode": _json_decode, "indent": _json_indent}
    ),
    "encoding/yaml.star": lambda: _module("yaml", {"loads": _yaml_loads, "dumps": _yaml_dumps}),
    "hash.star": lambda: _module(
        "hash", {"md5": _hash("md5"), "sha1": _hash("sha1"), "sha256": _hash("sha256")}
    ),
    "math.star": lambda: _module("math", _math_functions(), f"e = {math.e!r}, pi = {math.pi!r}"),
    "re.star": lambda: _module(
        "re", {"findall": _re_findall, "split": _re_split, "sub": _re_sub, "match": _re_match}
    ),
    "time.star": lambda: _module(
        "time", {"now": _time_now, "from_timestamp": _time_from_timestamp}
    ),
    "krmfn.star": lambda: _module(
        "krmfn",
        {"match_gvk": _match_gvk, "match_name": _match_name, "match_namespace": _match_namespace},
    ),
    "bsoup.star": lambda: _module("bsoup", {"parseHtml": _unsupported("bsoup.star")}),
    "geo.star": lambda: _module(
        "geo", {n: _unsupported("geo.star") for n in ("Point", "Line", "Polygon", "MultiPolygon")}
    ),
    "html.star": lambda: _module("html", {"html": _unsupported("html.star")}),
    "http.star": lambda: _module(
        "http",
        {
            m: _unsupported("http.star")
            for m in ("get", "put", "post", "delete", "head", "patch", "options")
        },
    ),
    "xlsx.star": lambda: _module("xlsx", {"get_url": _unsupported("xlsx.star")}),
    "zipfile.star": lambda: _function_module("ZipFile", _unsupported("zipfile.star")),
}


@functools.cache
def _load(name: str) -> sl.FrozenModule:
    return _BUILDERS[name]()


def known(name: str) -> bool:
    """Whether `load(name, ...)` names a module the catalog function offers."""
    return name in _BUILDERS


def load(name: str) -> sl.FrozenModule:
    """The module `name` for a script's `load()`; frozen modules are built once and shared."""
    if name not in _BUILDERS:
        raise StarlibError(f"cannot load {name}: module not found")
    return _load(name)


def loader() -> sl.FileLoader:
    return sl.FileLoader(load)
