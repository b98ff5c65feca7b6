"""Package files on the client side: directories, ResourceLists and ``.KptRevisionMetadata``.

Where this sits: ``rpkg pull`` and ``rpkg push`` move a PackageRevisionResources'
``spec.resources`` (path -> file content) between the API and the user:

* pull adds ``.KptRevisionMetadata`` (kind ``KptRevisionMetadata``, the PRR's metadata with
  its resourceVersion) and either writes every file under a new directory
  (:func:`write_dir`) or prints the KRM files (``*.yaml``, ``*.yml``, ``Kptfile``,
  ``.KptRevisionMetadata``) as one ResourceList (:func:`to_resource_list`), each document
  annotated with its ``config.kubernetes.io/path`` and ``index``;
* push reads a directory (:func:`read_dir`) or a ResourceList from stdin
  (:func:`from_resource_list`), takes the resourceVersion from ``.KptRevisionMetadata``
  (:func:`take_resource_version`) and sends the rest.

YAML is read and written with ruamel.yaml's round-trip mode, so comments and key order in
the user's files survive a pull/edit/push cycle. File paths from the server never escape
the target directory.
"""

from __future__ import annotations

import fnmatch
import io
import os
import posixpath
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Final

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from pkg.apimachinery import codec
from pkg.cmd.porchctl import cmdutil
from pkg.kpt import pkgio, yamlutil

__all__ = [
    "REVISION_METADATA_FILE",
    "REVISION_METADATA_KIND",
    "from_resource_list",
    "read_dir",
    "revision_metadata",
    "take_resource_version",
    "to_resource_list",
    "write_dir",
]

REVISION_METADATA_FILE: Final = ".KptRevisionMetadata"
REVISION_METADATA_KIND: Final = "KptRevisionMetadata"
RESOURCE_LIST_API_VERSION: Final = "config.kubernetes.io/v1"

_PATH: Final = pkgio.LEGACY_PATH_ANNOTATION
_INDEX: Final = pkgio.LEGACY_INDEX_ANNOTATION
_INTERNAL_PATH: Final = pkgio.PATH_ANNOTATION
_INTERNAL_INDEX: Final = pkgio.INDEX_ANNOTATION
_READER_ANNOTATIONS: Final = (_PATH, _INDEX, _INTERNAL_PATH, _INTERNAL_INDEX)
_KRM_FILES: Final = ("*.yaml", "*.yml", "Kptfile", REVISION_METADATA_FILE)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    # kyaml's layout: 2-space maps, sequences not indented under their key.
    yaml.indent(mapping=2, sequence=2, offset=0)
    yaml.width = 1 << 16
    yaml.preserve_quotes = True
    return yaml


# -- pull --------------------------------------------------------------------------------


def revision_metadata(metadata: Mapping[str, Any]) -> str:
    """The ``.KptRevisionMetadata`` file for a PRR's ``metadata`` (as the server sent it).

    ``apiVersion`` is empty, as Porch's porchctl writes it (its typed client drops the PRR's
    TypeMeta before copying it).
    """
    document = {"apiVersion": "", "kind": REVISION_METADATA_KIND, "metadata": dict(metadata)}
    return codec.encode_yaml(document).decode("utf-8")


def write_dir(resources: Mapping[str, str], directory: str) -> None:
    """Write every file under ``directory``, which must not exist yet."""
    if os.path.lexists(directory):
        raise cmdutil.KptError(
            f'directory "{directory}" already exists, please delete the directory and retry'
        )
    root = Path(directory)
    targets = {path: _inside(root, path) for path in resources}
    root.mkdir(parents=True)
    for path, target in sorted(targets.items()):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(resources[path], encoding="utf-8")


def _inside(root: Path, relative: str) -> Path:
    parts = PurePosixPath(relative).parts
    if not relative or PurePosixPath(relative).is_absolute() or ".." in parts or "\\" in relative:
        raise cmdutil.KptError(f"refusing to write {relative!r}: it is outside the package")
    return root.joinpath(*parts)


def to_resource_list(resources: Mapping[str, str]) -> str:
    """The KRM files as one ResourceList, documents sorted by path and index."""
    yaml = _yaml()
    items = CommentedSeq()
    for path in sorted(p for p in resources if _is_krm_file(p)):
        try:
            documents = list(yaml.load_all(resources[path]))
        except YAMLError as err:
            raise cmdutil.KptError(f"failed to parse {path}: {err}") from err
        index = 0
        for document in documents:
            if document is None:
                continue
            if not isinstance(document, CommentedMap):
                raise cmdutil.KptError(
                    f"{path}: document {index} is not a KRM resource (expected a mapping)"
                )
            _annotate(document, path, index)
            items.append(document)
            index += 1
    resource_list = CommentedMap()
    resource_list["apiVersion"] = RESOURCE_LIST_API_VERSION
    resource_list["kind"] = "ResourceList"
    resource_list["items"] = items
    buffer = io.StringIO()
    yaml.dump(resource_list, buffer)
    return buffer.getvalue()


