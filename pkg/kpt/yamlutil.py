"""The YAML data model of kpt in Python: read and write KRM YAML the way kyaml does.

Where it sits: at the bottom of `pkg.kpt`. Package I/O (`pkg.kpt.pkgio`) reads every package file
with `load_all` and writes it back with `dump_all`; the renderer (`pkg.kpt.render`) builds the
function ResourceLists from these nodes; the builtin functions (`pkg.kpt.fn.builtins`) read and
change them in place. Nothing here knows about files, packages or functions.

Data model (the contract with the builtin functions):

- a document is a ruamel.yaml `CommentedMap`, a sequence a `CommentedSeq`; a flow-style collection
  (`{a: b}`, `[a, b]`) has ruamel's flow-style flag set;
- a string is `str` (plain), or ruamel's `SingleQuotedScalarString`, `DoubleQuotedScalarString`,
  `LiteralScalarString`, `FoldedScalarString` for the other styles; a plain scalar that YAML reads
  as a timestamp stays text, as `PlainTimestamp` (a `str`);
- `bool`, `int`, `float` and `None` for the other plain scalars. Non-canonical spellings (`True`,
  `~`, `0x1F`, `1.50`) are remembered per entry and written back unchanged while the value is;
- comments are kept the way go-yaml v3 (and so kyaml) keeps them: per mapping entry and sequence
  item a head comment (lines before it), a line comment (end of its line) and a foot comment.
  Read and change them only through the `*_comment` helpers below.

Writing reproduces go-yaml v3's emitter as kyaml configures it (indent 2, no line wrapping, sequence
indentation "compact" or "wide"), because kpt writes every file it renders through it and the render
conformance cases compare files byte for byte. The emitter below is a port of go-yaml v3's
`emitterc.go` state machine (MIT/Apache-2.0, restated, not copied); the reader uses libyaml's parser
(through PyYAML's C binding: the same parser go-yaml ports) and attributes comments afterwards.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml as _pyyaml
from ruamel.yaml.comments import Comment, CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

__all__ = [
    "COMPACT",
    "WIDE",
    "EntryMeta",
    "PlainTimestamp",
    "YAMLError",
    "copy_comments",
    "copy_node",
    "derive_seq_indent",
    "dump",
    "dump_all",
    "ensure_map",
    "entry_meta",
    "format_float",
    "from_plain",
    "get_foot_comment",
    "get_head_comment",
    "get_key_line_comment",
    "get_line_comment",
    "get_path",
    "is_flow",
    "load",
    "load_all",
    "load_documents",
    "new_string",
    "plain_value",
    "resolve_plain",
    "set_foot_comment",
    "set_head_comment",
    "set_key_line_comment",
    "set_line_comment",
    "set_path",
    "sync_order",
    "to_plain",
]

COMPACT: Final = "compact"
WIDE: Final = "wide"

# libyaml's parser through PyYAML's C binding (the parser go-yaml ports); PyYAML's pure-Python
# port of it when the binding is missing (same events, slower).
_Parser: Any
try:
    from yaml._yaml import CParser as _CParser

    _Parser = _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _Parser = _pyyaml.BaseLoader

_COMMENT_ATTR: Final = Comment.attrib
_FORMAT_ATTR: Final = "_yaml_format"

# ruamel's CommentedMap overrides item access in Python (for merge keys, which KRM never uses);
# the OrderedDict methods underneath are several times faster on the hot paths.
_od_items = OrderedDict.items
_od_set = OrderedDict.__setitem__


class YAMLError(ValueError):
    """Text that is not YAML; the message is go-yaml's (`yaml: line 3: could not find ...`)."""


class PlainTimestamp(str):
    """A plain scalar YAML resolves as a timestamp (`2021-01-02`): text, written back unquoted."""

    __slots__ = ()


@dataclass(slots=True)
class EntryMeta:
    """What go-yaml keeps about one mapping entry or sequence item besides its value.

    `key_*` are the comments of a mapping key node (`key_line`: `key: # c` before a block value;
    `key_foot`: comment lines after the entry), the others those of the value / item node. `text` is
    the original spelling of a plain non-string scalar (`True`, `~`, `0x1F`), used while it still
    reads as the current value.
    """

    key_head: str = ""
    key_line: str = ""
    key_foot: str = ""
    head: str = ""
    line: str = ""
    foot: str = ""
    text: str | None = None


@dataclass(slots=True)
class DocMeta:
    """Comments kept on a mapping itself: `head` (the lines before a document's first key, or
    before a mapping item of a sequence) and `foot` (a document's trailing comment lines)."""

    head: str = ""
    foot: str = ""


# ----------------------------------------------------------------------------------- resolution

_FLOAT_RE = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INT_RE = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_DOT_FLOAT_RE = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
_TIMESTAMP_RE = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:(?:[Tt][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2}))"
    r"|(?: [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?))?"
)
_RESOLVE_MAP: Final[dict[str, str]] = {
    **dict.fromkeys(("true", "True", "TRUE", "false", "False", "FALSE"), "bool"),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), "null"),
    **dict.fromkeys((".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF"), "float"),
    **dict.fromkeys(("+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"), "float"),
}
_HINT_CHARS: Final = frozenset("+-0123456789yYnNtTfFoO~.")


def resolve_plain(text: str) -> str:
    """go-yaml v3's kind of an untagged plain scalar: null, bool, int, float, timestamp or str."""
    if text and text[0] not in _HINT_CHARS:
        return "str"
    kind = _RESOLVE_MAP.get(text)
    if kind is not None:
        return kind
    first = text[0]
    if first == ".":
        return "float" if _DOT_FLOAT_RE.fullmatch(text) else "str"
    if first in "yYnNtTfFoO~":
        return "str"
    if first.isdigit() and _TIMESTAMP_RE.fullmatch(text):
        return "timestamp"
    plain = text.replace("_", "")
    if _INT_RE.fullmatch(plain):
        return "int"
    if _FLOAT_RE.fullmatch(plain):
        return "float"
    return "str"


def plain_value(text: str) -> tuple[Any, bool]:
    """The Python value of a plain (untagged) scalar with this text, and whether `text` is the
    canonical spelling the writer would produce for that value (`1` yes, `0x1`, `1.50`, `~`
    no)."""
    kind = resolve_plain(text)
    if kind == "str":
        return text, True
    if kind == "null":
        return None, text == "null"
    if kind == "bool":
        value = text in ("true", "True", "TRUE")
        return value, text == ("true" if value else "false")
    if kind == "timestamp":
        return PlainTimestamp(text), True
    if kind == "int":
        plain = text.replace("_", "")
        sign = -1 if plain.startswith("-") else 1
        digits = plain.lstrip("+-")
        if len(digits) > 1 and digits[0] == "0" and digits[1] in "0123456789":
            number = int(digits, 8)
        else:
            number = int(digits, 0)
        number *= sign
        return number, str(number) == text
    plain = text.replace("_", "")
    lowered = plain.lower()
    if lowered.endswith("nan"):
        value_f = float("nan")
    elif lowered.endswith("inf"):
        value_f = float("-inf") if lowered.startswith("-") else float("inf")
    else:
        value_f = float(plain)
    return value_f, format_float(value_f) == text


def format_float(value: float) -> str:
    """Go's strconv.FormatFloat(v, 'g', -1, 64) as yaml.v3 writes floats."""
    if math.isnan(value):
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        digits = exponent.lstrip("+-").rjust(2, "0")
        text = f"{mantissa}e{sign}{digits}"
    elif text.endswith(".0"):
        text = text[:-2]
    exp = abs(value)
    if exp != 0 and (exp >= 1e21 or exp < 1e-4) and "e" not in text:
        text = f"{value:e}"
    return text


# --------------------------------------------------------------------------------- metadata access


def entry_meta(container: Any, key: Any) -> EntryMeta | None:
    """The spelling and comments kept for `container[key]`, None when nothing is kept."""
    ca = getattr(container, _COMMENT_ATTR, None)
    if ca is None:
        return None
    meta = ca.items.get(key)
    return meta if isinstance(meta, EntryMeta) else None


def _meta_for_update(container: CommentedMap | CommentedSeq, key: Any) -> EntryMeta:
    items = container.ca.items
    meta = items.get(key)
    if not isinstance(meta, EntryMeta):
        meta = EntryMeta()
        items[key] = meta
    return meta


