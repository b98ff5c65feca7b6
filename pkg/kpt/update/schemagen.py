"""Generator for `k8s_patchmeta.json`, the Kubernetes merge metadata the 3-way merge uses.

Not imported at run time. kyaml's merge walker looks up the built-in Kubernetes OpenAPI schema
to decide whether a list is merged element by element (``x-kubernetes-patch-strategy: merge``)
and by which keys (``x-kubernetes-patch-merge-key`` / ``x-kubernetes-list-map-keys``); a list
whose schema has no merge strategy is replaced whole. We keep only those facts: for every
top-level kind, the object-valued and list-valued fields reachable from it.

Regenerate from the JSON Schemas that PyPI's ``kubernetes-validate`` wheel ships (unpack the
wheel, no install needed)::

    python -m pkg.kpt.update.schemagen \
        kubernetes_validate/kubernetes-json-schema/v1.25.0-local/_definitions.json \
        > pkg/kpt/update/k8s_patchmeta.json

v1.25 is the oldest version that wheel carries and the closest to the v1.21 schema kyaml embeds;
the merge metadata of the core types has not changed between them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

_REF_PREFIX = "#/$defs/"


def _types(schema: Mapping[str, Any]) -> set[str]:
    t = schema.get("type", [])
    return {t} if isinstance(t, str) else set(t)


def _ref(schema: Mapping[str, Any]) -> str | None:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        return ref[len(_REF_PREFIX) :]
    return None


def generate(defs: Mapping[str, Any]) -> dict[str, Any]:
    """Reduce OpenAPI definitions to ``{"kinds": {...}, "types": {...}}``.

    ``kinds`` maps ``"<apiVersion>|<kind>"`` to a type name; ``types`` maps a type name to its
    fields, each ``[<element or value type, or null>, <is a list>, <patch strategy>, [<keys>]]``.
    Field ``"*"`` stands for the values of a map (``additionalProperties``).
    """

    def is_object(name: str | None) -> bool:
        return name is not None and bool(defs.get(name, {}).get("properties"))

    def field_entry(prop: Mapping[str, Any]) -> list[Any] | None:
        ref = _ref(prop)
        if "array" in _types(prop):
            items = prop.get("items", {})
            item_ref = _ref(items) if isinstance(items, Mapping) else None
            strategy = str(prop.get("x-kubernetes-patch-strategy", ""))
            keys: list[str] = []
            if strategy:
                map_keys = prop.get("x-kubernetes-list-map-keys")
                merge_key = prop.get("x-kubernetes-patch-merge-key")
                if isinstance(map_keys, list):
                    keys = [str(k) for k in map_keys]
                elif isinstance(merge_key, str):
                    keys = [merge_key]
            return [item_ref if is_object(item_ref) else None, True, strategy, keys]
        if is_object(ref):
            return [ref, False, "", []]
        return None

    kinds: dict[str, str] = {}
    for name, schema in defs.items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            group, version, kind = gvk.get("group", ""), gvk["version"], gvk["kind"]
            api_version = f"{group}/{version}" if group else version
            kinds[f"{api_version}|{kind}"] = name

    types: dict[str, dict[str, list[Any]]] = {}
    pending = sorted(set(kinds.values()))
    while pending:
        name = pending.pop()
        if name in types:
            continue
        fields: dict[str, list[Any]] = {}
        schema = defs.get(name, {})
        for prop_name, prop in schema.get("properties", {}).items():
            entry = field_entry(prop)
            if entry is not None:
                fields[prop_name] = entry
        additional = schema.get("additionalProperties")
        if isinstance(additional, Mapping):
            entry = field_entry(additional)
            if entry is not None:
                fields["*"] = entry
        types[name] = fields
        pending.extend(f[0] for f in fields.values() if f[0] and f[0] not in types)
    return {"kinds": dict(sorted(kinds.items())), "types": dict(sorted(types.items()))}


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as f:
        document = json.load(f)
    defs = document.get("$defs") or document.get("definitions") or {}
    table = generate(defs)
    # One line per kind and per type keeps regenerated diffs readable.
    out = ['{"kinds": {']
    out.append(",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in table["kinds"].items()))
    out.append('}, "types": {')
    out.append(
        ",\n".join(
            f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in table["types"].items()
        )
    )
    out.append("}}")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
