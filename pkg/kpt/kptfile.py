"""Kptfile handling as kpt does it: strict decoding, validation and the typed rewrite.

Where it sits: the renderer (`pkg.kpt.render`) reads the root Kptfile and every subpackage Kptfile
with `decode`, checks them with `validate` (and `validate_config_paths` just before a package's
pipeline runs), and writes the root Kptfile's `status` with `write_status`. Porch's package code can
use the same functions to read and write Kptfiles.

kpt decodes a Kptfile strictly into its Go types (go-yaml v3 with known fields) and writes it back
from those types. So this module keeps a table of the kpt.dev/v1 types (`_SCHEMA`), decodes a
parsed Kptfile against it with go-yaml's error texts (`yaml: unmarshal errors:\n  line 13: field
targetResources not found in type v1.Function`), and re-encodes a Kptfile in the field order of the
Go types, with wide sequence indentation, no comments and no empty fields.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pkg.apimachinery import strconv
from pkg.kpt import yamlutil

__all__ = [
    "KPTFILE_NAME",
    "Function",
    "KptfileError",
    "KptfileReadError",
    "KptfileValidationError",
    "Selector",
    "config_path_resource",
    "decode",
    "encode",
    "functions",
    "validate",
    "with_status",
]

KPTFILE_NAME: Final = "Kptfile"
API_VERSION: Final = "kpt.dev/v1"
KIND: Final = "Kptfile"


class KptfileError(Exception):
    """A Kptfile that kpt refuses."""


class KptfileReadError(KptfileError):
    """The Kptfile cannot be parsed or decoded (kpt's `KptfileError`)."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"error reading Kptfile at {go_quote(path)}: {detail}")
        self.path = path
        self.detail = detail


class KptfileVersionError(KptfileError):
    """An old (v1alpha1/v1alpha2) or unknown Kptfile apiVersion."""

    def __init__(self, version: str) -> None:
        super().__init__(f'has an old version ("{version}") of the Kptfile schema')
        self.version = version


class KptfileValidationError(KptfileError):
    """A Kptfile field with a bad value (kpt's `ValidateError`)."""

    def __init__(self, field_path: str, value: str, reason: str) -> None:
        super().__init__(
            f"Kptfile is invalid:\nField: `{field_path}`\nValue: {go_quote(value)}\n"
            f"Reason: {reason}\n"
        )
        self.field = field_path
        self.value = value
        self.reason = reason


# ------------------------------------------------------------------------------------ type schema
# (go type name, [(yaml key, field type)]) in the order of kpt's Go structs; field types are a
# type name of this table, "string", "int", "bool", "any", "[]T" or "map[string]string".

_SCHEMA: Final[dict[str, tuple[str, list[tuple[str, str]]]]] = {
    "KptFile": (
        "v1.KptFile",
        [
            ("apiVersion", "string"),
            ("kind", "string"),
            ("metadata", "ObjectMeta"),
            ("upstream", "Upstream"),
            ("upstreamLock", "UpstreamLock"),
            ("info", "PackageInfo"),
            ("pipeline", "Pipeline"),
            ("inventory", "Inventory"),
            ("status", "Status"),
        ],
    ),
    "ObjectMeta": (
        "yaml.ObjectMeta",
        [
            ("name", "string"),
            ("namespace", "string"),
            ("labels", "map[string]string"),
            ("annotations", "map[string]string"),
        ],
    ),
    "Upstream": (
        "v1.Upstream",
        [("type", "string"), ("git", "Git"), ("updateStrategy", "string")],
    ),
    "Git": ("v1.Git", [("repo", "string"), ("directory", "string"), ("ref", "string")]),
    "UpstreamLock": ("v1.UpstreamLock", [("type", "string"), ("git", "GitLock")]),
    "GitLock": (
        "v1.GitLock",
        [("repo", "string"), ("directory", "string"), ("ref", "string"), ("commit", "string")],
    ),
    "PackageInfo": (
        "v1.PackageInfo",
        [
            ("site", "string"),
            ("emails", "[]string"),
            ("license", "string"),
            ("licenseFile", "string"),
            ("description", "string"),
            ("keywords", "[]string"),
            ("man", "string"),
            ("readinessGates", "[]ReadinessGate"),
        ],
    ),
    "ReadinessGate": ("v1.ReadinessGate", [("conditionType", "string")]),
    "Pipeline": ("v1.Pipeline", [("mutators", "[]Function"), ("validators", "[]Function")]),
    "Function": (
        "v1.Function",
        [
            ("image", "string"),
            ("exec", "string"),
            ("configPath", "string"),
            ("configMap", "map[string]string"),
            ("configRef", "ResourceReference"),
            ("name", "string"),
            ("tag", "string"),
            ("selectors", "[]Selector"),
            ("exclude", "[]Selector"),
        ],
    ),
    "ResourceReference": (
        "v1.ResourceReference",
        [("apiVersion", "string"), ("kind", "string"), ("name", "string"), ("namespace", "string")],
    ),
    "Selector": (
        "v1.Selector",
        [
            ("apiVersion", "string"),
            ("kind", "string"),
            ("name", "string"),
            ("namespace", "string"),
            ("labels", "map[string]string"),
            ("annotations", "map[string]string"),
        ],
    ),
    "Inventory": (
        "v1.Inventory",
        [
            ("namespace", "string"),
            ("name", "string"),
            ("inventoryID", "string"),
            ("labels", "map[string]string"),
            ("annotations", "map[string]string"),
        ],
    ),
    "Status": (
        "v1.Status",
        [("conditions", "[]Condition"), ("renderStatus", "RenderStatus")],
    ),
    "Condition": (
        "v1.Condition",
        [("type", "string"), ("status", "string"), ("reason", "string"), ("message", "string")],
    ),
    "RenderStatus": (
        "v1.RenderStatus",
        [
            ("mutationSteps", "[]PipelineStepResult"),
            ("validationSteps", "[]PipelineStepResult"),
            ("errorSummary", "string"),
        ],
    ),
    "PipelineStepResult": (
        "v1.PipelineStepResult",
        [
            ("name", "string"),
            ("image", "string"),
            ("exec", "string"),
            ("executionError", "string"),
            ("stderr", "string"),
            ("exitCode", "int!"),
            ("results", "[]ResultItem"),
            ("errorResults", "[]ResultItem"),
        ],
    ),
    "ResultItem": (
        "v1.ResultItem",
        [
            ("message", "string"),
            ("severity", "string"),
            ("resourceRef", "ResourceIdentifier"),
            ("field", "Field"),
            ("file", "File"),
            ("tags", "map[string]string"),
        ],
    ),
    "ResourceIdentifier": (
        "v1.ResourceIdentifier",
        [("apiVersion", "string"), ("kind", "string"), ("name", "string"), ("namespace", "string")],
    ),
    "Field": (
        "v1.Field",
        [("path", "string"), ("currentValue", "any"), ("proposedValue", "any")],
    ),
    "File": ("v1.File", [("path", "string"), ("index", "int")]),
}


# ----------------------------------------------------------------------------------- data views


@dataclass(frozen=True, slots=True)
class Selector:
    """A pipeline step's `selectors`/`exclude` entry: every given field must match."""

    api_version: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (
            self.api_version
            or self.kind
            or self.name
            or self.namespace
            or self.labels
            or self.annotations
        )


@dataclass(frozen=True, slots=True)
class Function:
    """One pipeline step of a Kptfile (kpt's `v1.Function`)."""

    image: str = ""
    exec: str = ""
    config_path: str = ""
    config_map: Mapping[str, str] | None = None
    config_ref: Mapping[str, str] | None = None
    name: str = ""
    tag: str = ""
    selectors: tuple[Selector, ...] = ()
    exclude: tuple[Selector, ...] = ()

    @property
    def display_name(self) -> str:
        """The name kpt uses for the step in messages: `name`, else the image's base name."""
        if self.name:
            return self.name
        ref = self.image or self.exec
        base = ref.rsplit("/", 1)[-1]
        base = base.split("@", 1)[0]
        return base.split(":", 1)[0]


# -------------------------------------------------------------------------------------- decoding


def decode(text: str, *, path: str = ".") -> CommentedMap:
    """The Kptfile in `text`, decoded and type-checked as kpt does.

    Raises `KptfileVersionError` for kpt.dev/v1alpha1 and v1alpha2 and `KptfileReadError` (with
    go-yaml's message) for text that is not YAML or does not fit the kpt.dev/v1 types. `path` is
    the package path used in messages.
    """
    try:
        docs = yamlutil.load_all(text, positions=True)
    except yamlutil.YAMLError as err:
        raise KptfileReadError(path, str(err)) from err
    if not docs:
        raise KptfileReadError(path, "EOF")
    kf = docs[0]
    api_version = kf.get("apiVersion")
    if (
        isinstance(api_version, str)
        and api_version.startswith("kpt.dev/")
        and (api_version != API_VERSION)
    ):
        raise KptfileVersionError(api_version.split("/", 1)[1])
    errors: list[str] = []
    _check(kf, "KptFile", errors)
    if errors:
        raise KptfileReadError(path, "yaml: unmarshal errors:\n  " + "\n  ".join(errors))
    return kf


def _check(node: Any, type_name: str, errors: list[str], line: int = 0) -> None:
    """go-yaml's strict decoding of `node` into the Go type `type_name` (errors collected)."""
    go_name, fields = _SCHEMA[type_name]
    if node is None:
        return
    if not isinstance(node, CommentedMap):
        errors.append(
            f"line {line + 1}: cannot unmarshal {_yaml_tag(node)} `{_text(node)}` into {go_name}"
        )
        return
    known = dict(fields)
    for key, value in node.items():
        key_line, _, value_line, _ = _positions(node, key)
        if key not in known:
            errors.append(f"line {key_line + 1}: field {key} not found in type {go_name}")
            continue
        _check_value(value, known[key], errors, value_line)


def _check_value(value: Any, ftype: str, errors: list[str], line: int) -> None:
    if ftype in ("string",):
        if isinstance(value, CommentedMap | CommentedSeq):
            errors.append(
                f"line {_node_line(value, line) + 1}: cannot unmarshal "
                f"{_yaml_tag(value)} into string"
            )
        return
    if ftype in ("int", "int!"):
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            shown = (
                f" `{_text(value)}`" if not isinstance(value, CommentedMap | CommentedSeq) else ""
            )
            errors.append(
                f"line {_node_line(value, line) + 1}: cannot unmarshal "
                f"{_yaml_tag(value)}{shown} into int"
            )
        return
    if ftype == "any":
        return
    if ftype == "map[string]string":
        if value is None:
            return
        if not isinstance(value, CommentedMap):
            errors.append(
                f"line {_node_line(value, line) + 1}: cannot unmarshal "
                f"{_yaml_tag(value)} into map[string]string"
            )
            return
        for key, item in value.items():
            _, _, item_line, _ = _positions(value, key)
            if isinstance(item, CommentedMap | CommentedSeq):
                errors.append(
                    f"line {_node_line(item, item_line) + 1}: cannot unmarshal "
                    f"{_yaml_tag(item)} into string"
                )
        return
    if ftype.startswith("[]"):
        if value is None:
            return
        elem = ftype[2:]
        if not isinstance(value, CommentedSeq):
            go_elem = "string" if elem == "string" else _SCHEMA[elem][0]
            errors.append(
                f"line {_node_line(value, line) + 1}: cannot unmarshal "
                f"{_yaml_tag(value)} into []{go_elem}"
            )
            return
        for index, item in enumerate(value):
            item_line = value.lc.data[index][0] if index in value.lc.data else line
            _check_value(item, elem, errors, item_line)
        return
    _check(value, ftype, errors, line)


def _positions(node: CommentedMap, key: Any) -> tuple[int, int, int, int]:
    data = node.lc.data.get(key)
    if data is None:
        return node.lc.line or 0, 0, node.lc.line or 0, 0
    return data[0], data[1], data[2], data[3]


def _node_line(value: Any, default: int) -> int:
    if isinstance(value, CommentedMap | CommentedSeq):
        line = value.lc.line
        if line is not None:
            return int(line)
    return default


def _yaml_tag(value: Any) -> str:
    if isinstance(value, CommentedMap):
        return "!!map"
    if isinstance(value, CommentedSeq):
        return "!!seq"
    if value is None:
        return "!!null"
    if isinstance(value, bool):
        return "!!bool"
    if isinstance(value, int):
        return "!!int"
    if isinstance(value, float):
        return "!!float"
    return "!!str"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# -------------------------------------------------------------------------------- typed view


def functions(kf: Mapping[str, Any], kind: str) -> list[Function]:
    """The `pipeline.mutators` or `pipeline.validators` of a decoded Kptfile."""
    pipeline = kf.get("pipeline")
    if not isinstance(pipeline, Mapping):
        return []
    steps = pipeline.get(kind)
    if not isinstance(steps, list):
        return []
    return [_function(step) for step in steps if isinstance(step, Mapping)]


def _function(step: Mapping[str, Any]) -> Function:
    config_map = step.get("configMap")
    config_ref = step.get("configRef")
    return Function(
        image=_str(step.get("image")),
        exec=_str(step.get("exec")),
        config_path=_str(step.get("configPath")),
        config_map=(
            {str(k): _str(v) for k, v in config_map.items()}
            if isinstance(config_map, Mapping)
            else None
        ),
        config_ref=(
            {str(k): _str(v) for k, v in config_ref.items()}
            if isinstance(config_ref, Mapping)
            else None
        ),
        name=_str(step.get("name")),
        tag=_str(step.get("tag")),
        selectors=_selectors(step.get("selectors")),
        exclude=_selectors(step.get("exclude")),
    )


def _selectors(value: Any) -> tuple[Selector, ...]:
    if not isinstance(value, list):
        return ()
    out = []
    for item in value:
        if not isinstance(item, Mapping):
            continue
        labels = item.get("labels")
        annotations = item.get("annotations")
        out.append(
            Selector(
                api_version=_str(item.get("apiVersion")),
                kind=_str(item.get("kind")),
                name=_str(item.get("name")),
                namespace=_str(item.get("namespace")),
                labels=(
                    {str(k): _str(v) for k, v in labels.items()}
                    if isinstance(labels, Mapping)
                    else {}
                ),
                annotations=(
                    {str(k): _str(v) for k, v in annotations.items()}
                    if isinstance(annotations, Mapping)
                    else {}
                ),
            )
        )
    return tuple(out)


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ------------------------------------------------------------------------------------ validation


def validate(kf: Mapping[str, Any]) -> None:
    """kpt's `KptFile.Validate`: each step names one image or exec, a valid image reference,
    at most one of configMap/configPath, and a relative configPath inside the package."""
    for kind in ("mutators", "validators"):
        for index, fn in enumerate(functions(kf, kind)):
            _validate_function(fn, f"pipeline.{kind}[{index}]")


def _validate_function(fn: Function, prefix: str) -> None:
    if fn.image == "" and fn.exec == "":
        raise KptfileValidationError(
            f"{prefix}.image", "", "must specify a functon (`image` or `exec`) to execute"
        )
    if fn.image != "" and fn.exec != "":
        raise KptfileValidationError(
            f"{prefix}.image",
            fn.image,
            "must not specify both `image` and `exec` at the same time",
        )
    if fn.image and not _valid_image(fn.image):
        raise KptfileValidationError(f"{prefix}.image", fn.image, "invalid image reference")
    if fn.config_map is not None and fn.config_map and fn.config_path:
        raise KptfileValidationError(
            f"{prefix}.configMap",
            "",
            "functionConfig must not specify both `configMap` and `configPath` at the same time",
        )
    if fn.config_path:
        _validate_config_path(fn.config_path, f"{prefix}.configPath")


def _validate_config_path(path: str, field_path: str) -> None:
    if path.strip() == "":
        raise KptfileValidationError(field_path, path, "path must not be empty")
    if posixpath.isabs(path):
        raise KptfileValidationError(field_path, path, "path must be relative")
    cleaned = posixpath.normpath(path)
    if cleaned == ".." or cleaned.startswith("../") or ".." in path.split("/"):
        raise KptfileValidationError(field_path, path, "path must not be outside the package")


def _valid_image(image: str) -> bool:
    """A loose check of docker's reference grammar (lower-case repository, optional tag/digest)."""
    if not image or image != image.strip() or " " in image:
        return False
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
        if not tag or len(tag) > 128:
            return False
    return all(part and part == part.lower() for part in name.split("/")[1:] or [name])


def config_path_resource(
    files: Mapping[str, str], pkg_dir: str, config_path: str, *, display_root: str, field_path: str
) -> CommentedMap:
    """The single KRM resource of a step's `configPath` file, checked as kpt's Kptfile validation
    does (file opens, exactly one document, the document is KRM)."""
    rel = (
        posixpath.normpath(posixpath.join(pkg_dir, config_path))
        if pkg_dir
        else (posixpath.normpath(config_path))
    )
    text = files.get(rel)
    if text is None:
        shown = posixpath.join(display_root, rel) if display_root else rel
        raise KptfileValidationError(
            field_path,
            config_path,
            f"failed to open functionConfig from path {go_quote(config_path)}: "
            f"open {shown}: no such file or directory",
        )
    try:
        docs = yamlutil.load_all(text)
    except yamlutil.YAMLError as err:
        raise KptfileValidationError(field_path, config_path, str(err)) from err
    if len(docs) > 1:
        raise KptfileValidationError(
            field_path,
            config_path,
            f"functionConfig {go_quote(config_path)} must not contain more than one config, "
            f"got {len(docs)}",
        )
    if not docs:
        raise KptfileValidationError(field_path, config_path, "resource must have `apiVersion`")
    problem = krm_problem(docs[0])
    if problem:
        raise KptfileValidationError(field_path, config_path, problem)
    return docs[0]


def krm_problem(obj: Mapping[str, Any]) -> str:
    """Why `obj` is not a KRM resource (kyaml's check), or "" when it is one."""
    if not _str(obj.get("apiVersion")):
        return "resource must have `apiVersion`"
    if not _str(obj.get("kind")):
        return "resource must have `kind`"
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not _str(meta.get("name")):
        return "resource must have `metadata.name`"
    return ""


# -------------------------------------------------------------------------------------- encoding


def encode(kf: Mapping[str, Any]) -> str:
    """The Kptfile as kpt writes it from its Go types: fields in struct order, empty fields left
    out, every string styled afresh (quotes only where needed), wide sequences, no comments."""
    node = _typed(kf, "KptFile")
    assert isinstance(node, CommentedMap)
    return yamlutil.dump(node, seq_indent_style=yamlutil.WIDE)


def _typed(value: Any, ftype: str) -> Any:
    """`value` re-built as kpt marshals the Go type `ftype` (None when the field is omitted)."""
    if ftype == "string":
        text = _str(value)
        return yamlutil.new_string(text) if text else None
    if ftype in ("int", "int!"):
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value) if (value or ftype == "int!") else None
        return 0 if ftype == "int!" else None
    if ftype == "any":
        return _plain_any(value)
    if ftype == "map[string]string":
        if not isinstance(value, Mapping) or not value:
            return None
        out = CommentedMap()
        for key in sorted(value, key=str):
            out[str(key)] = yamlutil.new_string(_str(value[key]))
        return out
    if ftype.startswith("[]"):
        if not isinstance(value, list) or not value:
            return None
        seq = CommentedSeq()
        for item in value:
            typed = _typed(item, ftype[2:])
            seq.append(typed if typed is not None else _empty(ftype[2:]))
        return seq
    if not isinstance(value, Mapping):
        return None
    out_map = CommentedMap()
    for key, sub_type in _SCHEMA[ftype][1]:
        if key not in value and sub_type != "int!":
            continue
        typed = _typed(value.get(key), sub_type)
        if typed is not None:
            out_map[key] = typed
    # kpt's struct fields are pointers (a present, empty one is written as `{}`), except
    # metadata, an omitempty value struct
    if not out_map and ftype in _VALUE_STRUCTS:
        return None
    return out_map


