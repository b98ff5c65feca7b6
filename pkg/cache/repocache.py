"""The repository cache: open repositories, their revisions in memory, writes passed through.

Where this sits: the engine calls `RepositoryCache` (`cachetypes.Cache`) and the
`CachedRepository` objects it hands out; the sync loop (`pkg.cache.sync`) calls
`CachedRepository.refresh`. Below: a `repository.Repository` backend per repository (opened
through a `cachetypes.RepositoryOpener`, see `pkg.cache.backends`) and a
`metatypes.MetadataStore`. Events go to the `WatcherManager`.

How the memory stays current (Porch re-listed whole repositories far more often, which made
approvals slow as repositories grew, porch.md §10):

* open and `refresh` list the whole backend; a read re-lists only when the backend's
  `version()` differs from the version the memory reflects, and not while a write through
  the cache is in flight (that write brings the memory up to date itself);
* a write re-lists the package it touched (the approval's placeholder and the removed
  draft branch are in that package). With a backend that reports which packages changed
  between two versions (`cachetypes.ChangeReporter`, the git backend), the cache then
  also re-lists the other packages changed since the memory's version - other users of
  the same git clone wrote them - except those other writes through this cache are busy
  with: each write re-lists its own package when it ends, even when it fails. So
  concurrent writers on different packages each pay O(package), never O(repository).
  Reads catch up the same way. (Placeholders of other packages keep the branch head they
  were listed at until their package changes or the next full listing, as before.) Only a
  change the backend cannot account for (a fetch brought it) needs a full listing: the
  write still re-lists its package at once and leaves the rest to a background full
  re-list. Backends without the capability: a write that finds the backend changed before
  it re-lists everything;
* while writes are in flight, any listing applied leaves the revisions they are writing
  as they are (`_apply`'s `hold`): the write applies its revision with the metadata it
  carries, so watchers never see a new revision first without its labels;
* a discard (the engine's rollback of a create whose metadata could not be stored) drops
  the revision from memory without a listing and without creating metadata; the next read
  catches up, since the backend moved on;
* listings are applied one at a time per repository, each taken inside the apply lock, so
  a later listing is never overwritten by an earlier one; a full listing yields to the
  event loop every few hundred revisions while it compares;
* per applied listing: new names -> ADDED, changed backend state / metadata / latest flag
  -> MODIFIED, names gone -> DELETED (with their metadata); metadata records are created
  for revisions discovered without one and deleted for revisions gone (only after a
  successful full listing for the whole-repository reconcile); the packages (with their
  latest revision) and an index of upstream references (clone and upgrade tasks, for the
  engine's delete check) are kept up to date with it, so neither needs a scan.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from opentelemetry import trace

from api.porch import v1alpha1 as porchv1alpha1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.cache import cachetypes, packagerevision
from pkg.meta import metatypes
from pkg.repository import errors
from pkg.repository import repository as repo_api

__all__ = ["CacheOptions", "CachedRepository", "RepositoryCache", "repository_key_of"]

_log = logging.getLogger(__name__)
tracer = trace.get_tracer("cache")

_Entry = packagerevision.CachedPackageRevision

T = TypeVar("T")

_APPLY_CHUNK = 500
"""Revisions compared between two yields to the event loop while applying a listing."""


async def _shielded(work: Awaitable[T]) -> T:
    """Run `work` to completion even if the caller is cancelled (a client went away, a
    list timed out): applying a listing half-way would leave memory, metadata and events
    out of step. The caller stops waiting; the work finishes in the background."""
    task = asyncio.ensure_future(work)
    task.add_done_callback(_retrieve)
    return await asyncio.shield(task)


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a background result as seen; a caller that stopped waiting cannot report it."""
    if not task.cancelled() and (err := task.exception()) is not None:
        _log.debug("background cache work failed: %s", err)


@dataclasses.dataclass(frozen=True, slots=True)
class CacheOptions:
    """Tuning of a `RepositoryCache` (from the server's flags).

    `list_timeout_per_repository` bounds each repository's share of a cross-repository list
    (Porch's `--list-timeout-per-repo`, 20 s); `max_parallel_lists` bounds how many
    repositories are listed at once (Porch's `--max-parallel-repo-lists`, 10; 0 = no
    limit).
    """

    list_timeout_per_repository: float = 20.0
    max_parallel_lists: int = 10

    def __post_init__(self) -> None:
        if self.list_timeout_per_repository <= 0:
            raise ValueError("list_timeout_per_repository must be positive")
        if self.max_parallel_lists < 0:
            raise ValueError("max_parallel_lists must not be negative")


def repository_key_of(repo: configv1alpha1.Repository) -> tuple[str, str]:
    """(namespace, name) of a Repository object; `InvalidRepositoryError` without a name."""
    metadata = repo.metadata
    if metadata is None or not metadata.name:
        raise errors.InvalidRepositoryError("repository must have metadata.name")
    return metadata.namespace or "", metadata.name


def _release(counter: collections.Counter[str], key: str) -> None:
    """Count one use of `key` less, forgetting it at zero (counters stay small)."""
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


def _same_record(a: metatypes.PackageRevisionMeta, b: metatypes.PackageRevisionMeta) -> bool:
    """Whether a cached object built on `a` is still right for `b`: same user-visible
    fields and same version (the version is part of the resourceVersion)."""
    return a is b or (a.version == b.version and a.same_content(b))


def _span_attributes(key: repo_api.RepositoryKey) -> dict[str, str]:
    return {"repository": f"{key.namespace}/{key.name}"}


@dataclasses.dataclass(slots=True)
class _Changes:
    added: list[_Entry] = dataclasses.field(default_factory=list)
    modified: list[tuple[_Entry, _Entry]] = dataclasses.field(default_factory=list)
    deleted: list[_Entry] = dataclasses.field(default_factory=list)


