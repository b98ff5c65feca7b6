"""The apply-replacements catalog function, run in-process.

Where it sits: `BUILTINS["apply-replacements"]`, called by the function runtime with a KRM
`ResourceList`. The catalog function is kustomize's `replacements` filter (api v0.20, reference
§7) over every item, plus the 2026 catalog's fix that keeps string-typed source values quoted
at their targets. Replacements run in order; each copies one source value (a field of exactly
one selected item, or `sourceValue`) into the field paths of every selected target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pkg.kpt import yamlutil
from pkg.kpt.fn.builtins import _krm

_FN_API_VERSION = "fn.kpt.dev/v1alpha1"
_FN_KIND = "ApplyReplacements"
_DEFAULT_FIELD_PATH = "metadata.name"
_NOT_NAMESPACEABLE = "_non_namespaceable_"


class ReplacementError(Exception):
    """A replacement that cannot be applied; the message is kustomize's."""


# --------------------------------------------------------------------------- config model


@dataclass(frozen=True)
class ResId:
    """kustomize's ResId as used in selectors: every part optional."""

    group: str = ""
    version: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""

    @classmethod
    def of_object(cls, obj: object) -> ResId:
        group, version, kind = _krm.group_version_kind(obj)
        return cls(group, version, kind, _krm.name(obj), _krm.namespace(obj))

    @classmethod
    def parse(cls, raw: object, where: str) -> ResId:
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise _type_error(where, raw, "types.ResId")
        return cls(
            *(
                _string_field(raw, key, where)
                for key in ("group", "version", "kind", "name", "namespace")
            )
        )

    def is_empty(self) -> bool:
        return self == ResId()

    def __str__(self) -> str:
        gvk = ".".join(
            [self.kind or "[noKind]", self.version or "[noVer]", self.group or "[noGrp]"]
        )
        return f"{gvk}/{self.name or '[noName]'}.{self.namespace or '[noNs]'}"

    def effective_namespace(self) -> str:
        api_version = f"{self.group}/{self.version}" if self.group else self.version
        if _krm.is_known_cluster_scoped_kind(api_version, self.kind):
            return _NOT_NAMESPACEABLE
        if self.namespace in {"", "default"}:
            return "default"
        return self.namespace

    def is_selected_by(self, selector: ResId) -> bool:
        return (
            (not selector.name or selector.name == self.name)
            and (
                not selector.namespace
                or selector.effective_namespace() == self.effective_namespace()
            )
            and (not selector.group or selector.group == self.group)
            and (not selector.version or selector.version == self.version)
            and (not selector.kind or selector.kind == self.kind)
        )


@dataclass(frozen=True)
class FieldOptions:
    delimiter: str = ""
    index: int = 0
    create: bool = False

    @classmethod
    def parse(cls, raw: object, where: str) -> FieldOptions | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise _type_error(where, raw, "types.FieldOptions")
        index = raw.get("index", 0)
        if not isinstance(index, int) or isinstance(index, bool):
            raise _type_error(f"{where}.index", index, "int")
        create = raw.get("create", False)
        if not isinstance(create, bool):
            raise _type_error(f"{where}.create", create, "bool")
        return cls(_string_field(raw, "delimiter", where), int(index), create)

    def __str__(self) -> str:
        if not self.delimiter and not self.create:
            return ""
        return f"{self.delimiter}({self.index}), create={'true' if self.create else 'false'}"


@dataclass(frozen=True)
class Selector:
    res_id: ResId
    label_selector: str = ""
    annotation_selector: str = ""


@dataclass(frozen=True)
class Target:
    select: Selector | None
    reject: list[Selector]
    field_paths: list[str]
    options: FieldOptions | None


@dataclass(frozen=True)
class Source:
    res_id: ResId
    field_path: str
    options: FieldOptions | None

    def __str__(self) -> str:
        parts = [str(self.res_id)]
        if self.field_path:
            parts.append(self.field_path)
        options = str(self.options) if self.options else ""
        if options:
            parts.append(options)
        return ":".join(parts)