def _doc_meta(root: Any) -> DocMeta | None:
    ca = getattr(root, _COMMENT_ATTR, None)
    if ca is None:
        return None
    meta = ca.comment
    return meta if isinstance(meta, DocMeta) else None


def get_line_comment(container: CommentedMap | CommentedSeq, key: Any) -> str | None:
    """The comment at the end of the line of `container[key]` (`image: x # kpt-set: ...`).

    For a mapping entry whose value is a block collection, the comment after `key:` is returned
    (the key's line comment) when the value has none. The text starts with `#`.
    """
    meta = entry_meta(container, key)
    if meta is None:
        return None
    return meta.line or meta.key_line or None


def set_line_comment(container: CommentedMap | CommentedSeq, key: Any, text: str | None) -> None:
    """Set (or with None remove) the line comment of a value; `text` may omit the leading `#`."""
    meta = _meta_for_update(container, key)
    meta.line = _comment_text(text)


def get_key_line_comment(container: CommentedMap, key: Any) -> str | None:
    """The comment after `key:` when the value starts on the next line (block collections)."""
    meta = entry_meta(container, key)
    return (meta.key_line or None) if meta is not None else None


def set_key_line_comment(container: CommentedMap, key: Any, text: str | None) -> None:
    meta = _meta_for_update(container, key)
    meta.key_line = _comment_text(text)


def get_head_comment(container: CommentedMap | CommentedSeq, key: Any) -> str | None:
    """The comment lines right before an entry (joined with newlines, each starting with `#`)."""
    meta = entry_meta(container, key)
    if meta is None:
        return None
    return (meta.key_head if isinstance(container, CommentedMap) else meta.head) or None


def set_head_comment(container: CommentedMap | CommentedSeq, key: Any, text: str | None) -> None:
    meta = _meta_for_update(container, key)
    if isinstance(container, CommentedMap):
        meta.key_head = _comment_text(text)
    else:
        meta.head = _comment_text(text)


def get_foot_comment(container: CommentedMap | CommentedSeq, key: Any) -> str | None:
    """The comment lines after an entry that go-yaml keeps with it."""
    meta = entry_meta(container, key)
    if meta is None:
        return None
    return (meta.key_foot if isinstance(container, CommentedMap) else meta.foot) or None


def set_foot_comment(container: CommentedMap | CommentedSeq, key: Any, text: str | None) -> None:
    meta = _meta_for_update(container, key)
    if isinstance(container, CommentedMap):
        meta.key_foot = _comment_text(text)
    else:
        meta.foot = _comment_text(text)


def _comment_text(text: str | None) -> str:
    if not text:
        return ""
    return "\n".join(line if line.startswith("#") else "# " + line for line in text.split("\n"))


# --------------------------------------------------------------------------------- small helpers


def new_string(text: str) -> str:
    """A string value as kyaml writes a new string node: plain, unless it would read back as
    something else (`"true"`, `"1"`, `""`: double quoted) or spans lines (literal block)."""
    styled: str = text
    if "\n" in text:
        styled = LiteralScalarString(text)
    elif resolve_plain(text) != "str":
        styled = DoubleQuotedScalarString(text)
    return styled


def get_path(node: Any, *path: str | int) -> Any:
    """The value at `path` (map keys and sequence indexes), or None when any step is missing."""
    cur = node
    for step in path:
        if isinstance(step, int) and not isinstance(step, bool):
            if not isinstance(cur, list) or not -len(cur) <= step < len(cur):
                return None
            cur = cur[step]
        else:
            if not isinstance(cur, Mapping) or step not in cur:
                return None
            cur = cur[step]
    return cur


def ensure_map(node: CommentedMap, *path: str) -> CommentedMap:
    """The mapping at `path`; missing (or non-mapping) levels are added at their parent's end."""
    cur = node
    for key in path:
        nxt = cur.get(key)
        if not isinstance(nxt, CommentedMap):
            nxt = CommentedMap()
            cur[key] = nxt
        cur = nxt
    return cur


def set_path(node: CommentedMap, path: Sequence[str], value: Any) -> None:
    """Set `value` at `path`, creating missing mappings; a new key goes to its mapping's end."""
    if not path:
        raise ValueError("empty path")
    ensure_map(node, *path[:-1])[path[-1]] = value


def to_plain(node: Any) -> Any:
    """Plain Python data (dict/list/str/...) of a node tree, for JSON or Starlark."""
    if isinstance(node, Mapping):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def from_plain(data: Any) -> Any:
    """Nodes for plain Python data (keys keep their order; new strings styled like `new_string`)."""
    if isinstance(data, Mapping):
        out = CommentedMap()
        for k, v in data.items():
            out[k] = from_plain(v)
        return out
    if isinstance(data, list | tuple):
        seq = CommentedSeq()
        seq.extend(from_plain(v) for v in data)
        return seq
    if isinstance(data, str) and type(data) is str:
        return new_string(data)
    return data


def copy_node(node: Any) -> Any:
    """A deep copy of a node tree with comments, styles and flow flags (faster than deepcopy)."""
    if isinstance(node, CommentedMap):
        out_map = CommentedMap()
        ok = out_map._ok
        for k, v in _od_items(node):
            _od_set(out_map, k, copy_node(v) if isinstance(v, dict | list) else v)
            ok.add(k)
        _copy_attrs(node, out_map)
        return out_map
    if isinstance(node, CommentedSeq):
        out_seq = CommentedSeq()
        list.extend(out_seq, [copy_node(v) if isinstance(v, dict | list) else v for v in node])
        _copy_attrs(node, out_seq)
        return out_seq
    if isinstance(node, dict):
        return {k: copy_node(v) for k, v in node.items()}
    if isinstance(node, list):
        return [copy_node(v) for v in node]
    return node


def _copy_attrs(src: Any, dst: Any) -> None:
    ca = getattr(src, _COMMENT_ATTR, None)
    if ca is not None:
        items = dst.ca.items
        for key, meta in ca.items.items():
            if isinstance(meta, EntryMeta):
                items[key] = EntryMeta(
                    meta.key_head,
                    meta.key_line,
                    meta.key_foot,
                    meta.head,
                    meta.line,
                    meta.foot,
                    meta.text,
                )
        if isinstance(ca.comment, DocMeta):
            dst.ca.comment = DocMeta(ca.comment.head, ca.comment.foot)
    fmt = getattr(src, _FORMAT_ATTR, None)
    if fmt is not None and fmt.flow_style():
        dst.fa.set_flow_style()


def copy_comments(src: Any, dst: Any) -> None:
    """kyaml's CopyComments: put the comments of `src` on the matching entries of `dst` (same
    keys, same sequence positions) where `dst` has none; used when a function re-created an item."""
    if isinstance(src, CommentedMap) and isinstance(dst, CommentedMap):
        doc = _doc_meta(src)
        if doc is not None and _doc_meta(dst) is None:
            dst.ca.comment = DocMeta(doc.head, doc.foot)
        for key in dst:
            if key not in src:
                continue
            _copy_entry_comments(src, dst, key)
            copy_comments(src[key], dst[key])
    elif isinstance(src, CommentedSeq) and isinstance(dst, CommentedSeq):
        for index in range(min(len(src), len(dst))):
            _copy_entry_comments(src, dst, index)
            copy_comments(src[index], dst[index])


def _copy_entry_comments(src: Any, dst: Any, key: Any) -> None:
    meta = entry_meta(src, key)
    if meta is None:
        return
    target = _meta_for_update(dst, key)
    for name in ("key_head", "key_line", "key_foot", "head", "line", "foot"):
        if not getattr(target, name):
            setattr(target, name, getattr(meta, name))
    if target.text is None and meta.text is not None:
        target.text = meta.text


def sync_order(src: Any, dst: Any) -> None:
    """kyaml's SyncOrder: keys of `dst` that `src` has come first, in `src`'s order; keys only
    `dst` has follow in their own order. Sequences are matched by position."""
    if isinstance(src, CommentedMap) and isinstance(dst, CommentedMap):
        own = [key for key in dst if key not in src]
        for key in src:
            if key in dst:
                dst.move_to_end(key)
        for key in own:
            dst.move_to_end(key)
        for key in src:
            if key in dst:
                sync_order(src[key], dst[key])
    elif isinstance(src, CommentedSeq) and isinstance(dst, CommentedSeq):
        for index in range(min(len(src), len(dst))):
            sync_order(src[index], dst[index])


