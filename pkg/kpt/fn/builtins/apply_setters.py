"""The apply-setters catalog function (v0.2 and v0.3 lines), run in-process.

Where it sits: `BUILTINS["apply-setters"]` (`run`, the newest line) and
`VERSIONED_BUILTINS["apply-setters"]` (`run_versioned`, which the function runtime calls with
the tag of the step's image), called with a KRM `ResourceList`. Fields tagged with a
`# kpt-set: <pattern>` line comment get the pattern with the setter values from the
functionConfig's `data` filled in (reference §6): scalars keep their quoting and lose their
tag, array setters replace a whole sequence. Every item is scanned, including the Kptfile and
local-config resources. Both lines change the same fields; their results differ (reference
§6, §9), so the tag picks them:

- v0.2 (tags `v0.2`, `v0.2.x`, and older): one item per changed field with the message,
  `field.path` and `file.path`, no severity, values shown as they are;
- v0.3 (tags `v0.3` and later, `latest`, any other or no tag): one `info` item per changed
  field with `resourceRef` and the current/proposed values (truncated or redacted).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from pkg.kpt import yamlutil
from pkg.kpt.fn.builtins import _krm

SETTER_COMMENT_PREFIX = "# kpt-set: "
_SETTER_REF = re.compile(r"\$\{([^}]*)\}")

_MAX_LOGGED_VALUE = 128
_REDACTED = "<redacted>"
_SENSITIVE_WORDS = (
    "password passwd secret token apikey api_key api-key credential privatekey private_key "
    "cert certificate bearer auth"
).split()
_SECRET_PATTERNS = tuple(
    re.compile(p)
    for p in (
        r"-----BEGIN [A-Z ]+-----",
        r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
        r"AKIA[0-9A-Z]{16}",
        r"ghp_[A-Za-z0-9]{36,}",
        r"sk-[A-Za-z0-9]{20,}",
        r"xox[baprs]-[A-Za-z0-9-]+",
    )
)


class SetterError(Exception):
    """A setter comment that cannot be applied; the message is the catalog's."""


@dataclass
class _Change:
    file_path: str
    resource_ref: dict[str, str]
    field_path: str
    current: str
    proposed: str
    pattern: str


@dataclass
class ApplySetters:
    """The filter: setter values by name, and the changes it made."""

    setters: list[tuple[str, str]]
    changes: list[_Change] = field(default_factory=list)

    def apply(self, obj: CommentedMap) -> None:
        file_path = _krm.file_path(obj)
        ref = _krm.resource_ref(obj)
        for path, holder, comment, setter in _walk(obj, ""):
            pattern = _setter_pattern(comment)
            if not pattern or not self._wanted(pattern):
                continue
            field_path, current, proposed = setter(self, path, holder, pattern, comment)
            self.changes.append(_Change(file_path, ref, field_path, current, proposed, pattern))

    def _wanted(self, pattern: str) -> bool:
        return any(f"${{{name}}}" in pattern for name, _ in self.setters)

    def value_of(self, pattern: str) -> str:
        name = _clean(pattern)
        for setter_name, value in self.setters:
            if setter_name == name:
                return value
        return ""

    def substitute(self, pattern: str, current: str) -> str:
        result = pattern
        for name, value in self.setters:
            result = result.replace(f"${{{name}}}", value)
        for name, value in current_setter_values(pattern, current).items():
            result = result.replace(f"${{{name}}}", value)
        unresolved = _SETTER_REF.findall(result)
        if unresolved:
            refs = _krm.go_list(f"${{{n}}}" for n in unresolved)
            raise SetterError(f"values for setters {refs} must be provided")
        return result


# Where a setter writes: (container, key or index).
_Holder = tuple[CommentedMap | CommentedSeq, Any]
# A setter: (filter, path, holder, pattern, comment) -> (field path, current, proposed value)
_Setter = Callable[["ApplySetters", str, _Holder, str, str], tuple[str, str, str]]


def _set_scalar(
    setters: ApplySetters, path: str, holder: _Holder, pattern: str, comment: str
) -> tuple[str, str, str]:
    del comment  # stays where it is
    container, key = holder
    current = _krm.field_text(container, key)
    new_text = setters.substitute(pattern, current)
    if new_text == "":
        container[key] = DoubleQuotedScalarString("")
    else:
        _krm.set_scalar_text(container, key, new_text, keep_tag=False)
    return path.lstrip("."), current, new_text


