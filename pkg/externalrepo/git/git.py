"""The git package repository: Porch's storage layout on a bare pygit2 cache clone.

Where it sits: `pkg/cache` opens one `GitRepository` per registered Repository
(`open_repository`) and serves listings from it; `pkg/engine` creates drafts, writes
resources and closes drafts through the `pkg/repository` contracts implemented here. Nothing
here speaks HTTP to API clients; errors are `pkg.repository.errors`.

Layout and semantics follow Porch exactly (porch.md §4): drafts on `drafts/<path>/<ws>`,
proposals on `proposed/…`, published revisions as tags `<path>/v<N>` on approval merge commits
of the registered branch, deletion proposals on `deletionProposed/…`, `kpt:` annotations on
every commit. Improvements over Porch: every write is one atomic compare-and-swap of all the
refs it changes, conditional on the values the caller read (no unconditional pushes, no lost
updates, never half applied), listing never walks history per call, listing does not fetch
(call `refresh`), and a write costs O(change), not O(repository size).

Listing: the full listing is built from every ref and cached per repository version (a sum of
one hash per ref, kept current by our own writes); listing one package (what the cache does
after each write) bisects the sorted refs for that package's prefixes and looks the package
up in the branch's head tree, O(package), and agrees with the full listing. Every write is
journaled on the clone with the versions before and after it and the package it touched, so
`changes_since` can tell the cache which packages changed between two versions when only
writes (by any user of the clone) happened in between.

Two ways to reach a repository:

- Remote (http, https, ssh, and local repositories that are not bare): a bare cache clone,
  fetched with libgit2; writes build objects in the clone and `transport.push` them with
  `git push --atomic --force-with-lease` (see `transport` for why the git CLI). An https
  repository whose namespace has a CA bundle (`options.ca_bundle_resolver`, the server's
  `--use-user-cabundle`) trusts it for its own fetches and pushes only, which then both use
  the git CLI (`transport`); a clone shared with another Repository of the same URL is
  fetched with whichever CAs the Repository asking trusts.
- Local bare repositories (`file://` or a path, allowed only under the configured roots):
  used in place, no clone and no push. Objects are written straight into the repository, refs
  are read from it (`refresh` re-reads them, nothing is fetched), and the ref changes of one
  close/delete are one `reftransaction.apply` (lock every ref, compare, set, commit). Receive
  hooks (pre-receive, update, post-receive) do NOT run for these: hooks are the remote's
  guard against its clients, and a local repository is the operator's own disk, which the
  operator allowed the server to write by listing its root; there is no receive-pack in
  between to run them. Outside writers (a person's `git push` into the same repository)
  stay safe: they and we take the same ref lock files, and every update is compared with the
  value we read.

All git work runs on the clone's executor thread (`cache.SharedClone.run`); methods whose
names end in `_sync` run there and nowhere else. After every write the cache runs `git gc
--auto` in the background now and then (`cache.GitCache.after_write`).
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import datetime
import hashlib
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pygit2
from opentelemetry import trace

from api.porch import v1alpha1 as porchv1alpha1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.externalrepo.git import (
    annotation,
    cache,
    commit,
    discovery,
    refs,
    reftransaction,
    transport,
    urls,
)
from pkg.repository import credentials, errors, paths
from pkg.repository import repository as repo_api

__all__ = [
    "GitPackageRevision",
    "GitPackageRevisionDraft",
    "GitRepository",
    "GitRepositoryOptions",
    "open_repository",
]

_log = logging.getLogger(__name__)
tracer = trace.get_tracer("git")

T = TypeVar("T")

_README = "README.md"
_README_CONTENT = "Created by porch"
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_VERSION_MODULUS = 1 << 256
_HELD_KINDS = frozenset({refs.RefKind.TAG, refs.RefKind.DRAFT, refs.RefKind.PROPOSED})


@dataclasses.dataclass(frozen=True, slots=True)
class GitRepositoryOptions:
    """How the server lets repositories be opened (from its flags).

    `cache` holds the bare clones. Local repositories (`file://` URLs and plain paths) are
    refused unless `allow_local_repositories`, and then accepted only under one of
    `local_repository_roots` (bare ones are then written in place, see the module doc).
    Writes are retried `retry_attempts` times in total for errors
    containing one of `retryable_errors`, after attempt x `retry_delay` seconds (x 5 after a
    declining pre-receive hook; Porch's 200 ms / 1 s). `default_author` signs commits when
    neither the Repository nor an authenticated user names an author. `verify_branch=False`
    skips checking that the registered branch exists (read-only uses, e.g. cloning from an
    unregistered upstream). `ca_bundle_resolver` (None: no per-namespace CAs) supplies the
    extra CAs an https repository's namespace trusts.
    """

    cache: cache.GitCache
    allow_local_repositories: bool = False
    local_repository_roots: Sequence[Path] = ()
    credential_resolver: credentials.CredentialResolver | None = None
    ca_bundle_resolver: credentials.CABundleResolver | None = None
    retry_attempts: int = 3
    retryable_errors: Sequence[str] = transport.DEFAULT_RETRYABLE_ERRORS
    retry_delay: float = 0.2
    default_author: commit.Author = commit.PORCH_AUTHOR
    verify_branch: bool = True


# --- opening -------------------------------------------------------------------------------


def _validate_branch(branch: str) -> None:
    """Porch's rule (a DNS-1123 label once `/` are removed, no `//`) and a valid git ref."""
    label = branch.replace("/", "")
    if (
        "//" in branch
        or len(label) > 63
        or not _DNS1123_LABEL.fullmatch(label)
        or not pygit2.reference_is_valid_name(refs.remote_branch(branch))
    ):
        raise errors.InvalidRepositoryError(
            f"branch name {branch} invalid: it must consist of lower case alphanumeric "
            "characters, '-' or '/', start and end with an alphanumeric character, and be a "
            "valid git branch name"
        )


def _validate_directory(directory: str) -> None:
    if not directory:
        return
    segments = directory.split("/")
    if any(s in ("", ".", "..") or s.lower() == ".git" for s in segments) or any(
        c in directory for c in ("\\", "\x00")
    ):
        raise errors.InvalidRepositoryError(
            f"directory {directory!r} invalid: must be a relative path without '.', '..', "
            "'.git' or empty segments"
        )


def _validate_url(url: str, options: GitRepositoryOptions) -> str:
    """The URL to open (a local one as its real path), or `InvalidRepositoryError`/
    `ForbiddenError` (the policy is `urls.check_url`)."""
    return urls.check_url(
        url,
        allow_local=options.allow_local_repositories,
        local_roots=options.local_repository_roots,
    )


def _is_local_bare_repository(url: str) -> bool:
    """Whether `url` (already validated) is a local bare repository, used in place."""
    if urls.local_path(url) is None:
        return False
    try:
        # NO_SEARCH: never a repository in a parent directory of the configured path.
        repo = pygit2.Repository(url, flags=pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError:
        return False  # not (yet) a repository: the fetch reports it
    try:
        # A non-bare repository keeps the clone-and-push path: git's receive-pack refuses
        # to move the branch checked out in its work tree (receive.denyCurrentBranch).
        return bool(repo.is_bare)
    finally:
        repo.free()


async def open_repository(
    repo: configv1alpha1.Repository, options: GitRepositoryOptions
) -> GitRepository:
    """Open (cloning or reusing the cache) the git repository a Repository object registers.

    Validates the spec, resolves credentials, fetches, and checks that the registered branch
    exists (creating it with "Initial commit: Creating main branch" when
    `spec.git.createBranch`). Raises `InvalidRepositoryError` (bad spec), `ForbiddenError`
    (local repository not allowed), `NotFoundError` (branch missing; "branch \\"x\\" not found
    in repository"), `BackendUnavailableError` (remote unreachable or credentials refused).
    """
    metadata = repo.metadata
    spec = repo.spec
    if metadata is None or not metadata.name:
        raise errors.InvalidRepositoryError("repository must have metadata.name")
    if spec is None or spec.git is None or (spec.type is not None and spec.type != "git"):
        raise errors.InvalidRepositoryError(
            f"repository {metadata.name!r} is not a git repository (spec.type git, spec.git)"
        )
    git_spec = spec.git
    branch = git_spec.branch or "main"
    directory = (git_spec.directory or "").strip("/")
    with tracer.start_as_current_span(
        "gitRepository::OpenRepository",
        attributes={"repository": f"{metadata.namespace or ''}/{metadata.name}"},
    ):
        _validate_branch(branch)
        _validate_directory(directory)
        url = _validate_url(git_spec.repo, options)
        key = repo_api.RepositoryKey(
            namespace=metadata.namespace or "",
            name=repo_api.RepositoryName(metadata.name),
            path=directory,
            placeholder_ws_name=repo_api.WorkspaceName(branch),
        )
        secret_name = git_spec.secret_ref.name if git_spec.secret_ref is not None else ""
        credential: credentials.Credential | None = None
        if secret_name:
            if options.credential_resolver is None:
                raise errors.InvalidRepositoryError(
                    f"repository {metadata.name!r} names secret {secret_name!r} but this "
                    "server has no credential resolver"
                )
            credential = await options.credential_resolver.resolve(key.namespace, secret_name)
        ca_bundle: bytes | None = None
        if options.ca_bundle_resolver is not None and urls.uses_tls(url):
            ca_bundle = await options.ca_bundle_resolver.ca_bundle(key.namespace)
        author: commit.Author | None = None
        if git_spec.author or git_spec.email:
            author = commit.Author(git_spec.author or git_spec.email or "", git_spec.email or "")
        local = await asyncio.to_thread(_is_local_bare_repository, url)
        clone = options.cache.acquire(url, local=local)
        repository = GitRepository(
            key=key,
            url=url,
            clone=clone,
            options=options,
            credential=credential,
            secret_name=secret_name,
            author=author,
            spec_url=git_spec.repo,
            ca_bundle=ca_bundle,
        )
        try:
            await repository._call(
                lambda: repository._open_sync(create_branch=bool(git_spec.create_branch))
            )
        except BaseException:
            await repository.close()
            raise
        return repository


# --- snapshots and drafts ----------------------------------------------------------------------


class GitPackageRevision:
    """A snapshot of one revision in git (implements `repository.PackageRevision`).

    Besides the contract it carries what writes need: the remote ref, its exact value (for
    conditional updates), the package tree.
    """

    __slots__ = (
        "_kptfile",
        "_name",
        "_repository",
        "_resources",
        "_uid",
        "commit",
        "key",
        "kptfile_blob",
        "lifecycle",
        "package_tree",
        "published_at",
        "published_by",
        "ref_target",
        "remote_ref",
        "tasks",
        "updated_at",
    )

    def __init__(
        self,
        *,
        repository: GitRepository,
        key: repo_api.PackageRevisionKey,
        lifecycle: repo_api.Lifecycle,
        commit_info: discovery.CommitInfo,
        remote_ref: str,
        ref_target: pygit2.Oid,
        package: discovery.PackageAt,
        tasks: tuple[porchv1alpha1.Task, ...],
        published: discovery.CommitInfo | None,
    ) -> None:
        self._repository = repository
        self.key = key
        self.lifecycle = lifecycle
        self.commit = commit_info.id
        self.remote_ref = remote_ref
        self.ref_target = ref_target
        self.package_tree = package.tree
        self.kptfile_blob = package.kptfile
        self.tasks = tasks
        self.updated_at = commit_info.author_time
        # Porch reports no publisher rather than an empty one.
        self.published_by: str | None = None
        self.published_at: datetime.datetime | None = None
        if published is not None and lifecycle.is_published:
            # Porch reports no publisher rather than an empty one.
            self.published_by = published.author_email or None
            self.published_at = published.author_time
        self._name: repo_api.PackageRevisionName | None = None
        self._uid: str | None = None
        self._kptfile: str | None = None
        self._resources: dict[str, str] | None = None

    @property
    def name(self) -> repo_api.PackageRevisionName:
        if self._name is None:
            self._name = self.key.k8s_name()
        return self._name

    @property
    def uid(self) -> str:
        if self._uid is None:
            self._uid = repo_api.package_revision_uid(self.key.repo_key.namespace, self.name)
        return self._uid

    @property
    def resource_version(self) -> str:
        return str(self.commit)

    @property
    def self_lock(self) -> repo_api.Locator:
        return repo_api.Locator(
            type="git",
            git=repo_api.GitLock(
                repo=self._repository.url,
                directory=self.key.pkg_key.full_path,
                ref=refs.short(self.remote_ref),
                commit=str(self.commit),
            ),
        )

    async def kptfile(self) -> str | None:
        if self._kptfile is None:
            self._kptfile = await self._repository._read_blob(self.kptfile_blob)
        return self._kptfile

    async def resources(self) -> dict[str, str]:
        if self._resources is None:
            with tracer.start_as_current_span(
                "gitPackageRevision::GetResources", attributes=_attributes(self.key)
            ):
                self._resources = await self._repository._read_tree(self.package_tree)
        return dict(self._resources)

    def __repr__(self) -> str:
        return f"GitPackageRevision({self.name}, {self.lifecycle}, {self.resource_version})"


_ALLOWED_LIFECYCLES: dict[repo_api.Lifecycle | None, frozenset[repo_api.Lifecycle]] = {
    None: frozenset(
        {repo_api.Lifecycle.DRAFT, repo_api.Lifecycle.PROPOSED, repo_api.Lifecycle.PUBLISHED}
    ),
    repo_api.Lifecycle.DRAFT: frozenset(
        {repo_api.Lifecycle.DRAFT, repo_api.Lifecycle.PROPOSED, repo_api.Lifecycle.PUBLISHED}
    ),
    repo_api.Lifecycle.PROPOSED: frozenset(
        {repo_api.Lifecycle.DRAFT, repo_api.Lifecycle.PROPOSED, repo_api.Lifecycle.PUBLISHED}
    ),
    repo_api.Lifecycle.PUBLISHED: frozenset(
        {repo_api.Lifecycle.PUBLISHED, repo_api.Lifecycle.DELETION_PROPOSED}
    ),
    repo_api.Lifecycle.DELETION_PROPOSED: frozenset(
        {repo_api.Lifecycle.PUBLISHED, repo_api.Lifecycle.DELETION_PROPOSED}
    ),
}


class GitPackageRevisionDraft:
    """Pending changes to one revision (implements `repository.PackageRevisionDraft`).

    `commit` is the draft's current local commit: the branch head for a new revision (None
    in an empty repository), the snapshot's commit for an existing one, then each
    `update_resources` commit.
    """

    def __init__(
        self,
        *,
        repository: GitRepository,
        key: repo_api.PackageRevisionKey,
        base: GitPackageRevision | None,
        head: pygit2.Oid | None,
        author: commit.Author,
    ) -> None:
        self._repository = repository
        self.key = key
        self.base = base
        self.lifecycle = base.lifecycle if base is not None else repo_api.Lifecycle.DRAFT
        self.commit = head if base is None else base.commit
        self.package_tree = base.package_tree if base is not None else None
        self.tasks = base.tasks if base is not None else ()
        self.author = author

    async def update_resources(
        self,
        resources: Mapping[str, str],
        task: porchv1alpha1.Task | None,
        message: str | None = None,
    ) -> None:
        if self.base is not None and self.base.lifecycle.is_published:
            raise repo_api.not_draft_error(self.base.lifecycle)
        files = dict(resources)
        with tracer.start_as_current_span(
            "gitPackageRevisionDraft::UpdateResources", attributes=_attributes(self.key)
        ):
            await self._repository._call(
                lambda: self._repository._update_resources_sync(self, files, task, message)
            )

    async def update_lifecycle(self, lifecycle: repo_api.Lifecycle) -> None:
        base_lifecycle = self.base.lifecycle if self.base is not None else None
        if lifecycle not in _ALLOWED_LIFECYCLES[base_lifecycle]:
            raise errors.ForbiddenError(
                f"cannot change the lifecycle of package revision {self.key.k8s_name()} "
                f"from {base_lifecycle or 'new'} to {lifecycle}"
            )
        self.lifecycle = lifecycle


def _attributes(key: repo_api.PackageRevisionKey) -> dict[str, str]:
    return {
        "repository": f"{key.repo_key.namespace}/{key.repo_key.name}",
        "package": key.pkg_key.package_path,
        "workspace": key.workspace_name,
    }


@dataclasses.dataclass(frozen=True, slots=True)
class _Listing:
    version: str
    revisions: tuple[GitPackageRevision, ...]
    by_package: Mapping[str, tuple[GitPackageRevision, ...]]
    packages: tuple[repo_api.Package, ...]


# --- the repository ----------------------------------------------------------------------------


class GitRepository:
    """A registered git repository (implements `repository.Repository`)."""

    def __init__(
        self,
        *,
        key: repo_api.RepositoryKey,
        url: str,
        clone: cache.SharedClone,
        options: GitRepositoryOptions,
        credential: credentials.Credential | None,
        secret_name: str,
        author: commit.Author | None,
        spec_url: str | None = None,
        ca_bundle: bytes | None = None,
    ) -> None:
        self._key = key
        self._url = url
        # Self locks (and so clones' Kptfile upstreams) name the repository as the
        # Repository spec does; a local one is opened at its resolved real path.
        self._spec_url = spec_url or url
        self._clone = clone
        self._options = options
        self._credential = credential
        # Extra CAs this repository (not the process, not the shared clone) trusts.
        self._ca_bundle = ca_bundle
        self._secret_name = secret_name
        self._author_override = author
        self._listing: _Listing | None = None
        # Executor-thread caches of the last listing, reused by the next one.
        self._by_ref: dict[tuple[str, pygit2.Oid], GitPackageRevision] = {}
        self._classified: dict[str, refs.ClassifiedRef] = {}
        self._closed = False

    @property
    def key(self) -> repo_api.RepositoryKey:
        return self._key

    @property
    def url(self) -> str:
        """The URL as the Repository's `spec.git.repo` gives it, recorded in self locks."""
        return self._spec_url

    @property
    def branch(self) -> str:
        return self._key.placeholder_ws_name

    def __repr__(self) -> str:
        return (
            f"GitRepository({self._key.namespace}/{self._key.name}, {transport.redact(self._url)})"
        )

    # -- plumbing ---------------------------------------------------------------------------
    async def _call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the clone's thread; re-resolve credentials once if they are refused,
        and the CA bundle once if the remote's certificate was not trusted."""
        if self._closed:
            raise errors.BackendUnavailableError(f"repository {self._key.name} is closed")
        try:
            try:
                return await self._clone.run(fn)
            except transport.AuthenticationError:
                resolver = self._options.credential_resolver
                if not self._secret_name or resolver is None:
                    raise
                # The Secret may have been rotated since we read it.
                self._credential = await resolver.resolve(self._key.namespace, self._secret_name)
                return await self._clone.run(fn)
            except transport.CertificateError:
                ca_resolver = self._options.ca_bundle_resolver
                if ca_resolver is None or not urls.uses_tls(self._url):
                    raise
                # The CA Secret may have been created or replaced since we read it.
                bundle = await ca_resolver.ca_bundle(self._key.namespace)
                if bundle == self._ca_bundle:
                    raise
                self._ca_bundle = bundle
                return await self._clone.run(fn)
        except transport.TransportError as err:
            raise transport.to_repository_error(err, f"repository {self._key.name}") from err
        except pygit2.GitError as err:
            raise errors.BackendUnavailableError(
                f"git {'repository' if self._clone.local else 'cache'} of repository "
                f"{self._key.name} ({self._clone.path}) failed: {err}"
            ) from err

    def _repo(self) -> pygit2.Repository:
        return self._clone.open()

    def _facts(self) -> discovery.Facts:
        self._clone.open()
        assert self._clone.facts is not None
        return self._clone.facts

    def _author(self, user: repo_api.UserInfo | None) -> commit.Author:
        """Repository author/email override everything; then the authenticated user; then
        the default (porch.md §4.2)."""
        if self._author_override is not None:
            return self._author_override
        if user is not None and user.is_authenticated and user.name:
            return commit.Author(user.name, user.name)
        return self._options.default_author

    def _ref_target_sync(self, local_ref: str) -> pygit2.Oid | None:
        """The value of a ref known by its cache name (`refs/remotes/origin/x`, `refs/tags/y`):
        in a cache clone as last fetched, in a local repository as it is now."""
        name = refs.local_to_remote(local_ref) if self._clone.local else local_ref
        reference = self._repo().references.get(name)
        if reference is None:
            return None
        target = reference.target
        if not isinstance(target, pygit2.Oid):
            # Only a local repository can hold symbolic refs we did not create.
            resolved = reference.resolve()
            return resolved.target if isinstance(resolved.target, pygit2.Oid) else None
        return target

    def _branch_head_sync(self) -> pygit2.Oid | None:
        return self._ref_target_sync(refs.local_branch(self.branch))

    # -- fetch, refs, version ---------------------------------------------------------------
    def _fetch_sync(self, refspecs: Sequence[str] | None = None) -> None:
        """Fetch (all refs, or `refspecs`) into the cache clone. A local repository has
        nothing to fetch: a full fetch means "re-read the refs" (on the next `version`)."""
        if self._clone.local:
            if refspecs is None:
                self._clone.version = ""
            self._clone.fetched = True
            return
        with tracer.start_as_current_span(
            "gitRepository::fetchRemoteRepository",
            attributes={"repository": f"{self._key.namespace}/{self._key.name}"},
        ):
            changed = transport.fetch_with_retry(
                self._repo(),
                self._credential,
                attempts=self._options.retry_attempts,
                delay=self._options.retry_delay,
                refspecs=refspecs,
                prune=refspecs is None,
                ca_bundle=self._ca_bundle,
            )
        if changed > 100:
            # Many new loose refs (a first clone): pack them so ref scans stay fast, and
            # have the objects repacked with a bitmap so pushes stay cheap.
            self._repo().compress_references()
            self._options.cache.after_write(self._clone, repack=True)
        if changed or not self._clone.fetched:
            self._clone.version = ""  # stale; recomputed on demand
        self._clone.fetched = True

    def _resync_sync(self) -> None:
        """After a failed write: make the cache match the remote again (best effort)."""
        if self._clone.local:
            self._clone.version = ""
            return
        try:
            self._fetch_sync()
        except transport.TransportError as err:
            _log.warning(
                "could not resync %s after a failed push: %s", transport.redact(self._url), err
            )
            self._clone.version = ""

    def _scan_refs_sync(self) -> list[tuple[str, pygit2.Oid]]:
        """Every ref, sorted, by cache name (a local repository's branches are renamed to
        `refs/remotes/origin/…` so that discovery reads both kinds alike)."""
        scanned: list[tuple[str, pygit2.Oid]] = []
        local = self._clone.local
        for reference in self._repo().references.iterator():
            target = reference.target
            if not isinstance(target, pygit2.Oid):
                continue
            name = reference.name
            if local:
                if name.startswith(refs.HEADS):
                    name = refs.remote_to_local(name)
                elif not name.startswith(refs.TAGS):
                    continue  # the operator's own remote-tracking refs, notes, ...
            scanned.append((name, target))
        scanned.sort()
        return scanned

    def _version_sync(self) -> str:
        """The repository version: a sum of one hash per (ref, value), so that our own writes
        can update it (and the sorted ref list) in O(change) (`_note_written_sync`)."""
        clone = self._clone
        if not clone.version:
            scanned = self._scan_refs_sync()
            clone.refs = scanned
            clone.version_sum = sum(_ref_hash(name, target) for name, target in scanned)
            clone.version = f"{clone.version_sum % _VERSION_MODULUS:064x}"
            self._facts().forget_refs_except(set(scanned))
        return clone.version

    def _note_written_sync(
        self, updates: Sequence[transport.RefUpdate], package: str | None
    ) -> None:
        """After a successful write to the package at full path `package` (None: not a
        package write): apply it to the cached ref list and version (a rescan would cost
        O(refs)), journal it (`changes_since`), and let the cache schedule background
        maintenance."""
        clone = self._clone
        if clone.version:
            before = clone.version
            scanned = clone.refs
            for update in updates:
                name = refs.remote_to_local(update.remote_ref)
                index = bisect.bisect_left(scanned, (name,))
                if index < len(scanned) and scanned[index][0] == name:
                    clone.version_sum -= _ref_hash(*scanned[index])
                    del scanned[index]
                if update.new is not None:
                    scanned.insert(index, (name, update.new))
                    clone.version_sum += _ref_hash(name, update.new)
            clone.version = f"{clone.version_sum % _VERSION_MODULUS:064x}"
            clone.journal.append(
                cache.Write(
                    before=before,
                    after=clone.version,
                    packages=frozenset((package,)) if package is not None else None,
                )
            )
        self._options.cache.after_write(clone)

    def _changes_since_sync(self, version: str) -> tuple[str, frozenset[str] | None]:
        current = self._version_sync()
        if version == current:
            return current, frozenset()
        # Walk the journal back from the current version. Versions name ref states (a hash
        # of every ref), so any chain of journaled writes leading from `version` to the
        # current one bounds what differs between the two states, even if other changes
        # happened in between and were undone; a state reached otherwise (a fetch, an
        # unjournaled write) breaks the chain.
        changed: set[str] = set()
        position = current
        directory = self._key.path
        for write in reversed(self._clone.journal):
            if write.after != position:
                continue
            if write.packages is None:
                return current, None
            changed.update(
                refs.relative_to(full_path, directory)
                for full_path in write.packages
                if refs.in_directory(full_path, directory)
            )
            position = write.before
            if position == version:
                return current, frozenset(changed)
        return current, None

    async def changes_since(self, version: str) -> tuple[str, frozenset[str] | None]:
        """The current version, and the package paths (relative to the Repository's
        directory) whose revisions may differ between `version` and it, when every change
        in between was a write through this backend or another user of its clone; None
        when something else changed the repository meanwhile (a fetch, a failed push's
        resync) or `version` is too old to tell: then list everything.

        Revisions of other packages are unchanged, except that placeholders report the
        branch head as their commit. Implements `cachetypes.ChangeReporter`."""
        with tracer.start_as_current_span(
            "gitRepository::ChangesSince",
            attributes={"repository": f"{self._key.namespace}/{self._key.name}"},
        ):
            return await self._call(lambda: self._changes_since_sync(version))

    async def version(self) -> str:
        with tracer.start_as_current_span(
            "gitRepository::Version",
            attributes={"repository": f"{self._key.namespace}/{self._key.name}"},
        ):
            return await self._call(self._version_sync)

    async def refresh(self) -> None:
        with tracer.start_as_current_span(
            "gitRepository::Refresh",
            attributes={"repository": f"{self._key.namespace}/{self._key.name}"},
        ):
            await self._call(self._fetch_sync)

    async def branch_head(self) -> str | None:
        """The commit id at the head of the registered branch (as of the last `refresh` for a
        remote repository, as it is now for a local one), None if the branch does not exist
        (for a Repository's `status.gitCommitHash`)."""
        head = await self._call(self._branch_head_sync)
        return str(head) if head is not None else None

    # -- opening ----------------------------------------------------------------------------
    def _open_sync(self, *, create_branch: bool) -> None:
        self._fetch_sync()
        if not self._options.verify_branch or self._branch_head_sync() is not None:
            return
        if not create_branch:
            raise errors.NotFoundError(f'branch "{self.branch}" not found in repository')
        _log.info("creating branch %s in %s", self.branch, transport.redact(self._url))
        repo = self._repo()
        readme = repo.create_blob(_README_CONTENT.encode())
        builder = repo.TreeBuilder()
        builder.insert(_README, readme, pygit2.enums.FileMode.BLOB)
        initial = commit.create_commit(
            repo,
            tree=builder.write(),
            parents=[],
            message=annotation.INITIAL_COMMIT_MESSAGE,
            author=commit.PORCH_AUTHOR,
        )
        try:
            self._push_sync(
                [transport.RefUpdate(refs.remote_branch(self.branch), None, initial)],
                "CreateBranch",
                None,
            )
        except transport.StaleRefError:
            # Someone else created it meanwhile: use theirs.
            self._fetch_sync()

    # -- listing ----------------------------------------------------------------------------
    def _classify(self, name: str) -> refs.ClassifiedRef:
        classified = self._classified.get(name)
        if classified is None:
            classified = self._classified[name] = refs.classify(name, self.branch)
        return classified

    def _refs_under(self, prefix: str) -> list[tuple[str, pygit2.Oid]]:
        """The scanned refs whose names start with `prefix`: one contiguous run of the
        sorted scan, found by bisection (O(log refs + run))."""
        scanned = self._clone.refs
        start = bisect.bisect_left(scanned, (prefix,))
        end = start
        while end < len(scanned) and scanned[end][0].startswith(prefix):
            end += 1
        return scanned[start:end]

    def _scanned_target(self, name: str) -> pygit2.Oid | None:
        """The value of ref `name` in the scan the version belongs to."""
        scanned = self._clone.refs
        index = bisect.bisect_left(scanned, (name,))
        if index < len(scanned) and scanned[index][0] == name:
            return scanned[index][1]
        return None

    def _listing_sync(self) -> _Listing:
        """Every revision of the repository, cached per version. O(refs): only for full
        listings (open, refresh, changes made behind our back); writes re-list one package
        with `_package_revisions_sync`."""
        version = self._version_sync()
        if self._listing is not None and self._listing.version == version:
            return self._listing
        facts = self._facts()
        directory = self._key.path
        proposals: set[tuple[str, str]] = set()
        held: list[tuple[str, pygit2.Oid, refs.ClassifiedRef]] = []
        head: pygit2.Oid | None = None
        for name, target in self._clone.refs:
            classified = self._classify(name)
            if classified.kind is refs.RefKind.BRANCH:
                head = target
            elif classified.kind is refs.RefKind.DELETION_PROPOSED:
                proposals.add((classified.full_path, classified.suffix))
            elif classified.kind in _HELD_KINDS and refs.in_directory(
                classified.full_path, directory
            ):
                held.append((name, target, classified))
        by_ref: dict[tuple[str, pygit2.Oid], GitPackageRevision] = {}
        revisions, tasks_by_workspace = self._ref_revisions(held, proposals, by_ref)
        if head is not None:
            head_commit = facts.commit(head)
            head_info = discovery.CommitInfo.of(head_commit)
            for on_branch in facts.branch_packages(self.branch, head_commit, directory):
                revisions.append(
                    self._placeholder(on_branch, head_info, proposals, tasks_by_workspace)
                )
        ordered = _unique_sorted(revisions)
        by_package: dict[str, list[GitPackageRevision]] = {}
        for revision in ordered:
            by_package.setdefault(revision.key.pkg_key.package_path, []).append(revision)
        packages = tuple(
            repo_api.Package(key=group[0].key.pkg_key, latest_revision=_latest_revision(group))
            for _, group in sorted(by_package.items())
        )
        self._by_ref = by_ref
        classifications = self._classified
        self._classified = {name: classifications[name] for name, _ in self._clone.refs}
        self._listing = _Listing(
            version=version,
            revisions=ordered,
            by_package={path: tuple(group) for path, group in by_package.items()},
            packages=packages,
        )
        return self._listing

    def _package_revisions_sync(self, package_path: str) -> tuple[GitPackageRevision, ...]:
        """The revisions of one package, exactly as the full listing holds them, built from
        the refs under the package's own prefixes (bisected in the sorted scan) and its
        entry in the branch's head tree: O(log refs + the package's refs), whatever the
        repository's size. This is what the cache calls after every write."""
        version = self._version_sync()
        listing = self._listing
        if listing is not None and listing.version == version:
            return listing.by_package.get(package_path, ())
        directory = self._key.path
        full_path = f"{directory}/{package_path}" if directory else package_path
        if not refs.in_directory(full_path, directory):
            return ()
        proposals: set[tuple[str, str]] = set()
        held: list[tuple[str, pygit2.Oid, refs.ClassifiedRef]] = []
        # In sorted order, so that `held` is in the full listing's order (which decides
        # which of two refs naming one revision wins, and which tag gives a task).
        for prefix in (
            refs.local_branch(refs.deletion_proposed_branch(full_path, "")),
            refs.local_branch(refs.draft_branch(full_path, "")),
            refs.local_branch(refs.proposed_branch(full_path, "")),
            refs.tag(full_path + "/"),
        ):
            for name, target in self._refs_under(prefix):
                classified = self._classify(name)
                if classified.full_path != full_path:
                    continue  # a ref of a package nested below this one
                if classified.kind is refs.RefKind.DELETION_PROPOSED:
                    proposals.add((full_path, classified.suffix))
                elif classified.kind in _HELD_KINDS:
                    held.append((name, target, classified))
        # Snapshots are shared with (and kept for) the full listing's reuse.
        revisions, tasks_by_workspace = self._ref_revisions(held, proposals, self._by_ref)
        head = self._scanned_target(refs.local_branch(self.branch))
        if head is not None:
            facts = self._facts()
            head_commit = facts.commit(head)
            on_branch = facts.branch_package(self.branch, head_commit, directory, full_path)
            if on_branch is not None:
                revisions.append(
                    self._placeholder(
                        on_branch,
                        discovery.CommitInfo.of(head_commit),
                        proposals,
                        tasks_by_workspace,
                    )
                )
        return tuple(
            r for r in _unique_sorted(revisions) if r.key.pkg_key.package_path == package_path
        )

    def _ref_revisions(
        self,
        held: Sequence[tuple[str, pygit2.Oid, refs.ClassifiedRef]],
        proposals: set[tuple[str, str]],
        by_ref: dict[tuple[str, pygit2.Oid], GitPackageRevision],
    ) -> tuple[list[GitPackageRevision], dict[tuple[str, str], tuple[porchv1alpha1.Task, ...]]]:
        """Snapshots of the tags, drafts and proposals in `held` (in order), reusing the
        snapshot of an unchanged ref (rebuilding after a write stays cheap) and recording
        each in `by_ref`; plus the creation tasks of published workspaces (placeholders
        show them)."""
        facts = self._facts()
        previous = self._by_ref

        def deletion_proposed(full_path: str, suffix: str) -> bool:
            return (full_path, suffix) in proposals

        revisions: list[GitPackageRevision] = []
        tasks_by_workspace: dict[tuple[str, str], tuple[porchv1alpha1.Task, ...]] = {}
        for name, target, classified in held:
            found = facts.ref_revision(name, target, classified)
            if found is None:
                continue
            snapshot = previous.get((name, target))
            if snapshot is None or snapshot.lifecycle is not self._lifecycle(
                found, snapshot.key, deletion_proposed
            ):
                snapshot = self._from_ref(found, deletion_proposed)
            by_ref[(name, target)] = snapshot
            revisions.append(snapshot)
            if found.kind is refs.RefKind.TAG:
                tasks_by_workspace[(found.full_path, found.workspace)] = found.tasks
        return revisions, tasks_by_workspace

    def _from_ref(
        self,
        found: discovery.RefRevision,
        deletion_proposed: Callable[[str, str], bool],
    ) -> GitPackageRevision:
        key = repo_api.PackageRevisionKey(
            pkg_key=repo_api.PackageKey.from_package_path(
                self._key, refs.relative_to(found.full_path, self._key.path)
            ),
            revision=found.revision,
            workspace_name=repo_api.WorkspaceName(found.workspace),
        )
        return GitPackageRevision(
            repository=self,
            key=key,
            lifecycle=self._lifecycle(found, key, deletion_proposed),
            commit_info=found.commit,
            remote_ref=refs.local_to_remote(found.local_ref),
            ref_target=found.target,
            package=found.package,
            tasks=found.tasks,
            published=found.commit if found.kind is refs.RefKind.TAG else None,
        )

    @staticmethod
    def _lifecycle(
        found: discovery.RefRevision,
        key: repo_api.PackageRevisionKey,
        deletion_proposed: Callable[[str, str], bool],
    ) -> repo_api.Lifecycle:
        if found.kind is refs.RefKind.DRAFT:
            return repo_api.Lifecycle.DRAFT
        if found.kind is refs.RefKind.PROPOSED:
            return repo_api.Lifecycle.PROPOSED
        if deletion_proposed(found.full_path, _deletion_suffix(key)):
            return repo_api.Lifecycle.DELETION_PROPOSED
        return repo_api.Lifecycle.PUBLISHED

    def _placeholder(
        self,
        on_branch: discovery.BranchPackage,
        head: discovery.CommitInfo,
        proposals: Collection[tuple[str, str]],
        tasks_by_workspace: Mapping[tuple[str, str], tuple[porchv1alpha1.Task, ...]],
    ) -> GitPackageRevision:
        full_path = on_branch.package.full_path
        key = repo_api.PackageRevisionKey(
            pkg_key=repo_api.PackageKey.from_package_path(
                self._key, refs.relative_to(full_path, self._key.path)
            ),
            revision=repo_api.PLACEHOLDER_REVISION,
            workspace_name=repo_api.WorkspaceName(self.branch),
        )
        lifecycle = (
            repo_api.Lifecycle.DELETION_PROPOSED
            if (full_path, self.branch) in proposals
            else repo_api.Lifecycle.PUBLISHED
        )
        return GitPackageRevision(
            repository=self,
            key=key,
            lifecycle=lifecycle,
            commit_info=head,
            remote_ref=refs.remote_branch(self.branch),
            ref_target=head.id,
            package=on_branch.package,
            # The placeholder shows the task of the revision last published on the branch.
            tasks=tasks_by_workspace.get((full_path, on_branch.workspace), ()),
            published=on_branch.last_annotated,
        )

    async def list_package_revisions(
        self, filter: repo_api.ListPackageRevisionFilter = repo_api.ANY_REVISION
    ) -> Sequence[GitPackageRevision]:
        with tracer.start_as_current_span(
            "gitRepository::ListPackageRevisions",
            attributes={
                "repository": f"{self._key.namespace}/{self._key.name}",
                "package": filter.package_path or "",
                "workspace": filter.workspace_name or "",
            },
        ):
            package_path = filter.package_path
            candidates: Sequence[GitPackageRevision]
            if package_path is not None:
                # One package: O(package), never a full listing (see `_package_revisions_sync`).
                candidates = await self._call(lambda: self._package_revisions_sync(package_path))
            else:
                candidates = (await self._call(self._listing_sync)).revisions
                if filter == repo_api.ANY_REVISION:
                    return candidates
        return [r for r in candidates if filter.matches(r.key, r.lifecycle)]

    async def list_packages(self, package_path: str | None = None) -> Sequence[repo_api.Package]:
        with tracer.start_as_current_span(
            "gitRepository::ListPackages",
            attributes={"repository": f"{self._key.namespace}/{self._key.name}"},
        ):
            if package_path is None:
                return (await self._call(self._listing_sync)).packages
            group = await self._call(lambda: self._package_revisions_sync(package_path))
        if not group:
            return []
        return [repo_api.Package(key=group[0].key.pkg_key, latest_revision=_latest_revision(group))]

    async def _read_tree(self, tree: pygit2.Oid) -> dict[str, str]:
        return await self._call(lambda: self._facts().read_tree(tree))

    async def _read_blob(self, blob: pygit2.Oid) -> str:
        return await self._call(lambda: self._facts().read_blob(blob))

    # -- drafts -----------------------------------------------------------------------------
    async def create_package_revision_draft(
        self, key: repo_api.PackageRevisionKey, *, user: repo_api.UserInfo | None = None
    ) -> GitPackageRevisionDraft:
        key = dataclasses.replace(
            key,
            pkg_key=dataclasses.replace(key.pkg_key, repo_key=self._key),
            revision=0,
        )
        with tracer.start_as_current_span(
            "gitRepository::CreatePackageRevisionDraft", attributes=_attributes(key)
        ):
            repo_api.validate_package_revision_name(
                self._key.name, key.pkg_key.path, key.pkg_key.package, key.workspace_name
            )
            head = await self._call(self._branch_head_sync)
            return GitPackageRevisionDraft(
                repository=self, key=key, base=None, head=head, author=self._author(user)
            )

    async def update_package_revision(
        self, old: repo_api.PackageRevision, *, user: repo_api.UserInfo | None = None
    ) -> GitPackageRevisionDraft:
        snapshot = self._own(old)
        with tracer.start_as_current_span(
            "gitRepository::UpdatePackageRevision", attributes=_attributes(snapshot.key)
        ):
            return GitPackageRevisionDraft(
                repository=self,
                key=snapshot.key,
                base=snapshot,
                head=None,
                author=self._author(user),
            )

    def _own(self, revision: repo_api.PackageRevision) -> GitPackageRevision:
        if not isinstance(revision, GitPackageRevision) or revision._repository is not self:
            raise TypeError(f"{revision!r} was not listed by {self!r}")
        return revision

    def _update_resources_sync(
        self,
        draft: GitPackageRevisionDraft,
        files: dict[str, str],
        task: porchv1alpha1.Task | None,
        message: str | None,
    ) -> None:
        # Validate everything before writing a single object.
        paths.validate_resource_paths(files)
        repo = self._repo()
        full_path = draft.key.pkg_key.full_path
        package_tree = commit.build_tree(repo, files)
        parent = self._facts().commit(draft.commit) if draft.commit is not None else None
        root = commit.replace_subtree(
            repo, parent.tree if parent is not None else None, full_path, package_tree
        )
        task_type = task.type if task is not None else annotation.RENDER_TASK_TYPE
        text = annotation.annotate(
            message or annotation.human_message(task_type),
            package=full_path,
            workspace_name=draft.key.workspace_name,
            revision=draft.key.revision,
            task=annotation.task_json(task) if task is not None else {"type": task_type},
        )
        draft.commit = commit.create_commit(
            repo,
            tree=root,
            parents=[parent.id] if parent is not None else [],
            message=text,
            author=draft.author,
        )
        draft.package_tree = package_tree
        if task is not None:
            draft.tasks = (task,)

    # -- closing drafts ---------------------------------------------------------------------
    async def close_package_revision_draft(
        self, draft: repo_api.PackageRevisionDraft, revision: int = 0
    ) -> GitPackageRevision:
        if not isinstance(draft, GitPackageRevisionDraft) or draft._repository is not self:
            raise TypeError(f"{draft!r} was not created by {self!r}")
        with tracer.start_as_current_span(
            "gitRepository::ClosePackageRevisionDraft", attributes=_attributes(draft.key)
        ):
            base = draft.base
            if base is not None and base.lifecycle.is_published:
                return await self._call(lambda: self._close_published_sync(draft, base))
            if draft.lifecycle is repo_api.Lifecycle.DELETION_PROPOSED:
                raise errors.ForbiddenError(
                    f"package revision {draft.key.k8s_name()} is not published; it cannot be "
                    "proposed for deletion"
                )
            if draft.lifecycle is repo_api.Lifecycle.PUBLISHED:
                return await self._call(lambda: self._approve_sync(draft, revision))
            return await self._call(lambda: self._close_unpublished_sync(draft))

    def _close_unpublished_sync(self, draft: GitPackageRevisionDraft) -> GitPackageRevision:
        if draft.package_tree is None or draft.commit is None:
            raise errors.InvalidPackageError("package must contain Kptfile at root")
        full_path = draft.key.pkg_key.full_path
        workspace = draft.key.workspace_name
        branch = (
            refs.proposed_branch(full_path, workspace)
            if draft.lifecycle is repo_api.Lifecycle.PROPOSED
            else refs.draft_branch(full_path, workspace)
        )
        target = refs.remote_branch(branch)
        base = draft.base
        updates: list[transport.RefUpdate] = []
        if base is not None and base.remote_ref == target:
            if draft.commit != base.ref_target:
                updates.append(transport.RefUpdate(target, base.ref_target, draft.commit))
        else:
            updates.append(transport.RefUpdate(target, None, draft.commit))
            if base is not None:
                updates.append(transport.RefUpdate(base.remote_ref, base.ref_target, None))
        if updates:
            self._push_with_retry_sync(
                lambda _attempt: updates, "ClosePackageRevisionDraft", full_path
            )
        return self._snapshot_for_ref_sync(refs.remote_to_local(target))

    def _approve_sync(self, draft: GitPackageRevisionDraft, revision: int) -> GitPackageRevision:
        if draft.package_tree is None or draft.commit is None:
            raise errors.InvalidPackageError("package must contain Kptfile at root")
        package_tree = draft.package_tree
        draft_commit = draft.commit
        repo = self._repo()
        full_path = draft.key.pkg_key.full_path
        branch_ref = refs.remote_branch(self.branch)
        assigned: list[int] = []

        def attempt(_number: int) -> list[transport.RefUpdate]:
            # The approval commit must sit on the branch's current head. Build on the head
            # we know, without fetching first (a fetch costs a full ref advertisement): if
            # the branch moved, the conditional update fails, the failure refetches, and
            # `rebuild_on` has the next attempt build on the new head.
            head = self._branch_head_sync()
            if head is None:
                raise errors.NotFoundError(f'branch "{self.branch}" not found in repository')
            head_commit = self._facts().commit(head)
            number_to_use = revision or self._next_revision_sync(full_path)
            assigned[:] = [number_to_use]
            merge = commit.create_commit(
                repo,
                tree=commit.replace_subtree(repo, head_commit.tree, full_path, package_tree),
                parents=[head, draft_commit],
                message=annotation.annotate(
                    annotation.approval_message(full_path, number_to_use),
                    package=full_path,
                    workspace_name=draft.key.workspace_name,
                    revision=number_to_use,
                ),
                author=draft.author,
            )
            updates = [
                transport.RefUpdate(branch_ref, head, merge),
                transport.RefUpdate(
                    refs.tag(refs.published_tag(full_path, number_to_use)), None, merge
                ),
            ]
            base = draft.base
            if base is not None and base.remote_ref != branch_ref:
                updates.append(transport.RefUpdate(base.remote_ref, base.ref_target, None))
            return updates

        def rebuild_on(err: transport.StaleRefError) -> bool:
            # The branch moved (another approval): rebuild on the new head. In automatic
            # numbering, a taken tag means someone published that number: take the next.
            if err.remote_ref == branch_ref:
                return True
            if not revision and err.remote_ref.startswith(refs.TAGS) and err.expected is None:
                self._fetch_sync()
                return True
            return False

        self._push_with_retry_sync(
            attempt, "ClosePackageRevisionDraft", full_path, rebuild_on=rebuild_on
        )
        return self._snapshot_for_ref_sync(refs.tag(refs.published_tag(full_path, assigned[0])))

    def _next_revision_sync(self, full_path: str) -> int:
        """max(published revision of the package) + 1, from the cached tags."""
        self._version_sync()
        prefix = refs.tag(full_path + "/")
        highest = 0
        for name, _ in self._refs_under(prefix):
            if "/" not in name[len(prefix) :]:
                highest = max(highest, refs.tag_revision(name[len(prefix) :]))
        return highest + 1

    def _close_published_sync(
        self, draft: GitPackageRevisionDraft, base: GitPackageRevision
    ) -> GitPackageRevision:
        branch = refs.remote_branch(
            refs.deletion_proposed_branch(base.key.pkg_key.full_path, _deletion_suffix(base.key))
        )
        updates: list[transport.RefUpdate] = []
        if draft.lifecycle is repo_api.Lifecycle.DELETION_PROPOSED:
            if base.lifecycle is repo_api.Lifecycle.PUBLISHED:
                updates.append(transport.RefUpdate(branch, None, base.commit))
        elif base.lifecycle is repo_api.Lifecycle.DELETION_PROPOSED:
            current = self._ref_target_sync(refs.remote_to_local(branch))
            if current is not None:
                updates.append(transport.RefUpdate(branch, current, None))
        if updates:
            self._push_with_retry_sync(
                lambda _attempt: updates, "ClosePackageRevisionDraft", base.key.pkg_key.full_path
            )
        if base.key.is_placeholder:
            return self._placeholder_sync(base.key)
        return self._snapshot_for_ref_sync(refs.remote_to_local(base.remote_ref))

    # -- deleting ---------------------------------------------------------------------------
    async def delete_package_revision(
        self, old: repo_api.PackageRevision, *, user: repo_api.UserInfo | None = None
    ) -> None:
        snapshot = self._own(old)
        with tracer.start_as_current_span(
            "gitRepository::DeletePackageRevision", attributes=_attributes(snapshot.key)
        ):
            await self._call(lambda: self._delete_sync(snapshot, self._author(user)))

    def _delete_sync(self, old: GitPackageRevision, author: commit.Author) -> None:
        repo = self._repo()
        full_path = old.key.pkg_key.full_path
        deletion_branch = refs.remote_branch(
            refs.deletion_proposed_branch(full_path, _deletion_suffix(old.key))
        )

        def deletion_branch_update() -> list[transport.RefUpdate]:
            current = self._ref_target_sync(refs.remote_to_local(deletion_branch))
            if current is None:
                return []
            return [transport.RefUpdate(deletion_branch, current, None)]

        if not old.key.is_placeholder:
            updates = [transport.RefUpdate(old.remote_ref, old.ref_target, None)]
            if old.remote_ref.startswith(refs.TAGS):
                updates += deletion_branch_update()
            self._push_with_retry_sync(lambda _attempt: updates, "DeletePackageRevision", full_path)
            return

        branch_ref = refs.remote_branch(self.branch)

        def attempt(_number: int) -> list[transport.RefUpdate]:
            # On the head we know; a moved branch fails the update and is rebuilt on (see
            # `_approve_sync`).
            head = self._branch_head_sync()
            head_commit = self._facts().commit(head) if head is not None else None
            if head_commit is None or self._facts().find_package(head_commit, full_path) is None:
                # Already gone from the branch (deletes are idempotent).
                return deletion_branch_update()
            deleted = commit.create_commit(
                repo,
                tree=commit.replace_subtree(repo, head_commit.tree, full_path, None),
                parents=[head_commit.id],
                message=annotation.delete_message(full_path),
                author=author,
            )
            return [
                transport.RefUpdate(branch_ref, head_commit.id, deleted),
                *deletion_branch_update(),
            ]

        self._push_with_retry_sync(
            attempt,
            "DeletePackageRevision",
            full_path,
            rebuild_on=lambda err: err.remote_ref == branch_ref,
        )

    # -- pushing ----------------------------------------------------------------------------
    def _push_with_retry_sync(
        self,
        build: Callable[[int], list[transport.RefUpdate]],
        operation: str,
        package: str,
        *,
        rebuild_on: Callable[[transport.StaleRefError], bool] = lambda _err: False,
    ) -> None:
        """Build ref updates of the package at full path `package` and push them, retrying
        per Porch's list and back-off.

        `rebuild_on` decides which stale refs mean "rebuild and try again" (the branch moved
        under an approval); any other stale ref is a conflict.
        """

        def attempt(number: int) -> None:
            updates = build(number)
            if not updates:
                return
            try:
                self._push_sync(updates, operation, package)
            except transport.StaleRefError as err:
                if number < self._options.retry_attempts and rebuild_on(err):
                    # Message carries Porch's retryable marker "remote ref".
                    raise transport.TransportError(f"remote ref moved: {err}") from err
                raise

        with tracer.start_as_current_span(
            "gitRepository::pushAndCleanup",
            attributes={
                "repository": f"{self._key.namespace}/{self._key.name}",
                "operation": operation,
            },
        ):
            transport.retry(
                attempt,
                attempts=self._options.retry_attempts,
                retryable=self._options.retryable_errors,
                delay=self._options.retry_delay,
            )

    def _push_sync(
        self, updates: list[transport.RefUpdate], operation: str, package: str | None
    ) -> None:
        """Apply `updates` (of the package at full path `package`, None: not a package
        write) as one compare-and-swap: all or nothing. Afterwards the cache's refs match;
        on failure the cache is resynchronised."""
        # The version this write starts from, for the journal (after a fetch or an open it
        # is recomputed now, from the refs as they are before the write).
        self._version_sync()
        if self._clone.local:
            try:
                reftransaction.apply(self._repo(), updates, f"porch: {operation}")
            except transport.TransportError:
                self._resync_sync()
                raise
            self._note_written_sync(updates, package)
            return
        pending = updates
        # Twice at most: a lease failure caused by updates that had already landed (a retry
        # after a lost reply) is pushed again without them.
        for _ in range(2):
            try:
                transport.push(
                    self._clone.path,
                    self._url,
                    self._credential,
                    pending,
                    ca_bundle=self._ca_bundle,
                )
                break
            except transport.LeaseError:
                self._resync_sync()
                pending = self._not_landed_sync(pending)
                if not pending:
                    break
            except transport.TransportError:
                self._resync_sync()
                raise
        else:
            raise transport.TransportError(
                f"remote ref {', '.join(u.remote_ref for u in pending)} keeps changing"
            )
        repo = self._repo()
        for update in updates:
            local = refs.remote_to_local(update.remote_ref)
            if update.new is not None:
                repo.references.create(local, update.new, force=True)
            elif (existing := repo.references.get(local)) is not None:
                existing.delete()
        self._note_written_sync(updates, package)

    def _not_landed_sync(self, updates: list[transport.RefUpdate]) -> list[transport.RefUpdate]:
        """After `git push` refused a lease and the cache was refetched: the updates still to
        do; raises `StaleRefError` for the first ref holding neither its old nor its new value
        (git's report does not say what the remote had; the fetch does)."""
        pending: list[transport.RefUpdate] = []
        for update in updates:
            actual = self._ref_target_sync(refs.remote_to_local(update.remote_ref))
            if actual == update.new:
                continue
            if actual != update.old:
                raise transport.StaleRefError(update.remote_ref, update.old, actual)
            pending.append(update)
        return pending

    # -- snapshots after writes -------------------------------------------------------------
    def _deletion_proposed_sync(self, full_path: str, suffix: str) -> bool:
        """Whether the deletion-proposal branch exists in the cache (one lookup)."""
        local = refs.local_branch(refs.deletion_proposed_branch(full_path, suffix))
        return self._repo().references.get(local) is not None

    def _snapshot_for_ref_sync(self, local_ref: str) -> GitPackageRevision:
        target = self._ref_target_sync(local_ref)
        classified = refs.classify(local_ref, self.branch)
        found = (
            self._facts().ref_revision(local_ref, target, classified)
            if target is not None
            else None
        )
        if found is None:
            raise errors.NotFoundError(f"{refs.short(local_ref)} holds no package")
        return self._from_ref(found, self._deletion_proposed_sync)

    def _placeholder_sync(self, key: repo_api.PackageRevisionKey) -> GitPackageRevision:
        head = self._branch_head_sync()
        if head is not None:
            full_path = key.pkg_key.full_path
            head_commit = self._facts().commit(head)
            on_branch = self._facts().branch_package(
                self.branch, head_commit, self._key.path, full_path
            )
            if on_branch is not None:
                proposals = (
                    {(full_path, self.branch)}
                    if self._deletion_proposed_sync(full_path, self.branch)
                    else set()
                )
                return self._placeholder(
                    on_branch, discovery.CommitInfo.of(head_commit), proposals, {}
                )
        raise errors.NotFoundError(f"package {key.pkg_key.package_path!r} not found")

    # -- closing ----------------------------------------------------------------------------
    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._options.cache.release(self._clone)


def _ref_hash(name: str, target: pygit2.Oid) -> int:
    """One ref's share of the repository version."""
    return int.from_bytes(hashlib.sha256(f"{name} {target}".encode()).digest())


def _unique_sorted(revisions: Iterable[GitPackageRevision]) -> tuple[GitPackageRevision, ...]:
    """By name; two tags can name one revision (`pkg/v1` and `pkg/1`): the first wins."""
    unique: dict[str, GitPackageRevision] = {}
    for revision in revisions:
        unique.setdefault(revision.name, revision)
    return tuple(sorted(unique.values(), key=lambda r: r.name))


def _latest_revision(group: Iterable[GitPackageRevision]) -> int:
    """The highest published revision number of a package's revisions (0: none)."""
    return max(
        (r.key.revision for r in group if r.lifecycle.is_published and r.key.revision > 0),
        default=0,
    )


def _deletion_suffix(key: repo_api.PackageRevisionKey) -> str:
    """Last segment of the deletion-proposal branch: `v<N>`, else the workspace (the branch
    name for the placeholder, the tag suffix for non-integer tags)."""
    return f"v{key.revision}" if key.revision > 0 else key.workspace_name


if TYPE_CHECKING:
    # mypy checks that the classes implement the contracts.
    _REPOSITORY: type[repo_api.Repository] = GitRepository
    _REVISION: type[repo_api.PackageRevision] = GitPackageRevision
    _DRAFT: type[repo_api.PackageRevisionDraft] = GitPackageRevisionDraft
