"""Applying PATCH bodies to objects: JSON merge, JSON patch, strategic merge, server-side apply.

Where this sits: the PATCH handler of :mod:`pkg.apiserver.handlers` turns the request into
an ``Updater.update`` call whose ``UpdatedObjectInfo`` calls :func:`apply_patch` on the
*current* object inside the storage's update (so a patch never races a concurrent write on
resourceVersion). Everything here works on JSON-ready dicts; the handler decodes the result
into the resource's model with the request's field validation.

* ``application/merge-patch+json``: RFC 7386 (``null`` deletes, objects merge, everything
  else replaces). A ``metadata.resourceVersion`` in the patch stays in the result and so
  becomes the storage's precondition (409 on mismatch), as in Kubernetes.
* ``application/json-patch+json``: RFC 6902 through the ``jsonpatch`` library; a failed
  operation (a ``test``, a missing path) is 422.
* ``application/strategic-merge-patch+json``: a merge patch that follows the patch
  strategy the models declare (``x-kubernetes-patch-strategy: merge`` with
  ``x-kubernetes-patch-merge-key``: lists merged by key; primitive ``set`` lists unioned)
  and honours the directives ``$patch`` (``replace``/``delete``/``merge``),
  ``$retainKeys``, ``$deleteFromPrimitiveList/<f>`` and ``$setElementOrder/<f>``. Porch's
  own lists declare no merge keys, so for them it is exactly a merge patch. We accept it
  but do not advertise it in OpenAPI (kubernetes-api-contract.md §3.6).
* ``application/apply-patch+yaml`` (server-side apply): :func:`strategic_merge` with
  ``apply=True`` merges the applied configuration onto the live object the way
  structured-merge-diff does: structs and maps merge per field, lists of
  ``x-kubernetes-list-type: map``/``set`` merge by key/value, every other list (atomic, the
  default) is replaced whole. Field ownership is :mod:`pkg.apiserver.fieldmanager`'s job:
  it runs this merge, then detects conflicts with other managers (409 unless ``force``),
  removes the fields this manager applied before and no longer applies (unless another
  manager owns them), and records ``managedFields``. Only a storage that discards
  ``managedFields`` (``rest.ManagedFieldsDiscarder``) gets the bare merge.

The schema facts both this module and the field manager read off the generated models
(:func:`schema_fields`, :func:`schema_field`, :func:`list_item`, :func:`merge_keys`) live
here, once.
"""

from __future__ import annotations

import copy
import functools
import json
import typing
from collections.abc import Mapping
from typing import Any, Final

import jsonpatch
import yaml
from pydantic import BaseModel

from api.meta import v1 as metav1
from pkg.apimachinery import codec, errors
from pkg.apiserver import negotiation

__all__ = [
    "SchemaField",
    "apply_patch",
    "decode_patch",
    "invalid_request",
    "list_item",
    "merge_keys",
    "merge_patch",
    "schema_field",
    "schema_fields",
    "strategic_merge",
]

_DIRECTIVE: Final = "$patch"
_RETAIN_KEYS: Final = "$retainKeys"
_DELETE_FROM_PRIMITIVE_LIST: Final = "$deleteFromPrimitiveList/"
_SET_ELEMENT_ORDER: Final = "$setElementOrder/"
_DELETE: Final = object()
"""A map merged with ``$patch: delete`` returns this: the parent drops the key."""


def invalid_request(message: str) -> errors.StatusError:
    """422 Invalid without a kind: kubectl prints ``The request is invalid: <message>``."""
    return errors.StatusError(
        metav1.Status(
            kind="Status",
            api_version="v1",
            metadata=metav1.ListMeta(),
            status="Failure",
            reason=str(errors.StatusReason.INVALID),
            code=422,
            # No details: kubectl then prints "The request is invalid: <message>".
            message=message,
        )
    )