def _is_krm_file(path: str) -> bool:
    name = posixpath.basename(path)
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in _KRM_FILES)


def _annotate(document: CommentedMap, path: str, index: int) -> None:
    annotations = yamlutil.ensure_map(document, "metadata", "annotations")
    for key, value in (
        (_INDEX, str(index)),
        (_PATH, path),
        (_INTERNAL_INDEX, str(index)),
        (_INTERNAL_PATH, path),
    ):
        annotations[key] = value


# -- push --------------------------------------------------------------------------------


def read_dir(directory: str) -> dict[str, str]:
    """Every regular file under ``directory`` (symlinks skipped), keyed by ``/`` path."""
    resources: dict[str, str] = {}
    if not os.path.isdir(directory):
        raise cmdutil.KptError(f"lstat {directory}: no such file or directory")
    for current, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        for filename in sorted(filenames):
            full = os.path.join(current, filename)
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            data = Path(full).read_bytes()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                # The API holds text only; binary content would be corrupted silently.
                raise cmdutil.KptError(
                    f"file {full} is not a valid UTF-8 text file: current porch API doesn't "
                    "support binary files"
                ) from None
            resources[Path(os.path.relpath(full, directory)).as_posix()] = text
    return resources


def from_resource_list(text: str) -> dict[str, str]:
    """Files from a ResourceList (or a stream of YAML documents) read from stdin.

    Documents are grouped by their path annotation (``<namespace>/<name>.yaml`` when they
    have none), ordered by index, and written without the reader annotations.
    """
    yaml = _yaml()
    try:
        documents = [d for d in yaml.load_all(text) if d is not None]
    except YAMLError as err:
        raise cmdutil.KptError(f"failed to read the input: {err}") from err
    items: list[Any] = []
    for document in documents:
        if isinstance(document, CommentedMap) and document.get("kind") in ("ResourceList", "List"):
            items.extend(document.get("items") or [])
        else:
            items.append(document)
    files: dict[str, list[tuple[int, CommentedMap]]] = {}
    for position, item in enumerate(items):
        if not isinstance(item, CommentedMap):
            raise cmdutil.KptError(f"item {position} of the input is not a KRM resource")
        path, index = _path_and_index(item, position)
        _clear_reader_annotations(item)
        files.setdefault(path, []).append((index, item))
    resources: dict[str, str] = {}
    for path, entries in files.items():
        entries.sort(key=lambda entry: entry[0])
        chunks = []
        for _, item in entries:
            buffer = io.StringIO()
            yaml.dump(item, buffer)
            chunks.append(buffer.getvalue())
        resources[path] = "---\n".join(chunks)
    return resources


def _path_and_index(item: CommentedMap, position: int) -> tuple[str, int]:
    metadata = item.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    annotations = annotations if isinstance(annotations, Mapping) else {}
    path = annotations.get(_INTERNAL_PATH) or annotations.get(_PATH)
    raw_index = annotations.get(_INTERNAL_INDEX) or annotations.get(_INDEX)
    try:
        index = int(raw_index) if raw_index is not None else position
    except ValueError:
        index = position
    if not path:
        namespace = (metadata or {}).get("namespace") or "non-namespaced"
        name = (metadata or {}).get("name") or "unnamed"
        path = f"{namespace}/{name}.yaml"
    return str(path), index


def _clear_reader_annotations(item: CommentedMap) -> None:
    metadata = item.get("metadata")
    if not isinstance(metadata, CommentedMap):
        return
    annotations = metadata.get("annotations")
    if not isinstance(annotations, CommentedMap):
        return
    for key in _READER_ANNOTATIONS:
        annotations.pop(key, None)
    if not annotations:
        del metadata["annotations"]


def take_resource_version(resources: dict[str, str], namespace: str, name: str) -> str:
    """Remove ``.KptRevisionMetadata`` from ``resources`` and return its resourceVersion.

    Raises KptError (Porch's texts, plus the hint to pull first) when the file is missing,
    unreadable or not a KptRevisionMetadata.
    """
    hint = '\nuse "porchctl rpkg pull" to download the remote package metadata before pushing'
    where = f"PackageRevisionResources '{namespace}/{name}'"
    content = resources.get(REVISION_METADATA_FILE)
    if content is None:
        raise cmdutil.KptError(f'"{REVISION_METADATA_FILE}" not found in {where}{hint}')
    try:
        document = _yaml().load(content)
    except YAMLError as err:
        raise cmdutil.KptError(
            f'failed to parse "{REVISION_METADATA_FILE}" of PackageRevisionResources '
            f"{namespace}/{name}: {err}{hint}"
        ) from err
    if not isinstance(document, Mapping) or document.get("kind") != REVISION_METADATA_KIND:
        raise cmdutil.KptError(
            f'"{REVISION_METADATA_FILE}" does not contain kind "{REVISION_METADATA_KIND}" in '
            f"{where}{hint}"
        )
    del resources[REVISION_METADATA_FILE]
    metadata = document.get("metadata")
    version = metadata.get("resourceVersion") if isinstance(metadata, Mapping) else None
    return "" if version is None else str(version)
