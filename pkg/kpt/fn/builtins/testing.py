"""Test support for the builtin functions: run one function over a package folder.

Where it sits: imported by the builtins' unit tests and by `test/e2e/functions`, never by
production code. It does what `kpt fn eval` does around a single function: read every
`*.yaml`/`*.yml` file and the Kptfile of a folder (honouring `.krmignore`), put the reader
annotations on each item (`config.kubernetes.io/path|index`, `internal.config.kubernetes.io/
path|index|seqindent`), build the ResourceList, and write the items back in place afterwards
(files whose items are all gone are deleted, new items get `<kind>_<name>.yaml`).
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pkg.kpt import yamlutil
from pkg.kpt.fn import fnerrors
from pkg.kpt.fn import runtime as fnruntime
from pkg.kpt.fn.builtins import BUILTINS, _krm, call

_READER_ANNOTATIONS = (
    _krm.LEGACY_PATH_ANNOTATION,
    _krm.LEGACY_INDEX_ANNOTATION,
    _krm.PATH_ANNOTATION,
    _krm.INDEX_ANNOTATION,
    "internal.config.kubernetes.io/seqindent",
)


@dataclass
class Outcome:
    """What one function run over a folder gave: exit code, results and stderr."""

    exit_code: int
    results: list[Any] = field(default_factory=list)
    stderr: str = ""


def _ignored(rel: str, patterns: list[str]) -> bool:
    parts = rel.split("/")
    for raw in patterns:
        anchored = raw.startswith("/")
        pattern = raw.strip("/")
        for i in range(len(parts)):
            if anchored and i > 0:
                break
            if fnmatch.fnmatch("/".join(parts[i:]), pattern) or fnmatch.fnmatch(parts[i], pattern):
                return True
    return False


def package_files(root: Path) -> Iterator[str]:
    """Relative paths of the package's resource files, in kpt's lexical walk order."""
    ignore_file = root / ".krmignore"
    patterns = []
    if ignore_file.exists():
        patterns = [
            line.strip()
            for line in ignore_file.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        dirnames[:] = [
            d for d in dirnames if not _ignored(d if rel_dir == "." else f"{rel_dir}/{d}", patterns)
        ]
        for name in filenames:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            is_resource_file = name == "Kptfile" or name.endswith((".yaml", ".yml"))
            if is_resource_file and not _ignored(rel, patterns):
                found.append(rel)
    yield from sorted(found)


def read_items(root: Path) -> CommentedSeq:
    """Every resource of the folder with kpt's reader annotations."""
    items = CommentedSeq()
    for rel in package_files(root):
        text = (root / rel).read_text()
        seq_indent = yamlutil.derive_seq_indent(text)
        for index, doc in enumerate(yamlutil.load_all(text)):
            annotations = yamlutil.ensure_map(doc, "metadata", "annotations")
            for key, value in (
                (_krm.LEGACY_INDEX_ANNOTATION, str(index)),
                (_krm.LEGACY_PATH_ANNOTATION, rel),
                (_krm.INDEX_ANNOTATION, str(index)),
                (_krm.PATH_ANNOTATION, rel),
                ("internal.config.kubernetes.io/seqindent", seq_indent),
            ):
                annotations[key] = value
            items.append(doc)
    return items


def write_items(root: Path, items: CommentedSeq, original_files: list[str]) -> None:
    """Write the items back by their path/index annotations.

    `original_files` are the files the items were read from; those left without items are
    deleted, as kpt does.
    """
    by_file: dict[str, list[tuple[int, str, CommentedMap]]] = {}
    for position, obj in enumerate(items):
        path = _krm.annotation(obj, _krm.PATH_ANNOTATION) or _krm.annotation(
            obj, _krm.LEGACY_PATH_ANNOTATION
        )
        index_text = _krm.annotation(obj, _krm.INDEX_ANNOTATION) or _krm.annotation(
            obj, _krm.LEGACY_INDEX_ANNOTATION
        )
        seq_indent = _krm.annotation(obj, "internal.config.kubernetes.io/seqindent") or "compact"
        if not path:
            path = f"{_krm.kind(obj).lower()}_{_krm.name(obj)}.yaml"
            if _krm.namespace(obj):
                path = f"{_krm.namespace(obj)}/{path}"
        index = int(index_text) if index_text else len(items) + position
        annotations = _krm.get_map(obj, "metadata", "annotations")
        if annotations is not None:
            for key in _READER_ANNOTATIONS:
                annotations.pop(key, None)
            if not annotations:
                del obj["metadata"]["annotations"]
        by_file.setdefault(path, []).append((index, seq_indent, obj))
    for rel in original_files:
        if rel not in by_file:
            (root / rel).unlink()
    for rel, docs in by_file.items():
        docs.sort(key=lambda d: d[0])
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = yamlutil.dump_all([d[2] for d in docs], seq_indent_style=[d[1] for d in docs])
        target.write_text(text)


