"""The Kptfile's 3-way merge (kpt's ``kptfileutil.UpdateKptfile``), keeping local formatting.

Called by `update` for every package it merges (`resource-merge`) and for the root package of
`copy-merge`. kpt merges the three Kptfiles with kyaml's merge3 (associative lists inferred) and
then takes from the result only what a package update may change:

- ``metadata.annotations`` and ``metadata.labels`` (an empty result removes them), ``info``,
  ``pipeline``, ``inventory`` and (Porch) ``status``;
- the local ``metadata.name``/``namespace``, ``upstream`` and ``upstreamLock`` are kept, except
  that with `update_upstream` (subpackages, copy-merge) upstream's ``upstream`` and
  ``upstreamLock`` replace them; the `upgrade` task sets the new upstream itself afterwards.

Pipeline functions usually have no ``name``: when no function in any version has one and no
list holds the same function twice, kpt merges the function lists on a synthetic name made of
the ``exec`` command or the image without its tag, removed again afterwards.

kpt rewrites the Kptfile from its Go struct (comments lost, fields in struct order). We merge
into the local document instead, as recent kpt does: comments and field order of the local
Kptfile stay, new fields are appended, and an unchanged Kptfile keeps its exact text.
"""

from __future__ import annotations

from typing import Any, Final

from ruamel.yaml.comments import CommentedMap

from pkg.kpt import yamlutil
from pkg.kpt.update import errors, merge3

_SYNTHETIC_NAME_PREFIX: Final = "_kpt-merge_"
_FUNCTION_LISTS: Final = ("mutators", "validators")
_TOP_LEVEL_MERGED: Final = ("info", "pipeline", "inventory", "status")
_METADATA_MERGED: Final = ("annotations", "labels")


def _load(text: str | None, which: str) -> CommentedMap | None:
    if text is None:
        return None
    try:
        return yamlutil.load(text)
    except yamlutil.YAMLError as err:
        raise errors.UpdateError(f"cannot read {which} Kptfile: {err}") from err


def _functions(doc: CommentedMap | None) -> list[list[Any]]:
    if doc is None:
        return []
    pipeline = doc.get("pipeline")
    if not isinstance(pipeline, dict):
        return []
    out = []
    for name in _FUNCTION_LISTS:
        fns = pipeline.get(name)
        if isinstance(fns, list):
            out.append(fns)
    return out


def _function_key(fn: Any) -> str:
    exec_ = merge3.scalar_text(fn.get("exec")) if isinstance(fn, dict) else ""
    if exec_:
        return exec_
    image = merge3.scalar_text(fn.get("image")) if isinstance(fn, dict) else ""
    return image.split(":")[0]


def _should_add_function_names(docs: list[CommentedMap | None]) -> bool:
    """kpt's ``shouldAddFnKey``: no function is named and none appears twice in a list."""
    for doc in docs:
        for fns in _functions(doc):
            seen: set[str] = set()
            for fn in fns:
                if isinstance(fn, dict) and merge3.scalar_text(fn.get("name")):
                    return False
                key = _function_key(fn)
                if key in seen:
                    return False
                seen.add(key)
    return True


def _add_function_names(doc: CommentedMap | None) -> None:
    for fns in _functions(doc):
        for fn in fns:
            if isinstance(fn, dict) and not merge3.scalar_text(fn.get("name")):
                fn["name"] = _SYNTHETIC_NAME_PREFIX + _function_key(fn)


def _remove_function_names(doc: CommentedMap) -> None:
    for fns in _functions(doc):
        for fn in fns:
            name = fn.get("name") if isinstance(fn, dict) else None
            if isinstance(name, str) and name.startswith(_SYNTHETIC_NAME_PREFIX):
                del fn["name"]
                fn.ca.items.pop("name", None)


def _section(doc: CommentedMap | None, key: str) -> Any:
    if doc is None:
        return merge3.MISSING
    return doc.get(key, merge3.MISSING)


def merge_kptfile(
    local: str | None,
    updated: str | None,
    original: str | None,
    *,
    update_upstream: bool,
) -> str | None:
    """Merge upstream's Kptfile changes (`original` -> `updated`) into the `local` Kptfile text.

    Returns the new local Kptfile text (None when neither local nor upstream has one).
    Raises `errors.UpdateError` when a Kptfile is not YAML, `errors.MergeError` when the
    versions cannot be merged.
    """
    if local is None and updated is None:
        return None
    local_doc = _load(local, "local")
    updated_doc = _load(updated, "upstream")
    original_doc = _load(original, "original")
    before = yamlutil.dump(local_doc) if local_doc is not None else None
    dest = local_doc if local_doc is not None else CommentedMap()
    # The synthetic function names are added to copies of the upstream versions only.
    upd = yamlutil.copy_node(updated_doc) if updated_doc is not None else None
    orig = yamlutil.copy_node(original_doc) if original_doc is not None else None

    synthetic = _should_add_function_names([dest, upd, orig])
    if synthetic:
        for doc in (dest, upd, orig):
            _add_function_names(doc)

    try:
        metadata = dest.get("metadata")
        upd_meta, orig_meta = _section(upd, "metadata"), _section(orig, "metadata")
        for key in _METADATA_MERGED:
            if not isinstance(metadata, dict):
                if not any(isinstance(m, dict) and m.get(key) for m in (upd_meta, orig_meta)):
                    continue
                metadata = yamlutil.ensure_map(dest, "metadata")
            merge3.merge_field(metadata, orig_meta, upd_meta, key, path=["metadata"])
            # Go's omitempty: an empty label or annotation map is not written.
            if key in metadata and not metadata[key]:
                del metadata[key]
        for key in _TOP_LEVEL_MERGED:
            merge3.merge_field(dest, orig or merge3.MISSING, upd or merge3.MISSING, key)
    except errors.MergeError as err:
        raise errors.MergeError(f"cannot merge Kptfile: {err}") from err

    if synthetic:
        _remove_function_names(dest)

    if update_upstream and upd is not None:
        for key in ("upstream", "upstreamLock"):
            if isinstance(upd.get(key), dict):
                dest[key] = yamlutil.copy_node(upd[key])

    if before is not None and yamlutil.dump(dest) == before:
        assert local is not None
        return local
    style_source = local if local is not None else updated
    return yamlutil.dump(dest, seq_indent_style=yamlutil.derive_seq_indent(style_source or ""))