@dataclass
class Replacement:
    source: Source | None
    source_value: str | None
    targets: list[Target] | None = field(default=None)


def _type_error(where: str, value: object, go_type: str) -> ReplacementError:
    return ReplacementError(
        "unable to convert object to *replacements.Replacements with error: json: cannot "
        f"unmarshal {_krm.go_type_name(value)} into Go struct field {where} of type {go_type}"
    )


def _string_field(raw: Mapping[str, object], key: str, where: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _type_error(f"{where}.{key}", value, "string")
    return str(value)


def _selector(raw: object, where: str) -> Selector:
    if not isinstance(raw, Mapping):
        raise _type_error(where, raw, "types.Selector")
    return Selector(
        ResId.parse(raw, where),
        _string_field(raw, "labelSelector", where),
        _string_field(raw, "annotationSelector", where),
    )


def parse_replacements(config: Mapping[str, object]) -> list[Replacement]:
    raw_list = config.get("replacements")
    if raw_list is None:
        return []
    if not isinstance(raw_list, list):
        raise _type_error("Replacements.replacements", raw_list, "[]types.Replacement")
    out = []
    for raw in raw_list:
        where = "Replacements.replacements"
        if not isinstance(raw, Mapping):
            raise _type_error(where, raw, "types.Replacement")
        source = None
        if raw.get("source") is not None:
            src = raw["source"]
            if not isinstance(src, Mapping):
                raise _type_error(f"{where}.source", src, "types.SourceSelector")
            source = Source(
                ResId.parse(src, f"{where}.source"),
                _string_field(src, "fieldPath", f"{where}.source"),
                FieldOptions.parse(src.get("options"), f"{where}.source.options"),
            )
        source_value = raw.get("sourceValue")
        if source_value is not None and not isinstance(source_value, str):
            raise _type_error(f"{where}.sourceValue", source_value, "string")
        targets = None
        if raw.get("targets") is not None:
            raw_targets = raw["targets"]
            if not isinstance(raw_targets, list):
                raise _type_error(f"{where}.targets", raw_targets, "[]*types.TargetSelector")
            targets = [_target(t, f"{where}.targets") for t in raw_targets]
        out.append(Replacement(source, source_value, targets))
    return out


def _target(raw: object, where: str) -> Target:
    if not isinstance(raw, Mapping):
        raise _type_error(where, raw, "types.TargetSelector")
    select = _selector(raw["select"], f"{where}.select") if raw.get("select") is not None else None
    rejects = raw.get("reject") or []
    if not isinstance(rejects, list):
        raise _type_error(f"{where}.reject", rejects, "[]*types.Selector")
    paths = raw.get("fieldPaths") or []
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise _type_error(f"{where}.fieldPaths", paths, "[]string")
    return Target(
        select,
        [_selector(r, f"{where}.reject") for r in rejects],
        [str(p) for p in paths],
        FieldOptions.parse(raw.get("options"), f"{where}.options"),
    )


# --------------------------------------------------------------------------- field paths


def split_path(path: str) -> list[str]:
    """kyaml's SmarterPathSplitter: dots split, brackets group; `[a.b]` names a key with dots."""
    parts: list[str] = []
    current = ""
    depth = 0
    for ch in path:
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        if ch == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    out = []
    for part in parts:
        if part.startswith("[") and part.endswith("]") and "=" not in part:
            out.append(part[1:-1])
        else:
            out.append(part)
    return out


def _is_list_filter(part: str) -> bool:
    return part.startswith("[") and part.endswith("]") and "=" in part


_Holder = tuple[Any, Any]  # (container, key or index)
_PLACEHOLDER = object()  # marks a scalar field that was just created


def _create_kind(next_part: str | None, final_kind: type | None) -> Any:
    if next_part is None:
        if final_kind is CommentedSeq:
            return CommentedSeq()
        if final_kind is CommentedMap:
            return CommentedMap()
        return _PLACEHOLDER
    if _is_list_filter(next_part) or next_part.isdigit():
        return CommentedSeq()
    return CommentedMap()


def lookup(
    node: Any, parts: list[str], create: type | None = None, *, creating: bool = False
) -> list[_Holder]:
    """Holders of every field `parts` leads to; with `creating`, missing fields are made.

    `create` is the node kind a missing last field is made as (kyaml's PathMatcher.Create).
    """
    matcher = _PathMatcher(parts, create, creating)
    matcher.match(node, 0, None)
    return matcher.found


class _PathMatcher:
    """kyaml's PathMatcher: field names, `[k=v]` list filters, indexes, `*` and `-`."""

    def __init__(self, parts: list[str], create: type | None, creating: bool) -> None:
        self.parts = parts
        self.create = create
        self.creating = creating
        self.found: list[_Holder] = []

    def match(self, node: Any, i: int, holder: _Holder | None) -> None:
        if i == len(self.parts):
            if holder is not None:
                self.found.append(holder)
            return
        part = self.parts[i]
        nxt = self.parts[i + 1] if i + 1 < len(self.parts) else None
        if _is_list_filter(part):
            self._match_filter(node, i, part)
        elif part == "*":
            if isinstance(node, list):
                for index, element in enumerate(node):
                    self.match(element, i + 1, (node, index))
            elif isinstance(node, Mapping):
                for key in list(node.keys()):
                    self.match(node[key], i + 1, (node, key))
        elif isinstance(node, list):
            if part.isdigit() and int(part) < len(node):
                self.match(node[int(part)], i + 1, (node, int(part)))
            elif part == "-" and self.creating:
                node.append(_create_kind(nxt, self.create))
                self.match(node[-1], i + 1, (node, len(node) - 1))
        elif isinstance(node, CommentedMap):
            if part not in node or (node[part] is None and nxt is not None):
                if not self.creating:
                    return
                node[part] = _create_kind(nxt, self.create)
            self.match(node[part], i + 1, (node, part))

    def _match_filter(self, node: Any, i: int, part: str) -> None:
        if not isinstance(node, list):
            return
        key, _, value = part[1:-1].partition("=")
        matched = False
        for index, element in enumerate(node):
            if key == "":
                hit = _krm.is_scalar(element) and _krm.field_text(node, index) == value
            else:
                hit = (
                    isinstance(element, Mapping)
                    and key in element
                    and _krm.is_scalar(element[key])
                    and _krm.field_text(element, key) == value
                )
            if hit:
                matched = True
                self.match(element, i + 1, (node, index))
        if not matched and self.creating:
            element = CommentedMap()
            _krm.set_plain(element, key, value)
            node.append(element)
            self.match(element, i + 1, (node, len(node) - 1))


# --------------------------------------------------------------------------- label selectors

_REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[^\s!=,()]+)\s*"
    r"(?:(?P<op>==|=|!=)\s*(?P<value>[^\s,()]*)|(?P<set>in|notin)\s*\((?P<values>[^)]*)\))?\s*$"
)


