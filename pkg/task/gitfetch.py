"""Reading a package from a git repository that is not registered (clone from a git URL).

Where it sits: the engine (`pkg.engine`) is given a `GitFetcher` (the `clone.GitPackageFetcher`
of this server) by the command wiring and calls it for `clone` tasks with
`upstreamRef.git: {repo, ref, directory, secretRef}`. Like Porch's `cloneFromGit`, it fetches
the repository into a temporary bare repository (removed afterwards; nothing is cached),
resolves the ref trying `<directory>/<ref>` then `<ref>`, each as a tag then as a branch (then
as a commit id), and reads the directory, which must hold a Kptfile. The result's lock records
the URL, directory, the ref as given and the commit found.

Transport, credentials and error mapping are the git backend's (`pkg.externalrepo.git`): the
same libgit2 fetch, the same credential types (the `secretRef` is resolved in the request's
namespace), the same policy for local repositories (refused unless the server allows them, and
then only below the allowed roots).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import tempfile
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

import pygit2
from opentelemetry import trace

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import discovery, refs, transport
from pkg.repository import credentials, errors
from pkg.repository import repository as repo_api
from pkg.task import clone

__all__ = ["GitFetcher", "GitFetcherOptions"]

tracer = trace.get_tracer("task")

_SCP_LIKE = re.compile(r"^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:")


@dataclasses.dataclass(frozen=True, slots=True)
class GitFetcherOptions:
    """`work_dir` holds the temporary clones (None: the system's temporary directory);
    local repositories (`file://` URLs, plain paths) are accepted only with
    `allow_local_repositories` and below one of `local_repository_roots`; fetches are tried
    `retry_attempts` times."""

    work_dir: Path | None = None
    allow_local_repositories: bool = False
    local_repository_roots: Sequence[Path] = ()
    credential_resolver: credentials.CredentialResolver | None = None
    retry_attempts: int = 3
    retry_delay: float = 0.2


def _check_url(url: str, options: GitFetcherOptions) -> str:
    """The URL libgit2 should fetch, or `ForbiddenError`/`InvalidRepositoryError`."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme in ("http", "https", "ssh") or _SCP_LIKE.match(url):
        return url
    if parsed.scheme == "file":
        local = urllib.parse.unquote(parsed.path)
    elif parsed.scheme == "":
        local = url
    else:
        raise errors.InvalidRepositoryError(
            f"repository URL {url!r}: unsupported scheme {parsed.scheme!r} (use http, https or ssh)"
        )
    if not options.allow_local_repositories:
        raise errors.ForbiddenError(
            f"repository URL {url!r}: local repositories are not allowed by this server"
        )
    real = os.path.realpath(local)
    for root in options.local_repository_roots:
        real_root = os.path.realpath(root)
        if os.path.commonpath([real, real_root]) == real_root:
            return real
    raise errors.ForbiddenError(
        f"repository URL {url!r}: local repositories must be under one of "
        f"{[str(r) for r in options.local_repository_roots]}"
    )


def _resolve(repo: pygit2.Repository, ref: str, directory: str) -> pygit2.Commit | None:
    names = [f"{directory}/{ref}", ref] if directory else [ref]
    for name in names:
        for candidate in (f"{refs.TAGS}{name}", f"{refs.LOCAL_BRANCHES}{name}"):
            reference = repo.references.get(candidate)
            if reference is not None:
                return reference.peel(pygit2.Commit)
    try:
        return repo.revparse_single(ref).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return None


def _subtree(commit: pygit2.Commit, directory: str) -> pygit2.Tree | None:
    tree = commit.tree
    if not directory:
        return tree
    try:
        entry = tree[directory]
    except KeyError:
        return None
    return entry if isinstance(entry, pygit2.Tree) else None


class GitFetcher:
    """Implements `clone.GitPackageFetcher` with temporary libgit2 clones."""

    def __init__(self, options: GitFetcherOptions | None = None) -> None:
        self._options = options or GitFetcherOptions()

    async def fetch(
        self, namespace: str, package: porchv1alpha1.GitPackage
    ) -> clone.FetchedPackage:
        with tracer.start_as_current_span(
            "clonePackageMutation::cloneFromGit",
            attributes={"upstream": package.repo, "ref": package.ref},
        ):
            url = _check_url(package.repo, self._options)
            credential: credentials.Credential | None = None
            secret = package.secret_ref.name if package.secret_ref is not None else ""
            if secret:
                resolver = self._options.credential_resolver
                if resolver is None:
                    raise errors.InvalidRepositoryError(
                        f"secret {secret!r} named, but this server has no credential resolver"
                    )
                credential = await resolver.resolve(namespace, secret)
            return await asyncio.to_thread(self._fetch_sync, url, package, credential)

    def _fetch_sync(
        self,
        url: str,
        package: porchv1alpha1.GitPackage,
        credential: credentials.Credential | None,
    ) -> clone.FetchedPackage:
        directory = package.directory.strip("/")
        work_dir = str(self._options.work_dir) if self._options.work_dir else None
        with tempfile.TemporaryDirectory(prefix="clone-git-package-", dir=work_dir) as tmp:
            repo = pygit2.init_repository(tmp, bare=True)
            try:
                repo.remotes.create(refs.ORIGIN, url, refs.FETCH_REFSPECS[0])
                repo.remotes.add_fetch(refs.ORIGIN, refs.FETCH_REFSPECS[1])
                try:
                    transport.fetch_with_retry(
                        repo,
                        credential,
                        attempts=self._options.retry_attempts,
                        delay=self._options.retry_delay,
                    )
                except transport.TransportError as err:
                    raise transport.to_repository_error(
                        err, f"cannot clone Git repository {package.repo}"
                    ) from err
                commit = _resolve(repo, package.ref, directory)
                where = f"{package.directory}@{package.ref}"
                if commit is None:
                    raise errors.NotFoundError(
                        f"cannot find package {where}: ref {package.ref!r} not found"
                    )
                tree = _subtree(commit, directory)
                if tree is None or "Kptfile" not in tree:
                    raise errors.NotFoundError(
                        f"cannot find package {where}: package must contain Kptfile at root"
                    )
                files = discovery.Facts(repo).read_tree(tree.id)
                lock = repo_api.GitLock(
                    repo=package.repo,
                    directory=package.directory,
                    ref=package.ref,
                    commit=str(commit.id),
                )
                return clone.FetchedPackage(files=files, lock=lock)
            finally:
                repo.free()
