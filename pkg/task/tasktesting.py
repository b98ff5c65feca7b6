"""Test helpers for the task handlers and the engine: compare packages with porchctl goldens.

Used by `pkg/task/*_test.py` and `pkg/engine/*_test.py`. Porch's porchctl conformance cases
(`../shared/conformance/porchctl/<case>/config.yaml`) show packages as `porchctl rpkg pull`
prints them: a ResourceList whose items carry kpt's path/index annotations. `pulled_items`
reads such an expectation and `package_items` turns a package's files into the same shape,
so a test can compare what porch-py stores with what Porch stored, item by item.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pkg.kpt import pkgio
from pkg.repository import repository as repo_api
from pkg.repository.fake import repository as fake

__all__ = ["fake_revision", "package_items", "pulled_items", "replace_strings"]

_PULL_ANNOTATIONS = (
    pkgio.LEGACY_INDEX_ANNOTATION,
    pkgio.LEGACY_PATH_ANNOTATION,
    pkgio.INDEX_ANNOTATION,
    pkgio.PATH_ANNOTATION,
)


def _strip(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    metadata = item.setdefault("metadata", {})
    annotations = metadata.get("annotations") or {}
    path = str(annotations.get(pkgio.PATH_ANNOTATION) or "")
    for key in _PULL_ANNOTATIONS:
        annotations.pop(key, None)
    if not annotations:
        metadata.pop("annotations", None)
    return path, item


def pulled_items(config: Path, pulled_name: str) -> dict[str, list[dict[str, Any]]]:
    """The package files (path -> items) that the case's `rpkg pull <pulled_name>` expects,
    without the pull's annotations and without the KptRevisionMetadata item."""
    case = yaml.safe_load(config.read_text(encoding="utf-8"))
    for command in case["commands"]:
        args = command.get("args", [])
        if "pull" in args and pulled_name in args and command.get("stdout"):
            out: dict[str, list[dict[str, Any]]] = {}
            for item in yaml.safe_load(command["stdout"])["items"]:
                if item.get("kind") == "KptRevisionMetadata":
                    continue
                path, stripped = _strip(item)
                out.setdefault(path, []).append(stripped)
            return out
    raise LookupError(f"{config}: no pull of {pulled_name} with expected output")


def package_items(files: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The KRM items of a package's files (path -> items), as `rpkg pull` would show them."""
    return {
        path: [doc for doc in yaml.safe_load_all(text) if doc is not None]
        for path, text in files.items()
        if pkgio.is_krm_file(path)
    }


def replace_strings(data: Any, old: str, new: str) -> Any:
    """`data` with every string equal to `old` replaced by `new` (e.g. a golden's URL)."""
    if isinstance(data, dict):
        return {k: replace_strings(v, old, new) for k, v in data.items()}
    if isinstance(data, list):
        return [replace_strings(v, old, new) for v in data]
    return new if data == old else data


def fake_revision(
    repository: str,
    package_path: str,
    workspace: str,
    files: Mapping[str, str],
    *,
    revision: int = 1,
    lifecycle: str = "Published",
    commit: str = "0123456789abcdef0123456789abcdef01234567",
    url: str = "https://example.com/blueprints.git",
    branch: str = "main",
) -> fake.FakePackageRevision:
    """A snapshot of a revision (as the fake repository lists them) holding `files`; its
    self lock points at `<path>/v<revision>` (or the branch for revision -1)."""
    repo_key = repo_api.RepositoryKey(
        namespace="ns",
        name=repo_api.RepositoryName(repository),
        placeholder_ws_name=repo_api.WorkspaceName(branch),
    )
    key = repo_api.PackageRevisionKey(
        pkg_key=repo_api.PackageKey.from_package_path(repo_key, package_path),
        revision=revision,
        workspace_name=repo_api.WorkspaceName(workspace),
    )
    if revision > 0:
        ref = f"{package_path}/v{revision}"
    elif revision < 0:
        ref = branch
    else:
        ref = f"drafts/{package_path}/{workspace}"
    now = datetime.datetime.now(datetime.UTC)
    return fake.FakePackageRevision(
        key=key,
        lifecycle=repo_api.Lifecycle(lifecycle),
        resource_version=commit,
        tasks=(),
        published_by=None,
        published_at=None,
        updated_at=now,
        self_lock=repo_api.Locator(
            type="git",
            git=repo_api.GitLock(repo=url, directory=package_path, ref=ref, commit=commit),
        ),
        files=dict(files),
    )