def _split_requirements(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def selector_matches(selector: str, values: Mapping[str, str]) -> bool:
    """Kubernetes label-selector syntax against a label or annotation map."""
    for requirement in _split_requirements(selector):
        match = _REQUIREMENT.match(requirement)
        if match is None:
            raise ReplacementError(f"unable to parse requirement: {requirement.strip()}")
        key = match["key"]
        if match["neg"]:
            if key in values:
                return False
        elif match["op"] in {"=", "=="}:
            if values.get(key) != match["value"]:
                return False
        elif match["op"] == "!=":
            if values.get(key) == match["value"]:
                return False
        elif match["set"]:
            options = {v.strip() for v in match["values"].split(",") if v.strip()}
            if match["set"] == "in" and values.get(key) not in options:
                return False
            if match["set"] == "notin" and key in values and values[key] in options:
                return False
        elif key not in values:
            return False
    return True


# --------------------------------------------------------------------------- the filter


def _is_nil_or_empty(value: object) -> bool:
    if value is None:
        return True
    return isinstance(value, Mapping | list) and len(value) == 0


def _select_source(nodes: list[CommentedMap], source: Source) -> CommentedMap:
    matches = [n for n in nodes if ResId.of_object(n).is_selected_by(source.res_id)]
    if len(matches) > 1:
        raise ReplacementError(f"multiple matches for selector {source}")
    if not matches:
        raise ReplacementError(f"nothing selected by {source}")
    return matches[0]


@dataclass(frozen=True)
class _Value:
    """A replacement value: the node to copy, and for a scalar the text kustomize copies."""

    node: object
    text: str


def _source_value(nodes: list[CommentedMap], r: Replacement) -> _Value:
    if r.source_value is not None:
        # kyaml's NewScalarRNode: a plain scalar without a tag
        return _Value(yamlutil.plain_value(r.source_value)[0], r.source_value)
    assert r.source is not None
    source = _select_source(nodes, r.source)
    field_path = r.source.field_path or _DEFAULT_FIELD_PATH
    holders = lookup(source, split_path(field_path))
    value = holders[0][0][holders[0][1]] if holders else None
    if _is_nil_or_empty(value):
        raise ReplacementError(
            f"fieldPath `{field_path}` is missing for replacement source {r.source.res_id}"
        )
    container, key = holders[0]
    text = _krm.field_text(container, key) if _krm.is_scalar(value) else ""
    options = r.source.options
    if options is None or not options.delimiter:
        return _Value(value, text)
    if not _krm.is_scalar(value):
        raise ReplacementError("delimiter option can only be used with scalar nodes")
    parts = text.split(options.delimiter)
    if options.index >= len(parts) or options.index < 0:
        raise ReplacementError(f"options.index {options.index} is out of bounds for value {text}")
    part = parts[options.index]
    # kustomize copies the node and changes its text: quoting and string type stay.
    if isinstance(value, _krm.QUOTED_STYLES):
        return _Value(type(value)(part), part)
    if isinstance(value, str) and not isinstance(value, yamlutil.PlainTimestamp):
        return _Value(part, part)
    return _Value(yamlutil.plain_value(part)[0], part)


def _field_error(path: str, creating: bool) -> ReplacementError:
    what = "find or create" if creating else "find"
    return ReplacementError(f"unable to {what} field {_krm.go_quote(path)} in replacement target")


def _set_field(options: FieldOptions | None, holder: _Holder, value: _Value) -> None:
    container, key = holder
    target = container[key]
    text = value.text
    if options is not None and options.delimiter:
        if target is _PLACEHOLDER or not _krm.is_scalar(target):
            raise ReplacementError("delimiter option can only be used with scalar nodes")
        parts = _krm.field_text(container, key).split(options.delimiter)
        if options.index < 0:
            parts.insert(0, text)
        elif options.index >= len(parts):
            parts.append(text)
        else:
            parts[options.index] = text
        text = options.delimiter.join(parts)
    if target is _PLACEHOLDER or (target is None and _krm.is_scalar(value.node)):
        # A new field has no tag yet: copied text reads as what it looks like, and a mapping
        # or sequence value is copied whole.
        if _krm.is_scalar(value.node):
            _krm.set_plain(container, key, text)
        else:
            container[key] = yamlutil.copy_node(value.node)
    elif _krm.is_scalar(target):
        # kustomize copies only the text into an existing scalar; its tag and style stay.
        _krm.set_scalar_text(container, key, text, keep_tag=True)
    elif _krm.is_scalar(value.node) and isinstance(value.node, str):
        container[key] = value.node
    elif _krm.is_scalar(value.node):
        _krm.set_plain(container, key, text)
    else:
        container[key] = yamlutil.copy_node(value.node)


def _apply_targets(nodes: list[CommentedMap], value: _Value, targets: list[Target]) -> None:
    for target in targets:
        if target.select is None:
            raise ReplacementError("target must specify resources to select")
        field_paths = target.field_paths or [_DEFAULT_FIELD_PATH]
        for node in nodes:
            select = target.select
            if select.label_selector and not selector_matches(
                select.label_selector, _krm.get_labels(node)
            ):
                continue
            if select.annotation_selector and not selector_matches(
                select.annotation_selector, _krm.get_annotations(node)
            ):
                continue
            rid = ResId.of_object(node)
            if not rid.is_selected_by(select.res_id):
                continue
            if any(not r.res_id.is_empty() and rid.is_selected_by(r.res_id) for r in target.reject):
                continue
            _copy_to_target(node, value, target, field_paths)


def _copy_to_target(node: CommentedMap, value: _Value, target: Target, paths: list[str]) -> None:
    creating = target.options is not None and target.options.create
    kind: type | None = None
    if creating and isinstance(value.node, Mapping):
        kind = CommentedMap
    elif creating and isinstance(value.node, list):
        kind = CommentedSeq
    for path in paths:
        holders = lookup(node, split_path(path), kind, creating=creating)
        if not holders:
            raise _field_error(path, creating)
        for holder in holders:
            _set_field(target.options, holder, value)


def _preserve_string_typing(nodes: list[CommentedMap], replacements: list[Replacement]) -> None:
    """The 2026 catalog's fix: a string source keeps the string type and quoting at its targets."""
    for r in replacements:
        if r.source is None or r.targets is None:
            continue
        source = next(
            (n for n in nodes if ResId.of_object(n).is_selected_by(r.source.res_id)), None
        )
        if source is None:
            continue
        holders = lookup(source, split_path(r.source.field_path or _DEFAULT_FIELD_PATH))
        src = holders[0][0][holders[0][1]] if holders else None
        # yaml.v3 tags a plain `2021-01-01` as a timestamp, not a string
        if not isinstance(src, str) or isinstance(src, yamlutil.PlainTimestamp) or src == "":
            continue
        for target in r.targets:
            if target.select is None:
                continue
            for node in nodes:
                if not ResId.of_object(node).is_selected_by(target.select.res_id):
                    continue
                for path in target.field_paths:
                    for container, key in lookup(node, split_path(path)):
                        if _krm.is_scalar(container[key]):
                            text = _krm.field_text(container, key)
                            container[key] = _restyle_as(src, text)


def _restyle_as(source: str, text: str) -> str:
    if type(source) is not str:
        return type(source)(text)
    return text


def apply(nodes: list[CommentedMap], replacements: list[Replacement]) -> None:
    """kustomize's replacement filter over `nodes`, changed in place."""
    for r in replacements:
        if r.source_value is not None and r.source is not None:
            raise ReplacementError("value and resource selectors are mutually exclusive")
        if (r.source is None and r.source_value is None) or r.targets is None:
            raise ReplacementError("replacements must specify a source and at least one target")
        value = _source_value(nodes, r)
        _apply_targets(nodes, value, r.targets)
    _preserve_string_typing(nodes, replacements)


def run(resource_list: CommentedMap) -> CommentedMap:
    """Apply the configured replacements; see the module docstring."""
    rl = _krm.copy_resource_list(resource_list)
    config = _krm.function_config(rl)
    try:
        if config is None:
            raise ReplacementError(f"FunctionConfig is missing. Expect `{_FN_KIND}`")
        if _krm.kind(config) != _FN_KIND or _krm.api_version(config) != _FN_API_VERSION:
            raise ReplacementError(
                f"received functionConfig of kind {_krm.kind(config)} and apiVersion "
                f"{_krm.api_version(config)}, only functionConfig of kind {_FN_KIND} and "
                f"apiVersion {_FN_API_VERSION} is supported"
            )
        try:
            replacements = parse_replacements(config)
        except ReplacementError as err:
            raise ReplacementError(
                f"unable to convert functionConfig to replacements:\n{err}"
            ) from err
        apply(list(_krm.items(rl)), replacements)
    except ReplacementError as err:
        _krm.fail(_krm.SDK_FAILURE_STDERR, [_krm.result(str(err), _krm.ERROR)])
    _krm.sort_items(rl)
    return rl
