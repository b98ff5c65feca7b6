"""Resource-level 3-way merge of one package directory (kpt's ``mergePackage`` for KRM files).

Called by `update` for the root package and each local subpackage of the `resource-merge`
strategy, with the YAML files (``*.yaml``, ``*.yml``; not the Kptfile, not nested packages) of
the three versions. As Porch's merge3 (``pkg/util/merge3``) does:

- resources are matched on API group, kind, namespace, name and file path; the namespace and
  name come from the ``# kpt-merge: <namespace>/<name>`` comment on ``metadata:`` when there is
  one (clone writes it, so a renamed or re-namespaced local copy still finds its upstream);
- a resource only upstream is added, one only local is kept, one deleted upstream is deleted
  locally only if the local copy is unchanged from the old upstream (comments included), one
  deleted locally stays deleted, and one present in both is merged by `merge3`;
- the result is written back file by file, ordered by the documents' positions; a local file
  left without resources is deleted.

A file whose resources all come out unchanged keeps its exact text; kpt would re-serialise it,
which for kyaml-formatted files gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ruamel.yaml.comments import CommentedMap

from pkg.kpt import yamlutil
from pkg.kpt.update import errors, merge3

MERGE_COMMENT_PREFIX: Final = "kpt-merge:"

# Annotations kyaml's readers add and the "unchanged since original" test ignores.
_KYAML_ANNOTATIONS: Final = (
    "config.kubernetes.io/merge-source",
    "config.kubernetes.io/path",
    "config.kubernetes.io/index",
    "internal.config.kubernetes.io/path",
    "internal.config.kubernetes.io/index",
    "internal.config.kubernetes.io/annotations-migration-resource-id",
    "cnrm.cloud.google.com/blueprint",
)


@dataclass(eq=False)
class _Resource:
    path: str
    index: int
    doc: CommentedMap
    before: str = ""  # the document as read, for "did the merge change it"


@dataclass(eq=False)
class _Tuple:
    original: _Resource | None = None
    updated: _Resource | None = None
    dest: _Resource | None = None


@dataclass
class _Version:
    name: str
    texts: Mapping[str, str]
    resources: list[_Resource] = field(default_factory=list)
    by_path: dict[str, list[_Resource]] = field(default_factory=dict)


def ns_and_name_for_merge(comment: str) -> tuple[str, str] | None:
    """Namespace and name from a ``# kpt-merge: <namespace>/<name>`` comment, else None."""
    text = comment.removeprefix("#").strip()
    if not text.startswith(MERGE_COMMENT_PREFIX):
        return None
    parts = text.removeprefix(MERGE_COMMENT_PREFIX).strip().split("/", 1)
    if len(parts) != 2:
        return None
    return parts[0], parts[1]


def metadata_comment(doc: CommentedMap) -> str:
    """The end-of-line comment of the ``metadata:`` key."""
    if "metadata" not in doc:
        return ""
    return (
        yamlutil.get_key_line_comment(doc, "metadata")
        or yamlutil.get_line_comment(doc, "metadata")
        or ""
    )


def _text(value: Any) -> str:
    return merge3.scalar_text(value) if not isinstance(value, (dict, list)) else ""


def _identity(res: _Resource) -> tuple[str, str, str, str, str] | None:
    """kyaml-style resource identity (group, kind, namespace, name, path); None when the
    document has no resource metadata at all (kyaml's GetMeta fails: never matched)."""
    doc = res.doc
    api_version = _text(doc.get("apiVersion"))
    kind = _text(doc.get("kind"))
    metadata = doc.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return None
    if not metadata and not api_version and not kind:
        return None
    metadata = metadata or {}
    name = _text(metadata.get("name"))
    namespace = _text(metadata.get("namespace"))
    from_comment = ns_and_name_for_merge(metadata_comment(doc))
    if from_comment is not None:
        namespace, name = from_comment
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    return (group, kind, namespace, name, res.path)


def _read(name: str, texts: Mapping[str, str]) -> _Version:
    version = _Version(name, texts)
    for path in sorted(texts):
        try:
            docs = yamlutil.load_all(texts[path])
        except yamlutil.YAMLError as err:
            raise errors.UpdateError(f"cannot read {name} file {path!r}: {err}") from err
        resources = [
            _Resource(path, i, doc, yamlutil.dump(doc) if name == "local" else "")
            for i, doc in enumerate(docs)
        ]
        version.by_path[path] = resources
        version.resources.extend(resources)
    return version


