"""Contracts of the repository cache: what the engine calls, what the cache promises.

Where this sits: `pkg/engine` (the CaD engine) is the only caller. It opens registered
repositories through a `Cache`, reads package revisions and packages from it (every read of
the API is served from memory here), and performs every write through a `CachedRepository`
so that the cache, the metadata store and the watchers stay in step. Below the cache are
`pkg.repository` backends (git, the in-memory fake) and `pkg.meta` (metadata store). The
registry never calls this module; the engine hands it API objects built here.

Implementations: `pkg.cache.repocache.RepositoryCache` (the cache),
`pkg.cache.watchermanager.WatcherManager` (events), `pkg.cache.sync` (background sync) and
`pkg.cache.repositorycontroller` (drives open/sync/close from Repository objects). Tests of
upper layers build a cache over fake repositories with `pkg.cache.cachetesting`.

Request flow of a write (create shown):

    engine -> CachedRepository.create_package_revision_draft(key)   backend draft
           -> draft.update_resources(...) / draft.update_lifecycle(...)   (backend objects)
           -> CachedRepository.close_package_revision_draft(draft, meta=...)
                backend close (push) -> re-list that package from the backend ->
                metadata stored -> cache updated -> ADDED/MODIFIED/DELETED events
           <- CachedPackageRevision (to_api() is the object to return)

Events: every change the cache applies, whether from a write through it or from a refresh
(sync) that found changes made behind the server's back, is notified to the
`WatcherManager` as ADDED (a name not cached before), MODIFIED (resourceVersion, lifecycle,
metadata or latest flag changed) or DELETED (a name gone). When the latest revision of a
package changes, both the old and the new latest get MODIFIED.

Errors (`pkg.repository.errors`, chained with `raise ... from`):

    RepositoryError
    ├── NotFoundError            repository not open / revision not cached / no metadata
    ├── AlreadyExistsError       from the backend (revision or ref exists)
    ├── ConflictError            stale snapshot (someone changed the revision meanwhile)
    ├── InvalidPackageError      from the backend (paths, missing Kptfile, names)
    ├── InvalidRepositoryError   Repository spec unusable, unsupported `spec.type`
    ├── ForbiddenError           from the backend (lifecycle rules, remote declined)
    ├── BackendUnavailableError  backend or metadata store failed; listing timed out
    └── ExpiredError (here)      watch resume point older than the event history (410)
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Literal, Protocol, runtime_checkable

from api.porch import v1alpha1 as porchv1alpha1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import labels
from pkg.meta import metatypes
from pkg.repository import errors
from pkg.repository import repository as repo_api

__all__ = [
    "ANY",
    "BranchHeadReporter",
    "Cache",
    "CachedPackage",
    "CachedPackageRevision",
    "CachedRepository",
    "ChangeReporter",
    "EventType",
    "ExpiredError",
    "PackageFilter",
    "PackageRevisionFilter",
    "RefreshResult",
    "RepositoryOpener",
    "WatchEndReason",
    "WatchEvent",
    "Watcher",
    "WatcherManager",
]

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
"""Type of a watch event, as Kubernetes names it."""


class ExpiredError(errors.RepositoryError):
    """A watch asked to resume from an event sequence number the bounded history no
    longer holds; the client must list again (HTTP 410 Gone, reason Expired)."""


RepositoryOpener = Callable[[configv1alpha1.Repository], Awaitable[repo_api.Repository]]
"""Opens the backend of a Repository object (one per `spec.type`, see `pkg.cache.backends`).

Called by the cache at most once per open repository, concurrently for different
repositories. Raises `InvalidRepositoryError`, `ForbiddenError`, `NotFoundError` (branch
missing) or `BackendUnavailableError` as `pkg.externalrepo.git.open_repository` does."""


@runtime_checkable
class BranchHeadReporter(Protocol):
    """An optional capability of a backend (`repository.Repository`): the commit at the head
    of the registered branch. The git backend (`git.GitRepository`) has it; the cache
    reports it as `RefreshResult.branch_head` (`status.gitCommitHash`), which then names
    the branch head even when the branch holds no package. Backends without it (the fake)
    report the commit of a placeholder revision instead."""

    async def branch_head(self) -> str | None:
        """The head commit id as of the last refresh, None when the branch does not exist.
        Raises `BackendUnavailableError` like the backend's listing does."""
        ...


