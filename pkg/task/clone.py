"""The `clone` task: a new package from an upstream revision, with its upstream recorded.

Where it sits: the engine (`pkg.engine`) resolves the task's source and calls
`clone_from_revision` (a revision of a registered repository, found through the cache) or
`clone_from_git` (a git URL + ref + directory, read through a `GitPackageFetcher`), then merges
`spec.packageMetadata` and renders. What Porch's `clonePackageMutation` does, in its order:

1. copy the upstream files and rewrite the Kptfile (`update_kptfile_upstream`): `upstream` and
   `upstreamLock` (type git, repo URL, directory, ref, commit) and `metadata.name` = the new
   package's name, re-encoded from kpt's Go types as kpt's `UpdateKptfileUpstream` does;
2. into a deployment repository, run gen-pkg-context (`pkgcontext`);
3. add merge-key comments to every resource (`pkg.kpt.update.add_merge_comments`; best effort).

The placeholder revision of a package (the branch-tracking `main` revision) may not be cloned.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Protocol

from opentelemetry import trace
from ruamel.yaml.comments import CommentedMap

from api.porch import v1alpha1 as porchv1alpha1
from pkg.kpt import kptfile, update, yamlutil
from pkg.repository import errors
from pkg.repository import repository as repo_api
from pkg.task import pkgcontext, taskerrors

__all__ = [
    "FetchedPackage",
    "GitPackageFetcher",
    "clone_from_git",
    "clone_from_revision",
    "finish_clone",
    "update_kptfile_upstream",
]

_log = logging.getLogger(__name__)
tracer = trace.get_tracer("task")

_UPSTREAM_REF_FIELD = "spec.tasks[0].clone.upstreamRef.upstreamRef.name"


@dataclasses.dataclass(frozen=True, slots=True)
class FetchedPackage:
    """A package read from an unregistered git repository and where exactly it was found."""

    files: dict[str, str]
    lock: repo_api.GitLock


class GitPackageFetcher(Protocol):
    """Reads one package directory at one ref of a git repository that is not registered.

    Called by the engine for clone tasks with `upstreamRef.git`. `namespace` is where the
    request's `secretRef` is resolved. Raises `NotFoundError` when the ref or the package
    (a directory with a Kptfile) does not exist, `ForbiddenError` when the server does not
    allow the URL, `BackendUnavailableError` when the repository cannot be read.
    """

    async def fetch(self, namespace: str, package: porchv1alpha1.GitPackage) -> FetchedPackage: ...


def _git_node(lock: repo_api.GitLock, *, with_commit: bool) -> CommentedMap:
    node = CommentedMap()
    node["repo"] = lock.repo
    node["directory"] = lock.directory
    node["ref"] = lock.ref
    if with_commit:
        node["commit"] = lock.commit
    return node


def update_kptfile_upstream(
    files: Mapping[str, str], name: str, lock: repo_api.GitLock
) -> dict[str, str]:
    """kpt's `UpdateKptfileUpstream`: set `upstream`/`upstreamLock` from `lock` (and the name,
    unless `name` is empty) and write the Kptfile from kpt's Go types (wide sequences, no
    comments). Raises `InvalidPackageError` without a readable root Kptfile."""
    text = files.get(kptfile.KPTFILE_NAME)
    if text is None:
        raise errors.InvalidPackageError(f"package {name} is missing Kptfile")
    try:
        kf = kptfile.decode(text)
    except kptfile.KptfileError as err:
        raise errors.InvalidPackageError(f"cannot decode Kptfile: {err}") from err
    upstream = CommentedMap()
    upstream["type"] = "git"
    upstream["git"] = _git_node(lock, with_commit=False)
    upstream_lock = CommentedMap()
    upstream_lock["type"] = "git"
    upstream_lock["git"] = _git_node(lock, with_commit=True)
    kf["upstream"] = upstream
    kf["upstreamLock"] = upstream_lock
    if name:
        yamlutil.ensure_map(kf, "metadata")["name"] = name
    out = dict(files)
    out[kptfile.KPTFILE_NAME] = kptfile.encode(kf)
    return out


def _add_merge_comments(files: dict[str, str]) -> dict[str, str]:
    try:
        return update.add_merge_comments(files)
    except Exception as err:  # Porch: best effort, logged and ignored.
        _log.info("failed to add merge-key comments: %s", err)
        return files


def finish_clone(
    upstream_files: Mapping[str, str],
    lock: repo_api.GitLock,
    *,
    package_name: str,
    deployment: bool,
    package_path: str,
) -> dict[str, str]:
    """Steps 1-3 above on files already read from the upstream."""
    files = update_kptfile_upstream(upstream_files, package_name, lock)
    if deployment:
        files = pkgcontext.generate_package_context(files, package_path)
    return _add_merge_comments(files)


def _placeholder_message(what: str, revision: repo_api.PackageRevision) -> str:
    return (
        f"{what} may not be the placeholder package revision "
        f"{revision.key.repo_key.name}/{revision.name}"
    )


async def clone_from_revision(
    source: repo_api.PackageRevision,
    *,
    package_name: str,
    deployment: bool,
    package_path: str,
) -> dict[str, str]:
    """Clone a revision of a registered repository (`upstreamRef.upstreamRef.name`).

    Raises `InvalidFieldError` when `source` is a placeholder revision.
    """
    with tracer.start_as_current_span(
        "clonePackageMutation::apply",
        attributes={"package": package_name, "upstream": str(source.name)},
    ):
        if source.key.is_placeholder:
            raise taskerrors.InvalidFieldError(
                _UPSTREAM_REF_FIELD, source.name, _placeholder_message("upstream revision", source)
            )
        lock = source.self_lock.git
        if lock is None:
            raise errors.InvalidPackageError(
                f"cannot determine upstream lock for package {source.name!r}"
            )
        return finish_clone(
            await source.resources(),
            lock,
            package_name=package_name,
            deployment=deployment,
            package_path=package_path,
        )


async def clone_from_git(
    fetcher: GitPackageFetcher,
    namespace: str,
    package: porchv1alpha1.GitPackage,
    *,
    package_name: str,
    deployment: bool,
    package_path: str,
) -> dict[str, str]:
    """Clone `package.directory` at `package.ref` of the git repository `package.repo`."""
    with tracer.start_as_current_span(
        "clonePackageMutation::apply",
        attributes={"package": package_name, "upstream": f"{package.repo}/{package.directory}"},
    ):
        fetched = await fetcher.fetch(namespace, package)
        return finish_clone(
            fetched.files,
            fetched.lock,
            package_name=package_name,
            deployment=deployment,
            package_path=package_path,
        )
