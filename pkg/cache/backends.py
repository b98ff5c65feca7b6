"""Opening a Repository object's backend by `spec.type` (the cache's `RepositoryOpener`).

Where this sits: the server wiring (`pkg/cmd`) builds one `BackendFactory` with an opener per
supported type (`git` today; `oci` when it exists) and gives it to
`pkg.cache.repocache.RepositoryCache`, which calls it once per repository it opens. Tests pass
openers over `pkg.repository.fake` (see `pkg.cache.cachetesting`) or real git alike.
"""

from __future__ import annotations

from collections.abc import Mapping

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.cache import cachetypes
from pkg.externalrepo.git import git
from pkg.repository import errors
from pkg.repository import repository as repo_api

__all__ = ["BackendFactory", "git_opener", "repository_type"]


def repository_type(repo: configv1alpha1.Repository) -> str:
    """`spec.type`, or the type implied by which of `spec.git` / `spec.oci` is set."""
    spec = repo.spec
    if spec is None:
        return ""
    if spec.type:
        return spec.type
    if spec.git is not None:
        return "git"
    if spec.oci is not None:
        return "oci"
    return ""


class BackendFactory:
    """A `cachetypes.RepositoryOpener` that dispatches on `repository_type`."""

    def __init__(self, openers: Mapping[str, cachetypes.RepositoryOpener]) -> None:
        self._openers = dict(openers)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(sorted(self._openers))

    async def __call__(self, repo: configv1alpha1.Repository) -> repo_api.Repository:
        kind = repository_type(repo)
        opener = self._openers.get(kind)
        if opener is None:
            name = repo.metadata.name if repo.metadata is not None else ""
            raise errors.InvalidRepositoryError(
                f'repository "{name}": type "{kind}" is not supported '
                f"(supported: {', '.join(self.types) or 'none'})"
            )
        return await opener(repo)


def git_opener(options: git.GitRepositoryOptions) -> cachetypes.RepositoryOpener:
    """The opener of `spec.type: git` repositories, with the server's git options."""

    async def open_git(repo: configv1alpha1.Repository) -> repo_api.Repository:
        return await git.open_repository(repo, options)

    return open_git