@runtime_checkable
class ChangeReporter(Protocol):
    """An optional capability of a backend (`repository.Repository`): which packages changed
    between two of its versions, when the changes were writes it knows of. The git backend
    (`git.GitRepository`) has it. With it, the cache keeps its memory current after writes
    in O(written packages) even while other writes run concurrently; without it, a write
    that finds the backend changed since the memory's version re-lists everything."""

    async def changes_since(self, version: str) -> tuple[str, frozenset[str] | None]:
        """(current version, package paths whose revisions may differ from `version` to
        it), or (current version, None) when that is unknown (changed behind the backend's
        back, or `version` too old): then only a full listing is right. Revisions of other
        packages may differ only in what every write changes for all of them (a git
        placeholder's commit is the branch head). Raises `BackendUnavailableError` like
        `version()` does."""
        ...


# --- filters -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class PackageRevisionFilter:
    """Which package revisions a list or watch wants; None/empty fields mean "any".

    Everything the registry's field and label selectors can express (porch.md §2.5):

    - `namespace`: `metadata.namespace` (None: all namespaces);
    - `repository`: `spec.repository`;
    - `package_path`: `spec.packageName` (`path/package`, relative to the repository
      directory);
    - `workspace`: `spec.workspaceName`;
    - `revision`: `spec.revision`, compared exactly (0 selects Draft/Proposed revisions,
      -1 placeholders). The registry maps the selector value `0` ("no filter") to None;
    - `lifecycles`: `spec.lifecycle` in the set;
    - `name`: exact `metadata.name`;
    - `label_selector`: over `metadata.labels` as served, i.e. including the computed
      `kpt.dev/latest-revision: "true"` (so `kpt.dev/latest-revision=true` lists latest
      revisions);
    - `kptfile_labels`: `spec.packageMetadata.labels[k] == v` for every item (the Kptfile's
      `metadata.labels`).

    The cache applies the key-level fields (namespace, repository, name, package,
    workspace, revision, lifecycle) before touching metadata or building API objects, and
    prunes whole repositories by `namespace`, `repository` and `name`, so a filtered list
    costs O(matching) rather than O(everything).
    """

    namespace: str | None = None
    repository: str | None = None
    package_path: str | None = None
    workspace: str | None = None
    revision: int | None = None
    lifecycles: frozenset[repo_api.Lifecycle] = frozenset()
    name: str | None = None
    label_selector: labels.Selector | None = None
    kptfile_labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def backend_filter(self) -> repo_api.ListPackageRevisionFilter:
        """The part a `repository.Repository` listing understands."""
        return repo_api.ListPackageRevisionFilter(
            package_path=self.package_path,
            workspace_name=(
                repo_api.WorkspaceName(self.workspace) if self.workspace is not None else None
            ),
            revision=self.revision,
            lifecycles=self.lifecycles,
        )

    def matches_repository(self, namespace: str, repository: str) -> bool:
        """Whether revisions of this repository can match at all (cheap pruning)."""
        if self.namespace is not None and namespace != self.namespace:
            return False
        if self.repository is not None and repository != self.repository:
            return False
        # A revision's name starts with "<repository>.".
        return self.name is None or self.name.startswith(repository + ".")

    def matches_key(self, key: repo_api.PackageRevisionKey, lifecycle: repo_api.Lifecycle) -> bool:
        """The key-level predicates (no metadata, no Kptfile), for cheap pre-filtering."""
        repo_key = key.pkg_key.repo_key
        if not self.matches_repository(repo_key.namespace, repo_key.name):
            return False
        if self.name is not None and key.k8s_name() != self.name:
            return False
        if self.package_path is not None and key.pkg_key.package_path != self.package_path:
            return False
        if self.workspace is not None and key.workspace_name != self.workspace:
            return False
        if self.revision is not None and key.revision != self.revision:
            return False
        return not self.lifecycles or lifecycle in self.lifecycles

    def matches(self, revision: CachedPackageRevision) -> bool:
        """Every predicate, on a cached revision (no API object is built)."""
        if not self.matches_key(revision.key, revision.lifecycle):
            return False
        if self.label_selector is not None and not self.label_selector.matches(revision.labels):
            return False
        package_labels = revision.kptfile_labels
        return all(package_labels.get(k) == v for k, v in self.kptfile_labels.items())

    def matches_object(self, obj: porchv1alpha1.PackageRevision) -> bool:
        """Every predicate, on an API object (what the WatcherManager applies to events).

        Agrees with `matches` for objects built by `CachedPackageRevision.to_api`.
        """
        metadata = obj.metadata
        spec = obj.spec
        if metadata is None or spec is None:
            return False
        if self.namespace is not None and metadata.namespace != self.namespace:
            return False
        if self.repository is not None and spec.repository != self.repository:
            return False
        if self.name is not None and metadata.name != self.name:
            return False
        if self.package_path is not None and spec.package_name != self.package_path:
            return False
        if self.workspace is not None and spec.workspace_name != self.workspace:
            return False
        if self.revision is not None and (spec.revision or 0) != self.revision:
            return False
        if self.lifecycles and repo_api.Lifecycle(spec.lifecycle or "Draft") not in (
            self.lifecycles
        ):
            return False
        if self.label_selector is not None and not self.label_selector.matches(
            metadata.labels or {}
        ):
            return False
        if self.kptfile_labels:
            package_labels = (
                spec.package_metadata.labels if spec.package_metadata is not None else None
            ) or {}
            return all(package_labels.get(k) == v for k, v in self.kptfile_labels.items())
        return True