def is_flow(node: Any) -> bool:
    fmt = getattr(node, _FORMAT_ATTR, None)
    return bool(fmt is not None and fmt.flow_style())


# ------------------------------------------------------------------------------------------ reader


@dataclass(slots=True)
class _Entry:
    """Where one mapping entry or sequence item sits in the source (for comment attribution)."""

    line: int
    col: int
    container: Any
    key: Any
    parent: _Entry | None
    is_map: bool
    value_line: int = -1  # line a line comment of the value would be on (-1: block collection)
    value_col: int = 0  # column where the value starts
    value_end: int = 0  # column where the value ends (on value_line)


class _Frame:
    __slots__ = ("container", "entry", "key", "key_entry", "kind")

    def __init__(self, kind: str, container: Any, entry: _Entry | None) -> None:
        self.kind = kind
        self.container = container
        self.entry = entry  # the entry this collection is the value of
        self.key: Any = None
        self.key_entry: _Entry | None = None


def load(text: str, *, positions: bool = False) -> CommentedMap:
    """The single document of `text` (an empty text gives an empty mapping)."""
    docs = load_all(text, positions=positions)
    if not docs:
        return CommentedMap()
    if len(docs) > 1:
        raise YAMLError(f"expected one document, got {len(docs)}")
    return docs[0]


def load_all(text: str, *, positions: bool = False) -> list[CommentedMap]:
    """Every non-empty document of `text`, as mappings, with their comments.

    Raises `YAMLError` with go-yaml's message when `text` is not YAML or a document is not a
    mapping. With `positions`, every collection carries ruamel's line/column data (`.lc`, 0-based)
    so that typed decoders can name lines in their errors.
    """
    docs = load_documents(text, positions=positions)
    out: list[CommentedMap] = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, CommentedMap):
            raise YAMLError(f"yaml: document is a {type(doc).__name__}, not a mapping")
        out.append(doc)
    return out


def load_documents(text: str, *, positions: bool = False) -> list[Any]:
    """Every document of `text` as a node (None for an empty document)."""
    text = text.replace("\r\n", "\n")
    reader = _Reader(text, positions)
    return reader.read()


