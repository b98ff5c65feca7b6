"""Comment "heal" of a PackageRevisionResources update (Porch's `healConfig`).

Where it sits: the engine (`pkg.engine`) calls `heal_comments` when a client replaces a Draft's
files (porch.md §3.6), before the render. Clients that round-trip resources through JSON (most
of them) lose YAML comments, and comments carry meaning in kpt packages (setters, merge keys).
For every resource of the new files that has a counterpart in the old files (same apiVersion,
kind, namespace and name), comments the new one lacks are copied from the old one (kyaml's
`CopyComments`). Resources using ytt-style `#@`/`#!` comments are left alone: there comments
are code. Files whose resources gained nothing are returned unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from ruamel.yaml.comments import CommentedMap

from pkg.kpt import pkgio, yamlutil

__all__ = ["heal_comments"]

_Identity = tuple[str, str, str, str]


def _identity(doc: CommentedMap) -> _Identity:
    metadata = doc.get("metadata")
    name = namespace = ""
    if isinstance(metadata, Mapping):
        name = str(metadata.get("name") or "")
        namespace = str(metadata.get("namespace") or "")
    return (str(doc.get("apiVersion") or ""), str(doc.get("kind") or ""), namespace, name)


def _is_template(text: str) -> bool:
    return "#@" in text or "#!" in text


def _documents(text: str) -> list[CommentedMap] | None:
    try:
        return [node for node, _ in pkgio.read_file_resources(text)]
    except pkgio.PackageReadError:
        return None


def heal_comments(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    """`new` with comments copied from matching resources of `old` (path -> text maps)."""
    originals: dict[_Identity, CommentedMap] = {}
    for path, text in old.items():
        if not pkgio.is_krm_file(path) or _is_template(text):
            continue
        for doc in _documents(text) or ():
            originals.setdefault(_identity(doc), doc)
    out = dict(new)
    if not originals:
        return out
    for path, text in new.items():
        if not pkgio.is_krm_file(path) or _is_template(text):
            continue
        docs = _documents(text)
        if not docs:
            continue
        before = yamlutil.dump_all(docs)
        for doc in docs:
            original = originals.get(_identity(doc))
            if original is not None:
                yamlutil.copy_comments(original, doc)
        after = yamlutil.dump_all(docs)
        if after != before:
            out[path] = yamlutil.dump_all(docs, seq_indent_style=yamlutil.derive_seq_indent(text))
    return out
