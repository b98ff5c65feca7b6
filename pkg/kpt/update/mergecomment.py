"""Merge-key comments and upstream-identifier annotations (kpt's ``AddMergeComment``).

Called by the `clone` and `upgrade` tasks on the package they produce, so that a later upgrade
can pair each local resource with its upstream version even after the local copy was renamed
or moved to another namespace (`resourcemerge` reads the comment back). For every resource in
the ``*.yaml``/``*.yml`` files and the Kptfile (Porch's ``ensureMergeKey``):

- ``metadata:`` gets the line comment ``# kpt-merge: <namespace>/<name>``, unless it already
  has a ``kpt-merge:`` comment (that one is kept: it names the upstream identity);
- ``metadata.annotations`` gets ``internal.kpt.dev/upstream-identifier:
  <group>|<kind>|<namespace>|<name>``, namespace and name taken from the merge comment, an empty
  namespace written as ``default`` (and kyaml's unknown-namespace marker as ``~C``).

Resources without name, namespace and labels are left alone. Files are written back the way
kyaml's writer does (compact sequences), as Porch does; files that are not YAML are returned
unchanged: the step is best effort, as in Porch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ruamel.yaml.comments import CommentedMap

from pkg.kpt import yamlutil
from pkg.kpt.update import merge3, resourcemerge

UPSTREAM_IDENTIFIER_ANNOTATION: Final = "internal.kpt.dev/upstream-identifier"
_DEFAULT_NAMESPACE: Final = "default"
_UNKNOWN_NAMESPACE: Final = "~C"
_TOTALLY_NOT_A_NAMESPACE: Final = "~X"  # kyaml resid.TotallyNotANamespace


def _is_resource_file(path: str) -> bool:
    base = path.rsplit("/", 1)[-1]
    return base == "Kptfile" or base.endswith((".yaml", ".yml"))


def _text(value: object) -> str:
    return merge3.scalar_text(value) if not isinstance(value, (dict, list)) else ""


def add_merge_comment(doc: CommentedMap) -> bool:
    """Add the merge comment and upstream-identifier annotation to one resource.

    Returns whether the document changed.
    """
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        return False
    name = _text(metadata.get("name"))
    namespace = _text(metadata.get("namespace"))
    if not name and not namespace and not metadata.get("labels"):
        return False
    before = yamlutil.dump(doc)

    comment = resourcemerge.metadata_comment(doc)
    if resourcemerge.MERGE_COMMENT_PREFIX not in comment:
        comment = f"# {resourcemerge.MERGE_COMMENT_PREFIX} {namespace}/{name}"
        yamlutil.set_key_line_comment(doc, "metadata", comment)

    id_namespace, id_name = namespace, name
    from_comment = resourcemerge.ns_and_name_for_merge(comment)
    if from_comment is not None:
        id_namespace, id_name = from_comment
    if id_namespace == "":
        id_namespace = _DEFAULT_NAMESPACE
    elif namespace == _TOTALLY_NOT_A_NAMESPACE:
        id_namespace = _UNKNOWN_NAMESPACE
    api_version = _text(doc.get("apiVersion"))
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    identifier = f"{group}|{_text(doc.get('kind'))}|{id_namespace}|{id_name}"
    annotations = yamlutil.ensure_map(doc, "metadata", "annotations")
    if annotations.get(UPSTREAM_IDENTIFIER_ANNOTATION) != identifier:
        annotations[UPSTREAM_IDENTIFIER_ANNOTATION] = yamlutil.new_string(identifier)
    return yamlutil.dump(doc) != before


def add_merge_comments(files: Mapping[str, str]) -> dict[str, str]:
    """Return `files` (path -> text) with merge comments added to every resource.

    Only files that changed are rewritten; other files (and YAML that does not parse) are
    returned as they were.
    """
    out = dict(files)
    for path, text in files.items():
        if not _is_resource_file(path):
            continue
        try:
            docs = yamlutil.load_all(text)
        except yamlutil.YAMLError:
            continue
        changed = False
        for doc in docs:
            changed = add_merge_comment(doc) or changed
        if changed:
            out[path] = yamlutil.dump_all(docs)
    return out