class _Reader:
    def __init__(self, text: str, positions: bool) -> None:
        self.text = text
        self.positions = positions
        self.lines = text.split("\n")
        self.entries: list[_Entry] = []
        self.spans: list[tuple[int, int, int, int]] = []  # scalar (sl, sc, el, ec)
        self.docs: list[Any] = []
        self.doc_starts: list[int] = []  # first line of each document's region
        self.doc_entry_start: list[int] = []  # index into entries where each document starts

    def read(self) -> list[Any]:
        try:
            self._build()
        except _pyyaml.MarkedYAMLError as err:
            raise YAMLError(_go_yaml_message(err)) from err
        except _pyyaml.YAMLError as err:  # pragma: no cover - reader errors (bad characters)
            raise YAMLError(f"yaml: {err}") from err
        if "#" in self.text:
            self._attach_comments()
        return self.docs

    def _build(self) -> None:
        ev_stream = _Parser(self.text)
        stack: list[_Frame] = []
        anchors: dict[str, Any] = {}
        positions = self.positions
        entries = self.entries
        try:
            while True:
                ev: Any = ev_stream.get_event()
                cls = type(ev)
                if cls is _pyyaml.ScalarEvent:
                    sm = ev.start_mark
                    em = ev.end_mark
                    style = ev.style
                    if style in ("|", ">"):
                        # the header line of a block scalar may end with a comment
                        self.spans.append((sm.line + 1, 0, em.line, em.column))
                    else:
                        self.spans.append((sm.line, sm.column, em.line, em.column))
                    text = ev.value
                    meta_text: str | None = None
                    if not style:
                        if ev.tag is not None and ev.tag in ("!", "tag:yaml.org,2002:str"):
                            value: Any = text
                        else:
                            value, canonical = plain_value(text)
                            if not canonical:
                                meta_text = text
                    elif style == '"':
                        value = DoubleQuotedScalarString(text)
                    elif style == "'":
                        value = SingleQuotedScalarString(text)
                    elif style == "|":
                        value = LiteralScalarString(text)
                    else:
                        value = FoldedScalarString(text)
                    if ev.anchor:
                        anchors[ev.anchor] = value
                    comment_line = sm.line if style in ("|", ">") else em.line
                    self._add(
                        stack,
                        value,
                        line=sm.line,
                        col=sm.column,
                        comment_line=comment_line,
                        comment_col=em.column,
                        meta_text=meta_text,
                    )
                elif cls is _pyyaml.MappingStartEvent:
                    sm = ev.start_mark
                    cmap = CommentedMap()
                    if ev.flow_style:
                        cmap.fa.set_flow_style()
                    if positions:
                        cmap.lc.line = sm.line
                        cmap.lc.col = sm.column
                    if ev.anchor:
                        anchors[ev.anchor] = cmap
                    entry = self._add(stack, cmap, line=sm.line, col=sm.column, start=True)
                    stack.append(_Frame("map", cmap, entry))
                elif cls is _pyyaml.SequenceStartEvent:
                    sm = ev.start_mark
                    seq = CommentedSeq()
                    if ev.flow_style:
                        seq.fa.set_flow_style()
                    if positions:
                        seq.lc.line = sm.line
                        seq.lc.col = sm.column
                    if ev.anchor:
                        anchors[ev.anchor] = seq
                    entry = self._add(stack, seq, line=sm.line, col=sm.column, start=True)
                    stack.append(_Frame("seq", seq, entry))
                elif cls is _pyyaml.MappingEndEvent or cls is _pyyaml.SequenceEndEvent:
                    frame = stack.pop()
                    if frame.entry is not None and is_flow(frame.container):
                        frame.entry.value_line = ev.end_mark.line
                        frame.entry.value_end = ev.end_mark.column
                elif cls is _pyyaml.AliasEvent:
                    sm = ev.start_mark
                    if ev.anchor not in anchors:
                        raise YAMLError(f'yaml: unknown anchor "{ev.anchor}" referenced')
                    self._add(
                        stack,
                        anchors[ev.anchor],
                        line=sm.line,
                        col=sm.column,
                        comment_line=sm.line,
                        comment_col=sm.column,
                    )
                elif cls is _pyyaml.DocumentStartEvent:
                    sm = ev.start_mark
                    region = 0 if not self.doc_starts else sm.line
                    self.doc_starts.append(region)
                    self.doc_entry_start.append(len(entries))
                    self.docs.append(None)
                    stack.append(_Frame("doc", None, None))
                elif cls is _pyyaml.DocumentEndEvent:
                    frame = stack.pop()
                    self.docs[-1] = frame.container
                elif cls is _pyyaml.StreamEndEvent:
                    break
        finally:
            ev_stream.dispose()

    def _add(
        self,
        stack: list[_Frame],
        value: Any,
        *,
        line: int,
        col: int,
        comment_line: int = -1,
        comment_col: int = 0,
        meta_text: str | None = None,
        start: bool = False,
    ) -> _Entry | None:
        """Put a finished scalar (or a just-started collection) into its parent."""
        frame = stack[-1]
        kind = frame.kind
        if kind == "doc":
            frame.container = value
            return None
        if kind == "map":
            cmap = frame.container
            if frame.key_entry is None:
                if start:
                    raise YAMLError(
                        f"yaml: line {line + 1}: complex mapping keys are not supported"
                    )
                entry = _Entry(line, col, cmap, value, frame.entry, True)
                self.entries.append(entry)
                frame.key = value
                frame.key_entry = entry
                return None
            key = frame.key
            entry = frame.key_entry
            frame.key_entry = None
            _od_set(cmap, key, value)
            cmap._ok.add(key)
            entry.value_line = comment_line
            entry.value_col = col
            entry.value_end = comment_col
            if meta_text is not None:
                _meta_for_update(cmap, key).text = meta_text
            if self.positions:
                cmap.lc.add_kv_line_col(key, [entry.line, entry.col, line, col])
            return entry
        # sequence item: the entry starts at its "- " indicator
        seq = frame.container
        index = len(seq)
        seq.append(value)
        dash_line, dash_col = self._dash(line, col, is_flow(seq))
        entry = _Entry(
            dash_line, dash_col, seq, index, frame.entry, False, comment_line, col, comment_col
        )
        self.entries.append(entry)
        if meta_text is not None:
            _meta_for_update(seq, index).text = meta_text
        if self.positions:
            seq.lc.add_idx_line_col(index, [line, col])
        return entry

    def _dash(self, line: int, col: int, flow: bool) -> tuple[int, int]:
        if flow:
            return line, col
        text = self.lines[line]
        i = col - 1
        while i >= 0 and text[i] in " \t":
            i -= 1
        if i >= 0 and text[i] == "-":
            return line, i
        return line, max(col - 2, 0)

    # ------------------------------------------------------------------ comment attribution

    def _attach_comments(self) -> None:
        comments = self._scan_comments()
        if not comments or not self.docs:
            return
        entries = self.entries
        entry_keys = [(e.line, e.col) for e in entries]
        doc_starts = self.doc_starts
        # line comments: value (or key) ending on the comment's line
        by_value_line: dict[int, list[_Entry]] = {}
        by_key_line: dict[int, list[_Entry]] = {}
        for e in entries:
            if e.value_line >= 0:
                by_value_line.setdefault(e.value_line, []).append(e)
            by_key_line.setdefault(e.line, []).append(e)
        pending_heads: dict[int, tuple[_Entry, list[str]]] = {}
        doc_heads: dict[int, list[str]] = {}
        doc_foots: dict[int, list[str]] = {}
        prev_comment_line = -2
        prev_comment_col = -1
        blank_before_group = False
        group_target: tuple[str, Any] | None = None
        for line, col, text, full in comments:
            doc_index = bisect.bisect_right(doc_starts, line) - 1
            doc_index = max(doc_index, 0)
            if not full:
                self._attach_line_comment(line, col, text, by_value_line, by_key_line)
                continue
            pos = bisect.bisect_left(entry_keys, (line, col))
            doc_first = self.doc_entry_start[doc_index]
            doc_end = (
                self.doc_entry_start[doc_index + 1]
                if doc_index + 1 < len(self.doc_entry_start)
                else len(entries)
            )
            nxt = entries[pos] if doc_first <= pos < doc_end else None
            prev = entries[pos - 1] if doc_first <= pos - 1 < doc_end else None
            continuing = (
                line == prev_comment_line + 1
                and col == prev_comment_col
                and group_target is not None
            )
            prev_comment_col = col
            prev_comment_line = line
            if continuing and group_target is not None:
                target = group_target
            else:
                blank_before_group = line > 0 and not self.lines[line - 1].strip()
                target = self._comment_target(
                    line,
                    col,
                    prev,
                    nxt,
                    blank_before=blank_before_group,
                    last_doc=doc_index == len(self.docs) - 1,
                )
                group_target = target
            kind, where = target
            if kind == "head":
                pending = pending_heads.get(id(where))
                if pending is None:
                    pending = (where, [])
                    pending_heads[id(where)] = pending
                pending[1].append(text)
            elif kind == "foot":
                for owner in where:
                    self._append_foot(owner, text)
            elif kind == "dochead":
                doc_heads.setdefault(doc_index, []).append(text)
            elif kind == "nexthead":
                if doc_index + 1 < len(self.docs):
                    doc_heads.setdefault(doc_index + 1, []).append(text)
            elif kind == "drop":
                continue
            else:
                doc_foots.setdefault(doc_index, []).append(text)
        for entry, head_texts in pending_heads.values():
            joined = "\n".join(head_texts)
            value = entry.container[entry.key]
            if not entry.is_map and isinstance(value, CommentedMap):
                # go-yaml keeps it on the mapping node itself, so it moves with the item
                doc = _doc_meta(value)
                _set_doc_meta(value, head=_join(doc.head if doc else "", joined))
                continue
            meta = _meta_for_update(entry.container, entry.key)
            if entry.is_map:
                meta.key_head = _join(meta.key_head, joined)
            else:
                meta.head = _join(meta.head, joined)
        for doc_index, texts in doc_heads.items():
            root = self.docs[doc_index]
            if isinstance(root, CommentedMap | CommentedSeq):
                _set_doc_meta(root, head="\n".join(texts))
        for doc_index, texts in doc_foots.items():
            root = self.docs[doc_index]
            if isinstance(root, CommentedMap | CommentedSeq):
                _set_doc_meta(root, foot="\n".join(texts))

    def _comment_target(
        self,
        line: int,
        col: int,
        prev: _Entry | None,
        nxt: _Entry | None,
        *,
        blank_before: bool,
        last_doc: bool,
    ) -> tuple[str, Any]:
        if nxt is None:
            if prev is None:
                return ("dochead", None)
            if blank_before:
                # what kpt makes of a document's trailing comments after a blank line: they
                # move to the next document's head, and vanish after the last document
                return ("nexthead", None)
            owner = _deepest_at_or_before(prev, col)
            if owner is None:
                return ("docfoot", None)
            owners = [owner]
            # kpt's function wire (the item re-parsed inside a ResourceList) also copies such
            # a trailing comment to the deepest last entry; under `metadata` that entry is one
            # of kpt's own annotations, removed again, so the copy is lost there (and, in a
            # document followed by another one, the comment altogether)
            if prev is not owner and prev.col > col:
                if _root_key(prev) != "metadata":
                    owners.insert(0, prev)
                elif not last_doc:
                    return ("drop", None)
            return ("foot", owners)
        if prev is None:
            # leading comments of a document belong to its root node (go-yaml's head comment)
            return ("dochead", None)
        if col > nxt.col:
            owner = _deepest_at_or_before(prev, col)
            if owner is not None:
                return ("foot", [owner])
            return ("head", nxt)
        # a comment block at the next entry's column, separated from it by a blank line, stays
        # with the previous sibling as its foot (go-yaml's foot comment)
        if col == nxt.col and self._blank_between(line, nxt.line):
            owner = _deepest_at_or_before(prev, col)
            if owner is not None and owner.col == col and owner.container is nxt.container:
                return ("foot", [owner])
        return ("head", nxt)

    def _blank_between(self, comment_line: int, next_line: int) -> bool:
        for i in range(comment_line + 1, next_line):
            stripped = self.lines[i].strip()
            if not stripped:
                return True
            if not stripped.startswith("#"):
                return False
        return False

    def _append_foot(self, entry: _Entry, text: str) -> None:
        meta = _meta_for_update(entry.container, entry.key)
        if entry.is_map:
            meta.key_foot = _join(meta.key_foot, text)
        else:
            meta.foot = _join(meta.foot, text)

    def _attach_line_comment(
        self,
        line: int,
        col: int,
        text: str,
        by_value_line: dict[int, list[_Entry]],
        by_key_line: dict[int, list[_Entry]],
    ) -> None:
        best: _Entry | None = None
        best_end = -1
        for e in by_value_line.get(line, ()):
            # the value that ends last before the comment (a flow collection rather than its
            # last item; the outermost one on ties)
            if e.value_col < col and e.value_end > best_end:
                best = e
                best_end = e.value_end
        if best is not None:
            meta = _meta_for_update(best.container, best.key)
            meta.line = _join(meta.line, text)
            return
        for e in by_key_line.get(line, ()):
            if e.col < col:
                best = e
        if best is not None:
            meta = _meta_for_update(best.container, best.key)
            if best.is_map:
                meta.key_line = _join(meta.key_line, text)
            else:
                meta.line = _join(meta.line, text)

    def _scan_comments(self) -> list[tuple[int, int, str, bool]]:
        """(line, column, text, whole-line) of every comment, outside scalars."""
        out: list[tuple[int, int, str, bool]] = []
        span_starts = [(s[0], s[1]) for s in self.spans]
        for line_no, line in enumerate(self.lines):
            pos = line.find("#")
            while pos >= 0:
                if pos == 0 or line[pos - 1] in " \t":
                    i = bisect.bisect_right(span_starts, (line_no, pos)) - 1
                    inside = False
                    if i >= 0:
                        _, _, el, ec = self.spans[i]
                        inside = (line_no, pos) < (el, ec)
                    if not inside:
                        full = not line[:pos].strip()
                        if full or not line[:pos].strip().startswith("---"):
                            out.append((line_no, pos, line[pos:].rstrip(), full))
                        break
                pos = line.find("#", pos + 1)
        return out


def _root_key(entry: _Entry) -> Any:
    cur = entry
    while cur.parent is not None:
        cur = cur.parent
    return cur.key


def _deepest_at_or_before(entry: _Entry | None, col: int) -> _Entry | None:
    cur = entry
    while cur is not None:
        if cur.col <= col:
            return cur
        cur = cur.parent
    return None


