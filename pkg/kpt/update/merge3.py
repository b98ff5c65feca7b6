"""The 3-way merge of one YAML node: kyaml's ``walk.Walker`` driven by ``merge3.Visitor``.

Called by `resourcemerge` (one resource at a time) and `kptfilemerge` (Kptfile sections). The
three sources are *dest* (the local, customised copy; changed in place and returned), *origin*
(the old upstream) and *updated* (the new upstream). The rules, as kyaml applies them:

- maps are merged field by field; a field explicitly ``null`` in dest or updated is removed;
- a scalar takes updated's value when upstream added, removed or changed it, else keeps dest's
  (so a local change survives unless upstream changed the same field: then upstream wins);
- a list that the Kubernetes schema merges (``containers``, ``env``, ``ports``, ``finalizers``)
  or, where no schema applies, whose elements all have a ``name`` is merged element by element,
  matched on the merge keys; dest's order is kept and new elements are appended; an element
  upstream deleted goes unless dest added fields to it;
- any other list is replaced by updated's when upstream changed it, else dest's is kept;
- fields of maps created by the merge are written in sorted order (kyaml walks field names
  sorted), and comments travel with the value node the result came from, as in yaml.v3.

Node model: `pkg.kpt.yamlutil` (``CommentedMap``/``CommentedSeq`` with ``EntryMeta`` comments).
`MISSING` stands for an absent field; ``None`` is an explicit YAML null.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pkg.kpt import yamlutil
from pkg.kpt.update import errors
from pkg.kpt.update import schema as schemamod


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

# Where a walk result came from: one of the sources (its comments go with it) or new.
_DEST: Final = 0
_UPDATED: Final = 2
_NEW: Final = -1


@dataclass(frozen=True)
class _Result:
    value: Any
    source: int  # _DEST, _UPDATED or _NEW


_CLEAR: Final = _Result(MISSING, _NEW)


def merge(
    dest: Any,
    origin: Any,
    updated: Any,
    *,
    infer_associative_lists: bool = True,
    path: Sequence[str] = (),
) -> Any:
    """Merge `origin` -> `updated` changes into `dest` and return the result (`MISSING`: none).

    `dest` maps and lists are changed in place; `origin` and `updated` are only read (values
    taken from them are copied). Porch merges with `infer_associative_lists` (kpt itself does
    not).
    """
    walker = _Walker(infer_associative_lists)
    result = walker.walk([dest, origin, updated], [None, None, None], None, list(path))
    return result.value


def merge_field(
    dest: CommentedMap,
    origin: Any,
    updated: Any,
    name: str,
    *,
    infer_associative_lists: bool = True,
    path: Sequence[str] = (),
) -> None:
    """Merge one field of three maps into ``dest[name]`` as kyaml's map walk would: set,
    replace (keeping the key's comments) or remove it. `origin`/`updated` may be MISSING."""
    sources = [dest, origin, updated]
    child = [s.get(name, MISSING) if isinstance(s, dict) else MISSING for s in sources]
    metas = [_meta(s, name) for s in sources]
    walker = _Walker(infer_associative_lists)
    result = walker.walk(child, metas, None, [*path, name])
    _set_field(dest, name, result, sources)


def _is_missing_or_null(value: Any) -> bool:
    return value is MISSING or value is None


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "seq"
    return "scalar"


def _meta(container: Any, key: Any) -> yamlutil.EntryMeta | None:
    ca = getattr(container, "ca", None)
    if ca is None:
        return None
    meta = ca.items.get(key)
    return meta if isinstance(meta, yamlutil.EntryMeta) else None


def scalar_text(value: Any, meta: yamlutil.EntryMeta | None = None) -> str:
    """The text yaml.v3 holds in ``Node.Value`` for a scalar (``""`` for collections)."""
    if isinstance(value, (dict, list)) or value is None:
        return ""
    if meta is not None and meta.text is not None:
        return meta.text
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _scalar_repr(value: Any, meta: yamlutil.EntryMeta | None) -> tuple[str, ...]:
    """What distinguishes two scalar nodes in yaml.v3's ``String()``: value, style, comments."""
    if meta is None:
        return (type(value).__name__, scalar_text(value))
    return (type(value).__name__, scalar_text(value, meta), meta.head, meta.line, meta.foot)


def _plain_repr(value: Any, meta: yamlutil.EntryMeta | None = None) -> Any:
    """A comparable form of a node tree: values and quoting styles, not comments."""
    if isinstance(value, dict):
        return ("map", tuple((str(k), _plain_repr(v, _meta(value, k))) for k, v in value.items()))
    if isinstance(value, list):
        return ("seq", tuple(_plain_repr(v, _meta(value, i)) for i, v in enumerate(value)))
    return (type(value).__name__, scalar_text(value, meta))


def _value_meta(meta: yamlutil.EntryMeta | None) -> yamlutil.EntryMeta:
    """The comments of a value node (not of its key) from an entry's metadata."""
    if meta is None:
        return yamlutil.EntryMeta()
    return yamlutil.EntryMeta(head=meta.head, line=meta.line, foot=meta.foot, text=meta.text)


# ------------------------------------------------------------------------------ sequence editing


class _Items:
    """A sequence as (value, metadata) pairs, so that item comments move with the items."""

    def __init__(self, seq: CommentedSeq | None = None) -> None:
        self.pairs: list[tuple[Any, yamlutil.EntryMeta | None]] = []
        if seq is not None:
            self.pairs = [(v, _meta(seq, i)) for i, v in enumerate(seq)]

    def write_to(self, seq: CommentedSeq) -> None:
        seq.clear()
        seq.ca.items.clear()
        for i, (value, meta) in enumerate(self.pairs):
            seq.append(value)
            if meta is not None:
                seq.ca.items[i] = meta


def _field_matches(elem: Any, key: str, value: str) -> bool:
    """kyaml ``FieldMatcher{Name: key, StringValue: value}`` on one list element."""
    if _is_missing_or_null(elem):
        return False
    if key == "":
        if isinstance(elem, (dict, list)):
            raise errors.MergeError(
                f"wrong node kind: expected scalar list element, got {_kind(elem)}"
            )
        return scalar_text(elem) == value
    if not isinstance(elem, dict):
        raise errors.MergeError(
            f"wrong node kind: expected mapping list element, got {_kind(elem)}"
        )
    if key not in elem:
        return False
    # An empty StringValue means "any value": kyaml leaves FieldMatcher.Value nil then.
    return value == "" or scalar_text(elem[key], _meta(elem, key)) == value


def _element_setter(
    items: _Items,
    element: Any,
    element_meta: yamlutil.EntryMeta | None,
    keys: Sequence[str],
    values: Sequence[str],
) -> None:
    """kyaml ``ElementSetter``: replace the elements matching keys=values by `element`
    (delete them when `element` is MISSING), or append it when none matches."""
    new_pairs: list[tuple[Any, yamlutil.EntryMeta | None]] = []
    found_any = False
    for value, meta in items.pairs:
        # Empty elements are not valid: they need at least the merge key.
        if value is None or (isinstance(value, dict) and not value):
            continue
        if not isinstance(value, dict) and keys[0] != "":
            new_pairs.append((value, meta))
            continue
        found = True
        matched = False
        for j, key in enumerate(keys):
            if j < len(values):
                matched = _field_matches(value, key, values[j])
            if not matched:
                found = False
                break
        if not found:
            if values:
                new_pairs.append((value, meta))
            continue
        found_any = True
        if element is MISSING:
            continue
        new_pairs.append((element, element_meta))
    items.pairs = new_pairs
    if element is MISSING:
        return
    if not found_any:
        items.pairs.append((element, element_meta))


def _append_list_node(dest: _Items, src: _Items, keys: Sequence[str]) -> None:
    """kyaml ``appendListNode`` (3-way): set every `src` element into `dest` by its keys.

    Deviation: kyaml appends an element that lacks one of `keys` a second time (a port without
    ``protocol`` while another has one); we match it on the keys it has instead.
    """
    for elem, meta in list(src.pairs):
        if keys[0] == "":
            _element_setter(dest, elem, meta, [""], [scalar_text(elem, meta)])
            continue
        if not isinstance(elem, dict):
            raise errors.MergeError(
                f"wrong node kind: expected mapping list element, got {_kind(elem)}"
            )
        present = [k for k in keys if k in elem]
        if not present:
            dest.pairs.append((elem, meta))
            continue
        found_values = [scalar_text(elem[k], _meta(elem, k)) for k in present]
        _element_setter(dest, elem, meta, present, found_values)


def _validate_keys(values: Sequence[str], keys: Sequence[str]) -> tuple[list[str], list[str]]:
    """Use only the merge keys an element has a value for (all of them when it has none)."""
    valid_keys = [k for k, v in zip(keys, values, strict=True) if v != ""]
    valid_values = [v for v in values if v != ""]
    if not valid_keys:
        return list(keys), list(values)
    return valid_keys, valid_values


def _associative_key(seq: Any) -> str:
    """kyaml ``GetAssociativeKey`` with its only inferred key, ``name``: set when every element
    has it (vacuously for an empty list)."""
    if all(isinstance(e, dict) and "name" in e for e in seq):
        return "name"
    return ""


# ------------------------------------------------------------------------------------- walker


class _Walker:
    def __init__(self, infer: bool) -> None:
        self.infer = infer

    def walk(
        self,
        sources: list[Any],
        metas: list[yamlutil.EntryMeta | None],
        schema: schemamod.Schema | None,
        path: list[str],
    ) -> _Result:
        """Merge one node; `metas` are the sources' entry metadata in their parents."""
        schema = self._schema(sources, schema)
        kind = next((_kind(s) for s in sources if not _is_missing_or_null(s)), None)
        if kind is None:
            # kyaml walks empty nodes as maps.
            return self._walk_map(sources, schema, path)
        for s in sources:
            if not _is_missing_or_null(s) and _kind(s) != kind:
                raise errors.MergeError(
                    f"cannot merge field {'.'.join(path) or '(root)'}: "
                    f"a {_kind(s)} in one version and a {kind} in another"
                )
        if kind == "map":
            return self._walk_map(sources, schema, path)
        if kind == "seq":
            if self._is_associative(schema, sources):
                return self._walk_associative(sources, schema, path)
            return self._visit_nonassociative(sources)
        return self._visit_scalar(sources, metas)

    @staticmethod
    def _schema(sources: list[Any], schema: schemamod.Schema | None) -> schemamod.Schema | None:
        if schema is not None:
            return schema
        for s in sources:
            if isinstance(s, dict):
                api_version, kind = s.get("apiVersion"), s.get("kind")
                if isinstance(api_version, str) and isinstance(kind, str) and api_version and kind:
                    found = schemamod.for_resource(api_version, kind)
                    if found is not None:
                        return found
        return None

    def _is_associative(self, schema: schemamod.Schema | None, sources: list[Any]) -> bool:
        if schema is not None:
            return schema.merges_elements()
        if not self.infer:
            return False
        return any(
            isinstance(s, list) and _associative_key(s) != ""
            for s in sources
            if not _is_missing_or_null(s)
        )

    # -- maps

    def _walk_map(
        self, sources: list[Any], schema: schemamod.Schema | None, path: list[str]
    ) -> _Result:
        dest, origin, updated = sources
        if updated is None or dest is None:
            return _CLEAR  # explicitly cleared in dest or updated
        if dest is MISSING and updated is MISSING:
            return _CLEAR
        result = _Result(dest, _DEST) if dest is not MISSING else _Result(CommentedMap(), _NEW)
        target: CommentedMap = result.value
        sources = [target, origin, updated]
        names: set[str] = set()
        for s in sources:
            if isinstance(s, dict):
                names.update(s.keys())
        for name in sorted(names, key=str):
            child = [s.get(name, MISSING) if isinstance(s, dict) else MISSING for s in sources]
            child_metas = [_meta(s, name) for s in sources]
            child_schema = schema.field(str(name)) if schema is not None else None
            value = self.walk(child, child_metas, child_schema, [*path, str(name)])
            _set_field(target, name, value, sources)
        return result

    # -- scalars and plain lists

    @staticmethod
    def _visit_scalar(sources: list[Any], metas: list[yamlutil.EntryMeta | None]) -> _Result:
        dest, origin, updated = sources
        if updated is None or dest is None:
            return _CLEAR
        if _is_missing_or_null(updated) != _is_missing_or_null(origin):
            return _Result(updated, _UPDATED)  # added or removed upstream
        if _is_missing_or_null(updated):
            return _Result(dest, _DEST)
        if _scalar_repr(updated, metas[_UPDATED]) != _scalar_repr(origin, metas[1]):
            return _Result(updated, _UPDATED)  # changed upstream: upstream wins
        return _Result(dest, _DEST)

    @staticmethod
    def _visit_nonassociative(sources: list[Any]) -> _Result:
        dest, origin, updated = sources
        if updated is None or dest is None:
            return _CLEAR
        if _is_missing_or_null(updated) != _is_missing_or_null(origin):
            return _Result(updated, _UPDATED)
        if _is_missing_or_null(updated):
            return _Result(dest, _DEST)
        if _plain_repr(updated) != _plain_repr(origin):
            return _Result(updated, _UPDATED)
        return _Result(dest, _DEST)

    # -- associative lists

    def _walk_associative(
        self, sources: list[Any], schema: schemamod.Schema | None, path: list[str]
    ) -> _Result:
        dest, origin, updated = sources
        if _is_missing_or_null(updated) and not _is_missing_or_null(origin):
            return _CLEAR  # upstream deleted the whole list
        if _is_missing_or_null(dest):
            result = _Result(CommentedSeq(), _NEW)
        else:
            result = _Result(dest, _DEST)
        target: CommentedSeq = result.value
        sources = [target, origin, updated]

        strategy, keys = ("", []) if schema is None else (schema.strategy, list(schema.keys))
        if strategy == "" and not keys:
            key = self._element_key(sources, path)
            if key:
                keys = [key]
        values = self._element_values(sources, keys)
        if values or keys:
            self._set_associative_elements(
                values, keys, target, sources=sources, schema=schema, path=path
            )
        else:
            self._set_primitive_elements(target, sources, schema, path)
        return result

    @staticmethod
    def _element_key(sources: list[Any], path: list[str]) -> str:
        key = ""
        for s in sources:
            if isinstance(s, list) and len(s) > 0:
                new_key = _associative_key(s)
                if key not in ("", new_key):
                    raise errors.MergeError(
                        f"conflicting merge keys [{key},{new_key}] for field {'.'.join(path)}"
                    )
                key = new_key
        if key == "":
            raise errors.MergeError(f"no merge key found for field {'.'.join(path)}")
        return key

    @staticmethod
    def _element_values(sources: list[Any], keys: list[str]) -> list[list[str]]:
        """The merge-key values of all elements of all sources, dest's first, without repeats."""
        out: list[list[str]] = []
        seen: set[tuple[str, ...]] = set()
        for s in sources:
            if not isinstance(s, list):
                continue
            for elem in s:
                values = [
                    scalar_text(elem[k], _meta(elem, k))
                    if isinstance(elem, dict) and k in elem
                    else ""
                    for k in keys
                ]
                if not values or tuple(values) in seen:
                    continue
                seen.add(tuple(values))
                out.append(values)
        return out

    @staticmethod
    def _element(source: Any, keys: list[str], values: list[str]) -> tuple[Any, Any]:
        """kyaml ``ElementList``: the first mapping element of `source` with every key=value."""
        if not isinstance(source, list):
            return MISSING, None
        for i, elem in enumerate(source):
            if not isinstance(elem, dict):
                continue
            if all(
                k in elem and scalar_text(elem[k], _meta(elem, k)) == v
                for k, v in zip(keys, values, strict=True)
            ):
                return elem, _meta(source, i)
        return MISSING, None

    def _set_associative_elements(
        self,
        values: list[list[str]],
        keys: list[str],
        dest: CommentedSeq,
        *,
        sources: list[Any],
        schema: schemamod.Schema | None,
        path: list[str],
    ) -> None:
        element_schema = schema.elements() if schema is not None else None
        dest_items = _Items(dest)
        to_add = _Items()
        for value in values:
            valid_keys, valid_values = _validate_keys(value, keys)
            found = [self._element(s, valid_keys, valid_values) for s in sources]
            result = self.walk([f[0] for f in found], [f[1] for f in found], element_schema, path)
            merged = result.value
            if _is_missing_or_null(merged) or (isinstance(merged, dict) and not merged):
                _element_setter(dest_items, MISSING, None, valid_keys, valid_values)
                continue
            if isinstance(merged, dict):
                for key, key_value in zip(valid_keys, valid_values, strict=True):
                    if key not in merged:
                        merged[key] = key_value
            meta = found[result.source][1] if result.source in (_DEST, _UPDATED) else None
            if result.source == _UPDATED:
                merged = yamlutil.copy_node(merged)
            _element_setter(to_add, merged, meta, valid_keys, valid_values)
        for value in values:
            valid_keys, _ = _validate_keys(value, keys)
            _append_list_node(dest_items, to_add, valid_keys)
        dest_items.write_to(dest)

    def _set_primitive_elements(
        self,
        dest: CommentedSeq,
        sources: list[Any],
        schema: schemamod.Schema | None,
        path: list[str],
    ) -> None:
        element_schema = schema.elements() if schema is not None else None
        primitives: list[str] = []
        for s in sources:
            if isinstance(s, list):
                for i, item in enumerate(s):
                    text = scalar_text(item, _meta(s, i))
                    if text not in primitives:
                        primitives.append(text)
        dest_items = _Items(dest)
        to_add = _Items()
        for text in primitives:
            found = [self._primitive(s, text) for s in sources]
            result = self.walk([f[0] for f in found], [f[1] for f in found], element_schema, path)
            merged = result.value
            if _is_missing_or_null(merged) or (isinstance(merged, dict) and not merged):
                _element_setter(dest_items, MISSING, None, [""], [text])
                continue
            meta = found[result.source][1] if result.source in (_DEST, _UPDATED) else None
            _element_setter(to_add, merged, meta, [""], [text])
        _append_list_node(dest_items, to_add, [""])
        dest_items.write_to(dest)

    @staticmethod
    def _primitive(source: Any, text: str) -> tuple[Any, Any]:
        if not isinstance(source, list):
            return MISSING, None
        for i, item in enumerate(source):
            if scalar_text(item, _meta(source, i)) == text:
                return item, _meta(source, i)
        return MISSING, None


def _set_field(target: CommentedMap, name: Any, result: _Result, sources: list[Any]) -> None:
    """kyaml ``FieldSetter``: set, replace or (for a cleared result) remove ``target[name]``.

    A replaced value keeps the key's comments and takes the value comments of the node it came
    from, as yaml.v3's ``SetYNode`` does.
    """
    value = result.value
    if _is_missing_or_null(value):
        if name in target:
            del target[name]
            target.ca.items.pop(name, None)
        return
    if result.source == _DEST and name in target and target[name] is value:
        return
    source_meta = None
    if result.source in (_DEST, _UPDATED):
        source_meta = _meta(sources[result.source], name)
        if result.source == _UPDATED:
            value = yamlutil.copy_node(value)
    new_meta = _value_meta(source_meta)
    old_meta = _meta(target, name)
    target[name] = value
    if old_meta is not None:
        old_meta.head, old_meta.line, old_meta.foot = new_meta.head, new_meta.line, new_meta.foot
        old_meta.text = new_meta.text
    elif new_meta != yamlutil.EntryMeta():
        target.ca.items[name] = new_meta
