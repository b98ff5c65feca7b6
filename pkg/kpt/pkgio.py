"""Package I/O: a kpt package held as files in memory, read into KRM items and written back.

Where it sits: the renderer (`pkg.kpt.render`) reads each package's own resources with
`read_resources` and, after the pipelines ran, writes all items back with `write_resources`. Porch's
engine holds package contents as a `dict[str, str]` (path relative to the package root -> text), so
that is the file system here; `read_directory`/`write_directory` convert from and to a real one.

What kpt (kyaml's LocalPackageReader/Writer) does and this module reproduces:
- a package's resources are the `Kptfile` and every `*.yaml`/`*.yml` file below its directory, in
  the order Go's `filepath.Walk` visits them, minus subpackages (directories with a Kptfile) and
  the paths the package's `.krmignore` (gitignore syntax) matches; each file is split into
  documents at `---` lines;
- every item gets the reader annotations: `config.kubernetes.io/index|path`,
  `internal.config.kubernetes.io/index|path|seqindent` and the owning package's path;
- writing groups items by path, orders them by index, encodes each file like kyaml (see
  `yamlutil`), removes the reader annotations (and an annotations map they leave empty), and new
  items without a path go to `<kind>_<name>.yaml`.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pathspec
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import SingleQuotedScalarString

from pkg.kpt import kptfile, yamlutil

__all__ = [
    "ANNOTATIONS_MIGRATION_RESOURCE_ID",
    "ID_ANNOTATION",
    "INDEX_ANNOTATION",
    "LEGACY_ID_ANNOTATION",
    "LEGACY_INDEX_ANNOTATION",
    "LEGACY_PATH_ANNOTATION",
    "PACKAGE_PATH_ANNOTATION",
    "PATH_ANNOTATION",
    "SEQ_INDENT_ANNOTATION",
    "PackageReadError",
    "direct_subpackages",
    "get_annotation",
    "is_krm_file",
    "read_directory",
    "read_resources",
    "remove_annotation",
    "set_annotation",
    "write_directory",
    "write_resources",
]

LEGACY_INDEX_ANNOTATION: Final = "config.kubernetes.io/index"
LEGACY_PATH_ANNOTATION: Final = "config.kubernetes.io/path"
INDEX_ANNOTATION: Final = "internal.config.kubernetes.io/index"
PATH_ANNOTATION: Final = "internal.config.kubernetes.io/path"
SEQ_INDENT_ANNOTATION: Final = "internal.config.kubernetes.io/seqindent"
PACKAGE_PATH_ANNOTATION: Final = "internal.config.kubernetes.io/package-path"
LEGACY_ID_ANNOTATION: Final = "config.k8s.io/id"
ID_ANNOTATION: Final = "internal.config.kubernetes.io/id"
ANNOTATIONS_MIGRATION_RESOURCE_ID: Final = (
    "internal.config.kubernetes.io/annotations-migration-resource-id"
)

READER_ANNOTATIONS: Final = (
    LEGACY_INDEX_ANNOTATION,
    LEGACY_PATH_ANNOTATION,
    INDEX_ANNOTATION,
    PATH_ANNOTATION,
    SEQ_INDENT_ANNOTATION,
    PACKAGE_PATH_ANNOTATION,
    LEGACY_ID_ANNOTATION,
    ID_ANNOTATION,
    ANNOTATIONS_MIGRATION_RESOURCE_ID,
)

KRMIGNORE: Final = ".krmignore"
_DOC_SEPARATOR_RE: Final = re.compile(r"\n---.*\n")


class PackageReadError(Exception):
    """A package file that cannot be read as YAML."""


# ------------------------------------------------------------------------------- annotations


def get_annotation(obj: Mapping[str, Any], key: str) -> str | None:
    # dict.get: ruamel's CommentedMap.get is a slow Python override (merge keys, unused in KRM)
    meta = dict.get(obj, "metadata") if isinstance(obj, dict) else obj.get("metadata")
    if not isinstance(meta, dict):
        return None
    ann = dict.get(meta, "annotations")
    if not isinstance(ann, dict):
        return None
    value = dict.get(ann, key, _MISSING)
    if value is _MISSING:
        return None
    return "" if value is None else str(value)


_MISSING: Final = object()


def set_annotation(obj: CommentedMap, key: str, value: str) -> None:
    """Set an annotation; a missing `metadata.annotations` map is added at the end of metadata."""
    ann = yamlutil.ensure_map(obj, "metadata", "annotations")
    # kyaml's SetAnnotation single-quotes the values it sets (visible in ResourceLists)
    ann[key] = SingleQuotedScalarString(value)


def remove_annotation(obj: Mapping[str, Any], key: str) -> None:
    meta = obj.get("metadata")
    if not isinstance(meta, CommentedMap):
        return
    ann = meta.get("annotations")
    if isinstance(ann, CommentedMap) and key in ann:
        del ann[key]


def clear_empty_annotations(obj: Mapping[str, Any]) -> None:
    """kyaml's ClearEmptyAnnotations: drop `metadata.annotations` when it is an empty map."""
    meta = obj.get("metadata")
    if not isinstance(meta, CommentedMap):
        return
    ann = meta.get("annotations")
    if "annotations" in meta and (ann is None or (isinstance(ann, Mapping) and not ann)):
        del meta["annotations"]


