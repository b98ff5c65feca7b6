"""The set-annotations catalog function (v0.1 line), run in-process.

Where it sits: `BUILTINS["set-annotations"]`, called by the function runtime with a KRM
`ResourceList`. The catalog wraps kustomize's annotations filter (reference §5): every item,
local-config ones included, gets the annotations on `metadata.annotations` and on the pod and
job templates of kustomize's commonAnnotations field specs, plus any
`additionalAnnotationFields`. Results are one item per (file, index, field path) written, with
no severity, as kyaml's framework reports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from pkg.apimachinery import gojson
from pkg.kpt.fn.builtins import _krm

_FN_API_VERSION = "fn.kpt.dev/v1alpha1"
_FN_KIND = "SetAnnotations"
_LEGACY_FN_KIND = "SetAnnotationConfig"


@dataclass(frozen=True)
class _FieldSpec:
    path: tuple[str, ...]
    group: str = ""
    version: str = ""
    kind: str = ""
    create: bool = False

    def selects(self, obj: CommentedMap) -> bool:
        group, version, kind = _krm.group_version_kind(obj)
        return (
            (not self.group or self.group == group)
            and (not self.version or self.version == version)
            and (not self.kind or self.kind == kind)
        )


def _spec(path: str, kind: str = "", group: str = "", version: str = "") -> _FieldSpec:
    return _FieldSpec(tuple(path.split("/")), group, version, kind, create=True)


# kustomize's default commonAnnotations field specs (api/konfig/builtinpluginconsts).
_COMMON_ANNOTATIONS = (
    _spec("metadata/annotations"),
    _spec("spec/template/metadata/annotations", "ReplicationController", version="v1"),
    _spec("spec/template/metadata/annotations", "Deployment"),
    _spec("spec/template/metadata/annotations", "ReplicaSet"),
    _spec("spec/template/metadata/annotations", "DaemonSet"),
    _spec("spec/template/metadata/annotations", "StatefulSet"),
    _spec("spec/template/metadata/annotations", "Job", group="batch"),
    _spec("spec/jobTemplate/metadata/annotations", "CronJob", group="batch"),
    _spec("spec/jobTemplate/spec/template/metadata/annotations", "CronJob", group="batch"),
)


class _ConfigError(Exception):
    pass


def _field_specs(value: object, name: str) -> list[_FieldSpec]:
    if not isinstance(value, list):
        raise _ConfigError(f"failed to unmarshal config: `{name}` must be a list")
    specs = []
    for entry in value:
        if not isinstance(entry, Mapping):
            raise _ConfigError(f"failed to unmarshal config: `{name}` entries must be objects")
        path, _ = _krm.nested_string(entry, "path")
        specs.append(
            _FieldSpec(
                tuple(p for p in path.split("/") if p),
                group=_krm.nested_string(entry, "group")[0],
                version=_krm.nested_string(entry, "version")[0],
                kind=_krm.nested_string(entry, "kind")[0],
                create=entry.get("create") is True,
            )
        )
    return specs


def _configure(config: CommentedMap | None) -> tuple[dict[str, str], list[_FieldSpec]]:
    annotations: dict[str, str] = {}
    specs: list[_FieldSpec] = []
    if config is not None and (_krm.api_version(config), _krm.kind(config)) == ("v1", "ConfigMap"):
        data = config.get("data")
        if isinstance(data, Mapping):
            annotations = _krm.string_map(data)
    elif (
        config is not None
        and _krm.api_version(config) == _FN_API_VERSION
        and _krm.kind(config) in {_FN_KIND, _LEGACY_FN_KIND}
    ):
        raw = config.get("annotations")
        if isinstance(raw, Mapping):
            annotations = _krm.string_map(raw)
        additional = config.get("additionalAnnotationFields")
        deprecated = config.get("fieldSpecs")
        if additional is not None and deprecated is not None:
            raise _ConfigError(
                "`fieldSpecs` has been deprecated, please rename it to `additionalAnnotationFields`"
            )
        if additional is not None:
            specs = _field_specs(additional, "additionalAnnotationFields")
        elif deprecated is not None:
            specs = _field_specs(deprecated, "fieldSpecs")
    else:
        raise _ConfigError(f"`functionConfig` must be a `ConfigMap` or `{_FN_KIND}`")
    if not annotations:
        raise _ConfigError("input annotation list cannot be empty")
    return annotations, [*specs, *_COMMON_ANNOTATIONS]


def _resource_id(obj: CommentedMap) -> str:
    """kustomize's ResId string, used in its duplicate-resource error."""
    group, version, kind = _krm.group_version_kind(obj)
    gvk = ".".join([kind or "[noKind]", version or "[noVer]", group or "[noGrp]"])
    return f"{gvk}/{_krm.name(obj) or '[noName]'}.{_krm.namespace(obj) or '[noNs]'}"


def _apply(
    obj: CommentedMap, spec: _FieldSpec, annotations: dict[str, str]
) -> tuple[str, ...] | None:
    """Set the annotations at one field spec; returns the field path written, if any."""
    cur: object = obj
    for part in spec.path:
        if not isinstance(cur, CommentedMap):
            return None
        nxt = cur.get(part)
        if nxt is None:
            if not spec.create:
                return None
            nxt = CommentedMap()
            cur[part] = nxt
        cur = nxt
    if not isinstance(cur, CommentedMap):
        return None
    for key in sorted(annotations):
        # kustomize's SetEntry replaces the value node: a fresh string node, double-quoted
        # when YAML would read it as something else.
        text = annotations[key]
        cur[key] = (
            DoubleQuotedScalarString(text)
            if _krm.is_yaml11_non_string(text)
            else _krm.string_scalar(text)
        )
    return spec.path


def run(resource_list: CommentedMap) -> CommentedMap:
    """Set the configured annotations; see the module docstring."""
    rl = _krm.copy_resource_list(resource_list)
    try:
        annotations, specs = _configure(_krm.function_config(rl))
    except _ConfigError as err:
        _fail(f"failed to configure function: {err}")

    seen: set[str] = set()
    for obj in _krm.items(rl):
        rid = _resource_id(obj)
        if rid in seen:
            _fail(
                "failed to run function: may not add resource with an already registered id: " + rid
            )
        seen.add(rid)

    written: dict[tuple[str, int, str], dict[str, str]] = {}
    for obj in _krm.items(rl):
        index_text = _krm.file_index_text(obj)
        try:
            index = int(index_text) if index_text else 0
        except ValueError:
            index = 0
        for spec in specs:
            if not spec.selects(obj):
                continue
            path = _apply(obj, spec, annotations)
            if path is not None:
                key = (_krm.file_path(obj), index, ".".join(path))
                written.setdefault(key, {}).update(annotations)

    _krm.add_results(rl, _results(written))
    return rl


def _results(written: dict[tuple[str, int, str], dict[str, str]]) -> list[CommentedMap]:
    if not written:
        return [_krm.result("no annotations applied")]
    items = []
    for (path, index, field), values in written.items():
        message = "set annotations: " + gojson.marshal(values, sort_keys=True)
        file: dict[str, object] = {}
        if path:
            file["path"] = path
        if index:
            file["index"] = index
        items.append(
            ((path, index, field, message), _krm.result(message, field={"path": field}, file=file))
        )
    # kyaml's Results.Sort: file path, file index, then the item's text (field path first).
    items.sort(key=lambda pair: pair[0])
    return [item for _, item in items]


def _fail(message: str) -> NoReturn:
    _krm.fail(f"[error]: {message}", [_krm.result(message, _krm.ERROR)])