def _set_array(
    setters: ApplySetters, path: str, holder: _Holder, pattern: str, comment: str
) -> tuple[str, str, str]:
    container, key = holder
    assert isinstance(container, CommentedMap)
    refs = _SETTER_REF.findall(pattern)
    if not (len(refs) == 1 and pattern.startswith("${") and pattern.endswith("}")):
        raise SetterError(f"invalid setter pattern for array node: {_krm.go_quote(pattern)}")
    value = setters.value_of(pattern)
    field_path = f"{path}.{key}".lstrip(".")
    if value == "":
        # An empty sequence is written `key: [] # kpt-set: ...`: flow style, comment on the value.
        empty = CommentedSeq()
        empty.fa.set_flow_style()
        container[key] = empty
        yamlutil.set_line_comment(container, key, comment)
        yamlutil.set_key_line_comment(container, key, None)
        return field_path, "", value
    try:
        parsed = yamlutil.load_documents(value)
    except yamlutil.YAMLError:
        parsed = []
    if len(parsed) != 1 or not isinstance(parsed[0], CommentedSeq):
        raise SetterError(
            f"input to array setter must be an array of values, but found {_krm.go_quote(value)}"
        )
    sequence = parsed[0]
    # A non-empty one is a block sequence with the comment after the key.
    sequence.fa.set_block_style()
    container[key] = sequence
    yamlutil.set_line_comment(container, key, None)
    yamlutil.set_key_line_comment(container, key, comment)
    # a sequence node has no text: the current value is empty
    return field_path, "", value


def _walk(node: object, path: str) -> Iterator[tuple[str, _Holder, str, _Setter]]:
    """(path, holder, line comment, setter) for every taggable field, in the catalog's order.

    Like the catalog's visitor, a mapping's sequence-valued fields are offered before the
    mapping's fields are descended into. The comment of a sequence is the one after its key,
    or for a flow sequence the one after the value.
    """
    if isinstance(node, CommentedMap):
        for key, value in list(node.items()):
            if isinstance(value, CommentedSeq):
                if yamlutil.is_flow(value):
                    comment = _line_comment(node, key)
                else:
                    comment = yamlutil.get_key_line_comment(node, key) or ""
                yield path, (node, key), comment, _set_array
        for key in list(node.keys()):
            value = node[key]
            child = f"{path}.{key}"
            if isinstance(value, CommentedMap | CommentedSeq):
                yield from _walk(value, child)
            else:
                yield child, (node, key), _line_comment(node, key), _set_scalar
    elif isinstance(node, CommentedSeq):
        for index in range(len(node)):
            value = node[index]
            child = f"{path}[{index}]"
            if isinstance(value, CommentedMap | CommentedSeq):
                yield from _walk(value, child)
            else:
                yield child, (node, index), _line_comment(node, index), _set_scalar


def _line_comment(container: CommentedMap | CommentedSeq, key: Any) -> str:
    meta = container.ca.items.get(key)
    if isinstance(meta, yamlutil.EntryMeta):
        return meta.line
    return ""


def _setter_pattern(comment: str) -> str:
    if not comment.startswith(SETTER_COMMENT_PREFIX):
        return ""
    return comment[len(SETTER_COMMENT_PREFIX) :].strip()


def _clean(ref: str) -> str:
    ref = ref.strip()
    ref = ref.removeprefix("${")
    return ref.removesuffix("}")


def current_setter_values(pattern: str, value: str) -> dict[str, str]:
    """Values of the setters in `pattern` recovered from the current field `value`.

    Each `${name}` becomes a greedy group of an unanchored regular expression; when any group is
    empty, or the pattern does not match, nothing is recovered.
    """
    refs = [m.group(0) for m in _SETTER_REF.finditer(pattern)]
    regex = re.escape(pattern)
    for ref in refs:
        regex = regex.replace(re.escape(ref), "(.*)")
    try:
        match = re.search(regex, value)
    except re.error:
        return {}
    if match is None:
        return {}
    groups = match.groups()
    if len(groups) != len(refs) or any(g == "" for g in groups):
        return {}
    return {_clean(ref): group for ref, group in zip(refs, groups, strict=True)}


