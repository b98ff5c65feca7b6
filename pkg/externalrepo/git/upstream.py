"""Reading one package from a git repository that is not registered (clone from a git URL).

For `clone` tasks whose upstream is `upstreamRef.git: {repo, ref, directory}`: the engine's
git fetcher (`pkg/task/gitfetch.py`, which may call `read_package` instead of its own fetch)
gets the files of `<directory>` at `<ref>` and the commit they came from. The ref is resolved
as Porch's `cloneFromGit` does: `<directory>/<ref>` then `<ref>`, each as a tag then as a
branch, then as a commit id (or any revision git understands).

Cost is proportional to the package, not to the repository: a local repository (allowed by
the same policy as registered ones, `urls.check_url`) is read in place; from a remote, the ref
list is read once and only the one ref needed is fetched, one commit deep, into a temporary
bare repository that is removed afterwards. Only a commit id that no ref names needs a full
fetch.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pygit2

from pkg.externalrepo.git import discovery, refs, transport, urls
from pkg.repository import credentials, errors, paths

__all__ = ["PackageFiles", "read_package"]


@dataclasses.dataclass(frozen=True, slots=True)
class PackageFiles:
    """The regular files of a package directory (path -> text) and the commit they are at."""

    files: dict[str, str]
    commit: str


def _candidates(ref: str, directory: str) -> list[str]:
    """Full ref names to try, in Porch's order."""
    names = [f"{directory}/{ref}", ref] if directory else [ref]
    return [full for name in names for full in (refs.tag(name), refs.remote_branch(name))]


def _read(
    repo: pygit2.Repository, commit: pygit2.Commit, where: str, directory: str
) -> PackageFiles:
    tree: object = commit.tree
    if directory:
        try:
            tree = commit.tree[directory]
        except KeyError:
            tree = None
    if not isinstance(tree, pygit2.Tree) or paths.KPTFILE not in tree:
        raise errors.NotFoundError(
            f"cannot find package {where}: package must contain Kptfile at root"
        )
    return PackageFiles(discovery.Facts(repo).read_tree(tree.id), str(commit.id))


def _revision(repo: pygit2.Repository, spec: str) -> pygit2.Commit | None:
    try:
        return repo.revparse_single(spec).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return None


def _read_local(path: str, ref: str, directory: str, where: str) -> PackageFiles:
    try:
        # NO_SEARCH: never a repository in a parent directory of the allowed path.
        repo = pygit2.Repository(path, flags=pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError as err:
        raise errors.NotFoundError(f"cannot find package {where}: {err}") from err
    try:
        for name in _candidates(ref, directory):
            reference = repo.references.get(name)
            if reference is not None:
                return _read(repo, reference.peel(pygit2.Commit), where, directory)
        commit = _revision(repo, ref)
        if commit is None:
            raise errors.NotFoundError(f"cannot find package {where}: ref {ref!r} not found")
        return _read(repo, commit, where, directory)
    finally:
        repo.free()


def _read_remote(
    url: str,
    ref: str,
    directory: str,
    *,
    where: str,
    credential: credentials.Credential | None,
    ca_bundle: bytes | None,
    work_dir: Path | None,
    attempts: int,
    delay: float,
) -> PackageFiles:
    with tempfile.TemporaryDirectory(prefix="clone-git-package-", dir=work_dir) as tmp:
        repo = pygit2.init_repository(tmp, bare=True)
        try:
            try:
                advertised = (
                    {
                        head.name
                        for head in repo.remotes.create_anonymous(url).list_heads(
                            callbacks=transport.RemoteCallbacks(credential)
                        )
                    }
                    if ca_bundle is None
                    else transport.list_remote_refs(url, credential, ca_bundle=ca_bundle)
                )
            except transport.TransportError as err:
                raise transport.to_repository_error(
                    err, f"cannot clone Git repository {url}"
                ) from err
            except pygit2.GitError as err:
                raise transport.to_repository_error(
                    transport.from_libgit2(err, url), f"cannot clone Git repository {url}"
                ) from err
            found = next((n for n in _candidates(ref, directory) if n in advertised), None)
            refspecs = [f"+{found}:{found}"] if found is not None else None
            repo.remotes.create(refs.ORIGIN, url, refs.FETCH_REFSPECS[0])
            repo.remotes.add_fetch(refs.ORIGIN, refs.FETCH_REFSPECS[1])
            try:
                transport.fetch_with_retry(
                    repo,
                    credential,
                    attempts=attempts,
                    delay=delay,
                    refspecs=refspecs,
                    prune=False,
                    depth=1 if found is not None else 0,
                    ca_bundle=ca_bundle,
                )
            except transport.TransportError as err:
                raise transport.to_repository_error(
                    err, f"cannot clone Git repository {url}"
                ) from err
            if found is not None:
                return _read(repo, repo.references[found].peel(pygit2.Commit), where, directory)
            # A commit id (or another revision) no ref names: everything was fetched.
            for name in _candidates(ref, directory):
                local = refs.remote_to_local(name)
                if (reference := repo.references.get(local)) is not None:
                    return _read(repo, reference.peel(pygit2.Commit), where, directory)
            commit = _revision(repo, ref)
            if commit is None:
                raise errors.NotFoundError(f"cannot find package {where}: ref {ref!r} not found")
            return _read(repo, commit, where, directory)
        finally:
            repo.free()


async def read_package(
    url: str,
    ref: str,
    directory: str,
    *,
    credential: credentials.Credential | None = None,
    ca_bundle: bytes | None = None,
    allow_local_repositories: bool = False,
    local_repository_roots: Sequence[Path] = (),
    work_dir: Path | None = None,
    retry_attempts: int = 3,
    retry_delay: float = 0.2,
) -> PackageFiles:
    """The package at `directory` (relative, `""` for the root) of `ref` in the repository
    at `url`.

    Raises `InvalidRepositoryError`/`ForbiddenError` (URL refused by `urls.check_url`),
    `NotFoundError` ("cannot find package <directory>@<ref>: ..." when the ref or a Kptfile at
    the directory is missing), `BackendUnavailableError` (remote unreachable, credentials
    refused, certificate not trusted). `ca_bundle`: PEM CAs trusted for this read besides
    the system's (an https remote behind a private CA; read with the git CLI then). Runs the
    blocking git work in a worker thread; `work_dir` holds the temporary repository
    (default: the system's temporary directory).
    """
    checked = urls.check_url(
        url, allow_local=allow_local_repositories, local_roots=local_repository_roots
    )
    directory = directory.strip("/")
    where = f"{directory}@{ref}"
    if urls.local_path(checked) is not None:
        return await asyncio.to_thread(_read_local, checked, ref, directory, where)
    return await asyncio.to_thread(
        lambda: _read_remote(
            checked,
            ref,
            directory,
            where=where,
            credential=credential,
            ca_bundle=ca_bundle,
            work_dir=work_dir,
            attempts=retry_attempts,
            delay=retry_delay,
        )
    )