def _join(existing: str | None, more: str | Iterable[str]) -> str:
    if not isinstance(more, str):
        more = "\n".join(more)
    if not existing:
        return more
    return existing + "\n" + more


def _set_doc_meta(root: Any, *, head: str | None = None, foot: str | None = None) -> None:
    meta = _doc_meta(root)
    if meta is None:
        meta = DocMeta()
        root.ca.comment = meta
    if head is not None:
        meta.head = head
    if foot is not None:
        meta.foot = foot


def _go_yaml_message(err: _pyyaml.MarkedYAMLError) -> str:
    """go-yaml's `yaml: line N: problem` for a libyaml scanner or parser error."""
    problem = err.problem or err.context or "error"
    line = 0
    scanner = isinstance(err, _pyyaml.scanner.ScannerError)
    if err.context_mark is not None and err.context_mark.line != 0:
        line = err.context_mark.line + (1 if scanner else 0)
    elif err.problem_mark is not None and err.problem_mark.line != 0:
        line = err.problem_mark.line + (1 if scanner else 0)
    if line == 0 and err.problem_mark is not None and scanner:
        line = err.problem_mark.line + 1
    if line:
        return f"yaml: line {line}: {problem}"
    return f"yaml: {problem}"


# ---------------------------------------------------------------------------- seq indent detection


def derive_seq_indent(text: str) -> str:
    """kyaml's `seqindent` of a document: "wide" when its block sequences are indented under
    their key, else "compact" (kyaml picks the style whose re-encoding differs less)."""
    compact = 0
    wide = 0
    lines = text.split("\n")
    prev_key_indent: int | None = None
    prev_was_key_only = False
    for line in lines:
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        starts_item = stripped.startswith("- ") or stripped == "-"
        if prev_was_key_only and prev_key_indent is not None and starts_item:
            if indent == prev_key_indent:
                compact += 1
            elif indent > prev_key_indent:
                wide += 1
        body = stripped[2:] if stripped.startswith("- ") else stripped
        key_indent = indent + (len(stripped) - len(body))
        prev_was_key_only = _ends_with_key(body)
        prev_key_indent = key_indent if prev_was_key_only else None
    return WIDE if wide > compact else COMPACT


_KEY_ONLY_RE = re.compile(r"""[^'"#\s][^#]*?:(\s+#.*)?$|["'][^"']*["']:(\s+#.*)?$""")


def _ends_with_key(body: str) -> bool:
    return bool(_KEY_ONLY_RE.match(body)) and not body.startswith("- ")


# ----------------------------------------------------------------------------------------- writer

# event types
_DOC_START = 1
_DOC_END = 2
_MAP_START = 3
_MAP_END = 4
_SEQ_START = 5
_SEQ_END = 6
_SCALAR = 7

# scalar styles
_PLAIN = 1
_SINGLE = 2
_DOUBLE = 3
_LITERAL = 4
_FOLDED = 5

# emitter states
_S_DOC_START = 1
_S_DOC_CONTENT = 2
_S_DOC_END = 3
_S_FLOW_SEQ_FIRST = 4
_S_FLOW_SEQ_TRAIL = 5
_S_FLOW_SEQ_ITEM = 6
_S_FLOW_MAP_FIRST = 7
_S_FLOW_MAP_TRAIL = 8
_S_FLOW_MAP_KEY = 9
_S_FLOW_MAP_SIMPLE_VALUE = 10
_S_FLOW_MAP_VALUE = 11
_S_BLOCK_SEQ_FIRST = 12
_S_BLOCK_SEQ_ITEM = 13
_S_BLOCK_MAP_FIRST = 14
_S_BLOCK_MAP_KEY = 15
_S_BLOCK_MAP_SIMPLE_VALUE = 16
_S_BLOCK_MAP_VALUE = 17
_S_FIRST_DOC_START = 18


class _Event:
    __slots__ = ("flow", "foot", "head", "implicit", "line", "style", "tail", "typ", "value")

    def __init__(
        self,
        typ: int,
        value: str = "",
        style: int = 0,
        *,
        head: str = "",
        line: str = "",
        foot: str = "",
        tail: str = "",
        flow: bool = False,
        implicit: bool = True,
    ) -> None:
        self.typ = typ
        self.value = value
        self.style = style
        self.head = head
        self.line = line
        self.foot = foot
        self.tail = tail
        self.flow = flow
        self.implicit = implicit


def dump(node: Any, *, seq_indent_style: str = COMPACT) -> str:
    """One document as kyaml writes it."""
    return dump_all([node], seq_indent_style=seq_indent_style)


def dump_all(nodes: Sequence[Any], *, seq_indent_style: str | Sequence[str] = COMPACT) -> str:
    """Documents as kyaml writes a file: go-yaml v3, indent 2, `---` between documents.

    `seq_indent_style` is "compact" (`- x` at the key's column) or "wide" (indented by two), for
    all documents or one per document.
    """
    styles = (
        [seq_indent_style] * len(nodes)
        if isinstance(seq_indent_style, str)
        else list(seq_indent_style)
    )
    emitter = _Emitter()
    for i, node in enumerate(nodes):
        emitter.compact = styles[i] != WIDE
        events = _document_events(node, first=i == 0)
        emitter.run(events)
    return "".join(emitter.out)


def _document_events(root: Any, *, first: bool) -> list[_Event]:
    events: list[_Event] = []
    meta = _doc_meta(root)
    events.append(_Event(_DOC_START, implicit=first))
    _node_events(root, events, None, "")
    events.append(_Event(_DOC_END, foot=meta.foot if meta else ""))
    return events


def _node_events(node: Any, events: list[_Event], meta: EntryMeta | None, tail: str) -> None:
    head = meta.head if meta is not None else ""
    line = meta.line if meta is not None else ""
    foot = meta.foot if meta is not None else ""
    if isinstance(node, dict):
        flow = is_flow(node)
        if not head:
            doc = _doc_meta(node)
            if doc is not None:
                head = doc.head
        events.append(_Event(_MAP_START, head=head, tail=tail, flow=flow))
        ca = getattr(node, _COMMENT_ATTR, None)
        metas = ca.items if ca is not None else None
        pending_tail = ""
        pairs = _od_items(node) if isinstance(node, OrderedDict) else node.items()
        for key, value in pairs:
            m = metas.get(key) if metas is not None else None
            if not isinstance(m, EntryMeta):
                m = None
            if m is not None:
                events.append(
                    _Event(
                        _SCALAR,
                        *_key_text(key),
                        head=m.key_head,
                        line=m.key_line,
                        tail=pending_tail,
                    )
                )
                pending_tail = m.key_foot
                _node_events(value, events, m, "")
                continue
            events.append(_Event(_SCALAR, *_key_text(key), tail=pending_tail))
            pending_tail = ""
            if isinstance(value, dict | list):
                _node_events(value, events, None, "")
            else:
                # the common case inline: an uncommented scalar value
                events.append(_Event(_SCALAR, *_scalar_text_style(value, None)))
        events.append(_Event(_MAP_END, tail=pending_tail, line=line, foot=foot))
        return
    if isinstance(node, list):
        flow = is_flow(node)
        events.append(_Event(_SEQ_START, head=head, flow=flow))
        ca = getattr(node, _COMMENT_ATTR, None)
        metas = ca.items if ca is not None else None
        for index, value in enumerate(node):
            m = metas.get(index) if metas is not None else None
            _node_events(value, events, m if isinstance(m, EntryMeta) else None, "")
        events.append(_Event(_SEQ_END, line=line, foot=foot))
        return
    text, style = _scalar_text_style(node, meta)
    events.append(_Event(_SCALAR, text, style, head=head, line=line, foot=foot, tail=tail))


def _key_text(key: Any) -> tuple[str, int]:
    return _scalar_text_style(key, None)