# ----------------------------------------------------------------------------------- layout


def _walk_key(path: str) -> tuple[str, ...]:
    # filepath.Walk visits directory entries in lexical order, depth first
    return tuple(path.split("/"))


def package_dirs(files: Iterable[str]) -> set[str]:
    """Directories (relative, "" for the root) that hold a Kptfile."""
    out: set[str] = set()
    for path in files:
        if path == kptfile.KPTFILE_NAME:
            out.add("")
        elif path.endswith("/" + kptfile.KPTFILE_NAME):
            out.add(path[: -len(kptfile.KPTFILE_NAME) - 1])
    return out


def direct_subpackages(files: Iterable[str], pkg_dir: str) -> list[str]:
    """The nearest packages below `pkg_dir` (plain directories in between don't count), sorted."""
    dirs = package_dirs(files)
    prefix = pkg_dir + "/" if pkg_dir else ""
    below = [d for d in dirs if d != pkg_dir and d.startswith(prefix)]
    direct = [
        d for d in below if not any(other != d and d.startswith(other + "/") for other in below)
    ]
    return sorted(direct, key=_walk_key)


def is_krm_file(path: str) -> bool:
    name = posixpath.basename(path)
    return name == kptfile.KPTFILE_NAME or name.endswith((".yaml", ".yml"))


class _Ignore:
    """A `.krmignore` of one package: gitignore patterns, matched by `pathspec`.

    kyaml walks the package directory and skips an ignored directory whole, so, as in git, a
    file below an ignored directory stays ignored even when a later `!pattern` names it.
    """

    def __init__(self, text: str) -> None:
        self._spec = pathspec.GitIgnoreSpec.from_lines(text.splitlines())
        self._dirs: dict[str, bool] = {}

    def ignored(self, rel: str) -> bool:
        """Whether a file path (relative to the package) or one of its directories is ignored."""
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            if self._dir_ignored("/".join(parts[:depth])):
                return True
        return self._spec.match_file(rel)

    def _dir_ignored(self, rel_dir: str) -> bool:
        known = self._dirs.get(rel_dir)
        if known is None:
            # the trailing slash makes directory-only patterns (`out/`) apply
            known = self._dirs[rel_dir] = self._spec.match_file(rel_dir + "/")
        return known


def package_files(files: Mapping[str, str], pkg_dir: str) -> list[str]:
    """The KRM files of the package at `pkg_dir` (its own, not its subpackages'), in walk order,
    as paths relative to the root."""
    prefix = pkg_dir + "/" if pkg_dir else ""
    sub_dirs = [d for d in package_dirs(files) if d != pkg_dir and d.startswith(prefix)]
    ignore_text = files.get(prefix + KRMIGNORE)
    ignore = _Ignore(ignore_text) if ignore_text else None
    out = []
    for path in files:
        if not path.startswith(prefix) or not is_krm_file(path):
            continue
        if any(path.startswith(d + "/") for d in sub_dirs):
            continue
        rel = path[len(prefix) :]
        if ignore is not None and ignore.ignored(rel):
            continue
        out.append(path)
    return sorted(out, key=_walk_key)


# -------------------------------------------------------------------------------------- reading


def split_documents(text: str) -> list[str]:
    """kyaml's splitDocuments: cut at lines starting with `---` (the text after it on that line
    may only be a comment)."""
    text = text.replace("\r\n", "\n")
    if not text:
        return []
    docs: list[str] = []
    prev = 0
    for match in _DOC_SEPARATOR_RE.finditer(text):
        rest = match.group(0)[4:].strip()
        if rest and not rest.startswith("#"):
            raise PackageReadError(f"invalid document separator: {match.group(0).strip()}")
        docs.append(text[prev : match.start()] + "\n")
        prev = match.end()
    docs.append(text[prev:])
    return docs


def read_file_resources(text: str) -> list[tuple[CommentedMap, str]]:
    """The documents of one file as (mapping, seqindent style), empty documents skipped."""
    out: list[tuple[CommentedMap, str]] = []
    for part in split_documents(text):
        try:
            nodes = yamlutil.load_documents(part)
        except yamlutil.YAMLError as err:
            raise PackageReadError(str(err)) from err
        for node in nodes:
            if node is None:
                continue
            if not isinstance(node, CommentedMap):
                raise PackageReadError("wrong node kind: expected MappingNode")
            out.append((node, yamlutil.derive_seq_indent(part)))
    return out