def decode_patch(patch_type: negotiation.PatchType, body: bytes) -> Any:
    """Parse a PATCH body: JSON for every type, YAML (or JSON) for apply. 400 if malformed."""
    try:
        if patch_type is negotiation.PatchType.APPLY_PATCH:
            parsed = yaml.safe_load(body) if body.strip() else None
        else:
            parsed = json.loads(body)
    except (ValueError, yaml.YAMLError) as err:
        raise errors.new_bad_request(f"error decoding patch: {err}") from None
    if patch_type is negotiation.PatchType.JSON_PATCH:
        if not isinstance(parsed, list):
            raise errors.new_bad_request(
                "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
            )
    elif not isinstance(parsed, dict):
        raise errors.new_bad_request(
            f"error decoding patch: the body of a {patch_type.value} patch must be an object"
        )
    return parsed


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch; neither argument is modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- schema-aware merging (strategic merge patch and apply) ---------------------------------


class SchemaField(typing.NamedTuple):
    """A model field as the patchers see it: its annotation and ``x-kubernetes-*`` extras."""

    annotation: Any
    extra: dict[str, Any]


_UNKNOWN: Final = SchemaField(Any, {})


@functools.cache
def schema_fields(model: type[BaseModel]) -> Mapping[str, SchemaField]:
    """The fields of ``model`` by their JSON name (alias), computed once per model."""
    out: dict[str, SchemaField] = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        out[info.alias or name] = SchemaField(info.annotation, dict(extra))
    return out


def schema_field(model: Any, key: str) -> SchemaField:
    """The annotation and x-kubernetes extensions of ``key`` in ``model`` (Any if unknown).

    ``model`` is a model class (``key`` is one of its fields) or a ``dict[str, X]``
    annotation (every key is an ``X``).
    """
    model = codec.unwrap_annotation(model)
    if codec.is_model(model):
        return schema_fields(model).get(key, _UNKNOWN)
    if typing.get_origin(model) is dict and len(typing.get_args(model)) == 2:
        return SchemaField(typing.get_args(model)[1], {})
    return _UNKNOWN


def list_item(annotation: Any) -> Any:
    """The item annotation of a ``list[X]`` annotation (Any when it is not a list)."""
    current = codec.unwrap_annotation(annotation)
    if typing.get_origin(current) is list and typing.get_args(current):
        return typing.get_args(current)[0]
    return Any


