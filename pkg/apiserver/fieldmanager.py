"""Field ownership (``metadata.managedFields``) and server-side apply, as Kubernetes does them.

Where this sits: the write handlers of :mod:`pkg.apiserver.handlers` build a
:class:`FieldManager` for the resource path of the request (a resource or subresource at
one apiVersion) and call it on the object they hand to the storage:
:meth:`FieldManager.update` for a create, a PUT and a merge/JSON/strategic patch (inside
the storage's update, against the current object), :meth:`FieldManager.apply` for
``application/apply-patch+yaml``. A storage that discards managedFields
(``rest.ManagedFieldsDiscarder``) never reaches this module.

It is a port of what kube-apiserver runs: structured-merge-diff v4 (``fieldpath``,
``typed``, ``merge.Updater``) under k8s.io/apimachinery's ``managedfields`` chain
(VersionCheck, LastAppliedUpdater, LastAppliedManager, SkipNonApplied, CapManagers,
BuildManagerInfo, ManagedFieldsUpdater, StripMeta, StructuredMerge):

* A *field set* is a trie of path elements: ``f:<name>`` for a struct field or map key,
  ``k:{"<key>":<value>,...}`` for an item of an ``x-kubernetes-list-type: map`` list (its
  key fields, JSON, sorted by name), ``v:<json>`` for an item of a ``set`` list. A node
  that is itself owned and has owned children is written with ``.``. Atomic lists (every
  list without a list type) and atomic maps are owned whole, as one leaf. The schema is
  read off the generated models (:mod:`pkg.apiserver.patch` holds those helpers);
  fields typed ``Any`` are "deduced" (maps per key, lists atomic), as in Kubernetes.
* **Update** (create, PUT, non-apply patch): the live and new objects are compared. The
  fields the write added or changed become the writer's (and are taken from every other
  manager); the fields it removed leave every manager. A write that changes nothing
  changes no entry and no time, so a no-op stays a no-op. A create compares against an
  empty object. Without ``fieldManager`` the manager is the User-Agent up to its first
  ``/`` (:func:`manager_from_user_agent`). At most :data:`MAX_UPDATE_MANAGERS` Update
  entries are kept; the oldest are merged into ``ancient-changes``.
* **Apply**: the applied configuration is merged onto the live object
  (:func:`pkg.apiserver.patch.strategic_merge`); the manager's set becomes the fields of
  the configuration; fields it applied last time and no longer applies are removed from
  the object unless another manager owns them; every field the apply changes that another
  manager owns is a conflict (409 Conflict worded as kube-apiserver words it, one
  ``FieldManagerConflict`` cause per field) unless ``force``, which moves the ownership
  instead. Equal values
  are shared ownership. An object without managedFields first gets a
  ``before-first-apply`` Update entry owning everything it has. ``kubectl`` (the default
  manager of ``kubectl apply --server-side``) may take over fields that client-side apply
  set and nobody changed since (the ``last-applied-configuration`` annotation), and keeps
  that annotation up to date, as kube-apiserver does.
* Identity metadata (``name``, ``namespace``, ``uid``, ``resourceVersion``, ``generation``,
  ``creationTimestamp``, ``managedFields``) and ``apiVersion``/``kind`` are never owned.
  Writes through the main resource do not own ``status``; a ``status`` write owns only
  ``status`` and an ``approval`` write only ``spec.lifecycle`` (the strategies reset the
  rest, as Kubernetes' reset-fields filters say).

Entries are one per (manager, operation, apiVersion for Update, subresource), sorted as
Kubernetes sorts them (Apply first, then by time, manager, apiVersion, subresource).

Work happens on JSON-ready dicts (``codec.to_dict``, so model defaults count as set, as
CRD defaulting does); a few dozen fields cost a few hundred microseconds per write.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from pydantic import BaseModel

from api.meta import v1 as metav1
from pkg.apimachinery import codec, errors, gojson, strconv
from pkg.apiserver import patch
from pkg.registry.rest import objectmeta

__all__ = [
    "LAST_APPLIED_ANNOTATION",
    "MAX_UPDATE_MANAGERS",
    "FieldManager",
    "FieldSet",
    "field_set",
    "fields_v1",
    "manager_from_user_agent",
    "path_string",
]

MAX_UPDATE_MANAGERS: Final = 10
"""Update entries kept before the oldest merge into ``ancient-changes`` (Go's
DefaultMaxUpdateManagers)."""

LAST_APPLIED_ANNOTATION: Final = "kubectl.kubernetes.io/last-applied-configuration"

FIELD_MANAGER_MAX_LENGTH: Final = 128

_BEFORE_FIRST_APPLY: Final = "before-first-apply"
_ANCIENT_CHANGES: Final = "ancient-changes"
_UNKNOWN_MANAGER: Final = "unknown"
_KUBECTL: Final = "kubectl"
_APPLY: Final = "Apply"
_UPDATE: Final = "Update"

# --- path elements and field sets (structured-merge-diff's fieldpath) ----------------------

_FIELD, _KEY, _VALUE, _INDEX = range(4)

Frozen: TypeAlias = tuple[Any, ...]
"""A JSON value made hashable: ``(tag, payload)``; the tag keeps ``true`` and ``1`` apart."""

PathElement: TypeAlias = tuple[int, Any]
"""``(_FIELD, name)``, ``(_KEY, ((name, Frozen), ...))`` sorted by name,
``(_VALUE, Frozen)`` or ``(_INDEX, int)``."""

Path: TypeAlias = tuple[PathElement, ...]


def _freeze(value: Any) -> Frozen:
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int):
        return ("i", value)
    if isinstance(value, float):
        return ("f", value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("l", tuple(_freeze(v) for v in value))
    if isinstance(value, dict):
        return ("m", tuple(sorted((str(k), _freeze(v)) for k, v in value.items())))
    return ("n", None)


def _thaw(frozen: Frozen) -> Any:
    tag, payload = frozen
    if tag == "l":
        return [_thaw(v) for v in payload]
    if tag == "m":
        return {k: _thaw(v) for k, v in payload}
    return payload


def _value_order(frozen: Frozen) -> tuple[Any, ...]:
    """Go's ``value.Compare``: numbers, strings, booleans, lists, maps, null."""
    tag, payload = frozen
    if tag in ("i", "f"):
        return (0, payload)
    if tag == "s":
        return (1, payload)
    if tag == "b":
        return (2, payload)
    if tag == "l":
        return (3, tuple(_value_order(v) for v in payload))
    if tag == "m":
        return (4, tuple((k, _value_order(v)) for k, v in payload))
    return (5,)