class CachedRepository:
    """One open repository (`cachetypes.CachedRepository`). Created by `RepositoryCache`."""

    def __init__(
        self,
        *,
        repository: configv1alpha1.Repository,
        backend: repo_api.Repository,
        metadata: metatypes.MetadataStore,
        watcher_manager: cachetypes.WatcherManager,
    ) -> None:
        self._repository = repository
        self._backend = backend
        self._store = metadata
        self._watchers = watcher_manager
        self._key = backend.key
        spec = repository.spec
        self._deployment = bool(spec is not None and spec.deployment)
        self._revisions: dict[str, _Entry] = {}
        self._by_package: dict[str, dict[str, _Entry]] = {}
        self._sorted: list[_Entry] | None = None
        # Package path -> name of its latest revision (serves `kpt.dev/latest-revision=true`).
        self._latest: dict[str, str] = {}
        # Package path -> its package, and all of them by name; kept by `_fix_latest`.
        self._packages: dict[str, packagerevision.CachedPackage] = {}
        self._packages_sorted: list[packagerevision.CachedPackage] | None = None
        # Upstream references of non-placeholder revisions (clone upstreamRef, upgrade
        # newUpstreamRef), both ways: referrer name -> names, name -> referrer names.
        self._upstreams: dict[str, tuple[str, ...]] = {}
        self._referrers: dict[str, set[str]] = {}
        # Metadata records of this repository, by name (a copy of the store's).
        self._metas: dict[str, metatypes.PackageRevisionMeta] = {}
        # The backend version the memory reflects; None: unknown (re-list on next read).
        self._version: str | None = None
        # Head of the registered branch as of the last listing (backends that report it).
        self._branch_head: str | None = None
        self._apply_lock = asyncio.Lock()
        self._writes_in_flight = 0
        # Revisions (by name) and packages (by path) with writes in flight through us.
        self._inflight_names: collections.Counter[str] = collections.Counter()
        self._inflight_packages: collections.Counter[str] = collections.Counter()
        # Full listings applied since open (diagnostics; tests pin when they happen).
        self._full_listings = 0
        self._relist: asyncio.Future[None] | None = None
        self._closed = False

    # -- identity ---------------------------------------------------------------------------------
    @property
    def key(self) -> repo_api.RepositoryKey:
        return self._key

    @property
    def repository(self) -> configv1alpha1.Repository:
        return self._repository

    @property
    def backend(self) -> repo_api.Repository:
        """The backend repository (for the cache's own tests and the sync's diagnostics)."""
        return self._backend

    @property
    def full_listings(self) -> int:
        """How many times the whole repository was listed and applied since open (the
        open included): writes and most reads re-list only the packages that changed
        (diagnostics; tests pin when full listings happen)."""
        return self._full_listings

    def __repr__(self) -> str:
        return f"CachedRepository({self._key.namespace}/{self._key.name})"

    # -- loading ----------------------------------------------------------------------------------
    async def _load(self) -> None:
        """First full listing at open: read metadata, list, reconcile, ADDED events."""
        for meta in await self._store.list(self._key.namespace, self._key.name):
            self._metas[meta.name] = meta
        async with self._apply_lock:
            await self._relist_all()

    async def _relist_all(
        self,
        *,
        written: str | None = None,
        meta: metatypes.PackageRevisionMeta | None = None,
        own: str | None = None,
    ) -> _Changes:
        """List everything, apply, reconcile metadata (`written`/`meta` as for `_apply`;
        the revisions of writes in flight other than `own` are held). Caller holds the
        apply lock."""
        with tracer.start_as_current_span(
            "cachedRepository::refreshAllCachedPackages", attributes=_span_attributes(self._key)
        ):
            self._full_listings += 1
            version = await self._backend.version()
            await self._read_branch_head()
            listing = await self._backend.list_package_revisions()
            changes = await self._apply(
                listing, scope=None, written=written, meta=meta, hold=self._held(own)
            )
            # Records of revisions no longer in the backend (e.g. removed while the server
            # was down) go only after a successful full listing like this one.
            orphans = [name for name in self._metas if name not in self._revisions]
            if orphans:
                await self._store.delete_many(self._key.namespace, orphans)
                for name in orphans:
                    del self._metas[name]
            self._version = version
            return changes

    async def _relist_all_locked(self) -> _Changes:
        async with self._apply_lock:
            return await self._relist_all()

    async def _relist_package(
        self,
        package_path: str,
        *,
        written: str | None = None,
        meta: metatypes.PackageRevisionMeta | None = None,
        own: str | None = None,
    ) -> _Changes:
        """List one package and apply it (`written`/`meta` as for `_apply`; the revisions
        of writes in flight other than `own` are held); the caller moves the version.
        Caller holds the apply lock."""
        listing = await self._backend.list_package_revisions(
            repo_api.ListPackageRevisionFilter(package_path=package_path)
        )
        return await self._apply(
            listing, scope=package_path, written=written, meta=meta, hold=self._held(own)
        )

    async def _catch_up(
        self,
        reporter: cachetypes.ChangeReporter,
        package_path: str | None = None,
        *,
        written: str | None = None,
        meta: metatypes.PackageRevisionMeta | None = None,
        own: str | None = None,
    ) -> None:
        """Bring the memory up to the backend's current version, re-listing only the
        packages that changed since the memory's version, plus `package_path` (just written
        by the write named `own`; `written`/`meta` as for `_apply`). Packages other writes
        through this cache are busy with are left to those writes (each re-lists its
        package when it ends, even failing: `_after_failed_write`). When the backend cannot
        tell what changed, the written package is brought up to date now and everything
        else off the write's path (a background full re-list). Caller holds the lock."""
        if self._version is None:
            await self._relist_all(written=written, meta=meta, own=own)
            return
        version, changed = await reporter.changes_since(self._version)
        if changed is None:
            if package_path is None:
                await self._relist_all()
                return
            # Changed behind our back: the version stays stale, so the next read or the
            # background re-list scheduled here re-lists everything.
            await self._relist_package(package_path, written=written, meta=meta, own=own)
            self._schedule_relist()
            return
        if package_path is not None:
            await self._relist_package(package_path, written=written, meta=meta, own=own)
        others = sorted(
            path
            for path in changed
            if path != package_path and not self._inflight_packages.get(path)
        )
        caught_up = True
        for path in others:
            try:
                await self._relist_package(path, own=own)
            except errors.RepositoryError as err:
                if package_path is None:
                    raise  # a read: fails as a full re-list would
                # Not the write's failure: it landed and is served. The version stays
                # behind, so the next read or write re-lists these packages again.
                _log.warning("cannot re-list package %s of %s: %s", path, self._key.name, err)
                caught_up = False
        if changed:
            # An approval moves the branch (its merge commit): keep the status fact current.
            await self._read_branch_head()
        if caught_up:
            self._version = version

    async def _read_branch_head(self) -> None:
        """Remember the branch head when the backend reports it (`status.gitCommitHash`),
        next to the version and listing it belongs with. Caller holds the apply lock."""
        if isinstance(self._backend, cachetypes.BranchHeadReporter):
            self._branch_head = await self._backend.branch_head()

    async def _ensure_current(self) -> None:
        """Re-list when the backend changed behind the memory's back (see module doc)."""
        if self._writes_in_flight:
            return
        version = await self._backend.version()
        if version == self._version:
            return
        # Shared by concurrent readers; a reader that gives up does not cancel it.
        await asyncio.shield(self._schedule_relist())

    def _schedule_relist(self) -> asyncio.Future[None]:
        """The re-list in progress, or a new one (run as a task of its own)."""
        if self._relist is None:
            self._relist = asyncio.ensure_future(self._relist_if_stale())
            self._relist.add_done_callback(self._relist_done)
        return self._relist

    def _relist_done(self, task: asyncio.Future[None]) -> None:
        self._relist = None
        if not task.cancelled() and task.exception() is not None:
            # The readers awaiting it got the exception (and log it); keep a trace here.
            _log.debug("re-listing %s failed: %s", self._key.name, task.exception())

    async def _relist_if_stale(self) -> None:
        async with self._apply_lock:
            if self._closed:
                return
            if isinstance(self._backend, cachetypes.ChangeReporter):
                # Safe while writes are in flight: their revisions are held (see `_apply`).
                await self._catch_up(self._backend)
                return
            if self._writes_in_flight or await self._backend.version() == self._version:
                return
            await self._relist_all()

    def _held(self, own: str | None) -> frozenset[str]:
        """Names of revisions other writes through this cache are busy with (all but
        `own`): a listing leaves them as they are in memory, for those writes to apply
        with the metadata they carry (see `_catch_up`)."""
        if not self._inflight_names:
            return frozenset()
        return frozenset(name for name in self._inflight_names if name != own)

    # -- applying listings ---------------------------------------------------------------------
    async def _kptfile_info(
        self, snapshot: repo_api.PackageRevision, previous: _Entry | None
    ) -> packagerevision.KptfileInfo:
        if previous is not None and previous.resource_version == snapshot.resource_version:
            # Same commit, same package directory: same Kptfile.
            return previous.kptfile
        try:
            text = await snapshot.kptfile()
        except errors.RepositoryError as err:
            _log.warning("cannot read the Kptfile of %s: %s", snapshot.name, err)
            return packagerevision.EMPTY_KPTFILE
        return packagerevision.parse_kptfile(text, where=snapshot.name)

    async def _apply(
        self,
        listing: Sequence[repo_api.PackageRevision],
        *,
        scope: str | None,
        written: str | None = None,
        meta: metatypes.PackageRevisionMeta | None = None,
        hold: frozenset[str] = frozenset(),
    ) -> _Changes:
        """Make memory match `listing` (all revisions, or those of package `scope`), store
        metadata changes, send events. `meta` is the metadata the engine gave for the
        revision `written`. Revisions named in `hold` stay as they are (present, absent or
        changed in the listing). Caller holds the apply lock."""
        # A copy: the maps are updated below while `before` must keep the old state.
        before: Mapping[str, _Entry] = dict(
            self._revisions if scope is None else self._by_package.get(scope, {})
        )
        listed: dict[str, repo_api.PackageRevision] = {}
        for snapshot in listing:
            if snapshot.name not in hold:
                listed.setdefault(snapshot.name, snapshot)

        # Metadata: records to create for new names, the written revision's new record.
        namespace = self._key.namespace
        to_create: list[metatypes.PackageRevisionMeta] = []
        metas: dict[str, metatypes.PackageRevisionMeta] = {}
        update: metatypes.PackageRevisionMeta | None = None
        for name in listed:
            existing = self._metas.get(name)
            if name == written and meta is not None:
                if existing is None:
                    given = dataclasses.replace(
                        meta, namespace=namespace, repository=self._key.name
                    )
                    to_create.append(given)
                    metas[name] = given
                else:
                    if not existing.same_content(meta):
                        # Only a real change costs a (durable) store write.
                        update = meta
                    metas[name] = existing
            elif existing is None:
                fresh = metatypes.PackageRevisionMeta.new(namespace, name, self._key.name)
                to_create.append(fresh)
                metas[name] = fresh
            else:
                metas[name] = existing
        gone = [name for name in before if name not in listed and name not in hold]
        meta_error: errors.RepositoryError | None = None
        try:
            if to_create:
                to_create = await self._create_metas(to_create, metas)
            if update is not None:
                metas[update.name] = await self._store.update(update)
        except errors.RepositoryError as err:
            # The backend holds the revision already; serve it with the metadata we have
            # and let the caller report the failure. The next reconcile retries.
            _log.error("cannot store metadata of repository %s: %s", self._key.name, err)
            meta_error = err
            for fresh in to_create:
                self._metas.pop(fresh.name, None)
        else:
            for record in to_create:
                self._metas[record.name] = record
            if update is not None:
                self._metas[update.name] = metas[update.name]
        if gone:
            try:
                await self._store.delete_many(namespace, gone)
            except errors.RepositoryError as err:
                _log.error("cannot delete metadata of repository %s: %s", self._key.name, err)
            else:
                for name in gone:
                    self._metas.pop(name, None)

        # New entries (latest flags fixed below).
        entries: dict[str, _Entry] = {}
        for count, (name, snapshot) in enumerate(listed.items(), 1):
            if count % _APPLY_CHUNK == 0:
                # A full listing is long: let requests run meanwhile (what they read is
                # replaced only after the loop; other appliers wait for the lock we hold).
                await asyncio.sleep(0)
            previous = before.get(name)
            record = metas[name]
            if previous is not None and previous.same_backend_state(snapshot):
                same_meta = _same_record(previous.meta, record)
                entries[name] = previous if same_meta else previous.replace(meta=record)
            else:
                entries[name] = packagerevision.CachedPackageRevision(
                    snapshot,
                    record,
                    is_latest=False,
                    kptfile=await self._kptfile_info(snapshot, previous),
                    deployment=self._deployment,
                )

        # Replace the scope in memory.
        for name in gone:
            old = self._revisions.pop(name)
            self._index(name, None)
            package = self._by_package.get(old.key.pkg_key.package_path)
            if package is not None:
                package.pop(name, None)
                if not package:
                    del self._by_package[old.key.pkg_key.package_path]
        affected: set[str] = {before[name].key.pkg_key.package_path for name in gone}
        for name, entry in entries.items():
            path = entry.key.pkg_key.package_path
            self._by_package.setdefault(path, {})[name] = entry
            self._revisions[name] = entry
            previous = before.get(name)
            if previous is None or previous.snapshot is not entry.snapshot:
                self._index(name, entry)
            affected.add(path)
        self._sorted = None
        self._fix_latest(affected)

        # Events, from the final entries (latest flags included).
        changes = _Changes()
        for name in gone:
            changes.deleted.append(before[name])
        for name in entries:
            final = self._revisions[name]
            previous = before.get(name)
            if previous is None:
                changes.added.append(final)
            elif final is not previous:
                changes.modified.append((previous, final))
        # Latest flags only move within a package, and a scope is a whole package (or all),
        # so every replaced entry is in `entries` and was compared above - or is held.
        for name in hold:
            held_before = before.get(name)
            held_now = self._revisions.get(name)
            if held_before is not None and held_now is not None and held_now is not held_before:
                changes.modified.append((held_before, held_now))
        self._notify(changes)
        if meta_error is not None:
            raise errors.BackendUnavailableError(
                f"package revision stored, but its metadata could not be saved: {meta_error}"
            ) from meta_error
        return changes

    async def _create_metas(
        self,
        records: list[metatypes.PackageRevisionMeta],
        metas: dict[str, metatypes.PackageRevisionMeta],
    ) -> list[metatypes.PackageRevisionMeta]:
        """Create `records`; returns those created. If the store already holds some (our
        copy missed them, e.g. an earlier apply died between store and memory), use the
        stored ones (updating `metas`) and create the rest."""
        try:
            await self._store.create_many(records)
            return records
        except errors.AlreadyExistsError:
            stored = {
                m.name: m for m in await self._store.list(self._key.namespace, self._key.name)
            }
        missing = [record for record in records if record.name not in stored]
        await self._store.create_many(missing)
        for record in records:
            if record.name in stored:
                metas[record.name] = stored[record.name]
                self._metas[record.name] = stored[record.name]
        return missing

    def _fix_latest(self, package_paths: Iterable[str]) -> None:
        """Recompute the latest flag of every revision of `package_paths` (replacing the
        cached objects whose flag changes)."""
        for path in package_paths:
            group = self._by_package.get(path)
            if not group:
                self._latest.pop(path, None)
                if self._packages.pop(path, None) is not None:
                    self._packages_sorted = None
                continue
            latest_name: str | None = None
            latest_revision = 0
            for name, entry in group.items():
                revision = entry.key.revision
                if entry.lifecycle.is_published and revision > latest_revision:
                    latest_name, latest_revision = name, revision
            if latest_name is None:
                self._latest.pop(path, None)
            else:
                self._latest[path] = latest_name
            package = self._packages.get(path)
            if package is None or package.latest_revision != latest_revision:
                first = next(iter(group.values()))
                self._packages[path] = packagerevision.CachedPackage(
                    first.key.pkg_key, latest_revision
                )
                self._packages_sorted = None
            for name, entry in list(group.items()):
                should = name == latest_name
                if entry.is_latest != should:
                    replaced = entry.replace(is_latest=should)
                    group[name] = replaced
                    self._revisions[name] = replaced
                    self._sorted = None

    def _notify(self, changes: _Changes) -> None:
        for entry in changes.deleted:
            self._watchers.notify("DELETED", entry.to_api())
        for entry in changes.added:
            self._watchers.notify("ADDED", entry.to_api())
        for previous, entry in changes.modified:
            self._watchers.notify("MODIFIED", entry.to_api(), old=previous.to_api())

    # -- reads ------------------------------------------------------------------------------------
    def _all_sorted(self) -> list[_Entry]:
        # Invalidated by every change (changes replace entries), rebuilt on the next read.
        if self._sorted is None:
            self._sorted = sorted(self._revisions.values(), key=lambda e: e.name)
        return self._sorted

    def select(self, filter: cachetypes.PackageRevisionFilter) -> list[_Entry]:
        """Memory only, no version check: revisions matching `filter`, ordered by name."""
        if not filter.matches_repository(self._key.namespace, self._key.name):
            return []
        if filter.name is not None:
            entry = self._revisions.get(filter.name)
            return [entry] if entry is not None and filter.matches(entry) else []
        if filter.package_path is not None:
            group = self._by_package.get(filter.package_path)
            if not group:
                return []
            candidates = sorted(group.values(), key=lambda e: e.name)
        elif (
            filter.label_selector is not None
            and filter.label_selector.requires_exact_match(porchv1alpha1.LATEST_REVISION_LABEL)
            == porchv1alpha1.LATEST_REVISION_VALUE
        ):
            # Only latest revisions can match: O(packages), not O(revisions).
            revisions = self._revisions
            candidates = sorted(
                (revisions[name] for name in self._latest.values()), key=lambda e: e.name
            )
        else:
            candidates = self._all_sorted()
        if (
            filter.workspace is None
            and filter.revision is None
            and not filter.lifecycles
            and filter.label_selector is None
            and not filter.kptfile_labels
        ):
            return list(candidates)
        return [e for e in candidates if filter.matches(e)]

    async def list_package_revisions(
        self, filter: cachetypes.PackageRevisionFilter = cachetypes.ANY
    ) -> list[cachetypes.CachedPackageRevision]:
        with tracer.start_as_current_span(
            "cachedRepository::ListPackageRevisions",
            attributes={
                **_span_attributes(self._key),
                "package": filter.package_path or "",
                "workspace": filter.workspace or "",
            },
        ):
            self._check_open()
            await self._ensure_current()
            return list(self.select(filter))

    async def get_package_revision(self, name: str) -> _Entry | None:
        self._check_open()
        await self._ensure_current()
        return self._revisions.get(name)

    def packages(
        self, filter: cachetypes.PackageFilter | None = None
    ) -> list[packagerevision.CachedPackage]:
        """Memory only: packages matching `filter`, ordered by name."""
        if filter is not None and not filter.matches_repository(
            self._key.namespace, self._key.name
        ):
            return []
        candidates: list[packagerevision.CachedPackage]
        if filter is not None and filter.package_path is not None:
            package = self._packages.get(filter.package_path)
            candidates = [package] if package is not None else []
        else:
            if self._packages_sorted is None:
                self._packages_sorted = sorted(self._packages.values(), key=lambda p: p.name)
            candidates = self._packages_sorted
        if filter is not None and filter.name is not None:
            return [p for p in candidates if p.name == filter.name]
        return list(candidates)

    def upstream_referrers(self, name: str) -> list[_Entry]:
        """Memory only: the revisions (placeholders aside) whose clone or upgrade task names
        revision `name` as its upstream, ordered by name."""
        referrers = self._referrers.get(name)
        if not referrers:
            return []
        return sorted((self._revisions[r] for r in referrers), key=lambda e: e.name)

    def _index(self, name: str, entry: _Entry | None) -> None:
        """Record the upstream references of revision `name` (None: it is gone)."""
        for upstream in self._upstreams.pop(name, ()):
            referrers = self._referrers[upstream]
            referrers.discard(name)
            if not referrers:
                del self._referrers[upstream]
        if entry is None or entry.key.is_placeholder:
            # Placeholders repeat their package's task: not references of their own.
            return
        upstreams = packagerevision.upstream_names(entry.snapshot.tasks)
        if upstreams:
            self._upstreams[name] = upstreams
            for upstream in upstreams:
                self._referrers.setdefault(upstream, set()).add(name)

    async def list_packages(
        self, filter: cachetypes.PackageFilter | None = None
    ) -> list[cachetypes.CachedPackage]:
        self._check_open()
        await self._ensure_current()
        return list(self.packages(filter))

    def facts(self) -> cachetypes.RefreshResult:
        head = self._branch_head
        if not isinstance(self._backend, cachetypes.BranchHeadReporter):
            # The placeholder revisions are at the branch's head commit.
            head = next(
                (e.resource_version for e in self._revisions.values() if e.key.is_placeholder),
                None,
            )
        return cachetypes.RefreshResult(
            package_revision_count=len(self._revisions),
            branch_head=head,
            version=self._version or "",
        )

    # -- writes -----------------------------------------------------------------------------------
    async def create_package_revision_draft(
        self, key: repo_api.PackageRevisionKey, *, user: repo_api.UserInfo | None = None
    ) -> repo_api.PackageRevisionDraft:
        self._check_open()
        return await self._backend.create_package_revision_draft(key, user=user)

    async def update_package_revision(
        self, old: cachetypes.CachedPackageRevision, *, user: repo_api.UserInfo | None = None
    ) -> repo_api.PackageRevisionDraft:
        self._check_open()
        return await self._backend.update_package_revision(old.snapshot, user=user)

    @contextlib.asynccontextmanager
    async def _writing(self, package_path: str, name: str) -> AsyncIterator[bool]:
        """Mark a write of revision `name` (package `package_path`) in flight; yields
        whether the memory was current before it (backends without
        `cachetypes.ChangeReporter`; with one, `_catch_up` finds out afterwards)."""
        clean = isinstance(self._backend, cachetypes.ChangeReporter) or (
            self._version is not None and await self._backend.version() == self._version
        )
        self._writes_in_flight += 1
        self._inflight_names[name] += 1
        self._inflight_packages[package_path] += 1
        try:
            yield clean
        finally:
            self._writes_in_flight -= 1
            _release(self._inflight_names, name)
            _release(self._inflight_packages, package_path)

    async def close_package_revision_draft(
        self,
        draft: repo_api.PackageRevisionDraft,
        revision: int = 0,
        *,
        meta: metatypes.PackageRevisionMeta | None = None,
    ) -> _Entry:
        self._check_open()
        key = draft.key
        with tracer.start_as_current_span(
            "cachedRepository::ClosePackageRevisionDraft",
            attributes={
                **_span_attributes(self._key),
                "package": key.pkg_key.package_path,
                "workspace": key.workspace_name,
            },
        ):
            # Shielded: a client going away must not stop memory following the write.
            snapshot = await _shielded(self._close_draft(draft, revision, meta))
            entry = self._revisions.get(snapshot.name)
            if entry is None:
                raise errors.BackendUnavailableError(
                    f"package revision {snapshot.name} was written but is not listed by "
                    f"repository {self._key.name}"
                )
            return entry

    async def _close_draft(
        self,
        draft: repo_api.PackageRevisionDraft,
        revision: int,
        meta: metatypes.PackageRevisionMeta | None,
    ) -> repo_api.PackageRevision:
        key = draft.key
        package_path = key.pkg_key.package_path
        own = key.k8s_name()
        async with self._writing(package_path, own) as clean:
            try:
                snapshot = await self._backend.close_package_revision_draft(draft, revision)
            except Exception:
                await self._after_failed_write(package_path, own)
                raise
            await self._after_write(
                clean,
                snapshot.key.pkg_key.package_path,
                written=snapshot.name,
                meta=meta,
                own=own,
            )
            return snapshot

    async def _after_write(
        self,
        clean: bool,
        package_path: str,
        *,
        written: str | None = None,
        meta: metatypes.PackageRevisionMeta | None = None,
        own: str | None = None,
    ) -> None:
        """Bring memory up to date after a write of revision `own` to `package_path`."""
        async with self._apply_lock:
            if isinstance(self._backend, cachetypes.ChangeReporter):
                await self._catch_up(
                    self._backend, package_path, written=written, meta=meta, own=own
                )
                return
            if clean:
                version = await self._backend.version()
                await self._read_branch_head()
                await self._relist_package(package_path, written=written, meta=meta, own=own)
                self._version = version
                return
            # The backend had changed before our write: bring everything up to date.
            await self._relist_all(written=written, meta=meta, own=own)

    async def _after_failed_write(self, package_path: str, own: str) -> None:
        """After a backend write failed: re-list its package all the same (it may have
        landed before failing, and other writes left the package to this one, see
        `_catch_up`). Failures here are logged; the caller raises the write's error."""
        if not isinstance(self._backend, cachetypes.ChangeReporter):
            return
        try:
            async with self._apply_lock:
                await self._catch_up(self._backend, package_path, own=own)
        except errors.RepositoryError as err:
            _log.warning(
                "cannot re-list package %s of %s after a failed write: %s",
                package_path,
                self._key.name,
                err,
            )

    async def update_package_revision_meta(self, meta: metatypes.PackageRevisionMeta) -> _Entry:
        self._check_open()
        with tracer.start_as_current_span(
            "cachedRepository::UpdatePackageRevisionMeta",
            attributes={**_span_attributes(self._key), "name": meta.name},
        ):
            return await _shielded(self._store_meta_locked(meta))

    async def _store_meta_locked(self, meta: metatypes.PackageRevisionMeta) -> _Entry:
        async with self._apply_lock:
            return await self._store_meta(meta)

    async def _store_meta(self, meta: metatypes.PackageRevisionMeta) -> _Entry:
        """Store `meta` for a cached revision and send MODIFIED. Caller holds the lock."""
        entry = self._revisions.get(meta.name)
        if entry is None:
            raise errors.NotFoundError(
                f'package revision "{self._key.namespace}/{meta.name}" not found'
            )
        meta = dataclasses.replace(meta, namespace=self._key.namespace, repository=self._key.name)
        current = self._metas.get(meta.name)
        if current is not None and current.same_content(meta):
            stored = current  # nothing to write
        elif current is not None:
            stored = await self._store.update(meta)
        else:
            stored = await self._store.create(
                dataclasses.replace(meta, creation_timestamp=entry.meta.creation_timestamp)
            )
        self._metas[meta.name] = stored
        if _same_record(stored, entry.meta):
            return entry
        replaced = entry.replace(meta=stored)
        self._revisions[meta.name] = replaced
        self._by_package[entry.key.pkg_key.package_path][meta.name] = replaced
        self._sorted = None
        self._watchers.notify("MODIFIED", replaced.to_api(), old=entry.to_api())
        return replaced

    async def delete_package_revision(
        self, old: cachetypes.CachedPackageRevision, *, user: repo_api.UserInfo | None = None
    ) -> None:
        self._check_open()
        key = old.key
        with tracer.start_as_current_span(
            "cachedRepository::DeletePackageRevision",
            attributes={
                **_span_attributes(self._key),
                "package": key.pkg_key.package_path,
                "workspace": key.workspace_name,
            },
        ):
            await _shielded(self._delete(old.snapshot, user))

    async def _delete(
        self, snapshot: repo_api.PackageRevision, user: repo_api.UserInfo | None
    ) -> None:
        package_path = snapshot.key.pkg_key.package_path
        async with self._writing(package_path, snapshot.name) as clean:
            try:
                await self._backend.delete_package_revision(snapshot, user=user)
            except Exception:
                await self._after_failed_write(package_path, snapshot.name)
                raise
            await self._after_write(clean, package_path, own=snapshot.name)

    async def discard_package_revision(
        self,
        name_or_snapshot: str | repo_api.PackageRevision,
        *,
        user: repo_api.UserInfo | None = None,
    ) -> None:
        self._check_open()
        name = name_or_snapshot if isinstance(name_or_snapshot, str) else name_or_snapshot.name
        with tracer.start_as_current_span(
            "cachedRepository::DiscardPackageRevision",
            attributes={**_span_attributes(self._key), "name": name},
        ):
            package_path = (
                self._key_of(name_or_snapshot)
                if isinstance(name_or_snapshot, str)
                else name_or_snapshot.key
            ).pkg_key.package_path
            async with self._writing(package_path, name):
                snapshot = (
                    await self._backend_snapshot(name_or_snapshot)
                    if isinstance(name_or_snapshot, str)
                    else name_or_snapshot
                )
                if snapshot is not None:
                    await self._backend.delete_package_revision(snapshot, user=user)
                await _shielded(self._forget(name))

    def _key_of(self, name: str) -> repo_api.PackageRevisionKey:
        """The key of revision `name`: cached, else parsed (`InvalidPackageError`)."""
        cached = self._revisions.get(name)
        if cached is not None:
            return cached.key
        return repo_api.parse_package_revision_name(self._key.namespace, name)

    async def _backend_snapshot(self, name: str) -> repo_api.PackageRevision | None:
        """The backend's current snapshot of revision `name`, None when it holds none."""
        key = self._key_of(name)
        # By package only: the workspace of a published revision is not in its name.
        listed = await self._backend.list_package_revisions(
            repo_api.ListPackageRevisionFilter(package_path=key.pkg_key.package_path)
        )
        return next((snapshot for snapshot in listed if snapshot.name == name), None)

    async def _forget(self, name: str) -> None:
        """Drop revision `name` from memory (DELETED, MODIFIED for a new latest) and its
        metadata record if the store allows. No listing and no record created, so this
        works while the store is failing. The backend version the memory reflects is left
        as it was: the next read re-lists if the backend moved on (it did: the deletion)."""
        async with self._apply_lock:
            entry = self._revisions.pop(name, None)
            if entry is not None:
                self._index(name, None)
                path = entry.key.pkg_key.package_path
                group = self._by_package[path]
                del group[name]
                before = dict(group)
                if not group:
                    del self._by_package[path]
                self._sorted = None
                self._fix_latest([path])
                changes = _Changes(deleted=[entry])
                for other, previous in before.items():
                    if self._revisions[other] is not previous:
                        changes.modified.append((previous, self._revisions[other]))
                self._notify(changes)
            try:
                await self._store.delete_many(self._key.namespace, [name])
            except errors.RepositoryError as err:
                _log.error("cannot delete metadata of %s/%s: %s", self._key.namespace, name, err)
            else:
                self._metas.pop(name, None)

    async def set_repository(self, repository: configv1alpha1.Repository) -> None:
        """Adopt a new version of the Repository object (same location). When
        `spec.deployment` changed, every revision is rebuilt and sent as MODIFIED."""
        spec = repository.spec
        deployment = bool(spec is not None and spec.deployment)
        self._repository = repository
        if deployment == self._deployment:
            return
        await _shielded(self._redeploy(deployment))

    async def _redeploy(self, deployment: bool) -> None:
        async with self._apply_lock:
            self._deployment = deployment
            changes = _Changes()
            for name, entry in list(self._revisions.items()):
                rebuilt = packagerevision.CachedPackageRevision(
                    entry.snapshot,
                    entry.meta,
                    is_latest=entry.is_latest,
                    kptfile=entry.kptfile,
                    deployment=deployment,
                )
                self._revisions[name] = rebuilt
                self._by_package[entry.key.pkg_key.package_path][name] = rebuilt
                changes.modified.append((entry, rebuilt))
            self._sorted = None
            self._notify(changes)

    # -- refresh and close ----------------------------------------------------------------------
    async def refresh(self) -> cachetypes.RefreshResult:
        self._check_open()
        with tracer.start_as_current_span(
            "Repository::refresh", attributes=_span_attributes(self._key)
        ):
            await self._backend.refresh()
            changes = await _shielded(self._relist_all_locked())
        facts = self.facts()
        return dataclasses.replace(
            facts,
            added=len(changes.added),
            modified=len(changes.modified),
            deleted=len(changes.deleted),
        )

    async def _close(self, *, forget: bool) -> None:
        """Stop serving; with `forget`, DELETED events and metadata removal first."""
        async with self._apply_lock:
            if self._closed:
                return
            self._closed = True
            if forget:
                for entry in self._all_sorted():
                    self._watchers.notify("DELETED", entry.to_api())
                try:
                    await self._store.delete_repository(self._key.namespace, self._key.name)
                except errors.RepositoryError as err:
                    _log.error("cannot delete metadata of repository %s: %s", self._key.name, err)
            self._revisions.clear()
            self._by_package.clear()
            self._latest.clear()
            self._packages.clear()
            self._packages_sorted = None
            self._upstreams.clear()
            self._referrers.clear()
            self._sorted = None
            self._metas.clear()
        try:
            await self._backend.close()
        except errors.RepositoryError as err:
            _log.warning("closing repository %s: %s", self._key.name, err)

    def _check_open(self) -> None:
        if self._closed:
            raise errors.NotFoundError(
                f'repository "{self._key.namespace}/{self._key.name}" is not open'
            )