def _strip_kyaml_annotations(doc: CommentedMap) -> CommentedMap:
    doc = yamlutil.copy_node(doc)
    annotations = yamlutil.get_path(doc, "metadata", "annotations")
    if isinstance(annotations, dict):
        for key in _KYAML_ANNOTATIONS:
            if key in annotations:
                del annotations[key]
        if not annotations:
            del doc["metadata"]["annotations"]
    return doc


def _equals(a: _Resource, b: _Resource) -> bool:
    return yamlutil.dump(_strip_kyaml_annotations(a.doc)) == yamlutil.dump(
        _strip_kyaml_annotations(b.doc)
    )


class _Tuples:
    """Resources of the three versions grouped by identity, in first-seen order."""

    def __init__(self) -> None:
        self.items: list[_Tuple] = []
        self._by_identity: dict[tuple[str, ...], _Tuple] = {}

    def add(self, res: _Resource, role: str) -> None:
        identity = _identity(res)
        found = self._by_identity.get(identity) if identity is not None else None
        if found is not None:
            if getattr(found, role) is not None:
                raise errors.MergeError(
                    f'found duplicate "{role}" resources in file '
                    f'"{res.path}", please refer to "update" documentation for the fix'
                )
            setattr(found, role, res)
            return
        t = _Tuple()
        setattr(t, role, res)
        self.items.append(t)
        if identity is not None:
            self._by_identity[identity] = t


def merge_resources(
    original: Mapping[str, str], updated: Mapping[str, str], local: Mapping[str, str]
) -> dict[str, str]:
    """Merge the KRM files of one package; returns the new local KRM files (path -> text).

    Paths are relative to the package directory. Raises `errors.UpdateError` for unreadable
    YAML and `errors.MergeError` for resources that cannot be merged.
    """
    orig_v = _read("original", original)
    upd_v = _read("updated", updated)
    dest_v = _read("local", local)

    tuples = _Tuples()
    for res in orig_v.resources:
        tuples.add(res, "original")
    for res in upd_v.resources:
        tuples.add(res, "updated")
    for res in dest_v.resources:
        tuples.add(res, "dest")

    output: list[tuple[_Resource, str]] = []  # (resource, version name)
    for t in tuples.items:
        o, u, d = t.original, t.updated, t.dest
        if o is None and u is None and d is not None:
            output.append((d, "local"))  # added locally
        elif o is None and u is not None and d is None:
            output.append((u, "updated"))  # added upstream
        elif u is None and d is None:
            continue  # deleted on both sides
        elif o is not None and u is None:
            assert d is not None
            # Deleted upstream: delete locally too, unless the local copy was changed.
            if not _equals(o, d):
                output.append((d, "local"))
        elif o is not None and d is None:
            continue  # deleted locally: do not re-add
        else:
            assert u is not None and d is not None
            try:
                merged = merge3.merge(d.doc, o.doc if o else merge3.MISSING, u.doc)
            except errors.MergeError as err:
                raise errors.MergeError(f"cannot merge {d.path!r}: {err}") from err
            if isinstance(merged, CommentedMap) and merged:
                d.doc = merged
                output.append((d, "local"))
    return _write(output, dest_v, upd_v)


def _write(
    output: list[tuple[_Resource, str]], local: _Version, updated: _Version
) -> dict[str, str]:
    by_path: dict[str, list[tuple[_Resource, str]]] = {}
    for res, version in output:
        by_path.setdefault(res.path, []).append((res, version))
    files: dict[str, str] = {}
    for path, entries in by_path.items():
        entries.sort(key=lambda e: e[0].index)  # stable: ties keep merge order
        resources = [res for res, _ in entries]
        if resources == local.by_path.get(path) and all(
            yamlutil.dump(res.doc) == res.before for res in resources
        ):
            files[path] = local.texts[path]
            continue
        if path not in local.texts and resources == updated.by_path.get(path):
            files[path] = updated.texts[path]
            continue
        first_res, first_version = entries[0]
        source_text = (local if first_version == "local" else updated).texts[first_res.path]
        files[path] = yamlutil.dump_all(
            [res.doc for res in resources],
            seq_indent_style=yamlutil.derive_seq_indent(source_text),
        )
    return files