def merge_keys(extra: Mapping[str, Any], apply: bool) -> list[str] | None:
    """The keys list items merge on, or None when the list is replaced as a whole.

    ``[]`` is a set of values. A strategic merge patch follows ``x-kubernetes-patch-strategy``
    and ``x-kubernetes-patch-merge-key``; apply (and field ownership) also reads
    ``x-kubernetes-list-type`` (``map`` with ``x-kubernetes-list-map-keys``, ``set``);
    anything else (``atomic``, or no extension) is an atomic list.
    """
    if extra.get("x-kubernetes-patch-strategy", "").find("merge") >= 0:
        key = extra.get("x-kubernetes-patch-merge-key")
        return [key] if isinstance(key, str) else []
    if apply and extra.get("x-kubernetes-list-type") == "map":
        keys = extra.get("x-kubernetes-list-map-keys")
        return [str(k) for k in keys] if isinstance(keys, list) else None
    if apply and extra.get("x-kubernetes-list-type") == "set":
        return []
    return None


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_directives(v)
            for k, v in value.items()
            if not (
                k in (_DIRECTIVE, _RETAIN_KEYS)
                or k.startswith((_DELETE_FROM_PRIMITIVE_LIST, _SET_ELEMENT_ORDER))
            )
        }
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def _merge_map(original: Any, patch: dict[str, Any], model: Any, apply: bool) -> Any:
    directive = patch.get(_DIRECTIVE)
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        return _strip_directives(patch)
    if directive not in (None, "merge"):
        raise errors.new_bad_request(f"Unknown patch type: {directive}")
    result: dict[str, Any] = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN_KEYS) or key.startswith(_SET_ELEMENT_ORDER):
            continue
        if key.startswith(_DELETE_FROM_PRIMITIVE_LIST):
            target = key[len(_DELETE_FROM_PRIMITIVE_LIST) :]
            if isinstance(result.get(target), list) and isinstance(value, list):
                result[target] = [v for v in result[target] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
            continue
        sub = schema_field(model, key)
        merged = _merge_value(result.get(key), value, sub, apply)
        if merged is _DELETE:
            result.pop(key, None)
        else:
            result[key] = merged
    retain = patch.get(_RETAIN_KEYS)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_value(original: Any, value: Any, sub: SchemaField, apply: bool) -> Any:
    if isinstance(value, dict):
        return _merge_map(original, value, sub.annotation, apply)
    if isinstance(value, list):
        keys = merge_keys(sub.extra, apply)
        if keys is None or not isinstance(original, list):
            return _strip_directives([v for v in value if not _is_list_directive(v)])
        return _merge_list(original, value, keys, list_item(sub.annotation), apply)
    return value


def _is_list_directive(item: Any) -> bool:
    return isinstance(item, dict) and set(item) == {_DIRECTIVE}


def _merge_list(
    original: list[Any], patch: list[Any], keys: list[str], item_model: Any, apply: bool
) -> list[Any]:
    if any(_is_list_directive(i) and i[_DIRECTIVE] == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if not _is_list_directive(i)]
    result = copy.deepcopy(original)
    if not keys:  # a set of primitives (or whole values): union, in order
        for item in patch:
            if not _is_list_directive(item) and item not in result:
                result.append(copy.deepcopy(item))
        return result

    def key_of(item: Any) -> tuple[Any, ...] | None:
        if not isinstance(item, dict) or not all(k in item for k in keys):
            return None
        return tuple(item[k] for k in keys)

    for item in patch:
        if _is_list_directive(item):
            continue
        item_key = key_of(item)
        index = next(
            (
                i
                for i, existing in enumerate(result)
                if item_key is not None and key_of(existing) == item_key
            ),
            None,
        )
        if isinstance(item, dict) and item.get(_DIRECTIVE) == "delete":
            if index is not None:
                del result[index]
            continue
        if index is None:
            result.append(_strip_directives(item))
        else:
            merged = _merge_map(result[index], item, item_model, apply)
            if merged is _DELETE:
                del result[index]
            else:
                result[index] = merged
    return result


def strategic_merge(
    original: dict[str, Any], patch: dict[str, Any], model: type[BaseModel], *, apply: bool = False
) -> dict[str, Any]:
    """A strategic merge patch (or, with ``apply``, an applied configuration) onto ``original``."""
    merged = _merge_map(original, patch, model, apply)
    if merged is _DELETE:
        raise errors.new_bad_request("a $patch: delete directive may not delete the whole object")
    return typing.cast(dict[str, Any], merged)


def _json_patch(original: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    """RFC 6902, one operation at a time so a failure names the operation that failed."""
    result: Any = original
    for index, operation in enumerate(operations):
        what = (
            f"{operation.get('op')} {operation.get('path')!r}"
            if isinstance(operation, dict)
            else repr(operation)
        )
        try:
            result = jsonpatch.JsonPatch([operation]).apply(result)
        except jsonpatch.InvalidJsonPatch as err:
            raise errors.new_bad_request(f"invalid JSON patch operation {index}: {err}") from None
        except jsonpatch.JsonPatchTestFailed:
            raise invalid_request(
                f"JSON patch operation {index} ({what}) failed: the value does not match"
            ) from None
        except (
            jsonpatch.JsonPatchException,
            jsonpatch.JsonPointerException,
            TypeError,
            KeyError,
            IndexError,
        ) as err:
            raise invalid_request(f"JSON patch operation {index} ({what}) failed: {err}") from None
    if not isinstance(result, dict):
        raise invalid_request("the JSON patch replaced the object with a non-object")
    return result


def apply_patch(
    patch_type: negotiation.PatchType,
    original: dict[str, Any],
    patch: Any,
    model: type[BaseModel],
) -> dict[str, Any]:
    """``patch`` (as :func:`decode_patch` returned it) applied to ``original``."""
    if patch_type is negotiation.PatchType.MERGE_PATCH:
        return typing.cast(dict[str, Any], merge_patch(original, patch))
    if patch_type is negotiation.PatchType.JSON_PATCH:
        return _json_patch(original, patch)
    if patch_type is negotiation.PatchType.STRATEGIC_MERGE_PATCH:
        return strategic_merge(original, patch, model)
    return strategic_merge(original, patch, model, apply=True)
