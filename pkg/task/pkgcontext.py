"""kpt's builtin `gen-pkg-context` function, as Porch runs it on clones into deployment repos.

Where it sits: `pkg.task.clone` calls `generate_package_context` when the target Repository has
`spec.deployment: true` (porch.md §3.4, §4.5). Porch runs kpt's `PackageContextGenerator`
through a kio pipeline over every YAML file of the package: every ConfigMap named
`kptfile.kpt.dev` is dropped, and for every Kptfile (the root and each subpackage) a fresh one
is written next to it in `package-context.yaml`, with `data.name` = the Kptfile's name and
`data.package-path` = the package path (parent path + package name). The pipeline writes every
YAML file back as kyaml does (`pkg.kpt.pkgio`); other files are kept as they are.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Final

from ruamel.yaml.comments import CommentedMap

from pkg.kpt import pkgio, yamlutil
from pkg.repository import errors
from pkg.task import init

__all__ = ["PACKAGE_PATH_KEY", "generate_package_context"]

PACKAGE_PATH_KEY: Final = "package-path"


def _is_context(item: Mapping[str, object]) -> bool:
    metadata = item.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return (
        item.get("apiVersion") == "v1"
        and item.get("kind") == "ConfigMap"
        and name == init.PACKAGE_CONTEXT_NAME
    )


def _is_kptfile(item: Mapping[str, object]) -> bool:
    return item.get("apiVersion") == "kpt.dev/v1" and item.get("kind") == "Kptfile"


def _context_for(kptfile_path: str, name: str, package_path: str) -> CommentedMap:
    node = yamlutil.load(init.abstract_package_context())
    pkgio.set_annotation(
        node,
        pkgio.PATH_ANNOTATION,
        posixpath.join(posixpath.dirname(kptfile_path), init.PACKAGE_CONTEXT_FILE),
    )
    data = CommentedMap()
    values = {"name": name}
    if package_path:
        values[PACKAGE_PATH_KEY] = package_path
    # kyaml's SetDataMap writes the keys sorted.
    for key in sorted(values):
        data[key] = yamlutil.new_string(values[key])
    node["data"] = data
    return node


def generate_package_context(files: Mapping[str, str], package_path: str) -> dict[str, str]:
    """Run gen-pkg-context over the package `files`; `package_path` is Porch's PackageConfig
    path (the package's `spec.packageName`, prefixed with its parent's path if it has one).

    Raises `InvalidPackageError` when a YAML file cannot be read (Porch: "failed to evaluate
    function").
    """
    items: list[CommentedMap] = []
    kept: dict[str, str] = {}
    for path in sorted(files, key=lambda p: tuple(p.split("/"))):
        if not pkgio.is_krm_file(path):
            kept[path] = files[path]
            continue
        try:
            docs = pkgio.read_file_resources(files[path])
        except pkgio.PackageReadError as err:
            raise errors.InvalidPackageError(
                f"failed to evaluate function: failed to read {path}: {err}"
            ) from err
        for index, (node, seq_style) in enumerate(docs):
            pkgio.set_annotation(node, pkgio.PATH_ANNOTATION, path)
            pkgio.set_annotation(node, pkgio.INDEX_ANNOTATION, str(index))
            pkgio.set_annotation(node, pkgio.SEQ_INDENT_ANNOTATION, seq_style)
            items.append(node)
    output: list[CommentedMap] = []
    contexts: list[CommentedMap] = []
    for item in items:
        if _is_context(item):
            continue
        output.append(item)
        if _is_kptfile(item):
            kptfile_path = pkgio.get_annotation(item, pkgio.PATH_ANNOTATION) or ""
            metadata = item.get("metadata")
            name = metadata.get("name") if isinstance(metadata, Mapping) else None
            contexts.append(_context_for(kptfile_path, str(name or ""), package_path))
    output.extend(contexts)
    kept.update(pkgio.write_resources(output))
    return kept
