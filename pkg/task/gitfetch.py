"""Reading a package from a git repository that is not registered (clone from a git URL).

Where it sits: the engine (`pkg.engine`) is given a `GitFetcher` (the `clone.GitPackageFetcher`
of this server) by the command wiring and calls it for `clone` tasks with
`upstreamRef.git: {repo, ref, directory, secretRef}`. The fetcher resolves the `secretRef` in
the request's namespace and records where the package was found (the lock: the URL and ref
as given, the directory without leading or trailing slashes, the commit found; Porch's
`GetPackageRevision` builds its `GitLock` the same way, so a clone of `/basens` records
`directory: basens` in the Kptfile); everything about git is the git backend's
(`pkg.externalrepo.git`): the URL policy (`urls.check_url`: local repositories refused unless
the server allows them, and then only below the allowed roots), ref resolution as Porch's
`cloneFromGit` does it and the read itself (`upstream.read_package`: one ref fetched into a
temporary repository, or a local repository read in place), the credential types and the
error mapping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import upstream, urls
from pkg.repository import credentials, errors
from pkg.repository import repository as repo_api
from pkg.task import clone

__all__ = ["GitFetcher", "GitFetcherOptions"]

tracer = trace.get_tracer("task")


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
    ca_bundle_resolver: credentials.CABundleResolver | None = None
    """Supplies the request namespace's CA bundle for https upstreams (``--use-user-cabundle``;
    None: system CAs only), as for registered repositories of that namespace."""
    retry_attempts: int = 3
    retry_delay: float = 0.2


class GitFetcher:
    """Implements `clone.GitPackageFetcher` over `upstream.read_package`."""

    def __init__(self, options: GitFetcherOptions | None = None) -> None:
        self._options = options or GitFetcherOptions()

    async def fetch(
        self, namespace: str, package: porchv1alpha1.GitPackage
    ) -> clone.FetchedPackage:
        options = self._options
        with tracer.start_as_current_span(
            "clonePackageMutation::cloneFromGit",
            attributes={"upstream": package.repo, "ref": package.ref},
        ):
            # The policy first: a URL the server refuses never causes a Secret to be read.
            urls.check_url(
                package.repo,
                allow_local=options.allow_local_repositories,
                local_roots=options.local_repository_roots,
            )
            read = await upstream.read_package(
                package.repo,
                package.ref,
                package.directory,
                credential=await self._credential(namespace, package),
                ca_bundle=await self._ca_bundle(namespace, package.repo),
                allow_local_repositories=options.allow_local_repositories,
                local_repository_roots=options.local_repository_roots,
                work_dir=options.work_dir,
                retry_attempts=options.retry_attempts,
                retry_delay=options.retry_delay,
            )
            lock = repo_api.GitLock(
                repo=package.repo,
                # The directory the package was read from (`read_package` trims the slashes
                # too, as Go's `strings.Trim(path, "/")`), not the request's spelling:
                # porchctl sends `/basens`.
                directory=package.directory.strip("/"),
                ref=package.ref,
                commit=read.commit,
            )
            return clone.FetchedPackage(files=read.files, lock=lock)

    async def _ca_bundle(self, namespace: str, url: str) -> bytes | None:
        resolver = self._options.ca_bundle_resolver
        if resolver is None or not urls.uses_tls(url):
            return None
        return await resolver.ca_bundle(namespace)

    async def _credential(
        self, namespace: str, package: porchv1alpha1.GitPackage
    ) -> credentials.Credential | None:
        """The credential `secretRef` names (resolved in `namespace`), None without one."""
        secret = package.secret_ref.name if package.secret_ref is not None else ""
        if not secret:
            return None
        resolver = self._options.credential_resolver
        if resolver is None:
            raise errors.InvalidRepositoryError(
                f"secret {secret!r} named, but this server has no credential resolver"
            )
        return await resolver.resolve(namespace, secret)