_VALUE_STRUCTS: Final = frozenset({"KptFile", "ObjectMeta"})


def _empty(ftype: str) -> Any:
    if ftype == "string":
        return yamlutil.new_string("")
    if ftype in _SCHEMA:
        return CommentedMap()
    return None


def _plain_any(value: Any) -> Any:
    if isinstance(value, Mapping):
        out = CommentedMap()
        for key in sorted(value, key=str):
            out[str(key)] = _plain_any(value[key])
        return out
    if isinstance(value, list):
        seq = CommentedSeq()
        seq.extend(_plain_any(v) for v in value)
        return seq
    if isinstance(value, str):
        return yamlutil.new_string(str(value))
    return value


def with_status(
    kf: Mapping[str, Any],
    condition: Mapping[str, str],
    render_status: Mapping[str, Any] | None,
) -> CommentedMap:
    """A copy of `kf` with the `Rendered` condition replaced and `status.renderStatus` set."""
    out = yamlutil.copy_node(kf)
    if not isinstance(out, CommentedMap):
        out = CommentedMap(out)
    status = out.get("status")
    if not isinstance(status, CommentedMap):
        status = CommentedMap()
        out["status"] = status
    conditions = status.get("conditions")
    kept = CommentedSeq()
    if isinstance(conditions, list):
        kept.extend(
            c for c in conditions if not (isinstance(c, Mapping) and c.get("type") == "Rendered")
        )
    kept.append(dict(condition))
    status["conditions"] = kept
    if render_status is None:
        status.pop("renderStatus", None)
    else:
        status["renderStatus"] = render_status
    return out


def go_quote(text: str) -> str:
    """Go's ``%q`` of ``text``, as kpt quotes paths and values in its messages."""
    return strconv.quote(text)


def metadata_annotations(kf: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = kf.get("metadata")
    if isinstance(meta, Mapping):
        ann = meta.get("annotations")
        if isinstance(ann, Mapping):
            return ann
    return {}
