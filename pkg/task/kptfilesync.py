"""Keep a package's Kptfile and its PackageRevision spec in step: spec -> Kptfile.

Where it sits: the engine (`pkg.engine`) calls `apply_package_metadata` when it creates a
revision (after the task ran, before render: `spec.packageMetadata` labels/annotations are
merged into the Kptfile and `spec.readinessGates` synced into `info.readinessGates`) and
`patch_kptfile` on every update of a Draft (the maps and gates *replace* the Kptfile's, and
`status.conditions` from the request are written into the Kptfile's `status.conditions`:
this is how controllers set readiness conditions, porch.md §3.5). The reverse direction
(Kptfile -> API object) is the cache's job when it assembles PackageRevisions.

The Kptfile is edited as a YAML tree (ruamel nodes through `pkg.kpt.yamlutil`), so its
comments, key order and sequence indentation survive; only the touched fields change. The
rules are Porch's `applyMetadataToKptfile`, `syncReadinessGates` and `PatchKptfile`:
existing gates/conditions that are still wanted keep their place and text, unwanted ones are
dropped, new ones are appended (sorted, for a stable result).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from api.porch import v1alpha1 as porchv1alpha1
from pkg.kpt import yamlutil
from pkg.repository import errors

__all__ = ["apply_package_metadata", "patch_kptfile"]

KPTFILE = "Kptfile"


def _load(text: str) -> tuple[list[CommentedMap], CommentedMap, str]:
    try:
        docs = yamlutil.load_all(text)
    except yamlutil.YAMLError as err:
        raise errors.InvalidPackageError(f"failed to parse Kptfile: {err}") from err
    if not docs:
        raise errors.InvalidPackageError("failed to parse Kptfile: the Kptfile is empty")
    return docs, docs[0], yamlutil.derive_seq_indent(text)


def _dump(docs: list[CommentedMap], seq_style: str) -> str:
    return yamlutil.dump_all(docs, seq_indent_style=seq_style)


def _string_map(node: Any) -> dict[str, str]:
    if not isinstance(node, Mapping):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in node.items()}


def _set_map(doc: CommentedMap, key: str, desired: Mapping[str, str], *, replace: bool) -> bool:
    """Porch's applyMapMetadata on `metadata.<key>`: replace the map, or merge into it."""
    metadata = doc.get("metadata")
    current_node = metadata.get(key) if isinstance(metadata, CommentedMap) else None
    current = _string_map(current_node)
    if replace:
        if current == dict(desired):
            return False
        if not desired:
            if isinstance(metadata, CommentedMap):
                metadata.pop(key, None)
            return True
        target = yamlutil.ensure_map(doc, "metadata", key)
        for existing in [k for k in target if str(k) not in desired]:
            del target[existing]
        for name in sorted(desired):
            if current.get(name) != desired[name]:
                target[name] = yamlutil.new_string(desired[name])
        return True
    changed = False
    for name in sorted(desired):
        if current.get(name) != desired[name]:
            yamlutil.ensure_map(doc, "metadata", key)[name] = yamlutil.new_string(desired[name])
            changed = True
    return changed


def _sync_list(
    parent: CommentedMap, key: str, id_field: str, desired: Mapping[str, CommentedMap]
) -> tuple[CommentedSeq, bool]:
    """Keep wanted entries of `parent[key]` (in place), drop the others, append the new ones."""
    existing = parent.get(key)
    kept = CommentedSeq()
    seen: set[str] = set()
    changed = False
    if isinstance(existing, list):
        for item in existing:
            ident = str(item.get(id_field, "")) if isinstance(item, Mapping) else ""
            if ident in desired and ident not in seen:
                kept.append(item)
                seen.add(ident)
            else:
                changed = True
    for ident in sorted(set(desired) - seen):
        kept.append(desired[ident])
        changed = True
    if isinstance(existing, CommentedSeq) and not changed:
        return existing, False
    return kept, changed


def _sync_readiness_gates(doc: CommentedMap, gates: Sequence[porchv1alpha1.ReadinessGate]) -> bool:
    desired: dict[str, CommentedMap] = {}
    for gate in gates:
        node = CommentedMap()
        node["conditionType"] = yamlutil.new_string(gate.condition_type or "")
        desired[gate.condition_type or ""] = node
    info = doc.get("info")
    parent = info if isinstance(info, CommentedMap) else CommentedMap()
    final, changed = _sync_list(parent, "readinessGates", "conditionType", desired)
    if not changed:
        return False
    if final:
        yamlutil.ensure_map(doc, "info")["readinessGates"] = final
    elif isinstance(info, CommentedMap):
        info.pop("readinessGates", None)
    return True


