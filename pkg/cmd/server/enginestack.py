"""The package machinery under porch.kpt.dev: metadata store, git, cache, engine, controller.

Where this sits: :mod:`pkg.cmd.server.server` enters :func:`open_engine` once, after it
chose where Repository objects and Secrets come from (standalone stores or the cluster,
both behind :mod:`pkg.cmd.server.repositorysource`), and serves
``pkg.registry.porch.new_storages(stack.engine)``. Everything below is built here from
the flags, and nothing else holds it (no module singletons):

* the metadata store: SQLite ``<data-dir>/metadata.db`` (labels, annotations, finalizers,
  owner references and creation times of package revisions);
* the git cache under ``--cache-directory`` (bare clones, shared per URL), git options
  from ``--repo-operation-retry-attempts``, ``--retryable-git-errors``, the local
  repository roots (``file://`` repositories only below ``--local-repository-root``) and,
  with ``--use-user-cabundle``, the per-namespace CA bundles;
* the repository cache (``--list-timeout-per-repo``) with its watcher manager;
* the CaD engine (``--default-image-prefix``, the function runtime, a git fetcher for
  clones from unregistered repositories, the source as resolver of Repositories it has
  not opened yet);
* the repository controller with one sync manager per Repository
  (``--repo-sync-frequency``, each sync delayed by a random jitter of up to a tenth
  of it, at most 30 s; ``--max-concurrent-syncs``).

Teardown (on leaving the context, the API server has stopped taking requests by then):
stop the controller and every sync, wait (bounded) for writes still holding engine locks,
close the cache (backends released, clones kept on disk for the next start), the metadata
store and the git cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

from pkg.cache import backends, repocache, repositorycontroller, sync, watchermanager
from pkg.cmd.server import options, repositorysource
from pkg.engine import engine
from pkg.externalrepo.git import cache as gitcache
from pkg.externalrepo.git import git, transport
from pkg.kpt.fn import runtime as fnruntime
from pkg.meta import sqlite as metasqlite
from pkg.repository import credentials
from pkg.repository import errors as repoerrors
from pkg.task import gitfetch

__all__ = ["EngineStack", "EngineStartError", "open_engine"]

_log = logging.getLogger(__name__)

_WRITES_POLL: Final = 0.05


class EngineStartError(Exception):
    """The engine's stores cannot be opened; the message names the flag to change."""


@dataclass(frozen=True)
class EngineStack:
    """What :func:`open_engine` built (read-only use; the context owns it)."""

    engine: engine.CaDEngine
    cache: repocache.RepositoryCache
    controller: repositorycontroller.RepositoryController

    async def wait_for_writes(self, within: float) -> int:
        """Wait up to ``within`` seconds until no write holds an engine lock; how many still
        do."""
        deadline = time.monotonic() + within
        # The engine has no event for "lock table empty"; a short poll at shutdown is fine.
        while self.engine.writes_in_flight and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(_WRITES_POLL)
        return self.engine.writes_in_flight


def git_options(
    opts: options.ServerOptions,
    cache: gitcache.GitCache,
    resolver: credentials.CredentialResolver,
    ca_bundles: credentials.CABundleResolver | None = None,
) -> git.GitRepositoryOptions:
    """The git backend's options from the flags; ``ca_bundles`` is used only with
    ``--use-user-cabundle``."""
    runtime = opts.runtime
    return git.GitRepositoryOptions(
        cache=cache,
        allow_local_repositories=bool(runtime.local_repository_roots),
        local_repository_roots=runtime.local_repository_roots,
        credential_resolver=resolver,
        ca_bundle_resolver=ca_bundles if runtime.use_user_cabundle else None,
        retry_attempts=max(1, runtime.repo_operation_retry_attempts),
        retryable_errors=(*transport.DEFAULT_RETRYABLE_ERRORS, *runtime.retryable_git_errors),
    )


@contextlib.asynccontextmanager
async def open_engine(
    opts: options.ServerOptions,
    *,
    function_runtime: fnruntime.FunctionRuntime,
    source: repositorysource.FinalizingRepositorySource,
    resolver: credentials.CredentialResolver,
    ca_bundles: credentials.CABundleResolver | None = None,
    drain_timeout: float = 2.0,
) -> AsyncIterator[EngineStack]:
    """Build the stack of the module doc from completed options and start the controller;
    tear it down in order on exit (writes get ``drain_timeout`` seconds). ``ca_bundles``
    supplies the namespaces' CA bundles when ``--use-user-cabundle`` is on."""
    runtime = opts.runtime
    assert opts.data_dir is not None and runtime.cache_directory is not None
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    runtime.cache_directory.mkdir(parents=True, exist_ok=True)
    try:
        metadata = await metasqlite.SqliteMetadataStore.open(
            opts.data_dir / metasqlite.DEFAULT_FILE_NAME
        )
    except repoerrors.RepositoryError as err:
        raise EngineStartError(f"--data-dir {opts.data_dir}: {err}") from None
    git_cache = gitcache.GitCache(runtime.cache_directory)
    async with contextlib.AsyncExitStack() as exits:
        exits.push_async_callback(git_cache.close)
        exits.push_async_callback(metadata.close)
        cache = repocache.RepositoryCache(
            opener=backends.BackendFactory(
                {"git": backends.git_opener(git_options(opts, git_cache, resolver, ca_bundles))}
            ),
            metadata=metadata,
            watcher_manager=watchermanager.WatcherManager(),
            options=repocache.CacheOptions(
                list_timeout_per_repository=runtime.list_timeout_per_repo
            ),
        )
        exits.push_async_callback(cache.close)
        fetch_dir = runtime.cache_directory / "fetch"
        fetch_dir.mkdir(exist_ok=True)
        cad = engine.CaDEngine(
            cache,
            runtime=function_runtime,
            options=engine.EngineOptions(default_image_prefix=runtime.default_image_prefix),
            git_fetcher=gitfetch.GitFetcher(
                gitfetch.GitFetcherOptions(
                    work_dir=fetch_dir,
                    allow_local_repositories=bool(runtime.local_repository_roots),
                    local_repository_roots=runtime.local_repository_roots,
                    credential_resolver=resolver,
                    ca_bundle_resolver=ca_bundles if runtime.use_user_cabundle else None,
                    retry_attempts=max(1, runtime.repo_operation_retry_attempts),
                )
            ),
            repository_resolver=source,
        )
        controller = repositorycontroller.RepositoryController(
            cache,
            source,
            options=sync.SyncOptions(
                repo_sync_frequency=runtime.repo_sync_frequency,
                max_concurrent_syncs=runtime.max_concurrent_syncs,
            ),
        )
        stack = EngineStack(engine=cad, cache=cache, controller=controller)
        controller.start()
        try:
            yield stack
        finally:
            await controller.stop()
            left = await stack.wait_for_writes(drain_timeout)
            if left:
                _log.warning("%d package revision writes did not finish before shutdown", left)