def read_resources(files: Mapping[str, str], pkg_dir: str, pkg_path: str) -> list[CommentedMap]:
    """The items of the package at `pkg_dir`, annotated as kpt's reader annotates them.

    `pkg_path` is the package's absolute (or virtual absolute) path, recorded in the
    package-path annotation. Paths in the path annotations are relative to `pkg_dir`.
    """
    prefix = pkg_dir + "/" if pkg_dir else ""
    items: list[CommentedMap] = []
    for path in package_files(files, pkg_dir):
        rel = path[len(prefix) :]
        try:
            docs = read_file_resources(files[path])
        except PackageReadError as err:
            raise PackageReadError(f"failed to read {path}: {err}") from err
        for index, (node, seq_style) in enumerate(docs):
            _annotate(node, rel, index, seq_style, pkg_path)
            items.append(node)
    return items


def _annotate(node: CommentedMap, rel: str, index: int, seq_style: str, pkg_path: str) -> None:
    meta = node.get("metadata")
    if not isinstance(meta, CommentedMap):
        if "metadata" in node:
            # a null or scalar metadata: kyaml replaces it with a fresh mapping
            del node["metadata"]
        meta = CommentedMap()
        node["metadata"] = meta
    ann = meta.get("annotations")
    if not isinstance(ann, CommentedMap):
        if "annotations" in meta:
            del meta["annotations"]
        ann = CommentedMap()
        meta["annotations"] = ann
    text_index = SingleQuotedScalarString(str(index))
    quoted_rel = SingleQuotedScalarString(rel)
    ann[LEGACY_INDEX_ANNOTATION] = text_index
    ann[LEGACY_PATH_ANNOTATION] = quoted_rel
    ann[INDEX_ANNOTATION] = text_index
    ann[PATH_ANNOTATION] = quoted_rel
    ann[SEQ_INDENT_ANNOTATION] = SingleQuotedScalarString(seq_style)
    ann[PACKAGE_PATH_ANNOTATION] = SingleQuotedScalarString(pkg_path)


# -------------------------------------------------------------------------------------- writing


@dataclass(slots=True)
class _Doc:
    index: int
    order: int
    node: CommentedMap
    seq_style: str


def default_path(obj: Mapping[str, Any]) -> str:
    """kyaml's default file for a new item: `<kind>_<name>.yaml`, in a directory named after its
    namespace when it has one."""
    kind = str(obj.get("kind") or "").lower()
    meta = obj.get("metadata")
    name = ""
    namespace = ""
    if isinstance(meta, Mapping):
        name = str(meta.get("name") or "")
        namespace = str(meta.get("namespace") or "")
    filename = f"{kind}_{name}.yaml"
    return posixpath.join(namespace, filename) if namespace else filename


def write_resources(items: Iterable[CommentedMap]) -> dict[str, str]:
    """File texts (path -> text) for items whose path annotations are relative to the root.

    Reader annotations are removed from the items (they are consumed here).
    """
    by_file: dict[str, list[_Doc]] = {}
    for order, node in enumerate(items):
        path = get_annotation(node, PATH_ANNOTATION) or get_annotation(node, LEGACY_PATH_ANNOTATION)
        if not path:
            path = default_path(node)
        index_text = get_annotation(node, INDEX_ANNOTATION) or get_annotation(
            node, LEGACY_INDEX_ANNOTATION
        )
        try:
            index = int(index_text) if index_text else 0
        except ValueError:
            index = 0
        seq_style = get_annotation(node, SEQ_INDENT_ANNOTATION) or yamlutil.COMPACT
        for key in READER_ANNOTATIONS:
            remove_annotation(node, key)
        clear_empty_annotations(node)
        clean = posixpath.normpath(path.lstrip("/"))
        by_file.setdefault(clean, []).append(_Doc(index, order, node, seq_style))
    out: dict[str, str] = {}
    for path, docs in by_file.items():
        docs.sort(key=lambda d: (d.index, d.order))
        out[path] = yamlutil.dump_all(
            [d.node for d in docs], seq_indent_style=[d.seq_style for d in docs]
        )
    return out


# ------------------------------------------------------------------------------- real directories


def read_directory(root: Path) -> dict[str, str]:
    """Every regular text file below `root` (relative posix path -> text); symlinks inside the
    package are skipped as kpt skips them, and so is any `.git` directory."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        base = Path(dirpath)
        for name in sorted(filenames):
            full = base / name
            if full.is_symlink():
                continue
            rel = full.relative_to(root).as_posix()
            try:
                out[rel] = full.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
        dirnames[:] = [d for d in dirnames if not (base / d).is_symlink()]
    return out


def write_directory(root: Path, before: Mapping[str, str], after: Mapping[str, str]) -> None:
    """Bring the files below `root` from `before` to `after`: write changed and new files,
    delete removed ones (and directories left empty by that)."""
    for rel, text in after.items():
        if before.get(rel) == text:
            continue
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for rel in before:
        if rel in after:
            continue
        target = root / rel
        if target.exists() and not target.is_symlink():
            target.unlink()
            parent = target.parent
            while parent != root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