def _condition_node(condition: porchv1alpha1.Condition) -> CommentedMap:
    node = CommentedMap()
    node["type"] = yamlutil.new_string(condition.type)
    node["status"] = yamlutil.new_string(condition.status)
    if condition.reason:
        node["reason"] = yamlutil.new_string(condition.reason)
    if condition.message:
        node["message"] = yamlutil.new_string(condition.message)
    return node


def _sync_conditions(doc: CommentedMap, conditions: Sequence[porchv1alpha1.Condition]) -> bool:
    desired = {c.type: c for c in conditions}
    status = doc.get("status")
    existing = status.get("conditions") if isinstance(status, CommentedMap) else None
    changed = False
    final = CommentedSeq()
    seen: set[str] = set()
    if isinstance(existing, list):
        for item in existing:
            ctype = str(item.get("type", "")) if isinstance(item, Mapping) else ""
            want = desired.get(ctype)
            if want is None or ctype in seen or not isinstance(item, CommentedMap):
                changed = True
                continue
            seen.add(ctype)
            for field, value in (
                ("status", want.status),
                ("reason", want.reason or ""),
                ("message", want.message or ""),
            ):
                if str(item.get(field) or "") == value:
                    continue
                changed = True
                if value or field == "status":
                    item[field] = yamlutil.new_string(value)
                else:
                    item.pop(field, None)
            final.append(item)
    for ctype in sorted(set(desired) - seen):
        final.append(_condition_node(desired[ctype]))
        changed = True
    if not changed:
        return False
    if final:
        yamlutil.ensure_map(doc, "status")["conditions"] = final
    elif isinstance(status, CommentedMap):
        status.pop("conditions", None)
    return True


def _apply(
    doc: CommentedMap,
    metadata: porchv1alpha1.PackageMetadata | None,
    gates: Sequence[porchv1alpha1.ReadinessGate] | None,
    *,
    replace: bool,
) -> bool:
    changed = False
    if metadata is not None:
        if metadata.labels is not None:
            changed = _set_map(doc, "labels", metadata.labels, replace=replace) or changed
        if metadata.annotations is not None:
            changed = _set_map(doc, "annotations", metadata.annotations, replace=replace) or changed
    if gates is not None:
        changed = _sync_readiness_gates(doc, gates) or changed
    return changed


def apply_package_metadata(
    files: Mapping[str, str],
    metadata: porchv1alpha1.PackageMetadata | None,
    gates: Sequence[porchv1alpha1.ReadinessGate] | None,
) -> dict[str, str]:
    """On create: merge `metadata` labels/annotations into the root Kptfile and sync its
    readiness gates to `gates` (None leaves them). Returns the files (unchanged when there is
    nothing to do). Raises `InvalidPackageError` when there is no Kptfile to write to."""
    if (metadata is None or (metadata.labels is None and metadata.annotations is None)) and (
        gates is None
    ):
        return dict(files)
    text = files.get(KPTFILE)
    if text is None:
        raise errors.InvalidPackageError(
            "failed to parse Kptfile: package must contain Kptfile at root"
        )
    docs, doc, seq_style = _load(text)
    out = dict(files)
    if _apply(doc, metadata, gates, replace=False):
        out[KPTFILE] = _dump(docs, seq_style)
    return out


def patch_kptfile(kptfile: str, new_obj: porchv1alpha1.PackageRevision) -> str | None:
    """On a Draft update: the Kptfile with `spec.packageMetadata` maps and `spec.readinessGates`
    replacing its own, and `status.conditions` written in; None when nothing changes."""
    spec = new_obj.spec or porchv1alpha1.PackageRevisionSpec()
    docs, doc, seq_style = _load(kptfile)
    changed = _apply(doc, spec.package_metadata, spec.readiness_gates, replace=True)
    conditions = new_obj.status.conditions if new_obj.status is not None else None
    if conditions is not None:
        changed = _sync_conditions(doc, conditions) or changed
    return _dump(docs, seq_style) if changed else None