ANY = PackageRevisionFilter()
"""The filter that matches every package revision."""


@dataclasses.dataclass(frozen=True, slots=True)
class PackageFilter:
    """Which packages (`packages` resource) a list wants; None means "any".

    `name` is the Package object's name (`<repo>.<path dotted>.<package>`); `package_path`
    is `spec.packageName`, `repository` is `spec.repository`.
    """

    namespace: str | None = None
    repository: str | None = None
    package_path: str | None = None
    name: str | None = None

    def matches_repository(self, namespace: str, repository: str) -> bool:
        if self.namespace is not None and namespace != self.namespace:
            return False
        if self.repository is not None and repository != self.repository:
            return False
        return self.name is None or self.name.startswith(repository + ".")


# --- cached objects ----------------------------------------------------------------------


class CachedPackageRevision(Protocol):
    """One package revision as the cache holds it: backend snapshot + metadata + latest flag.

    Immutable: when metadata or the latest flag change the cache replaces the object (so a
    reference taken earlier keeps describing the earlier state). The snapshot is the
    backend's (`repository.PackageRevision`): pass it to the `CachedRepository` write
    methods, which check it is still current.
    """

    @property
    def snapshot(self) -> repo_api.PackageRevision: ...

    @property
    def meta(self) -> metatypes.PackageRevisionMeta: ...

    @property
    def is_latest(self) -> bool:
        """Highest revision > 0 among the package's Published/DeletionProposed revisions
        (placeholders, revision -1, never are)."""
        ...

    @property
    def key(self) -> repo_api.PackageRevisionKey: ...

    @property
    def name(self) -> repo_api.PackageRevisionName: ...

    @property
    def namespace(self) -> str: ...

    @property
    def lifecycle(self) -> repo_api.Lifecycle: ...

    @property
    def resource_version(self) -> str:
        """The backend's version of the revision (its git commit id)."""
        ...

    @property
    def api_resource_version(self) -> str:
        """`metadata.resourceVersion` of `to_api()` and `to_resources_api()`, and what an
        update's resourceVersion must equal: `metatypes.api_resource_version` of the
        backend's version and the metadata record's `version` (so it changes on every
        commit and on every metadata change)."""
        ...

    @property
    def labels(self) -> Mapping[str, str]:
        """`metadata.labels` as served: the stored labels plus `kpt.dev/latest-revision:
        "true"` when latest."""
        ...

    @property
    def kptfile_labels(self) -> Mapping[str, str]:
        """The Kptfile's `metadata.labels` (`spec.packageMetadata.labels`)."""
        ...

    def to_api(self) -> porchv1alpha1.PackageRevision:
        """The PackageRevision API object (porch.md §3.8), built once per cached object.

        The returned model is SHARED with other callers and with watch events: never
        mutate it; `model_copy(deep=True)` first when a changed object is needed.
        """
        ...

    async def to_resources_api(self) -> porchv1alpha1.PackageRevisionResources:
        """The PackageRevisionResources API object (same metadata, files in
        `spec.resources`), loaded from the backend once and then memoised. Shared like
        `to_api`'s result. Raises `BackendUnavailableError` when files cannot be read."""
        ...

    async def resources(self) -> dict[str, str]:
        """The package's files (path -> text); a fresh dict the caller may change."""
        ...