def _scalar_text_style(value: Any, meta: EntryMeta | None) -> tuple[str, int]:
    """The text and style go-yaml's encoder gives a value (encode.go `node`, scalar case)."""
    if isinstance(value, str):
        cls = type(value)
        if cls is str:
            if "\n" in value:
                return value, _LITERAL
            if resolve_plain(value) != "str":
                return value, _DOUBLE
            return value, _PLAIN
        if cls is DoubleQuotedScalarString:
            return value, _DOUBLE
        if cls is SingleQuotedScalarString:
            return value, _SINGLE
        if cls is LiteralScalarString:
            return value, _LITERAL
        if cls is FoldedScalarString:
            # kyaml writes folded scalars double-quoted (observed with kpt; the folding is lost)
            return value, _DOUBLE
        if cls is PlainTimestamp:
            return value, _PLAIN
        text = str(value)
        if "\n" in text:
            return text, _LITERAL
        return text, (_DOUBLE if resolve_plain(text) != "str" else _PLAIN)
    original = meta.text if meta is not None else None
    if original is not None and _same_scalar(original, value):
        return original, _PLAIN
    if value is None:
        return "null", _PLAIN
    if isinstance(value, bool):
        return ("true" if value else "false"), _PLAIN
    if isinstance(value, int):
        return str(int(value)), _PLAIN
    if isinstance(value, float):
        return format_float(value), _PLAIN
    return str(value), _PLAIN


def _same_scalar(text: str, value: Any) -> bool:
    parsed, _ = plain_value(text)
    if value is None or parsed is None:
        return value is None and parsed is None
    if isinstance(value, bool) or isinstance(parsed, bool):
        return isinstance(value, bool) and isinstance(parsed, bool) and value == parsed
    if isinstance(value, float) and math.isnan(value):
        return isinstance(parsed, float) and math.isnan(parsed)
    return type(parsed) is type(value) or (
        (isinstance(value, int | float) and isinstance(parsed, int | float) and parsed == value)
        and bool(parsed == value)
    )


# character classes of go-yaml's emitter
_BREAKS: Final = frozenset("\r\n\x85\u2028\u2029")
_FAST_PLAIN_RE = re.compile(r"[A-Za-z0-9_/=+$~^();<][A-Za-z0-9_/=+$~^();<>.\- ]*")


def _printable(ch: str) -> bool:
    o = ord(ch)
    return (
        o == 0x0A
        or 0x20 <= o <= 0x7E
        or 0xA0 <= o <= 0xD7FF
        or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
    )


class _ScalarData:
    __slots__ = (
        "block_allowed",
        "block_plain_allowed",
        "flow_plain_allowed",
        "multiline",
        "single_quoted_allowed",
        "style",
        "value",
    )

    def __init__(self) -> None:
        self.value = ""
        self.multiline = False
        self.flow_plain_allowed = False
        self.block_plain_allowed = False
        self.single_quoted_allowed = False
        self.block_allowed = False
        self.style = _PLAIN


def _analyze_scalar(value: str, data: _ScalarData) -> None:
    """go-yaml's yaml_emitter_analyze_scalar."""
    data.value = value
    if not value:
        data.multiline = False
        data.flow_plain_allowed = False
        data.block_plain_allowed = True
        data.single_quoted_allowed = True
        data.block_allowed = False
        return
    if value[-1] != " " and _FAST_PLAIN_RE.fullmatch(value) and value.isascii():
        data.multiline = False
        data.flow_plain_allowed = True
        data.block_plain_allowed = True
        data.single_quoted_allowed = True
        data.block_allowed = True
        return
    block_indicators = False
    flow_indicators = False
    line_breaks = False
    special_characters = False
    tab_characters = False
    leading_space = False
    leading_break = False
    trailing_space = False
    trailing_break = False
    break_space = False
    space_break = False
    previous_space = False
    previous_break = False
    if value.startswith(("---", "...")):
        block_indicators = True
        flow_indicators = True
    preceded_by_whitespace = True
    n = len(value)
    for i, ch in enumerate(value):
        followed_by_whitespace = i + 1 >= n or value[i + 1] in " \t\r\n\x85\u2028\u2029"
        if i == 0:
            if ch in "#,[]{}&*!|>'\"%@`":
                flow_indicators = True
                block_indicators = True
            elif ch in "?:":
                flow_indicators = True
                if followed_by_whitespace:
                    block_indicators = True
            elif ch == "-" and followed_by_whitespace:
                flow_indicators = True
                block_indicators = True
        elif ch in ",?[]{}":
            flow_indicators = True
        elif ch == ":":
            flow_indicators = True
            if followed_by_whitespace:
                block_indicators = True
        elif ch == "#" and preceded_by_whitespace:
            flow_indicators = True
            block_indicators = True
        if ch == "\t":
            tab_characters = True
        elif not _printable(ch):
            special_characters = True
        if ch == " ":
            if i == 0:
                leading_space = True
            if i == n - 1:
                trailing_space = True
            if previous_break:
                break_space = True
            previous_space = True
            previous_break = False
        elif ch in _BREAKS:
            line_breaks = True
            if i == 0:
                leading_break = True
            if i == n - 1:
                trailing_break = True
            if previous_space:
                space_break = True
            previous_space = False
            previous_break = True
        else:
            previous_space = False
            previous_break = False
        preceded_by_whitespace = ch in " \t\r\n\x85\u2028\u2029"
    data.multiline = line_breaks
    data.flow_plain_allowed = True
    data.block_plain_allowed = True
    data.single_quoted_allowed = True
    data.block_allowed = True
    if leading_space or leading_break or trailing_space or trailing_break:
        data.flow_plain_allowed = False
        data.block_plain_allowed = False
    if trailing_space:
        data.block_allowed = False
    if break_space:
        data.flow_plain_allowed = False
        data.block_plain_allowed = False
        data.single_quoted_allowed = False
    if space_break or tab_characters or special_characters:
        data.flow_plain_allowed = False
        data.block_plain_allowed = False
        data.single_quoted_allowed = False
    if space_break or special_characters:
        data.block_allowed = False
    if line_breaks:
        data.flow_plain_allowed = False
        data.block_plain_allowed = False
    if flow_indicators:
        data.flow_plain_allowed = False
    if block_indicators:
        data.block_plain_allowed = False


