"""Update a package to a new upstream version: kpt's updaters, on in-memory packages.

Called by the `upgrade` task (`pkg.task`), which fetches the three package revisions and then
writes the new upstream into the Kptfile and adds merge comments (`mergecomment`). Porch runs
kpt's updaters on temporary directories (``DefaultPackageUpdater``); we run the same rules on
``{relative path: text}`` maps. A package may contain subpackages: directories with their own
Kptfile. "Local" subpackages (Kptfile without ``upstream``) are updated with their parent;
subpackages fetched from elsewhere are left alone.

Strategies (Porch's ``PackageMergeStrategy``):

- ``resource-merge`` (default): per package, the Kptfile is merged (`kptfilemerge`), the
  resources are merged one by one (`resourcemerge`), and other files follow upstream unless
  changed locally. A subpackage added upstream is copied in, one added locally kept, one added
  on both sides is an error, one deleted upstream is removed if unchanged locally;
- ``fast-forward``: refuses (`errors.LocalChangesError`) when the local package differs from the
  old upstream (ignoring the Kptfile's name and upstream fields), else as force-delete-replace;
- ``force-delete-replace``: every package's files are replaced by upstream's; the root Kptfile
  stays the local one;
- ``copy-merge``: the root Kptfile is merged, every other upstream file is copied over the local
  one, local-only files stay, and files upstream deleted since the old upstream are removed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from opentelemetry import trace

from pkg.kpt import yamlutil
from pkg.kpt.update import errors, kptfilemerge, resourcemerge

RESOURCE_MERGE: Final = "resource-merge"
FAST_FORWARD: Final = "fast-forward"
FORCE_DELETE_REPLACE: Final = "force-delete-replace"
COPY_MERGE: Final = "copy-merge"
STRATEGIES: Final = (RESOURCE_MERGE, FAST_FORWARD, FORCE_DELETE_REPLACE, COPY_MERGE)

KPTFILE: Final = "Kptfile"
_ROOT: Final = ""

_tracer = trace.get_tracer(__name__)

Files = dict[str, str]


# ----------------------------------------------------------------------------- package layout


def _join(pkg: str, rel: str) -> str:
    return f"{pkg}/{rel}" if pkg else rel


def _rel(pkg: str, path: str) -> str:
    return path[len(pkg) + 1 :] if pkg else path


def _under(pkg: str, path: str) -> bool:
    return not pkg or path.startswith(pkg + "/")


def _dirname(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else _ROOT


def _is_git_path(rel: str) -> bool:
    return ".git" in rel.split("/")


def _exists(files: Mapping[str, str], pkg: str) -> bool:
    """Whether the package directory exists (the root always does)."""
    return pkg == _ROOT or any(_under(pkg, p) for p in files)


def _package_dirs(files: Mapping[str, str]) -> set[str]:
    return {_dirname(p) for p in files if p == KPTFILE or p.endswith("/" + KPTFILE)}


def _is_local_package(files: Mapping[str, str], pkg: str) -> bool:
    """A subpackage without ``upstream`` in its Kptfile (kpt's ``pkg.Local`` matcher)."""
    text = files[_join(pkg, KPTFILE)]
    try:
        doc = yamlutil.load(text)
    except yamlutil.YAMLError as err:
        raise errors.UpdateError(f"cannot read {_join(pkg, KPTFILE)!r}: {err}") from err
    return doc.get("upstream") is None


def _subpackages(files: Mapping[str, str], pkg: str, *, local_only: bool) -> list[str]:
    """Subpackages of `pkg` at any depth, relative to `pkg` (kpt's ``pkg.Subpackages``)."""
    out = []
    for d in _package_dirs(files):
        if d == pkg or not _under(pkg, d) or _is_git_path(d):
            continue
        if local_only and not _is_local_package(files, d):
            continue
        out.append(_rel(pkg, d))
    return sorted(out)


def _all_subpackages(*versions: Mapping[str, str]) -> list[str]:
    """Local subpackages found in any of the versions, parents before children."""
    found: set[str] = set()
    for files in versions:
        found.update(_subpackages(files, _ROOT, local_only=True))
    return sorted(found)


def _package_files(files: Mapping[str, str], pkg: str) -> list[str]:
    """Files of one package, relative to it: nested packages and ``.git`` excluded (kpt's
    ``WalkPackage``)."""
    nested = [d for d in _package_dirs(files) if d != pkg and _under(pkg, d)]
    out = []
    for path in files:
        if not _under(pkg, path):
            continue
        if any(_under(d, path) for d in nested):
            continue
        rel = _rel(pkg, path)
        if _is_git_path(rel):
            continue
        out.append(rel)
    return sorted(out)


def _implied_dirs(rels: list[str]) -> set[str]:
    dirs = set()
    for rel in rels:
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return dirs


def _is_krm_file(rel: str) -> bool:
    base = rel.rsplit("/", 1)[-1]
    return base == KPTFILE or base.endswith((".yaml", ".yml"))


def _remove_tree(files: Files, pkg: str) -> None:
    for path in [p for p in files if _under(pkg, p)]:
        del files[path]


# ---------------------------------------------------------------------------- resource-merge


def _resource_merge(original: Files, updated: Files, local: Files) -> None:
    for pkg in [_ROOT, *_all_subpackages(local, updated, original)]:
        _update_package(pkg, original, updated, local, is_root=pkg == _ROOT)


def _update_package(
    pkg: str, original: Files, updated: Files, local: Files, *, is_root: bool
) -> None:
    local_exists = _exists(local, pkg)
    updated_exists = _exists(updated, pkg)
    original_exists = _exists(original, pkg)
    if not original_exists and local_exists and updated_exists:
        raise errors.UpdateError(f"subpackage {pkg!r} added in both upstream and local")
    if not original_exists and not local_exists and updated_exists:
        _copy_package(updated, local, pkg, copy_root_kptfile=not is_root, subpackages=None)
    elif not updated_exists and original_exists and local_exists:
        # Deleted upstream: remove it unless it was changed locally.
        if not _package_diff(original, local, pkg):
            _remove_tree(local, pkg)
    elif original_exists and local_exists and updated_exists:
        _merge_package(pkg, original, updated, local, is_root=is_root)
    # Otherwise it was added or deleted locally, or deleted on both sides: nothing to do.


def _merge_package(
    pkg: str, original: Files, updated: Files, local: Files, *, is_root: bool
) -> None:
    kptfile = _join(pkg, KPTFILE)
    merged_kptfile = kptfilemerge.merge_kptfile(
        local.get(kptfile), updated.get(kptfile), original.get(kptfile), update_upstream=not is_root
    )
    if merged_kptfile is not None:
        local[kptfile] = merged_kptfile

    def krm(files: Files) -> dict[str, str]:
        return {
            rel: files[_join(pkg, rel)]
            for rel in _package_files(files, pkg)
            if _is_krm_file(rel) and rel.rsplit("/", 1)[-1] != KPTFILE
        }

    local_krm = krm(local)
    merged = resourcemerge.merge_resources(krm(original), krm(updated), local_krm)
    for rel in local_krm:
        del local[_join(pkg, rel)]
    for rel, text in merged.items():
        local[_join(pkg, rel)] = text

    _replace_non_krm_files(pkg, original, updated, local)


def _replace_non_krm_files(pkg: str, original: Files, updated: Files, local: Files) -> None:
    """kpt's ``ReplaceNonKRMFiles``: non-KRM files follow upstream unless changed locally."""

    def non_krm(files: Files) -> list[str]:
        # kpt skips every path that contains ".git" (also .github/, .gitignore).
        return [r for r in _package_files(files, pkg) if not _is_krm_file(r) and ".git" not in r]

    updated_files, original_files = non_krm(updated), set(non_krm(original))
    locally_modified = set()
    for rel in non_krm(local):
        path = _join(pkg, rel)
        if rel not in original_files or local[path] != original[path]:
            locally_modified.add(rel)
        elif rel not in updated_files:
            del local[path]  # unchanged locally and deleted upstream
    for rel in updated_files:
        if rel not in locally_modified:
            local[_join(pkg, rel)] = updated[_join(pkg, rel)]


# ------------------------------------------------------------------- replace and fast-forward


def _copy_package(
    src: Files,
    dst: Files,
    pkg: str,
    *,
    copy_root_kptfile: bool,
    subpackages: Callable[[Files, str], list[str]] | None,
) -> None:
    """kpt's ``CopyPackage``: the package's own files, then the selected subpackages whole.

    The root Kptfile is only copied when `copy_root_kptfile` and `dst` has none.
    """
    for rel in _package_files(src, pkg):
        path = _join(pkg, rel)
        if rel == KPTFILE and (path in dst or not copy_root_kptfile):
            continue
        dst[path] = src[path]
    for sub in subpackages(src, pkg) if subpackages is not None else []:
        sub_path = _join(pkg, sub)
        for path in src:
            if _under(sub_path, path) and not _is_git_path(_rel(sub_path, path)):
                dst[path] = src[path]


def _remove_package_content(files: Files, pkg: str, *, remove_root_kptfile: bool) -> None:
    for rel in _package_files(files, pkg):
        if rel == KPTFILE and not remove_root_kptfile:
            continue
        del files[_join(pkg, rel)]


def _replace(updated: Files, local: Files) -> None:
    """kpt's ``ReplaceUpdater`` (force-delete-replace)."""
    for pkg in [_ROOT, *_all_subpackages(local, updated)]:
        is_root = pkg == _ROOT
        _remove_package_content(local, pkg, remove_root_kptfile=not is_root)
        if not _exists(updated, pkg):
            _remove_tree(local, pkg)
        else:
            _copy_package(updated, local, pkg, copy_root_kptfile=not is_root, subpackages=None)


def _files_equal(rel: str, a: str, b: str) -> bool:
    """kpt's ``nonKptfileEquals``: YAML compared as re-serialised documents (kpt's metrics
    annotation ignored), anything else byte for byte. (kpt tries YAML on every file, which
    finds two texts made only of ``#`` lines equal; we only do so for YAML files.)"""
    if not rel.endswith((".yaml", ".yml")):
        return a == b
    try:
        docs_a, docs_b = yamlutil.load_all(a), yamlutil.load_all(b)
    except yamlutil.YAMLError:
        return a == b
    for doc in (*docs_a, *docs_b):
        annotations = yamlutil.get_path(doc, "metadata", "annotations")
        if isinstance(annotations, dict):
            annotations.pop("cnrm.cloud.google.com/blueprint", None)
    return yamlutil.dump_all(docs_a) == yamlutil.dump_all(docs_b)


def _kptfile_data(text: str, *, ignore_name: bool) -> object:
    doc = yamlutil.load(text)
    doc.pop("upstream", None)
    doc.pop("upstreamLock", None)
    if ignore_name and isinstance(doc.get("metadata"), dict):
        doc["metadata"].pop("name", None)
    return yamlutil.to_plain(doc)


def _kptfiles_equal(a: str, b: str, *, ignore_name: bool = False) -> bool:
    try:
        return _kptfile_data(a, ignore_name=ignore_name) == _kptfile_data(
            b, ignore_name=ignore_name
        )
    except yamlutil.YAMLError as err:
        raise errors.UpdateError(f"cannot read Kptfile: {err}") from err


def _package_diff(a: Files, b: Files, pkg: str, *, root_kptfile_name: bool = False) -> set[str]:
    """kpt's ``PkgDiff``: paths (files and directories, relative to `pkg`) that differ."""
    files_a, files_b = _package_files(a, pkg), _package_files(b, pkg)
    set_a = set(files_a) | _implied_dirs(files_a)
    set_b = set(files_b) | _implied_dirs(files_b)
    diff = set_a ^ set_b
    for rel in set(files_a) & set(files_b):
        text_a, text_b = a[_join(pkg, rel)], b[_join(pkg, rel)]
        if rel.rsplit("/", 1)[-1] == KPTFILE:
            ignore_name = root_kptfile_name and rel == KPTFILE
            if not _kptfiles_equal(text_a, text_b, ignore_name=ignore_name):
                diff.add(rel)
        elif not _files_equal(rel, text_a, text_b):
            diff.add(rel)
    return diff


def _check_for_local_changes(original: Files, local: Files) -> None:
    """kpt's ``FastForwardUpdater.checkForLocalChanges``."""
    modified: set[str] = set()
    for pkg in [_ROOT, *_all_subpackages(local, original)]:
        if not _exists(original, pkg) or not _exists(local, pkg):
            modified.add(f"{pkg} (Package)")
            continue
        # The root Kptfile's name and upstream fields are the local package's own.
        modified |= _package_diff(local, original, pkg, root_kptfile_name=pkg == _ROOT)
    if modified:
        raise errors.LocalChangesError(sorted(modified))


# ----------------------------------------------------------------------------------- copy-merge


def _copy_merge(original: Files, updated: Files, local: Files) -> None:
    """Porch's ``CopyMergeUpdater``."""
    merged_kptfile = kptfilemerge.merge_kptfile(
        local.get(KPTFILE), updated.get(KPTFILE), original.get(KPTFILE), update_upstream=True
    )
    if merged_kptfile is not None:
        local[KPTFILE] = merged_kptfile

    def all_subpackages(files: Files, pkg: str) -> list[str]:
        return _subpackages(files, pkg, local_only=False)

    _copy_package(updated, local, _ROOT, copy_root_kptfile=True, subpackages=all_subpackages)
    # Remove what upstream deleted since the old upstream (never the root Kptfile).
    for path in list(local):
        if path != KPTFILE and path not in updated and path in original:
            del local[path]


# ------------------------------------------------------------------------------------ entry point


def _validate_paths(files: Mapping[str, str], which: str) -> None:
    for path in files:
        parts = path.split("/")
        if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise errors.UpdateError(f"invalid file path {path!r} in the {which} package")


def update(
    original: Mapping[str, str],
    upstream: Mapping[str, str],
    local: Mapping[str, str],
    *,
    strategy: str = RESOURCE_MERGE,
) -> dict[str, str]:
    """Apply the changes from `original` to `upstream` to the `local` package.

    Each package is a map of relative file path (``/``-separated) to file text. Returns the
    updated local package; the inputs are not changed. The caller sets the Kptfile's new
    ``upstream``/``upstreamLock`` and adds merge comments afterwards.

    Raises `errors.LocalChangesError` when `fast-forward` finds local changes and
    `errors.UpdateError` for an unknown strategy, a bad path, unreadable YAML or versions that
    cannot be merged.
    """
    strategy = strategy or RESOURCE_MERGE
    with _tracer.start_as_current_span(
        "update::update", attributes={"kpt.update.strategy": strategy}
    ):
        if strategy not in STRATEGIES:
            raise errors.UpdateError(
                f"unknown update strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}"
            )
        for files, which in ((original, "original"), (upstream, "upstream"), (local, "local")):
            _validate_paths(files, which)
        orig, upd, result = dict(original), dict(upstream), dict(local)
        if strategy == RESOURCE_MERGE:
            _resource_merge(orig, upd, result)
        elif strategy == FAST_FORWARD:
            _check_for_local_changes(orig, result)
            _replace(upd, result)
        elif strategy == FORCE_DELETE_REPLACE:
            _replace(upd, result)
        else:
            _copy_merge(orig, upd, result)
        return result
