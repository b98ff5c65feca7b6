"""The repository controller: registered Repository objects -> open, sync and close.

Where this sits: the server wiring (`pkg/cmd`) starts one `RepositoryController` over a
`RepositorySource`: in standalone mode an adapter over the server's own Repository store,
in aggregated mode one over the Kubernetes API (both written in `pkg/cmd`). The controller
lists the Repository objects, runs a `pkg.cache.sync.SyncManager` for each (which opens the
repository in the cache on its first sync and keeps its status current), then follows the
source's watch:

* ADDED: start syncing (the first sync opens and lists the repository);
* MODIFIED: hand the new object to its sync manager (a new generation syncs at once,
  a changed schedule or runOnceAt reschedules); an object being deleted
  (`metadata.deletionTimestamp`) is treated as DELETED;
* DELETED: stop its sync, close it in the cache (DELETED events for its revisions, its
  metadata removed, its backend released).

When the watch ends or fails the controller lists again (back-off 1 s doubling to 30 s) and
reconciles the difference, so a missed event is never lost for good. One repository's
failure never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Final, Literal, Protocol

from opentelemetry import metrics

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.cache import repocache, sync

__all__ = ["RepositoryController", "RepositorySource"]

_log = logging.getLogger(__name__)

_BACKOFF_INITIAL: Final = 1.0
_BACKOFF_MAX: Final = 30.0

RepositoryEventType = Literal["ADDED", "MODIFIED", "DELETED"]


class RepositorySource(Protocol):
    """Where Repository objects come from and their status goes (see module doc)."""

    async def list_repositories(self) -> tuple[list[configv1alpha1.Repository], str]:
        """Every Repository object (all namespaces) and the list's resourceVersion."""
        ...

    def watch_repositories(
        self, resource_version: str
    ) -> AsyncIterator[tuple[RepositoryEventType, configv1alpha1.Repository]]:
        """Changes after `resource_version`, as (event type, object). Ending (or raising)
        makes the controller list again."""
        ...

    async def update_repository_status(
        self, repo: configv1alpha1.Repository, status: configv1alpha1.RepositoryStatus
    ) -> None:
        """Replace the status of the named Repository (see `sync.RepositoryStatusWriter`)."""
        ...


class RepositoryController:
    """Drives `SyncManager`s from a `RepositorySource` (see module doc). `meter_provider`
    (default: the global one) receives the sync managers' metrics."""

    def __init__(
        self,
        cache: repocache.RepositoryCache,
        source: RepositorySource,
        *,
        options: sync.SyncOptions | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._cache = cache
        self._meter_provider = meter_provider
        self._source = source
        self._options = options or sync.SyncOptions()
        self._limiter = asyncio.Semaphore(self._options.max_concurrent_syncs)
        self._managers: dict[tuple[str, str], sync.SyncManager] = {}
        self._task: asyncio.Task[None] | None = None
        self._listed = asyncio.Event()

    @property
    def managers(self) -> dict[tuple[str, str], sync.SyncManager]:
        """The running sync managers by (namespace, name) (read-only use)."""
        return dict(self._managers)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="repository-controller")

    async def stop(self) -> None:
        """Stop following the source and every sync (repositories stay open in the cache)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        managers = list(self._managers.values())
        self._managers.clear()
        await asyncio.gather(*(m.stop() for m in managers))

    async def wait_until_synced(self) -> None:
        """Return once the source was listed and every listed repository's first sync
        was attempted (server readiness)."""
        await self._listed.wait()
        await asyncio.gather(*(m.synced.wait() for m in list(self._managers.values())))

    # -- the loop -------------------------------------------------------------------------------
    async def _run(self) -> None:
        backoff = _BACKOFF_INITIAL
        while True:
            try:
                items, resource_version = await self._source.list_repositories()
                await self._reconcile(items)
                self._listed.set()
                backoff = _BACKOFF_INITIAL
                async for event_type, repo in self._source.watch_repositories(resource_version):
                    await self._handle(event_type, repo)
                _log.info("repository watch ended; listing again")
            except asyncio.CancelledError:
                raise
            except Exception as err:
                _log.warning("repository list/watch failed (retry in %.0fs): %s", backoff, err)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)

    async def _reconcile(self, items: list[configv1alpha1.Repository]) -> None:
        seen: set[tuple[str, str]] = set()
        for repo in items:
            key = self._key(repo)
            if key is None:
                continue
            if self._being_deleted(repo):
                continue
            seen.add(key)
            self._upsert(key, repo)
        for key in [k for k in self._managers if k not in seen]:
            await self._remove(key)

    async def _handle(
        self, event_type: RepositoryEventType, repo: configv1alpha1.Repository
    ) -> None:
        key = self._key(repo)
        if key is None:
            return
        if event_type == "DELETED" or self._being_deleted(repo):
            await self._remove(key)
        else:
            self._upsert(key, repo)

    def _upsert(self, key: tuple[str, str], repo: configv1alpha1.Repository) -> None:
        manager = self._managers.get(key)
        if manager is not None:
            manager.update(repo)
            return
        manager = sync.SyncManager(
            self._cache,
            repo,
            status_writer=self._source,
            limiter=self._limiter,
            options=self._options,
            meter_provider=self._meter_provider,
        )
        self._managers[key] = manager
        manager.start()
        _log.info("repository %s/%s registered", *key)

    async def _remove(self, key: tuple[str, str]) -> None:
        manager = self._managers.pop(key, None)
        if manager is not None:
            await manager.stop()
        try:
            await self._cache.close_repository(*key)
        except Exception:
            _log.exception("closing repository %s/%s failed", *key)
        else:
            if manager is not None:
                _log.info("repository %s/%s unregistered", *key)

    @staticmethod
    def _key(repo: configv1alpha1.Repository) -> tuple[str, str] | None:
        try:
            return repocache.repository_key_of(repo)
        except Exception as err:
            _log.warning("ignoring a Repository object: %s", err)
            return None

    @staticmethod
    def _being_deleted(repo: configv1alpha1.Repository) -> bool:
        return repo.metadata is not None and repo.metadata.deletion_timestamp is not None