_DQ_ESCAPES: Final[dict[str, str]] = {
    "\x00": "\\0",
    "\x07": "\\a",
    "\x08": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\x0b": "\\v",
    "\x0c": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\x85": "\\N",
    "\xa0": "\\_",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


class _Emitter:
    """go-yaml v3's emitter (emitterc.go) for one output stream, as kyaml's encoder sets it up."""

    best_indent = 2

    def __init__(self) -> None:
        self.out: list[str] = []
        self.compact = True
        self.state = _S_FIRST_DOC_START
        self.states: list[int] = []
        self.indent = -1
        self.indents: list[int] = []
        self.flow_level = 0
        self.column = 0
        self.whitespace = True
        self.indention = True
        self.foot_indent = -1
        self.root_context = False
        self.sequence_context = False
        self.mapping_context = False
        self.simple_key_context = False
        self.head_comment = ""
        self.line_comment = ""
        self.foot_comment = ""
        self.tail_comment = ""
        self.key_line_comment = ""
        self.scalar = _ScalarData()
        self.events: list[_Event] = []
        self.pos = 0
        self._handlers: dict[int, Callable[[_Event], None]] = {
            _S_FIRST_DOC_START: lambda ev: self.emit_document_start(ev, first=True),
            _S_DOC_START: lambda ev: self.emit_document_start(ev, first=False),
            _S_DOC_CONTENT: self.emit_document_content,
            _S_DOC_END: self.emit_document_end,
            _S_FLOW_SEQ_FIRST: lambda ev: self.emit_flow_sequence_item(ev, first=True, trail=False),
            _S_FLOW_SEQ_TRAIL: lambda ev: self.emit_flow_sequence_item(ev, first=False, trail=True),
            _S_FLOW_SEQ_ITEM: lambda ev: self.emit_flow_sequence_item(ev, first=False, trail=False),
            _S_FLOW_MAP_FIRST: lambda ev: self.emit_flow_mapping_key(ev, first=True, trail=False),
            _S_FLOW_MAP_TRAIL: lambda ev: self.emit_flow_mapping_key(ev, first=False, trail=True),
            _S_FLOW_MAP_KEY: lambda ev: self.emit_flow_mapping_key(ev, first=False, trail=False),
            _S_FLOW_MAP_SIMPLE_VALUE: lambda ev: self.emit_flow_mapping_value(ev, simple=True),
            _S_FLOW_MAP_VALUE: lambda ev: self.emit_flow_mapping_value(ev, simple=False),
            _S_BLOCK_SEQ_FIRST: lambda ev: self.emit_block_sequence_item(ev, first=True),
            _S_BLOCK_SEQ_ITEM: lambda ev: self.emit_block_sequence_item(ev, first=False),
            _S_BLOCK_MAP_FIRST: lambda ev: self.emit_block_mapping_key(ev, first=True),
            _S_BLOCK_MAP_KEY: lambda ev: self.emit_block_mapping_key(ev, first=False),
            _S_BLOCK_MAP_SIMPLE_VALUE: lambda ev: self.emit_block_mapping_value(ev, simple=True),
            _S_BLOCK_MAP_VALUE: lambda ev: self.emit_block_mapping_value(ev, simple=False),
        }

    # --------------------------------------------------------------------- low-level writing

    def put(self, s: str) -> None:
        self.out.append(s)
        self.column += len(s)

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0
        self.indention = True

    def write_indent(self) -> None:
        indent = self.indent if self.indent >= 0 else 0
        if (
            not self.indention
            or self.column > indent
            or (self.column == indent and not self.whitespace)
        ):
            self.put_break()
        if self.foot_indent == indent:
            self.put_break()
        if self.column < indent:
            self.put(" " * (indent - self.column))
        self.whitespace = True
        self.foot_indent = -1

    def write_indicator(
        self, indicator: str, need_whitespace: bool, is_whitespace: bool, is_indention: bool
    ) -> None:
        if need_whitespace and not self.whitespace:
            self.put(" ")
        self.put(indicator)
        self.whitespace = is_whitespace
        self.indention = self.indention and is_indention

    def write_comment(self, comment: str) -> None:
        breaks = False
        pound = False
        i = 0
        n = len(comment)
        while i < n:
            ch = comment[i]
            if ch in _BREAKS:
                self.put_break()
                i += 1
                breaks = True
                pound = False
                continue
            if breaks:
                self.write_indent()
            j = i
            while j < n and comment[j] not in _BREAKS:
                j += 1
            chunk = comment[i:j]
            if not pound:
                if chunk[0] != "#":
                    self.put("# ")
                pound = True
            self.put(chunk)
            self.indention = False
            breaks = False
            i = j
        if not breaks:
            self.put_break()
        self.whitespace = True

    # --------------------------------------------------------------------- comments

    def process_head_comment(self) -> None:
        if self.tail_comment:
            self.write_indent()
            self.write_comment(self.tail_comment)
            self.tail_comment = ""
            self.foot_indent = self.indent if self.indent >= 0 else 0
        if not self.head_comment:
            return
        self.write_indent()
        self.write_comment(self.head_comment)
        self.head_comment = ""

    def process_line_comment(self, linebreak: bool = False) -> None:
        if not self.line_comment:
            if linebreak:
                self.put_break()
            return
        if not self.whitespace:
            self.put(" ")
        self.write_comment(self.line_comment)
        self.line_comment = ""

    def process_foot_comment(self) -> None:
        if not self.foot_comment:
            return
        self.write_indent()
        self.write_comment(self.foot_comment)
        self.foot_comment = ""
        self.foot_indent = self.indent if self.indent >= 0 else 0

    # --------------------------------------------------------------------- driver

    def run(self, events: list[_Event]) -> None:
        self.events = events
        self.pos = 0
        while self.pos < len(events):
            ev = events[self.pos]
            self.analyze(ev)
            self.dispatch(ev)
            self.pos += 1

    def analyze(self, ev: _Event) -> None:
        if ev.head:
            self.head_comment = ev.head
        if ev.line:
            self.line_comment = ev.line
        if ev.foot:
            self.foot_comment = ev.foot
        if ev.tail:
            self.tail_comment = ev.tail
        if ev.typ == _SCALAR:
            _analyze_scalar(ev.value, self.scalar)

    def dispatch(self, ev: _Event) -> None:
        handler = self._handlers.get(self.state)
        if handler is None:  # pragma: no cover - state machine bug
            raise AssertionError(f"bad emitter state {self.state}")
        handler(ev)

    def pop_state(self) -> None:
        self.state = self.states.pop()

    def increase_indent(self, flow: bool, indentless: bool, compact_seq: bool = False) -> None:
        self.indents.append(self.indent)
        if self.indent < 0:
            self.indent = self.best_indent if flow else 0
        elif not indentless:
            if self.states and self.states[-1] == _S_BLOCK_SEQ_ITEM:
                self.indent += 2
            else:
                b = self.best_indent
                self.indent = b * ((self.indent + b) // b)
            if compact_seq:
                self.indent -= 2

    # --------------------------------------------------------------------- documents

    def emit_document_start(self, ev: _Event, *, first: bool) -> None:
        implicit = ev.implicit and first
        if not implicit:
            self.write_indent()
            self.write_indicator("---", True, False, False)
            self.write_indent()
        if self.head_comment:
            self.process_head_comment()
            self.put_break()
        self.state = _S_DOC_CONTENT

    def emit_document_content(self, ev: _Event) -> None:
        self.states.append(_S_DOC_END)
        self.process_head_comment()
        self.emit_node(ev, root=True, sequence=False, mapping=False, simple_key=False)
        self.process_line_comment()
        self.process_foot_comment()

    def emit_document_end(self, ev: _Event) -> None:
        self.foot_indent = 0
        self.process_foot_comment()
        self.foot_indent = -1
        self.write_indent()
        self.state = _S_DOC_START

    # --------------------------------------------------------------------- flow collections

    def emit_flow_sequence_item(self, ev: _Event, *, first: bool, trail: bool) -> None:
        if first:
            self.write_indicator("[", True, True, False)
            self.increase_indent(True, False)
            self.flow_level += 1
        if ev.typ == _SEQ_END:
            self.flow_level -= 1
            self.indent = self.indents.pop()
            if self.column == 0:
                self.write_indent()
            self.write_indicator("]", False, False, False)
            self.process_line_comment()
            self.process_foot_comment()
            self.pop_state()
            return
        if not first and not trail:
            self.write_indicator(",", False, False, False)
        self.process_head_comment()
        if self.column == 0:
            self.write_indent()
        if self.line_comment or self.foot_comment or self.tail_comment:
            self.states.append(_S_FLOW_SEQ_TRAIL)
        else:
            self.states.append(_S_FLOW_SEQ_ITEM)
        self.emit_node(ev, root=False, sequence=True, mapping=False, simple_key=False)
        if self.line_comment or self.foot_comment or self.tail_comment:
            self.write_indicator(",", False, False, False)
        self.process_line_comment()
        self.process_foot_comment()

    def emit_flow_mapping_key(self, ev: _Event, *, first: bool, trail: bool) -> None:
        if first:
            self.write_indicator("{", True, True, False)
            self.increase_indent(True, False)
            self.flow_level += 1
        if ev.typ == _MAP_END:
            if (self.head_comment or self.foot_comment or self.tail_comment) and not (
                first or trail
            ):
                self.write_indicator(",", False, False, False)
            self.process_head_comment()
            self.flow_level -= 1
            self.indent = self.indents.pop()
            self.write_indicator("}", False, False, False)
            self.process_line_comment()
            self.process_foot_comment()
            self.pop_state()
            return
        if not first and not trail:
            self.write_indicator(",", False, False, False)
        self.process_head_comment()
        if self.column == 0:
            self.write_indent()
        if self.check_simple_key():
            self.states.append(_S_FLOW_MAP_SIMPLE_VALUE)
            self.emit_node(ev, root=False, sequence=False, mapping=True, simple_key=True)
            return
        self.write_indicator("?", True, False, False)
        self.states.append(_S_FLOW_MAP_VALUE)
        self.emit_node(ev, root=False, sequence=False, mapping=True, simple_key=False)

    def emit_flow_mapping_value(self, ev: _Event, *, simple: bool) -> None:
        if simple:
            self.write_indicator(":", False, False, False)
        else:
            self.write_indicator(":", True, False, False)
        if self.line_comment or self.foot_comment or self.tail_comment:
            self.states.append(_S_FLOW_MAP_TRAIL)
        else:
            self.states.append(_S_FLOW_MAP_KEY)
        self.emit_node(ev, root=False, sequence=False, mapping=True, simple_key=False)
        if self.line_comment or self.foot_comment or self.tail_comment:
            self.write_indicator(",", False, False, False)
        self.process_line_comment()
        self.process_foot_comment()

    # --------------------------------------------------------------------- block collections

    def emit_block_sequence_item(self, ev: _Event, *, first: bool) -> None:
        if first:
            seq = self.mapping_context and (self.column == 0 or not self.indention) and self.compact
            self.increase_indent(False, False, seq)
        if ev.typ == _SEQ_END:
            self.indent = self.indents.pop()
            self.pop_state()
            return
        self.process_head_comment()
        self.write_indent()
        self.write_indicator("-", True, False, True)
        self.states.append(_S_BLOCK_SEQ_ITEM)
        self.emit_node(ev, root=False, sequence=True, mapping=False, simple_key=False)
        self.process_line_comment()
        self.process_foot_comment()

    def emit_block_mapping_key(self, ev: _Event, *, first: bool) -> None:
        if first:
            self.increase_indent(False, False)
        self.process_head_comment()
        if ev.typ == _MAP_END:
            self.indent = self.indents.pop()
            self.pop_state()
            return
        self.write_indent()
        if self.line_comment:
            self.key_line_comment = self.line_comment
            self.line_comment = ""
        if self.check_simple_key():
            self.states.append(_S_BLOCK_MAP_SIMPLE_VALUE)
            self.emit_node(ev, root=False, sequence=False, mapping=True, simple_key=True)
            return
        self.write_indicator("?", True, False, True)
        self.states.append(_S_BLOCK_MAP_VALUE)
        self.emit_node(ev, root=False, sequence=False, mapping=True, simple_key=False)

    def emit_block_mapping_value(self, ev: _Event, *, simple: bool) -> None:
        if simple:
            self.write_indicator(":", False, False, False)
        else:
            self.write_indent()
            self.write_indicator(":", True, False, True)
        if self.key_line_comment:
            if ev.typ == _SCALAR:
                if not self.line_comment:
                    self.line_comment = self.key_line_comment
                    self.key_line_comment = ""
            elif not (ev.typ == _SEQ_START and ev.flow) and ev.typ in (_MAP_START, _SEQ_START):
                self.line_comment, self.key_line_comment = self.key_line_comment, self.line_comment
                self.process_line_comment()
                self.line_comment, self.key_line_comment = self.key_line_comment, self.line_comment
        self.states.append(_S_BLOCK_MAP_KEY)
        self.emit_node(ev, root=False, sequence=False, mapping=True, simple_key=False)
        self.process_line_comment()
        self.process_foot_comment()

    # --------------------------------------------------------------------- nodes

    def emit_node(
        self, ev: _Event, *, root: bool, sequence: bool, mapping: bool, simple_key: bool
    ) -> None:
        self.root_context = root
        self.sequence_context = sequence
        self.mapping_context = mapping
        self.simple_key_context = simple_key
        typ = ev.typ
        if typ == _SCALAR:
            self.emit_scalar(ev)
        elif typ == _SEQ_START:
            if self.flow_level > 0 or ev.flow or self.check_empty(_SEQ_END):
                self.state = _S_FLOW_SEQ_FIRST
            else:
                self.state = _S_BLOCK_SEQ_FIRST
        elif typ == _MAP_START:
            if self.flow_level > 0 or ev.flow or self.check_empty(_MAP_END):
                self.state = _S_FLOW_MAP_FIRST
            else:
                self.state = _S_BLOCK_MAP_FIRST
        else:  # pragma: no cover - event stream bug
            raise AssertionError(f"unexpected event {typ}")

    def check_empty(self, end_typ: int) -> bool:
        nxt = self.pos + 1
        return nxt < len(self.events) and self.events[nxt].typ == end_typ

    def check_simple_key(self) -> bool:
        ev = self.events[self.pos]
        if ev.typ == _SCALAR:
            if self.scalar.multiline:
                return False
            return len(self.scalar.value.encode()) <= 128
        if ev.typ == _SEQ_START:
            return self.check_empty(_SEQ_END)
        if ev.typ == _MAP_START:
            return self.check_empty(_MAP_END)
        return False

    def emit_scalar(self, ev: _Event) -> None:
        self.select_scalar_style(ev)
        self.increase_indent(True, False)
        self.process_scalar()
        self.indent = self.indents.pop()
        self.pop_state()

    def select_scalar_style(self, ev: _Event) -> None:
        data = self.scalar
        style = ev.style or _PLAIN
        if self.simple_key_context and data.multiline:
            style = _DOUBLE
        if style == _PLAIN:
            if (self.flow_level > 0 and not data.flow_plain_allowed) or (
                self.flow_level == 0 and not data.block_plain_allowed
            ):
                style = _SINGLE
            if not data.value and (self.flow_level > 0 or self.simple_key_context):
                style = _SINGLE
        if style == _SINGLE and not data.single_quoted_allowed:
            style = _DOUBLE
        if style in (_LITERAL, _FOLDED) and (
            not data.block_allowed or self.flow_level > 0 or self.simple_key_context
        ):
            style = _DOUBLE
        data.style = style

    def process_scalar(self) -> None:
        data = self.scalar
        style = data.style
        if style == _PLAIN:
            self.write_plain(data.value)
        elif style == _SINGLE:
            self.write_single_quoted(data.value)
        elif style == _DOUBLE:
            self.write_double_quoted(data.value)
        elif style == _LITERAL:
            self.write_literal(data.value)
        else:
            self.write_folded(data.value)

    # --------------------------------------------------------------------- scalar writers

    def write_plain(self, value: str) -> None:
        if value and not self.whitespace:
            self.put(" ")
        if value:
            # plain scalars never hold line breaks (analysis forbids it); no wrapping (width -1)
            self.put(value)
            self.whitespace = False
        self.indention = False

    def write_single_quoted(self, value: str) -> None:
        self.write_indicator("'", True, False, False)
        breaks = False
        i = 0
        n = len(value)
        while i < n:
            ch = value[i]
            if ch in _BREAKS:
                if not breaks and ch == "\n":
                    self.put_break()
                self.put_break()
                breaks = True
                i += 1
                continue
            if breaks:
                self.write_indent()
            j = i
            while j < n and value[j] not in _BREAKS:
                j += 1
            self.put(value[i:j].replace("'", "''"))
            self.indention = False
            breaks = False
            i = j
        self.write_indicator("'", False, False, False)
        self.whitespace = False
        self.indention = False

    def write_double_quoted(self, value: str) -> None:
        self.write_indicator('"', True, False, False)
        parts: list[str] = []
        for ch in value:
            esc = _DQ_ESCAPES.get(ch)
            if esc is not None:
                parts.append(esc)
            elif not _printable(ch) or ch == "\ufeff":
                o = ord(ch)
                if o <= 0xFF:
                    parts.append(f"\\x{o:02X}")
                elif o <= 0xFFFF:
                    parts.append(f"\\u{o:04X}")
                else:
                    parts.append(f"\\U{o:08X}")
            else:
                parts.append(ch)
        self.put("".join(parts))
        self.write_indicator('"', False, False, False)
        self.whitespace = False
        self.indention = False

    def write_block_hints(self, value: str) -> None:
        if value and (value[0] == " " or value[0] in _BREAKS):
            self.write_indicator(str(self.best_indent), False, False, False)
        chomp = ""
        if not value or value[-1] not in _BREAKS:
            chomp = "-"
        elif len(value) == 1 or value[-2] in _BREAKS:
            chomp = "+"
        if chomp:
            self.write_indicator(chomp, False, False, False)

    def write_literal(self, value: str) -> None:
        self.write_indicator("|", True, False, False)
        self.write_block_hints(value)
        self.process_line_comment(linebreak=True)
        self.whitespace = True
        breaks = True
        i = 0
        n = len(value)
        while i < n:
            ch = value[i]
            if ch in _BREAKS:
                self.put_break()
                breaks = True
                i += 1
                continue
            if breaks:
                self.write_indent()
            j = i
            while j < n and value[j] not in _BREAKS:
                j += 1
            self.put(value[i:j])
            self.indention = False
            breaks = False
            i = j

    def write_folded(self, value: str) -> None:
        self.write_indicator(">", True, False, False)
        self.write_block_hints(value)
        self.process_line_comment(linebreak=True)
        self.whitespace = True
        breaks = True
        leading_spaces = True
        i = 0
        n = len(value)
        while i < n:
            ch = value[i]
            if ch in _BREAKS:
                if not breaks and not leading_spaces and ch == "\n":
                    k = 0
                    while k < n and value[k] in _BREAKS:
                        k += 1
                    if not (k >= n or value[k] in " \t\r\n\x85\u2028\u2029"):
                        self.put_break()
                self.put_break()
                breaks = True
                i += 1
                continue
            if breaks:
                self.write_indent()
                leading_spaces = ch in " \t"
            self.put(ch)
            self.indention = False
            breaks = False
            i += 1