def sanitize(value: str, field_path: str, pattern: str) -> str:
    """A value safe to show in results: redacted when it looks secret, else truncated."""
    if _looks_secret(value, field_path, pattern):
        return _REDACTED
    if len(value.encode()) <= _MAX_LOGGED_VALUE:
        return value
    raw = value.encode()
    head = raw[:_MAX_LOGGED_VALUE].decode(errors="ignore")
    return f"{head}... (truncated {len(raw) - _MAX_LOGGED_VALUE} chars)"


def _looks_secret(value: str, field_path: str, pattern: str) -> bool:
    lower_path = field_path.lower()
    if any(word in lower_path for word in _SENSITIVE_WORDS):
        return True
    for ref in _SETTER_REF.findall(pattern):
        name = _clean(ref).lower()
        if any(word in name for word in _SENSITIVE_WORDS):
            return True
    if value == "":
        return False
    if any(p.search(value) for p in _SECRET_PATTERNS):
        return True
    return _long_base64_like(value)


def _long_base64_like(value: str) -> bool:
    if len(value.encode()) < 40:
        return False
    kinds = set()
    counted = 0
    for ch in value:
        if ch.isupper():
            kinds.add("upper")
        elif ch.islower():
            kinds.add("lower")
        elif ch.isdigit():
            kinds.add("digit")
        elif ch in "+/=":
            kinds.add("symbol")
        else:
            return False
        counted += 1
    if counted / len(value.encode()) < 0.9:
        return False
    return len(kinds) >= 2


def setters_from_config(config: Mapping[str, object] | None) -> list[tuple[str, str]]:
    """The setters of a functionConfig: its `data` entries as strings (null is empty)."""
    if config is None:
        return []
    data = config.get("data")
    if not isinstance(data, Mapping):
        return []
    return list(_krm.string_map(data).items())


# The first catalog line with v0.3 results; also the line of tags that name no version.
_V03: Final = (0, 3)
_TAG_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?")


def results_line(tag: str) -> tuple[int, int]:
    """The catalog line (major, minor) whose results an image tag gets: the version the tag
    names, or the newest line for `latest`, `unstable`, a digest or no tag at all."""
    match = _TAG_VERSION.fullmatch(tag)
    if match is None:
        return _V03
    return (int(match.group(1)), int(match.group(2)))


def run(resource_list: CommentedMap) -> CommentedMap:
    """Apply the setters with the newest line's results; see the module docstring."""
    return run_versioned(resource_list, "")


def run_versioned(resource_list: CommentedMap, tag: str) -> CommentedMap:
    """Apply the setters with the results of the catalog line `tag` names (`""`: newest)."""
    rl = _krm.copy_resource_list(resource_list)
    setters = ApplySetters(setters_from_config(_krm.function_config(rl)))
    try:
        for obj in _krm.items(rl):
            setters.apply(obj)
    except SetterError as err:
        message = f"failed to apply setters: {err}"
        _krm.fail(str(err), [_krm.result(message, _krm.ERROR)])
    results = (
        _results(setters.changes) if results_line(tag) >= _V03 else _v02_results(setters.changes)
    )
    _krm.add_results(rl, results)
    return rl


_NO_MATCHES = "no matches for input setter(s)"


def _v02_results(changes: list[_Change]) -> list[CommentedMap]:
    """v0.2: message, field path and file path only; the values are not sanitised."""
    if not changes:
        return [_krm.result(_NO_MATCHES)]
    return [
        _krm.result(
            f"set field value to {_krm.go_quote(change.proposed)}",
            field={"path": change.field_path},
            file={"path": change.file_path} if change.file_path else {},
        )
        for change in changes
    ]


def _results(changes: list[_Change]) -> list[CommentedMap]:
    if not changes:
        return [_krm.result(_NO_MATCHES)]
    out = []
    for change in changes:
        current = sanitize(change.current, change.field_path, change.pattern)
        proposed = sanitize(change.proposed, change.field_path, change.pattern)
        field_info = {"path": change.field_path}
        if current:
            field_info["currentValue"] = current
        if proposed:
            field_info["proposedValue"] = proposed
        out.append(
            _krm.result(
                f"set field value to {_krm.go_quote(proposed)}",
                _krm.INFO,
                resource_ref=change.resource_ref,
                field=field_info,
                file={"path": change.file_path} if change.file_path else {},
            )
        )
    return out