class CachedPackage(Protocol):
    """A package (`packages` resource): a package path with at least one cached revision."""

    @property
    def key(self) -> repo_api.PackageKey: ...

    @property
    def name(self) -> str:
        """`<repo>.<path dotted>.<package>`."""
        ...

    @property
    def latest_revision(self) -> int:
        """The latest published revision number, 0 when none is published."""
        ...

    def to_api(self) -> porchv1alpha1.PorchPackage:
        """The PorchPackage API object (a fresh model)."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class RefreshResult:
    """What a refresh found: the facts a Repository's status shows, and what changed.

    `package_revision_count` is `status.packageCount` (revisions, as Porch counts),
    `branch_head` is `status.gitCommitHash`: the head of the registered branch when the
    backend reports it (`BranchHeadReporter`), else the commit of a placeholder revision;
    None when unknown (no such branch, or no placeholder for a backend without the
    capability).
    """

    package_revision_count: int
    branch_head: str | None
    version: str
    added: int = 0
    modified: int = 0
    deleted: int = 0


class CachedRepository(Protocol):
    """One open repository: its revisions in memory, writes passed through to the backend.

    Reads (`list_package_revisions`, `get_package_revision`, `list_packages`) are served
    from memory; they re-list the backend only when its `version()` differs from the one
    the memory reflects (git: another Repository object sharing the clone fetched). They
    never contact the remote. Writes go to the backend and are then applied to memory,
    metadata and watchers before they return. Concurrent calls are safe; the cache applies
    backend listings one at a time per repository, in the order they were taken.
    """

    @property
    def key(self) -> repo_api.RepositoryKey: ...

    @property
    def repository(self) -> configv1alpha1.Repository:
        """The Repository object the repository was opened with (spec: deployment, git…)."""
        ...

    async def list_package_revisions(
        self, filter: PackageRevisionFilter = ANY
    ) -> list[CachedPackageRevision]:
        """Cached revisions matching `filter`, ordered by name. O(matching) when `filter`
        names a package or a name; O(revisions) otherwise (no API objects are built).
        Raises `BackendUnavailableError` when a needed re-list fails."""
        ...

    async def get_package_revision(self, name: str) -> CachedPackageRevision | None:
        """The cached revision named `name` (`metadata.name`), None if there is none."""
        ...

    async def list_packages(self, filter: PackageFilter | None = None) -> list[CachedPackage]:
        """Packages with at least one cached revision, ordered by name."""
        ...

    async def create_package_revision_draft(
        self, key: repo_api.PackageRevisionKey, *, user: repo_api.UserInfo | None = None
    ) -> repo_api.PackageRevisionDraft:
        """Start a new revision (backend draft; nothing visible until closed)."""
        ...

    async def update_package_revision(
        self, old: CachedPackageRevision, *, user: repo_api.UserInfo | None = None
    ) -> repo_api.PackageRevisionDraft:
        """Start changing an existing revision (backend draft from `old.snapshot`)."""
        ...

    async def close_package_revision_draft(
        self,
        draft: repo_api.PackageRevisionDraft,
        revision: int = 0,
        *,
        meta: metatypes.PackageRevisionMeta | None = None,
    ) -> CachedPackageRevision:
        """Write the draft to the backend, then update the cache and notify watchers.

        `revision` as for `Repository.close_package_revision_draft` (0: max + 1 on
        approval). `meta` (for the draft's name) becomes the revision's metadata: created
        when the revision has none yet (its `creation_timestamp` is used, or now), else
        replacing the stored labels/annotations/finalizers/ownerReferences/
        deletionTimestamp/managedFields (the stored creation time is kept). None keeps
        existing metadata (or creates an empty record). The package of the draft is
        re-listed from the backend, so the approval's placeholder revision and the removed
        draft branch are reflected too. Returns the cached revision after the write.

        Raises what the backend raises (`ConflictError`, `AlreadyExistsError`,
        `ForbiddenError`, `InvalidPackageError`, `BackendUnavailableError`); then nothing
        changed in the cache or the store. Raises `BackendUnavailableError` if the backend
        write succeeded but the metadata could not be stored (the revision exists and is
        cached with the metadata it had or an empty record).
        """
        ...

    async def update_package_revision_meta(
        self, meta: metatypes.PackageRevisionMeta
    ) -> CachedPackageRevision:
        """Store new metadata for the cached revision `meta.name` (no backend write) and
        send MODIFIED when anything visible changed. Raises `NotFoundError` when the
        revision is not cached, `BackendUnavailableError` when the store fails."""
        ...

    async def delete_package_revision(
        self, old: CachedPackageRevision, *, user: repo_api.UserInfo | None = None
    ) -> None:
        """Delete the revision in the backend, remove its metadata, send DELETED (and
        MODIFIED for a new latest revision). Raises `ConflictError` if `old` is stale,
        `NotFoundError` if it is gone, other backend errors as they come."""
        ...

    async def discard_package_revision(
        self,
        name_or_snapshot: str | repo_api.PackageRevision,
        *,
        user: repo_api.UserInfo | None = None,
    ) -> None:
        """Undo a write whose follow-up failed: delete the revision in the backend and drop
        it from the cache, without needing its metadata (the engine's rollback of a create
        whose push landed but whose metadata could not be stored).

        With a name, the revision is looked up in the backend itself, not in memory (the
        memory may not hold it when the write's re-list failed); with a snapshot, that
        snapshot is deleted. A revision the backend no longer holds is only dropped from
        memory. Sends DELETED when the cache held it (and MODIFIED for a new latest
        revision); its metadata record is deleted when the store allows (a failure is
        logged, and the next full reconcile removes the record). Raises
        `InvalidPackageError` for an unparsable name, `ConflictError` when the snapshot is
        stale, `BackendUnavailableError` when the backend cannot list or delete.
        """
        ...

    async def refresh(self) -> RefreshResult:
        """Fetch from the remote, re-list everything, apply the differences (events) and
        reconcile metadata (create missing records, delete records of revisions gone).
        Raises `BackendUnavailableError` when the fetch or listing fails; the cache keeps
        its previous content then."""
        ...

    def facts(self) -> RefreshResult:
        """The status facts of what is cached now (no backend call)."""
        ...


class Cache(Protocol):
    """The set of open repositories of one server, keyed by (namespace, name).

    One instance per server, created by the command wiring (no module singleton). All
    methods are coroutines safe to call concurrently.
    """

    @property
    def watcher_manager(self) -> WatcherManager: ...

    async def open_repository(self, repo: configv1alpha1.Repository) -> CachedRepository:
        """The open repository of `repo` (by `metadata.namespace`/`name`), opening it first
        if needed: backend through the opener of `spec.type`, full listing, metadata
        reconcile, ADDED events for every revision. Idempotent; concurrent callers share
        one open. A repository already open is returned as is (the object it was opened
        with stays; use `close_repository` + open to apply a changed spec). Raises the
        opener's errors (`InvalidRepositoryError` for an unsupported type, ...); a failed
        open leaves nothing behind and the next call tries again."""
        ...

    async def close_repository(self, namespace: str, name: str) -> None:
        """Forget a repository: DELETED events for all its revisions, metadata deleted,
        backend closed. No-op when it is not open."""
        ...

    def get_repository(self, namespace: str, name: str) -> CachedRepository | None:
        """The open repository, None when it is not (or not yet) open."""
        ...

    def repositories(self, namespace: str | None = None) -> list[CachedRepository]:
        """Open repositories (of `namespace`, None: all), ordered by (namespace, name)."""
        ...

    async def list_package_revisions(
        self, filter: PackageRevisionFilter = ANY, *, deadline: float | None = None
    ) -> list[CachedPackageRevision]:
        """Revisions matching `filter` across open repositories, ordered by (namespace, name).

        Repositories excluded by `filter` (namespace, repository, name prefix) are not
        touched. The others are listed in parallel, each within the cache's per-repository
        timeout and the absolute `deadline` (`time.monotonic()` seconds; None: none); a
        repository that fails or times out is logged and skipped, so a hanging repository
        never blocks a list that does not need it and only delays one that does by the
        timeout.
        """
        ...

    async def list_packages(
        self, filter: PackageFilter | None = None, *, deadline: float | None = None
    ) -> list[CachedPackage]:
        """Packages across open repositories, like `list_package_revisions`."""
        ...

    async def list_upstream_referrers(
        self, namespace: str, name: str, *, deadline: float | None = None
    ) -> list[CachedPackageRevision]:
        """Revisions of `namespace` (placeholders aside) whose clone task
        (`clone.upstreamRef.upstreamRef`) or upgrade task (`upgrade.newUpstreamRef`) names
        revision `name`, ordered by name: what keeps `name` from being deleted. Served from
        an index kept up as listings are applied, so O(referrers), not O(revisions); the
        repositories are brought up to date first, as for `list_package_revisions` (same
        `deadline`)."""
        ...

    async def close(self) -> None:
        """Close every repository (no events, metadata kept) and stop background work."""
        ...


# --- watch -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change as a watcher sees it.

    `object` is shared with other watchers (never mutate it). `sequence` is the event's
    number in the server-wide event order (see `WatcherManager.current_resource_version`).
    For DELETED, `object` is the last state of the revision.
    """

    type: EventType
    object: porchv1alpha1.PackageRevision
    sequence: int


class WatchEndReason(enum.StrEnum):
    """Why a watcher's iteration ended."""

    CLOSED = "closed"
    """The consumer closed it (`aclose`)."""
    OVERFLOW = "overflow"
    """Its queue filled up because the consumer did not keep up; the client must re-list."""
    SHUTDOWN = "shutdown"
    """The manager stopped (server shutdown)."""


class Watcher(Protocol):
    """One registered watch: an async iterator of `WatchEvent`s matching its filter.

    Events are queued per watcher, up to its queue size, by `WatcherManager.notify`
    (which never waits for a consumer). Iteration ends (StopAsyncIteration) when the
    watcher is closed, overflows or the manager shuts down; `end_reason` says which.
    Close it when done (`aclose`, or `async with`): the manager forgets it at once.
    """

    @property
    def end_reason(self) -> WatchEndReason | None: ...

    @property
    def pending(self) -> int:
        """Events queued and not yet consumed."""
        ...

    def __aiter__(self) -> AsyncIterator[WatchEvent]: ...

    async def __anext__(self) -> WatchEvent: ...

    async def aclose(self) -> None: ...


class WatcherManager(Protocol):
    """Fan-out of package revision changes to watchers.

    Writers (the cache) call `notify`; it filters the event for every watcher (namespace,
    field and label selectors via `PackageRevisionFilter.matches_object`, applied to every
    live event), queues it where it matches and returns without waiting. A MODIFIED whose
    new state no longer matches a watcher that saw the old one is delivered as DELETED; one
    that starts matching as ADDED.

    Sequence numbers: every notified event gets the next number; `current_resource_version`
    is the last one handed out and is what a list reports as its collection
    resourceVersion. To watch without losing events relative to a list, either register
    first, then list, then iterate (events between may repeat listed objects), or list,
    note `current_resource_version()`, and `watch(..., since=that)`.
    """

    def current_resource_version(self) -> int:
        """The sequence number of the last event; before any, a positive number (never
        0, which clients read as "any" when they watch from a list's resourceVersion)."""
        ...

    def watch(
        self,
        filter: PackageRevisionFilter,
        *,
        queue_size: int | None = None,
        since: int | None = None,
    ) -> Watcher:
        """Register a watcher. With `since`, the events after that sequence number still in
        the bounded history are queued first (filtered); `since` older than the history
        raises `ExpiredError`, `since` in the future is treated as "now"."""
        ...

    def notify(
        self,
        event_type: EventType,
        obj: porchv1alpha1.PackageRevision,
        *,
        old: porchv1alpha1.PackageRevision | None = None,
    ) -> int:
        """Record and fan out one change; returns its sequence number. `old` is the state
        before a MODIFIED (lets watchers whose filter the object leaves or enters see
        DELETED/ADDED). Never blocks and never raises for a slow watcher."""
        ...

    def watcher_count(self) -> int:
        """Registered, not yet ended watchers."""
        ...