def _pe_order(pe: PathElement) -> tuple[Any, ...]:
    """Go's ``PathElement.Compare``: fields, then keys, then values, then indices."""
    kind, payload = pe
    if kind == _KEY:
        return (kind, tuple((name, _value_order(v)) for name, v in payload))
    if kind == _VALUE:
        return (kind, _value_order(payload))
    return (kind, payload)


class FieldSet:
    """A set of field paths as a trie (Go's ``fieldpath.Set``).

    ``members`` are the path elements owned at this level, ``children`` the subsets below
    a path element (which need not be a member itself). Sets are immutable once built:
    operations return new sets that may share unchanged subtrees; only :meth:`insert`
    changes a set, while a walker builds it. A child set is never empty.
    """

    __slots__ = ("children", "members")

    def __init__(
        self,
        members: set[PathElement] | None = None,
        children: dict[PathElement, FieldSet] | None = None,
    ) -> None:
        self.members: set[PathElement] = members if members is not None else set()
        self.children: dict[PathElement, FieldSet] = children if children is not None else {}

    @classmethod
    def of(cls, *paths: Path) -> FieldSet:
        out = cls()
        for path in paths:
            out.insert(path)
        return out

    def insert(self, path: Path) -> None:
        if not path:
            return  # nobody owns the object itself
        node = self
        for pe in path[:-1]:
            child = node.children.get(pe)
            if child is None:
                child = node.children[pe] = FieldSet()
            node = child
        node.members.add(path[-1])

    def has(self, path: Path) -> bool:
        node: FieldSet | None = self
        for pe in path[:-1]:
            node = node.children.get(pe) if node is not None else None
        return node is not None and bool(path) and path[-1] in node.members

    def empty(self) -> bool:
        return not self.members and all(c.empty() for c in self.children.values())

    def union(self, other: FieldSet) -> FieldSet:
        children = dict(self.children)
        for pe, theirs in other.children.items():
            mine = children.get(pe)
            children[pe] = theirs if mine is None else mine.union(theirs)
        return FieldSet(self.members | other.members, children)

    def intersection(self, other: FieldSet) -> FieldSet:
        children = {}
        for pe, mine in self.children.items():
            theirs = other.children.get(pe)
            if theirs is not None:
                both = mine.intersection(theirs)
                if not both.empty():
                    children[pe] = both
        return FieldSet(self.members & other.members, children)

    def difference(self, other: FieldSet) -> FieldSet:
        """Members minus members, children minus the same children (a parent member does
        not remove its children: that is :meth:`recursive_difference`)."""
        return self._difference(other, recursive=False)

    def recursive_difference(self, other: FieldSet) -> FieldSet:
        """Like :meth:`difference`, and a member of ``other`` removes the whole subtree."""
        return self._difference(other, recursive=True)

    def _difference(self, other: FieldSet, *, recursive: bool) -> FieldSet:
        children = {}
        for pe, mine in self.children.items():
            if recursive and pe in other.members:
                continue
            theirs = other.children.get(pe)
            if theirs is None:
                children[pe] = mine
            else:
                rest = mine._difference(theirs, recursive=recursive)
                if not rest.empty():
                    children[pe] = rest
        return FieldSet(self.members - other.members, children)

    def include_prefix(self, prefix: Path) -> FieldSet:
        """Only ``prefix`` and what lies below it (Go's ``FilterIncludeMatches`` with a
        prefix matcher)."""
        if not prefix:
            return self
        pe = prefix[0]
        children = {}
        child = self.children.get(pe)
        if child is not None:
            kept = child.include_prefix(prefix[1:])
            if not kept.empty():
                children[pe] = kept
        return FieldSet(self.members & {pe}, children)

    def paths(self) -> Iterator[Path]:
        """Every member path, in Go's ``Iterate`` order (this level's members, then each
        child's paths, both sorted)."""
        yield from self._paths(())

    def _paths(self, prefix: Path) -> Iterator[Path]:
        for pe in sorted(self.members, key=_pe_order):
            yield (*prefix, pe)
        for pe in sorted(self.children, key=_pe_order):
            yield from self.children[pe]._paths((*prefix, pe))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldSet):
            return NotImplemented
        return self.members == other.members and self.children == other.children

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FieldSet({[path_string(p) for p in self.paths()]})"


_EMPTY_SET: Final = FieldSet()

# --- FieldsV1 (fieldpath/serialize.go, serialize-pe.go) -------------------------------------


def _go_json(value: Any) -> str:
    """Go's ``json.Marshal`` of decoded JSON (maps sorted, integral floats as integers)."""
    return gojson.marshal(_go_numbers(value), sort_keys=True)


def _go_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, list):
        return [_go_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _go_numbers(v) for k, v in value.items()}
    return value


def _pe_key(pe: PathElement) -> str:
    """The FieldsV1 key of a path element."""
    kind, payload = pe
    if kind == _FIELD:
        return f"f:{payload}"
    if kind == _KEY:
        fields = ",".join(f"{_go_json(name)}:{_go_json(_thaw(v))}" for name, v in payload)
        return "k:{" + fields + "}"
    if kind == _VALUE:
        return "v:" + _go_json(_thaw(payload))
    return f"i:{payload}"


def _parse_pe(key: str) -> PathElement | None:
    """The path element of a FieldsV1 key; None for a kind this version does not know
    (dropped, as Go drops them). Raises ValueError for a malformed one."""
    kind, rest = key[:2], key[2:]
    if kind == "f:":
        return (_FIELD, rest)
    if kind == "v:":
        return (_VALUE, _freeze(json.loads(rest)))
    if kind == "k:":
        keys = json.loads(rest)
        if not isinstance(keys, dict) or not keys:
            raise ValueError(f"invalid key path element {key!r}")
        return (_KEY, tuple(sorted((str(k), _freeze(v)) for k, v in keys.items())))
    if kind == "i:":
        return (_INDEX, int(rest))
    return None


