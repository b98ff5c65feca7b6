"""Kubernetes list-merge metadata for the 3-way merge (`merge3`), from `k8s_patchmeta.json`.

kyaml's walker consults the Kubernetes OpenAPI schema it embeds: a list field whose schema says
``x-kubernetes-patch-strategy: merge`` is merged element by element, matched on the schema's
keys (``containers`` by ``name``, ``ports`` by ``containerPort`` and ``protocol``,
``finalizers`` by value); a list field that the schema knows without a merge strategy
(``RoleBinding.subjects``, ``args``) is replaced whole when upstream changed it. Only where no
schema applies (custom resources, unknown fields) does the walker infer a ``name`` key.

`schemagen` produced the table; this module answers the walker's three questions: the schema
of a resource type, of a field, and of a list's elements.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

_TABLE_FILE = "k8s_patchmeta.json"


@functools.cache
def _table() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(_TABLE_FILE).read_text(encoding="utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


@dataclass(frozen=True)
class Schema:
    """The schema of one node: an object type (`type_name`) or a list field (`is_list`).

    A `Schema` with neither stands for a known field of a primitive type: not associative and
    without fields, as kyaml treats it.
    """

    type_name: str | None = None
    is_list: bool = False
    strategy: str = ""
    keys: tuple[str, ...] = ()
    element_type: str | None = None

    def field(self, name: str) -> Schema | None:
        """Schema of a map field; None when the type does not know the field."""
        if self.type_name is None:
            return None
        fields: dict[str, list[Any]] = _table()["types"].get(self.type_name, {})
        entry = fields.get(name) or fields.get("*")
        if entry is None:
            return None
        type_name, is_list, strategy, keys = entry
        if is_list:
            return Schema(is_list=True, strategy=strategy, keys=tuple(keys), element_type=type_name)
        return Schema(type_name=type_name)

    def elements(self) -> Schema | None:
        """Schema of a list's elements; None when this is not a list."""
        if not self.is_list:
            return None
        return Schema(type_name=self.element_type)

    def merges_elements(self) -> bool:
        """kyaml's ``schemaHasMergeStrategy``: the patch strategy includes ``merge``."""
        return "merge" in self.strategy.split(",")


def for_resource(api_version: str, kind: str) -> Schema | None:
    """Schema of a built-in Kubernetes resource type, or None (custom resources, Kptfile)."""
    name = _table()["kinds"].get(f"{api_version}|{kind}")
    return Schema(type_name=name) if name else None