class RepositoryCache:
    """The open repositories of one server (`cachetypes.Cache`)."""

    def __init__(
        self,
        *,
        opener: cachetypes.RepositoryOpener,
        metadata: metatypes.MetadataStore,
        watcher_manager: cachetypes.WatcherManager,
        options: CacheOptions | None = None,
    ) -> None:
        self._opener = opener
        self._store = metadata
        self._watcher_manager = watcher_manager
        self._options = options or CacheOptions()
        self._repositories: dict[tuple[str, str], CachedRepository] = {}
        self._opening: dict[tuple[str, str], asyncio.Task[CachedRepository]] = {}
        self._list_slots = (
            asyncio.Semaphore(self._options.max_parallel_lists)
            if self._options.max_parallel_lists
            else None
        )

    @property
    def watcher_manager(self) -> cachetypes.WatcherManager:
        return self._watcher_manager

    @property
    def options(self) -> CacheOptions:
        return self._options

    # -- open / close -----------------------------------------------------------------------------
    async def open_repository(self, repo: configv1alpha1.Repository) -> CachedRepository:
        key = repository_key_of(repo)
        cached = self._repositories.get(key)
        if cached is not None:
            return cached
        task = self._opening.get(key)
        if task is None:
            task = asyncio.create_task(self._open(key, repo), name=f"open-repository-{key[1]}")
            self._opening[key] = task
            task.add_done_callback(lambda _: self._opening.pop(key, None))
        # Shielded: one caller giving up must not cancel the open others wait for.
        return await asyncio.shield(task)

    async def _open(
        self, key: tuple[str, str], repo: configv1alpha1.Repository
    ) -> CachedRepository:
        with tracer.start_as_current_span(
            "Cache::OpenRepository", attributes={"repository": f"{key[0]}/{key[1]}"}
        ):
            backend = await self._opener(repo)
            cached = CachedRepository(
                repository=repo,
                backend=backend,
                metadata=self._store,
                watcher_manager=self._watcher_manager,
            )
            try:
                await cached._load()
            except BaseException:
                with contextlib.suppress(Exception):
                    await backend.close()
                raise
            self._repositories[key] = cached
            _log.info(
                "opened repository %s/%s: %d package revisions",
                key[0],
                key[1],
                len(cached._revisions),
            )
            return cached

    async def close_repository(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        opening = self._opening.get(key)
        if opening is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(opening)
        cached = self._repositories.pop(key, None)
        if cached is not None:
            with tracer.start_as_current_span(
                "Cache::CloseRepository", attributes={"repository": f"{namespace}/{name}"}
            ):
                await cached._close(forget=True)

    def get_repository(self, namespace: str, name: str) -> CachedRepository | None:
        return self._repositories.get((namespace, name))

    def repositories(self, namespace: str | None = None) -> list[cachetypes.CachedRepository]:
        return [
            cached
            for key, cached in sorted(self._repositories.items())
            if namespace is None or key[0] == namespace
        ]

    async def close(self) -> None:
        for task in list(self._opening.values()):
            task.cancel()
        repositories = list(self._repositories.values())
        self._repositories.clear()
        for cached in repositories:
            await cached._close(forget=False)

    # -- cross-repository reads ------------------------------------------------------------------
    async def _gather(
        self,
        repositories: list[CachedRepository],
        deadline: float | None,
        what: str,
    ) -> list[CachedRepository]:
        """Bring `repositories` up to date in parallel (bounded, per-repository timeout and
        overall deadline); returns those that succeeded. Failures are logged, not raised."""
        if not repositories:
            return []
        loop = asyncio.get_running_loop()
        slots = self._list_slots

        async def one(cached: CachedRepository) -> CachedRepository | None:
            timeout = self._options.list_timeout_per_repository
            if deadline is not None:
                timeout = min(timeout, deadline - time.monotonic())
            if timeout <= 0:
                _log.warning("%s: no time left for repository %s", what, cached.key.name)
                return None
            started = loop.time()
            try:
                async with asyncio.timeout(timeout):
                    if slots is not None:
                        async with slots:
                            await cached._ensure_current()
                    else:
                        await cached._ensure_current()
            except TimeoutError:
                _log.warning(
                    "%s: repository %s/%s did not answer within %.1fs; skipped",
                    what,
                    cached.key.namespace,
                    cached.key.name,
                    loop.time() - started,
                )
                return None
            except errors.RepositoryError as err:
                _log.warning(
                    "%s: repository %s/%s failed; skipped: %s",
                    what,
                    cached.key.namespace,
                    cached.key.name,
                    err,
                )
                return None
            return cached

        if len(repositories) == 1:
            done = [await one(repositories[0])]
        else:
            done = list(await asyncio.gather(*(one(c) for c in repositories)))
        return [c for c in done if c is not None and not c._closed]

    async def list_package_revisions(
        self,
        filter: cachetypes.PackageRevisionFilter = cachetypes.ANY,
        *,
        deadline: float | None = None,
    ) -> list[cachetypes.CachedPackageRevision]:
        with tracer.start_as_current_span(
            "Cache::ListPackageRevisions",
            attributes={
                "namespace": filter.namespace or "",
                "repository": filter.repository or "",
                "package": filter.package_path or "",
            },
        ):
            candidates = [
                cached
                for key, cached in sorted(self._repositories.items())
                if filter.matches_repository(key[0], key[1])
            ]
            ready = await self._gather(candidates, deadline, "list package revisions")
            result: list[cachetypes.CachedPackageRevision] = []
            for cached in ready:
                result.extend(cached.select(filter))
            if len(ready) > 1:
                # Each part is sorted already; Timsort merges the runs in linear time.
                result.sort(key=lambda e: (e.namespace, e.name))
            return result

    async def list_upstream_referrers(
        self, namespace: str, name: str, *, deadline: float | None = None
    ) -> list[cachetypes.CachedPackageRevision]:
        with tracer.start_as_current_span(
            "Cache::ListUpstreamReferrers", attributes={"namespace": namespace, "name": name}
        ):
            candidates = [
                cached for key, cached in sorted(self._repositories.items()) if key[0] == namespace
            ]
            ready = await self._gather(candidates, deadline, "list upstream referrers")
            result: list[cachetypes.CachedPackageRevision] = []
            for cached in ready:
                result.extend(cached.upstream_referrers(name))
            if len(ready) > 1:
                result.sort(key=lambda e: e.name)
            return result

    async def list_packages(
        self, filter: cachetypes.PackageFilter | None = None, *, deadline: float | None = None
    ) -> list[cachetypes.CachedPackage]:
        with tracer.start_as_current_span("Cache::ListPackages"):
            candidates = [
                cached
                for key, cached in sorted(self._repositories.items())
                if filter is None or filter.matches_repository(key[0], key[1])
            ]
            ready = await self._gather(candidates, deadline, "list packages")
            result: list[cachetypes.CachedPackage] = []
            for cached in ready:
                result.extend(cached.packages(filter))
            if len(ready) > 1:
                result.sort(key=lambda p: (p.key.repo_key.namespace, p.name))
            return result