def fields_v1(fields: FieldSet) -> dict[str, Any]:
    """The FieldsV1 JSON of a field set, keys in Go's order."""
    return _emit(fields, include_self=False)


def _emit(fields: FieldSet, include_self: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if include_self and (fields.members or fields.children):
        out["."] = {}
    for pe in sorted(fields.members | fields.children.keys(), key=_pe_order):
        child = fields.children.get(pe)
        out[_pe_key(pe)] = {} if child is None else _emit(child, pe in fields.members)
    return out


def field_set(data: Mapping[str, Any]) -> FieldSet:
    """The field set a FieldsV1 JSON object describes. Raises ValueError when malformed."""
    children, _ = _read(data)
    return children or FieldSet()


def _read(data: Mapping[str, Any]) -> tuple[FieldSet | None, bool]:
    children: FieldSet | None = None
    is_member = False
    for key, sub in data.items():
        if key == ".":
            is_member = True
            continue
        pe = _parse_pe(key)
        if pe is None:
            continue
        if not isinstance(sub, Mapping):
            raise ValueError(f"the value of {key!r} is not an object")
        grandchildren, child_is_member = _read(sub)
        if children is None:
            children = FieldSet()
        if child_is_member:
            children.members.add(pe)
        if grandchildren is not None and not grandchildren.empty():
            children.children[pe] = grandchildren
    if children is None:
        is_member = True
    return children, is_member


# --- paths as conflict messages print them (PathElement.String, value.ToString) -----------


def _to_string(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return strconv.format_float(value)
    if isinstance(value, str):
        return strconv.quote(value)
    if isinstance(value, list):
        return "[" + ",".join(_to_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "".join(f"{k}={_to_string(v)}" for k, v in sorted(value.items()))
    return "{{undefined}}"


def _pe_string(pe: PathElement) -> str:
    kind, payload = pe
    if kind == _FIELD:
        return f".{payload}"
    if kind == _KEY:
        return "[" + ",".join(f"{name}={_to_string(_thaw(v))}" for name, v in payload) + "]"
    if kind == _VALUE:
        return f"[={_to_string(_thaw(payload))}]"
    return f"[{payload}]"


def path_string(path: Path) -> str:
    """A path as Kubernetes prints it: ``.spec.lifecycle``, ``.metadata.finalizers[="a"]``,
    ``.metadata.ownerReferences[uid="1"]``."""
    return "".join(_pe_string(pe) for pe in path)


# --- the schema, read off the generated models ---------------------------------------------

_STRUCT, _MAP, _LIST, _SCALAR, _UNTYPED = range(5)


@dataclass(frozen=True, eq=False, slots=True)
class _Type:
    """A node of the schema: what structured-merge-diff calls an atom.

    ``element`` is the type of a map's values, a list's items, or a struct's undeclared
    keys (free-form models only; None: undeclared keys are not part of the object).
    ``keys`` of a list: None for atomic, ``()`` for a set, the key names for a map list.
    """

    kind: int
    model: type[BaseModel] | None = None
    element: _Type | None = None
    keys: tuple[str, ...] | None = None
    atomic: bool = False


_UNTYPED_T: Final = _Type(_UNTYPED)
_SCALAR_T: Final = _Type(_SCALAR)
_DEDUCED_MAP: Final = _Type(_MAP, element=_UNTYPED_T)


@functools.cache
def _struct_fields(model: type[BaseModel]) -> Mapping[str, _Type]:
    return {name: _type_of(f.annotation, f.extra) for name, f in patch.schema_fields(model).items()}


def _type_of(annotation: Any, extra: Mapping[str, Any]) -> _Type:
    keys = patch.merge_keys(extra, apply=True)
    return _resolve(
        annotation,
        None if keys is None else tuple(keys),
        extra.get("x-kubernetes-map-type") == "atomic",
    )


def _resolve(annotation: Any, keys: tuple[str, ...] | None, atomic: bool) -> _Type:
    current = codec.unwrap_annotation(annotation)
    if codec.is_model(current):
        free_form = current.model_config.get("extra") == "allow"
        if free_form and not current.model_fields:
            return _UNTYPED_T  # FieldsV1, RawExtension: arbitrary JSON
        return _Type(
            _STRUCT, model=current, element=_UNTYPED_T if free_form else None, atomic=atomic
        )
    origin = typing.get_origin(current)
    args = typing.get_args(current)
    if origin is dict:
        element = _resolve(args[1], None, False) if len(args) == 2 else _UNTYPED_T
        return _Type(_MAP, element=element, atomic=atomic)
    if origin is list:
        element = _resolve(args[0], None, False) if args else _UNTYPED_T
        return _Type(_LIST, element=element, keys=keys)
    if current is Any or current is object:
        return _UNTYPED_T
    if origin in (typing.Union, types.UnionType):
        composite = any(
            codec.is_model(codec.unwrap_annotation(a))
            or typing.get_origin(codec.unwrap_annotation(a)) in (dict, list)
            for a in args
        )
        return _UNTYPED_T if composite else _SCALAR_T
    return _SCALAR_T


def _child(parent: _Type, key: str) -> tuple[_Type | None, bool]:
    """The type of ``key`` under a struct or map, and whether it is a declared field."""
    if parent.kind == _STRUCT and parent.model is not None:
        declared = _struct_fields(parent.model).get(key)
        if declared is not None:
            return declared, True
        return parent.element, False
    if parent.kind == _MAP:
        return parent.element, False
    return _UNTYPED_T, False


def _deduce(t: _Type, *values: Any) -> _Type:
    """An untyped node takes the shape of its values: maps are maps, the rest leaves."""
    if t.kind != _UNTYPED:
        return t
    if all(v is _MISSING or isinstance(v, dict) for v in values):
        return _DEDUCED_MAP
    return _SCALAR_T


class _ItemError(ValueError):
    pass


def _item_pe(list_type: _Type, item: Any) -> PathElement:
    """The path element of an item of a map or set list (Go's listItemToPathElement)."""
    if list_type.keys:
        if item is None:
            raise _ItemError("associative list with keys may not have a null element")
        if not isinstance(item, dict):
            raise _ItemError("associative list with keys may not have non-map elements")
        fields = []
        for name in list_type.keys:
            if name not in item:
                raise _ItemError(
                    f"associative list with keys has an element that omits key field "
                    f"{strconv.quote(name)} (and doesn't have default value)"
                )
            fields.append((name, _freeze(item[name])))
        fields.sort(key=lambda f: f[0])
        return (_KEY, tuple(fields))
    if isinstance(item, dict):
        raise _ItemError("associative list without keys has an element that's a map type")
    if isinstance(item, list):
        raise _ItemError("not supported: associative list with lists as elements")
    if item is None:
        raise _ItemError("associative list without keys has an element that's an explicit null")
    return (_VALUE, _freeze(item))


# --- walkers over JSON-ready objects (typed/tofieldset.go, compare.go, remove.go) ---------


class _Missing:
    """A field that is not there (as opposed to one that is ``null``)."""


_MISSING: Final = _Missing()


def _to_field_set(value: Any, root: _Type, errs: list[str] | None = None) -> FieldSet:
    """Every field of ``value`` that can be owned (Go's ``TypedValue.ToFieldSet``).

    Struct fields are owned through their leaves; a map key, a list item, a null and an
    empty object are owned themselves. Problems with list items go to ``errs`` (applied
    configurations) or are skipped (stored objects); undeclared fields of a typed struct
    are skipped, as decoding drops them.
    """
    out = FieldSet()
    _walk_set(value, root, (), out, errs)
    return out


def _walk_set(value: Any, t: _Type, path: Path, out: FieldSet, errs: list[str] | None) -> None:
    t = _deduce(t, value)
    if t.kind in (_STRUCT, _MAP):
        if t.atomic or not isinstance(value, dict):
            if t.atomic or value is not None:
                out.insert(path)
            return
        for key, item in value.items():
            sub, declared = _child(t, key)
            if sub is None:
                continue
            child_path = (*path, (_FIELD, key))
            _walk_set(item, sub, child_path, out, errs)
            if item is None or (isinstance(item, dict) and not item) or not declared:
                out.insert(child_path)
        return
    if t.kind == _LIST and t.keys is not None:
        if not isinstance(value, list):
            if value is not None:
                out.insert(path)
            return
        seen: set[PathElement] = set()
        for index, item in enumerate(value):
            try:
                pe = _item_pe(t, item)
            except _ItemError as err:
                if errs is not None:
                    errs.append(f"{path_string(path)}: element {index}: {err}")
                continue
            if pe in seen:
                if errs is not None:
                    errs.append(f"{path_string(path)}: duplicate entries for key {_pe_string(pe)}")
                continue
            seen.add(pe)
            item_path = (*path, pe)
            _walk_set(item, t.element or _UNTYPED_T, item_path, out, errs)
            out.insert(item_path)
        return
    out.insert(path)


@dataclass(slots=True)
class _Comparison:
    added: FieldSet
    modified: FieldSet
    removed: FieldSet

    def filtered(self, keep: Callable[[FieldSet], FieldSet]) -> _Comparison:
        return _Comparison(keep(self.added), keep(self.modified), keep(self.removed))


def _compare(lhs: Any, rhs: Any, root: _Type) -> _Comparison:
    """What changed from ``lhs`` to ``rhs`` (Go's ``TypedValue.Compare``).

    Leaves (scalars, atomic lists and maps, empty containers) are added, removed or
    modified; a struct, map or list item that appears or disappears is added or removed
    itself too, with all its fields.
    """
    result = _Comparison(FieldSet(), FieldSet(), FieldSet())
    _walk_compare(lhs, rhs, root, (), result)
    return result


def _walk_compare(lhs: Any, rhs: Any, t: _Type, path: Path, cmp: _Comparison) -> None:
    t = _deduce(t, lhs, rhs)
    if t.kind in (_STRUCT, _MAP) and not t.atomic:
        left = lhs if isinstance(lhs, dict) else None
        right = rhs if isinstance(rhs, dict) else None
        if (not left and not right) or _kind_changed(lhs, left, rhs, right):
            _compare_leaf(lhs, rhs, path, cmp)
            return
        for key, value in (left or {}).items():
            sub, _ = _child(t, key)
            other = right.get(key, _MISSING) if right is not None else _MISSING
            _walk_compare(value, other, sub or _UNTYPED_T, (*path, (_FIELD, key)), cmp)
        for key, value in (right or {}).items():
            if left is None or key not in left:
                sub, _ = _child(t, key)
                _walk_compare(_MISSING, value, sub or _UNTYPED_T, (*path, (_FIELD, key)), cmp)
        _appeared(lhs, rhs, path, cmp)
        return
    if t.kind == _LIST and t.keys is not None:
        left_list = lhs if isinstance(lhs, list) else None
        right_list = rhs if isinstance(rhs, list) else None
        if (not left_list and not right_list) or _kind_changed(lhs, left_list, rhs, right_list):
            _compare_leaf(lhs, rhs, path, cmp)
            return
        element = t.element or _UNTYPED_T
        left_items = _items(t, left_list)
        right_items = _items(t, right_list)
        for pe, value in left_items.items():
            other = right_items.get(pe, _MISSING)
            _walk_compare(value, other, element, (*path, pe), cmp)
        for pe, value in right_items.items():
            if pe not in left_items:
                _walk_compare(_MISSING, value, element, (*path, pe), cmp)
        _appeared(lhs, rhs, path, cmp)
        return
    _compare_leaf(lhs, rhs, path, cmp)


def _kind_changed(lhs: Any, left: Any, rhs: Any, right: Any) -> bool:
    # One side is a non-empty container, the other a value of another kind.
    return (left is None and lhs is not _MISSING) or (right is None and rhs is not _MISSING)


def _items(t: _Type, values: list[Any] | None) -> dict[PathElement, Any]:
    out: dict[PathElement, Any] = {}
    for item in values or ():
        try:
            pe = _item_pe(t, item)
        except _ItemError:
            continue  # a stored object cannot be refused; such an item has no owner
        out.setdefault(pe, item)  # a duplicate: the first one counts
    return out


def _appeared(lhs: Any, rhs: Any, path: Path, cmp: _Comparison) -> None:
    if lhs is _MISSING:
        cmp.added.insert(path)
    elif rhs is _MISSING:
        cmp.removed.insert(path)


def _compare_leaf(lhs: Any, rhs: Any, path: Path, cmp: _Comparison) -> None:
    if lhs is _MISSING:
        cmp.added.insert(path)
    elif rhs is _MISSING:
        cmp.removed.insert(path)
    elif lhs != rhs or isinstance(lhs, bool) != isinstance(rhs, bool):
        cmp.modified.insert(path)


def _remove_items(value: Any, remove: FieldSet, t: _Type) -> Any:
    """``value`` without the fields of ``remove`` (a member goes with everything below
    it); containers left empty stay as empty containers (Go's ``RemoveItems``)."""
    t = _deduce(t, value)
    if t.kind in (_STRUCT, _MAP) and not t.atomic:
        if not isinstance(value, dict) or not value:
            return value
        out: dict[str, Any] = {}
        for key, item in value.items():
            pe = (_FIELD, key)
            if pe in remove.members:
                continue
            below = remove.children.get(pe)
            if below is None:
                out[key] = item
            else:
                sub, _ = _child(t, key)
                out[key] = _remove_items(item, below, sub or _UNTYPED_T)
        return out
    if t.kind == _LIST and t.keys is not None:
        if not isinstance(value, list) or not value:
            return value
        kept: list[Any] = []
        for item in value:
            try:
                pe = _item_pe(t, item)
            except _ItemError:
                kept.append(item)
                continue
            if pe in remove.members:
                continue
            below = remove.children.get(pe)
            kept.append(
                item if below is None else _remove_items(item, below, t.element or _UNTYPED_T)
            )
        return kept
    return value


def _ensure_named_fields_are_members(fields: FieldSet, t: _Type | None) -> FieldSet:
    """``fields`` plus every declared struct field that has owned children (Go's
    ``EnsureNamedFieldsAreMembers``), so that removing them removes the field itself."""
    members = set(fields.members)
    children: dict[PathElement, FieldSet] = {}
    for pe, child in fields.children.items():
        child_type: _Type | None = None
        if t is not None:
            if pe[0] == _FIELD and t.kind in (_STRUCT, _MAP, _UNTYPED):
                child_type, declared = _child(t, pe[1])
                if declared:
                    members.add(pe)
            elif pe[0] == _KEY and t.kind in (_LIST, _UNTYPED):
                child_type = t.element or _UNTYPED_T
        children[pe] = _ensure_named_fields_are_members(child, child_type)
    return FieldSet(members, children)


# --- managers and their entries (managedfields/internal/managedfields.go) -----------------


@dataclass(frozen=True, slots=True)
class _ManagerId:
    """What identifies an entry: an applier is the same whatever apiVersion it applies."""

    manager: str
    operation: str
    api_version: str  # "" for Apply
    subresource: str

    @property
    def key(self) -> str:
        """Go's BuildManagerIdentifier: the entry's JSON (omitempty), used to sort."""
        fields = {"manager": self.manager, "operation": self.operation}
        if self.api_version:
            fields["apiVersion"] = self.api_version
        if self.subresource:
            fields["subresource"] = self.subresource
        return "{" + ",".join(f'"{k}":{_go_json(v)}' for k, v in fields.items() if v) + "}"

    def printed(self) -> str:
        """As conflict messages name it: ``"mgr" with subresource "s" using v``."""
        text = strconv.quote(self.manager)
        if self.subresource:
            text += f" with subresource {strconv.quote(self.subresource)}"
        if self.operation == _UPDATE:
            text += f" using {self.api_version}"
        return text


@dataclass(frozen=True, slots=True)
class _Versioned:
    fields: FieldSet
    api_version: str
    applied: bool


@dataclass(slots=True)
class _Managed:
    sets: dict[_ManagerId, _Versioned]
    times: dict[_ManagerId, datetime.datetime | None]

    def copy(self) -> _Managed:
        return _Managed(dict(self.sets), dict(self.times))


class _DecodeError(ValueError):
    pass


def _decode(entries: Sequence[metav1.ManagedFieldsEntry] | None) -> _Managed:
    """Go's DecodeManagedFields. Raises _DecodeError for an entry it cannot read."""
    managed = _Managed({}, {})
    for index, entry in enumerate(entries or ()):
        if entry.operation not in (_APPLY, _UPDATE):
            raise _DecodeError("operation must be `Apply` or `Update`")
        if not entry.api_version:
            raise _DecodeError("apiVersion must not be empty")
        if entry.fields_type != "FieldsV1":
            if not entry.fields_type:
                raise _DecodeError(f"missing fieldsType in managed fields entry {index}")
            raise _DecodeError(
                f"invalid fieldsType {strconv.quote(entry.fields_type)} in managed fields "
                f"entry {index}"
            )
        applied = entry.operation == _APPLY
        manager = _ManagerId(
            entry.manager or "",
            entry.operation,
            "" if applied else entry.api_version,
            entry.subresource or "",
        )
        try:
            fields = field_set(entry.fields_v1.model_dump() if entry.fields_v1 else {})
        except ValueError as err:
            raise _DecodeError(f"error decoding set: {err}") from None
        managed.sets[manager] = _Versioned(fields, entry.api_version, applied)
        managed.times[manager] = entry.time
    return managed


def _seconds(time: datetime.datetime | None) -> int:
    return int(time.timestamp()) if time is not None else 0


def _encode(managed: _Managed) -> list[metav1.ManagedFieldsEntry]:
    entries = [
        metav1.ManagedFieldsEntry(
            manager=manager.manager or None,
            operation=_APPLY if versioned.applied else _UPDATE,
            api_version=versioned.api_version,
            time=managed.times.get(manager),
            fields_type="FieldsV1",
            fields_v1=metav1.FieldsV1.model_validate(fields_v1(versioned.fields)),
            subresource=manager.subresource or None,
        )
        for manager, versioned in managed.sets.items()
    ]
    entries.sort(
        key=lambda e: (
            e.operation or "",
            _seconds(e.time),
            e.manager or "",
            e.api_version or "",
            e.subresource or "",
        )
    )
    return entries


def _is_reset(entries: Sequence[metav1.ManagedFieldsEntry] | None) -> bool:
    """``managedFields: []`` (or ``[{}]``) in a write: the client clears them."""
    if entries is None:
        return False
    return not entries or (len(entries) == 1 and entries[0] == metav1.ManagedFieldsEntry())


# Never owned: every object has them (Go's stripMetaManager).
_STRIPPED: Final = FieldSet.of(
    ((_FIELD, "apiVersion"),),
    ((_FIELD, "kind"),),
    ((_FIELD, "metadata"),),
    *(
        ((_FIELD, "metadata"), (_FIELD, name))
        for name in (
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion",
        )
    ),
)

_STATUS: Final = FieldSet.of(((_FIELD, "status"),))

# What a write through each subresource may change: the strategies reset the rest, so it
# is never owned (Kubernetes' reset-fields filters: the main resource resets status, a
# status write everything but status; approval changes only the lifecycle).
_SUBRESOURCE_SCOPES: Final[Mapping[str, Path]] = {
    "status": ((_FIELD, "status"),),
    "approval": ((_FIELD, "spec"), (_FIELD, "lifecycle")),
}


def _scope_filter(subresource: str) -> Callable[[FieldSet], FieldSet]:
    if not subresource:
        return lambda fields: fields.recursive_difference(_STATUS)
    prefix = _SUBRESOURCE_SCOPES.get(subresource)
    if prefix is None:
        return lambda fields: fields
    return lambda fields: fields.include_prefix(prefix)


@dataclass(frozen=True, slots=True)
class _Conflict:
    manager: _ManagerId
    path: Path


class _Conflicts(Exception):
    def __init__(self, conflicts: list[_Conflict]) -> None:
        super().__init__(f"{len(conflicts)} conflicts")
        self.conflicts = conflicts


def manager_from_user_agent(user_agent: str | None) -> str:
    """The field manager of a write without ``fieldManager``: the User-Agent up to its
    first ``/``, printable characters only, at most 128 bytes (Go's
    ``prefixFromUserAgent``)."""
    out: list[str] = []
    size = 0
    for char in (user_agent or "").split("/", 1)[0]:
        if not char.isprintable():
            continue
        width = len(char.encode("utf-8", "surrogatepass"))
        if size + width > FIELD_MANAGER_MAX_LENGTH:
            break
        out.append(char)
        size += width
    return "".join(out)


class FieldManager:
    """Field management of one resource path (resource or subresource) at one apiVersion.

    ``model`` is the resource's model class (its schema), ``resource`` names the resource
    in conflict errors. Cheap to build: the handlers make one per request.
    """

    def __init__(
        self,
        model: type[BaseModel],
        api_version: str,
        kind: str,
        *,
        subresource: str = "",
        resource: errors.GroupResource | None = None,
    ) -> None:
        self._model = model
        self._root = _Type(_STRUCT, model=model)
        self._api_version = api_version
        self._kind = kind
        self._subresource = subresource
        self._resource = resource
        self._scope = _scope_filter(subresource)

    # -- the two entry points --------------------------------------------------------------

    def update(self, live: BaseModel | None, new: BaseModel, manager: str) -> None:
        """Record a create (``live`` None) or a non-apply write of ``new`` over ``live``.

        Sets ``new.metadata.managedFields``: the entries of the body when it carries
        readable ones (a client may edit them; ``[]`` clears them), else the live ones,
        updated for what the write changed. Entries and times are left exactly as they
        were when the write changes nothing. An object whose managedFields were cleared is
        not tracked again until an apply. ``manager`` "" is ``unknown``, as in Go.
        """
        new_meta = objectmeta.meta_of(new)
        live_entries = objectmeta.meta_of(live).managed_fields if live is not None else None
        managed = self._live_or_new(live_entries, new_meta.managed_fields)
        if not managed.sets and live is not None and objectmeta.meta_of(live).uid:
            # Nothing is tracked for this object (Go's skipNonAppliedManager).
            new_meta.managed_fields = [] if live_entries else None
            return
        live_dict = self._content(live) if live is not None else self._empty()
        self._record_update(
            managed,
            live_dict,
            self._content(new),
            _ManagerId(manager or _UNKNOWN_MANAGER, _UPDATE, self._api_version, self._subresource),
        )
        new_meta.managed_fields = self._entries(managed, live_entries)

    def apply(
        self, live: BaseModel | None, config: Mapping[str, Any], manager: str, *, force: bool
    ) -> tuple[dict[str, Any], list[metav1.ManagedFieldsEntry] | None]:
        """Server-side apply of ``config`` (the decoded body) by ``manager`` to ``live``
        (None: the object is created). Returns the new object as a dict (without
        managedFields) and its managedFields.

        Raises StatusError: Conflict (409) naming every conflicting field and manager
        unless ``force``; BadRequest (400) when the configuration carries managedFields;
        Invalid (422) when a list item has no key or repeats one.
        """
        metadata = config.get("metadata")
        if isinstance(metadata, Mapping) and metadata.get("managedFields") is not None:
            raise errors.new_bad_request("metadata.managedFields must be nil")
        live_entries = objectmeta.meta_of(live).managed_fields if live is not None else None
        try:
            managed = _decode(live_entries)
        except _DecodeError as err:
            raise errors.new_internal_error(f"failed to decode managed fields: {err}") from None
        live_dict = self._content(live) if live is not None else self._empty()
        applier = _ManagerId(manager, _APPLY, "", self._subresource)
        try:
            result, managed = self._apply_tracked(live_dict, config, managed.copy(), applier, force)
        except _Conflicts as conflicts:
            remaining = self._not_from_client_side_apply(conflicts.conflicts, manager, live_dict)
            if remaining:
                raise self._conflict_error(remaining, live_dict, config) from None
            # Every conflict is a field client-side apply set and nobody changed since:
            # kubectl takes them over (upgrading from client-side apply).
            result, managed = self._apply_tracked(live_dict, config, managed, applier, True)
        if manager == _KUBECTL:
            self._sync_last_applied(result, config)
        return result, self._entries(managed, live_entries)

    # -- the Kubernetes managers, innermost last -------------------------------------------

    def _live_or_new(
        self,
        live_entries: Sequence[metav1.ManagedFieldsEntry] | None,
        new_entries: Sequence[metav1.ManagedFieldsEntry] | None,
    ) -> _Managed:
        """Go's decodeLiveOrNew: a subresource write never sets managedFields itself."""
        if not self._subresource:
            if _is_reset(new_entries):
                return _Managed({}, {})
            try:
                managed = _decode(new_entries)
            except _DecodeError:
                managed = _Managed({}, {})
            if managed.sets:
                return managed
        try:
            return _decode(live_entries)
        except _DecodeError:
            return _Managed({}, {})

    def _apply_tracked(
        self,
        live: dict[str, Any],
        config: Mapping[str, Any],
        managed: _Managed,
        applier: _ManagerId,
        force: bool,
    ) -> tuple[dict[str, Any], _Managed]:
        if not managed.sets:
            # The fields the object already has belong to someone (Go's
            # skipNonAppliedManager): otherwise the first apply could drop them unseen.
            self._record_update(
                managed,
                self._empty(),
                live,
                _ManagerId(_BEFORE_FIRST_APPLY, _UPDATE, self._api_version, self._subresource),
            )
        return self._apply(live, config, managed, applier, force)

    def _record_update(
        self, managed: _Managed, live: dict[str, Any], new: dict[str, Any], manager: _ManagerId
    ) -> None:
        """Go's managedFieldsUpdater over Updater.Update, then capManagersManager."""
        comparison = _compare(live, new, self._root).filtered(self._scope)
        self._take_from_others(managed, comparison, manager)
        taken = _strip(comparison.modified.union(comparison.added).difference(comparison.removed))
        if not taken.empty():
            previous = managed.sets.get(manager)
            managed.sets[manager] = _Versioned(
                taken.union(previous.fields) if previous is not None else taken,
                self._api_version,
                False,
            )
            managed.times[manager] = objectmeta.now()
        _cap_update_managers(managed)

    def _apply(
        self,
        live: dict[str, Any],
        config: Mapping[str, Any],
        managed: _Managed,
        applier: _ManagerId,
        force: bool,
    ) -> tuple[dict[str, Any], _Managed]:
        """Go's Updater.Apply under stripMeta and managedFieldsUpdater."""
        merged = patch.strategic_merge(live, dict(config), self._model, apply=True)
        last = managed.sets.get(applier)
        problems: list[str] = []
        applied = self._scope(_to_field_set(config, self._root, problems))
        if problems:
            raise patch.invalid_request(
                f"failed to create typed patch object ({self._describe(live, config)}): "
                + "; ".join(problems)
            )
        managed.sets[applier] = _Versioned(applied, self._api_version, True)
        merged = self._prune(merged, managed, applier, last)
        comparison = _compare(live, merged, self._root).filtered(self._scope)
        self._take_from_others(managed, comparison, applier, force=force)
        versioned = managed.sets.get(applier)
        if versioned is not None:
            kept = versioned.fields.difference(_STRIPPED)
            if kept.empty():
                del managed.sets[applier]
            else:
                managed.sets[applier] = _Versioned(kept, versioned.api_version, True)
        if merged != live:
            managed.times[applier] = objectmeta.now()
        return merged, managed

    def _take_from_others(
        self,
        managed: _Managed,
        comparison: _Comparison,
        workflow: _ManagerId,
        *,
        force: bool = True,
    ) -> None:
        """Go's Updater.update: what the write changed is no longer anyone else's (or is
        a conflict without ``force``); what it removed is nobody's."""
        changed = comparison.modified.union(comparison.added)
        conflicts: list[_Conflict] = []
        for manager in sorted(managed.sets, key=lambda m: m.key):
            if manager == workflow:
                continue
            owned = managed.sets[manager].fields.intersection(changed)
            conflicts.extend(_Conflict(manager, path) for path in owned.paths())
        if conflicts and not force:
            raise _Conflicts(conflicts)
        for manager, versioned in list(managed.sets.items()):
            if manager == workflow:
                fields = versioned.fields
            else:
                fields = versioned.fields.difference(changed).difference(comparison.removed)
            if fields.empty():
                del managed.sets[manager]
            elif fields is not versioned.fields:
                managed.sets[manager] = _Versioned(fields, versioned.api_version, versioned.applied)

    def _prune(
        self,
        merged: dict[str, Any],
        managed: _Managed,
        applier: _ManagerId,
        last: _Versioned | None,
    ) -> dict[str, Any]:
        """Remove what ``applier`` applied last time and no longer applies, unless another
        manager (or its own new configuration) owns it (Go's Updater.prune)."""
        if last is None or last.fields.empty():
            return merged
        root = self._root
        last_fields = _ensure_named_fields_are_members(last.fields, root)
        pruned = _remove_items(merged, last_fields, root)
        # Add back what someone owns.
        owned = FieldSet()
        for versioned in managed.sets.values():
            owned = owned.union(versioned.fields)
        merged_fields = _ensure_named_fields_are_members(_to_field_set(merged, root), root)
        pruned_fields = _ensure_named_fields_are_members(_to_field_set(pruned, root), root)
        unowned = merged_fields.difference(
            pruned_fields.union(_ensure_named_fields_are_members(owned, root))
        )
        pruned = _remove_items(merged, unowned, root)
        # Only what the applier owned may go; everything else removed above comes back.
        pruned_fields = _ensure_named_fields_are_members(_to_field_set(pruned, root), root)
        gone = merged_fields.difference(pruned_fields).intersection(last_fields)
        result: dict[str, Any] = _remove_items(merged, gone, root)
        return result

    def _not_from_client_side_apply(
        self, conflicts: list[_Conflict], manager: str, live: dict[str, Any]
    ) -> list[_Conflict]:
        """The conflicts that kubectl may not take over (Go's lastAppliedManager): for
        another manager all of them; for ``kubectl`` those outside the fields of the
        last-applied-configuration annotation whose values are still the live ones."""
        if manager != _KUBECTL:
            return conflicts
        allowed = self._allowed_from_last_applied(live)
        if allowed is None:
            return conflicts
        return [c for c in conflicts if not allowed.has(c.path)]

    def _allowed_from_last_applied(self, live: dict[str, Any]) -> FieldSet | None:
        annotations = (live.get("metadata") or {}).get("annotations") or {}
        text = annotations.get(LAST_APPLIED_ANNOTATION)
        if not text:
            return None
        try:
            last_applied = json.loads(text)
        except ValueError:
            return None
        if not isinstance(last_applied, dict):
            return None
        if last_applied.get("apiVersion") != self._api_version:
            return None
        problems: list[str] = []
        fields = _to_field_set(last_applied, self._root, problems)
        if problems:
            return None
        comparison = _compare(last_applied, live, self._root)
        return (
            fields.difference(comparison.modified)
            .difference(comparison.added)
            .difference(comparison.removed)
        )

    def _sync_last_applied(self, result: dict[str, Any], config: Mapping[str, Any]) -> None:
        """kubectl's server-side apply keeps an existing client-side apply annotation in
        step with what it applies (Go's lastAppliedUpdater)."""
        metadata = result.get("metadata")
        if not isinstance(metadata, dict):
            return
        annotations = metadata.get("annotations")
        if not isinstance(annotations, dict) or not annotations.get(LAST_APPLIED_ANNOTATION):
            return
        applied = copy.deepcopy(dict(config))
        applied_annotations = (applied.get("metadata") or {}).get("annotations")
        if isinstance(applied_annotations, dict):
            applied_annotations.pop(LAST_APPLIED_ANNOTATION, None)
        annotations = {**annotations, LAST_APPLIED_ANNOTATION: _go_json(applied) + "\n"}
        size = sum(len(k) + len(v) for k, v in annotations.items() if isinstance(v, str))
        if size > objectmeta.TOTAL_ANNOTATION_SIZE_LIMIT:
            del annotations[LAST_APPLIED_ANNOTATION]
        metadata["annotations"] = annotations

    # -- helpers -------------------------------------------------------------------------

    def _content(self, obj: BaseModel) -> dict[str, Any]:
        """The object as the field manager compares it: JSON names, no managedFields."""
        data = codec.to_dict(obj)
        data["apiVersion"] = self._api_version
        data["kind"] = self._kind
        metadata = data.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop("managedFields", None)
        return data

    def _empty(self) -> dict[str, Any]:
        return {"apiVersion": self._api_version, "kind": self._kind}

    def _entries(
        self,
        managed: _Managed,
        live_entries: list[metav1.ManagedFieldsEntry] | None,
    ) -> list[metav1.ManagedFieldsEntry] | None:
        """The entries to store; the live list itself when nothing changed (so a no-op
        write stays byte for byte a no-op), ``[]`` to clear stored entries, None when
        there never were any."""
        if not managed.sets:
            return [] if live_entries else None
        entries = _encode(managed)
        if live_entries is not None and entries == live_entries:
            return live_entries
        return entries

    def _describe(self, live: Mapping[str, Any], config: Mapping[str, Any]) -> str:
        metadata = config.get("metadata") or live.get("metadata") or {}
        group, _, version = self._api_version.rpartition("/")
        gvk = f"{group}/{version}, Kind={self._kind}" if group else f"/{version}, Kind={self._kind}"
        return f"{metadata.get('namespace', '')}/{metadata.get('name', '')}; {gvk}"

    def _conflict_error(
        self, conflicts: list[_Conflict], live: Mapping[str, Any], config: Mapping[str, Any]
    ) -> errors.StatusError:
        """409 Conflict worded as Kubernetes' NewConflictError (one cause per field)."""
        causes = [
            metav1.StatusCause(
                reason="FieldManagerConflict",
                message=f"conflict with {c.manager.printed()}",
                field=path_string(c.path),
            )
            for c in conflicts
        ]
        if len(conflicts) == 1:
            only = conflicts[0]
            message = (
                f"Apply failed with 1 conflict: conflict with {only.manager.printed()}: "
                f"{path_string(only.path)}"
            )
        else:
            by_manager: dict[_ManagerId, list[Path]] = {}
            for conflict in conflicts:
                by_manager.setdefault(conflict.manager, []).append(conflict.path)
            lines: list[str] = []
            for manager in sorted(by_manager, key=lambda m: m.key):
                lines.append(f"conflicts with {manager.printed()}:")
                lines.extend(f"- {path_string(path)}" for path in by_manager[manager])
            message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
        err = errors.new_apply_conflict(causes, message)
        if err.status.details is not None and self._resource is not None:
            # As Porch's API server sends it (kubernetes-api-contract.md §3.8): the object
            # is named next to the causes.
            metadata = config.get("metadata") or live.get("metadata") or {}
            err.status.details.name = metadata.get("name") or None
            err.status.details.group = self._resource.group or None
            err.status.details.kind = self._resource.resource
        return err


def _strip(fields: FieldSet) -> FieldSet:
    return fields.difference(_STRIPPED)


def _cap_update_managers(managed: _Managed) -> None:
    """Keep at most MAX_UPDATE_MANAGERS Update entries: the oldest of each apiVersion are
    merged into an ``ancient-changes`` entry (Go's capManagersManager)."""
    updaters = [m for m, versioned in managed.sets.items() if not versioned.applied]
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return
    updaters.sort(key=lambda m: (_seconds(managed.times.get(m)), m.key))
    first_of_version: dict[str, _ManagerId] = {}
    remaining = len(updaters)
    for manager in updaters:
        if remaining <= MAX_UPDATE_MANAGERS:
            break
        versioned = managed.sets[manager]
        version = versioned.api_version
        bucket = _ManagerId(_ANCIENT_CHANGES, _UPDATE, version, "")
        first = first_of_version.get(version)
        if first is None or manager == bucket:
            # (An existing bucket is merged into, never into itself.)
            first_of_version.setdefault(version, manager)
            continue
        if bucket not in managed.sets:
            managed.sets[bucket] = managed.sets.pop(first)
        managed.sets[bucket] = _Versioned(
            versioned.fields.union(managed.sets[bucket].fields), version, False
        )
        del managed.sets[manager]
        managed.times[bucket] = managed.times.get(manager)
        remaining -= 1
