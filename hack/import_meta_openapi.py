"""Rebuild api/openapi/meta/v1.yaml from Kubernetes' published JSON Schema.

Run by hand (never by CI) when the meta/v1 subset needs to change:

    pip download kubernetes-validate==1.37.0 --no-deps -d /tmp/kv
    (cd /tmp/kv && unzip -o -q kubernetes_validate-*.whl)
    python hack/import_meta_openapi.py \
        /tmp/kv/kubernetes_validate/kubernetes-json-schema/v1.33.0-local/_definitions.json

It takes the definitions listed in IMPORTED from Kubernetes 1.33's schema,
rewrites them from JSON Schema (nullable type lists, ``$defs`` refs, validator
enums on apiVersion/kind) into OpenAPI 3.0 components named by their short Go
type name, and appends the types Kubernetes' published schema does not carry
(HAND_WRITTEN_FILE: Table, PartialObjectMetadata, aggregated discovery v2).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "api" / "openapi" / "meta" / "v1.yaml"
HAND_WRITTEN_FILE = ROOT / "hack" / "openapi" / "meta-v1-extra.yaml"

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
IMPORTED = [
    META + n
    for n in (
        "APIGroup APIGroupList APIResource APIResourceList APIVersions Condition DeleteOptions "
        "FieldsV1 GroupVersionForDiscovery LabelSelector LabelSelectorRequirement ListMeta "
        "ManagedFieldsEntry MicroTime ObjectMeta OwnerReference Preconditions "
        "ServerAddressByClientCIDR Status StatusCause StatusDetails Time WatchEvent"
    ).split()
] + ["io.k8s.apimachinery.pkg.runtime.RawExtension"]


def short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def convert(node: Any, *, top: bool = False) -> Any:
    if isinstance(node, list):
        return [convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref":
            out[key] = "#/components/schemas/" + short(value.rsplit("/", 1)[-1])
        elif key == "type" and isinstance(value, list):
            kinds = [v for v in value if v != "null"]
            out[key] = kinds[0] if len(kinds) == 1 else kinds
        elif key == "properties":
            props = {}
            for pname, original in value.items():
                pschema = dict(original)
                # kubernetes-validate pins apiVersion/kind with enums; the API does not.
                if pname in ("apiVersion", "kind"):
                    pschema.pop("enum", None)
                props[pname] = convert(pschema)
            out[key] = props
        elif key == "x-kubernetes-group-version-kind" and top:
            # The meta types are embedded in every group; no single GVK applies.
            continue
        else:
            out[key] = convert(value)
    return out


def main(argv: list[str]) -> int:
    definitions = json.loads(Path(argv[1]).read_text())
    defs = definitions.get("$defs") or definitions["definitions"]
    schemas: dict[str, Any] = {}
    for name in IMPORTED:
        schema = convert(defs[name], top=True)
        # A RawExtension is any embedded object.
        if short(name) == "RawExtension":
            schema = {
                "type": "object",
                "description": "RawExtension holds an embedded object of any kind.",
                "additionalProperties": True,
            }
        if short(name) == "FieldsV1":
            schema["additionalProperties"] = True
        schemas[short(name)] = schema
    extra = yaml.safe_load(HAND_WRITTEN_FILE.read_text())
    schemas.update(extra)
    doc = {
        "openapi": "3.0.3",
        "info": {
            "title": "Kubernetes meta/v1 (the subset porch-py serves)",
            "version": "v1",
            "description": (
                "Imported from Kubernetes v1.33 by hack/import_meta_openapi.py; "
                "Table, PartialObjectMetadata and discovery v2 types from "
                "hack/openapi/meta-v1-extra.yaml. Do not edit by hand."
            ),
        },
        "paths": {},
        "components": {"schemas": dict(sorted(schemas.items()))},
    }
    OUT.write_text(yaml.safe_dump(doc, sort_keys=False, width=100, allow_unicode=True))
    print(f"wrote {OUT.relative_to(ROOT)} ({len(schemas)} schemas)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