def run_text(
    function: str, text: str, function_config: Any = None, *, tag: str = ""
) -> tuple[str, Outcome]:
    """Run a builtin (as image tag `tag`) over the documents of one file `resources.yaml`;
    returns the file after the run (unchanged when the function failed) and the outcome."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "resources.yaml").write_text(text)
        config = function_config
        if type(function_config) is dict:  # plain data from a test, not a loaded node
            config = yamlutil.from_plain(function_config)
        outcome = eval_folder(root, function, config, tag=tag)
        path = root / "resources.yaml"
        return (path.read_text() if path.exists() else ""), outcome


def resource_list(
    items: Sequence[CommentedMap], function_config: CommentedMap | None
) -> CommentedMap:
    """A KRM ResourceList of `items` (kept as the same nodes) and the functionConfig."""
    rl = CommentedMap()
    rl["apiVersion"] = "config.kubernetes.io/v1"
    rl["kind"] = "ResourceList"
    rl["items"] = items if isinstance(items, CommentedSeq) else CommentedSeq(items)
    if function_config is not None:
        rl["functionConfig"] = function_config
    return rl


def selected(obj: CommentedMap, selectors: list[Any]) -> bool:
    """kpt's step selectors: all given fields of one selector match (maps as subsets)."""
    for selector in selectors:
        if not isinstance(selector, CommentedMap) or not selector:
            continue
        checks = {
            "apiVersion": _krm.api_version(obj),
            "kind": _krm.kind(obj),
            "name": _krm.name(obj),
            "namespace": _krm.namespace(obj),
        }
        if any(str(selector[k]) != v for k, v in checks.items() if k in selector):
            continue
        labels, annotations = _krm.get_labels(obj), _krm.get_annotations(obj)
        if any(labels.get(k) != v for k, v in _krm.string_map(selector.get("labels")).items()):
            continue
        wanted = _krm.string_map(selector.get("annotations"))
        if any(annotations.get(k) != v for k, v in wanted.items()):
            continue
        return True
    return False


def eval_folder(
    root: Path,
    function: str,
    function_config: CommentedMap | None,
    *,
    selectors: list[Any] | None = None,
    write: bool = True,
    tag: str = "",
) -> Outcome:
    """`kpt fn eval` of one builtin over the folder, writing it back in place on success.

    With `selectors` only the selected items go to the function; the others stay as they are
    and generated items are appended (kpt's selector handling, reference §1.4). `tag` is the
    image tag the function runs as (`builtin_tag`; `""`: untagged, the newest behaviour).
    """
    items = read_items(root)
    files = sorted({_krm.annotation(o, _krm.PATH_ANNOTATION) for o in items})
    chosen = [o for o in items if selectors is None or selected(o, selectors)]
    rest = [o for o in items if selectors is not None and not selected(o, selectors)]
    rl = resource_list(CommentedSeq(chosen), function_config)
    try:
        output, stderr = call(function, rl, tag=tag)
    except fnerrors.FunctionError as err:
        return Outcome(1, list(err.results), err.stderr)
    if write:
        write_items(root, CommentedSeq([*rest, *_krm.items(output)]), files)
    return Outcome(0, list(output.get("results") or []), stderr)


def kptfile_step_config(root: Path, step: CommentedMap) -> CommentedMap | None:
    """The functionConfig kpt builds for a Kptfile pipeline step (configMap or configPath)."""
    config_map = step.get("configMap")
    if config_map:
        cm = CommentedMap()
        cm["apiVersion"] = "v1"
        cm["kind"] = "ConfigMap"
        cm["metadata"] = CommentedMap(name="function-input")
        cm["data"] = CommentedMap((str(k), _krm.field_text(config_map, k)) for k in config_map)
        return cm
    config_path = step.get("configPath")
    if config_path:
        return yamlutil.load((root / str(config_path)).read_text())
    return None


def builtin_name(image: str) -> str:
    """`gcr.io/kpt-fn/set-labels:unstable` -> `set-labels`."""
    base = image.rsplit("/", 1)[-1]
    return base.split("@", 1)[0].split(":", 1)[0]


def builtin_tag(image: str) -> str:
    """`gcr.io/kpt-fn/set-labels:unstable` -> `unstable` (the function runtime's reading)."""
    return fnruntime.image_tag(image)


__all__ = [
    "BUILTINS",
    "Outcome",
    "builtin_name",
    "builtin_tag",
    "eval_folder",
    "kptfile_step_config",
    "package_files",
    "read_items",
    "resource_list",
    "run_text",
    "selected",
    "write_items",
]
