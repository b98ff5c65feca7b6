"""Test support for code above the cache: caches over in-memory fake repositories.

Used by the cache's own tests and by the engine's (`pkg/engine`), never by production code.
`FakeBackends` is a `cachetypes.RepositoryOpener` handing out one
`pkg.repository.fake.FakeRepository` per Repository object (the fake is its own remote, so
re-opening a repository finds what was written before); `new_fake_cache` wires a
`RepositoryCache` over it with an in-memory metadata store. `publish`/`draft` write
revisions through the backend directly, as another server or a git user would.
`DiskFullMetadataStore` is that store with creates that fail on demand.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.cache import repocache, watchermanager
from pkg.meta import memory, metatypes
from pkg.repository import errors
from pkg.repository import repository as repo_api
from pkg.repository.fake import repository as fake

__all__ = [
    "BlockingRepository",
    "DiskFullMetadataStore",
    "FakeBackends",
    "MemoryRepositorySource",
    "draft",
    "kptfile",
    "new_fake_cache",
    "publish",
    "repository_object",
]


def repository_object(
    name: str,
    *,
    namespace: str = "default",
    url: str | None = None,
    branch: str = "main",
    directory: str | None = None,
    deployment: bool | None = None,
    schedule: str | None = None,
    run_once_at: datetime.datetime | None = None,
    generation: int | None = None,
    repo_type: str = "git",
) -> configv1alpha1.Repository:
    """A `config.porch.kpt.dev/v1alpha1` Repository object as a user would write it."""
    git: dict[str, Any] = {"repo": url or f"https://example.com/{namespace}/{name}.git"}
    git["branch"] = branch
    if directory is not None:
        git["directory"] = directory
    spec: dict[str, Any] = {"type": repo_type, "git": git}
    if deployment is not None:
        spec["deployment"] = deployment
    sync: dict[str, Any] = {}
    if schedule is not None:
        sync["schedule"] = schedule
    if run_once_at is not None:
        sync["runOnceAt"] = run_once_at.isoformat()
    if sync:
        spec["sync"] = sync
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if generation is not None:
        metadata["generation"] = generation
    return configv1alpha1.Repository.model_validate(
        {
            "apiVersion": "config.porch.kpt.dev/v1alpha1",
            "kind": "Repository",
            "metadata": metadata,
            "spec": spec,
        }
    )


def kptfile(name: str, *, labels: Mapping[str, str] | None = None, extra: str = "") -> str:
    """A minimal Kptfile for package `name` (with `labels` in its metadata)."""
    text = f"apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {name}\n"
    if labels:
        text += "  labels:\n" + "".join(f"    {k}: {v!r}\n" for k, v in labels.items())
    return text + extra


class FakeBackends:
    """A `cachetypes.RepositoryOpener` over `FakeRepository`s, one per (namespace, name)."""

    def __init__(self) -> None:
        self.repositories: dict[tuple[str, str], fake.FakeRepository] = {}
        self.opened: list[tuple[str, str]] = []
        """Every open, in order (to check that concurrent opens share one)."""
        self.wrap: dict[tuple[str, str], type[BlockingRepository]] = {}
        """Repositories to serve through a test double instead of the plain fake."""
        self.wrapped: dict[tuple[str, str], BlockingRepository] = {}

    def fake(
        self, name: str, *, namespace: str = "default", branch: str = "main"
    ) -> fake.FakeRepository:
        """The fake behind (namespace, name), created empty on first use."""
        key = (namespace, name)
        if key not in self.repositories:
            self.repositories[key] = fake.FakeRepository(
                repo_api.RepositoryKey(
                    namespace=namespace,
                    name=repo_api.RepositoryName(name),
                    placeholder_ws_name=repo_api.WorkspaceName(branch),
                )
            )
        return self.repositories[key]

    async def __call__(self, repo: configv1alpha1.Repository) -> repo_api.Repository:
        namespace, name = repocache.repository_key_of(repo)
        branch = (
            repo.spec.git.branch if repo.spec and repo.spec.git and repo.spec.git.branch else "main"
        )
        self.opened.append((namespace, name))
        backend = self.fake(name, namespace=namespace, branch=branch)
        backend.closed = False
        wrapper = self.wrap.get((namespace, name))
        if wrapper is not None:
            wrapped = wrapper(backend)
            self.wrapped[(namespace, name)] = wrapped
            return wrapped
        return backend


def new_fake_cache(
    backends: FakeBackends | None = None,
    *,
    metadata: metatypes.MetadataStore | None = None,
    watcher_manager: watchermanager.WatcherManager | None = None,
    options: repocache.CacheOptions | None = None,
) -> repocache.RepositoryCache:
    """A `RepositoryCache` over `backends` (new ones by default) and in-memory metadata."""
    return repocache.RepositoryCache(
        opener=backends if backends is not None else FakeBackends(),
        metadata=metadata if metadata is not None else memory.MemoryMetadataStore(),
        watcher_manager=(
            watcher_manager if watcher_manager is not None else watchermanager.WatcherManager()
        ),
        options=options,
    )


def _key(
    backend: fake.FakeRepository, package_path: str, workspace: str
) -> repo_api.PackageRevisionKey:
    return repo_api.PackageRevisionKey(
        pkg_key=repo_api.PackageKey.from_package_path(backend.key, package_path),
        revision=0,
        workspace_name=repo_api.WorkspaceName(workspace),
    )


async def draft(
    backend: fake.FakeRepository,
    package_path: str,
    workspace: str,
    *,
    files: Mapping[str, str] | None = None,
    lifecycle: repo_api.Lifecycle = repo_api.Lifecycle.DRAFT,
) -> fake.FakePackageRevision:
    """Write a Draft (or Proposed) revision straight into the backend."""
    new = await backend.create_package_revision_draft(_key(backend, package_path, workspace))
    package = package_path.rsplit("/", 1)[-1]
    await new.update_resources(files or {"Kptfile": kptfile(package)}, None)
    await new.update_lifecycle(lifecycle)
    return await backend.close_package_revision_draft(new)


async def publish(
    backend: fake.FakeRepository,
    package_path: str,
    workspace: str,
    *,
    files: Mapping[str, str] | None = None,
    revision: int = 0,
) -> fake.FakePackageRevision:
    """Write and approve a revision straight into the backend (refreshing the placeholder);
    `revision` 0 publishes as max + 1."""
    new = await backend.create_package_revision_draft(_key(backend, package_path, workspace))
    package = package_path.rsplit("/", 1)[-1]
    await new.update_resources(files or {"Kptfile": kptfile(package)}, None)
    await new.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    return await backend.close_package_revision_draft(new, revision)


class BlockingRepository:
    """A `Repository` whose reads hang while `blocked` is set and whose `refresh` fails
    while `refresh_error` is set (a test double).

    Why a double: the case to test is a backend that stops answering in the middle of a
    list (a git cache thread stuck on a dead NFS mount, a remote database that hangs). Real
    git on loopback cannot be made to hang at exactly that point without killing processes
    at random times, and what matters to the cache is only that `version()` and
    `list_package_revisions()` never return. Everything else is delegated to a real
    `FakeRepository`.
    """

    def __init__(self, inner: fake.FakeRepository) -> None:
        self.inner = inner
        self.blocked = False
        self.refresh_error: Exception | None = None
        self.waiting = 0
        """Calls currently hanging."""
        self._release = asyncio.Event()

    @property
    def key(self) -> repo_api.RepositoryKey:
        return self.inner.key

    async def _maybe_hang(self) -> None:
        if self.blocked:
            self.waiting += 1
            try:
                await self._release.wait()
            finally:
                self.waiting -= 1

    def release(self) -> None:
        """Let hanging and future calls through."""
        self.blocked = False
        self._release.set()

    async def version(self) -> str:
        await self._maybe_hang()
        return await self.inner.version()

    async def refresh(self) -> None:
        if self.refresh_error is not None:
            raise self.refresh_error
        await self.inner.refresh()

    async def list_package_revisions(
        self, filter: repo_api.ListPackageRevisionFilter = repo_api.ANY_REVISION
    ) -> Sequence[repo_api.PackageRevision]:
        await self._maybe_hang()
        return await self.inner.list_package_revisions(filter)

    async def list_packages(self, package_path: str | None = None) -> Sequence[repo_api.Package]:
        await self._maybe_hang()
        return await self.inner.list_packages(package_path)

    async def create_package_revision_draft(
        self, key: repo_api.PackageRevisionKey, *, user: repo_api.UserInfo | None = None
    ) -> repo_api.PackageRevisionDraft:
        return await self.inner.create_package_revision_draft(key, user=user)

    async def update_package_revision(
        self, old: repo_api.PackageRevision, *, user: repo_api.UserInfo | None = None
    ) -> repo_api.PackageRevisionDraft:
        return await self.inner.update_package_revision(old, user=user)

    async def close_package_revision_draft(
        self, draft: repo_api.PackageRevisionDraft, revision: int = 0
    ) -> repo_api.PackageRevision:
        return await self.inner.close_package_revision_draft(draft, revision)

    async def delete_package_revision(
        self, old: repo_api.PackageRevision, *, user: repo_api.UserInfo | None = None
    ) -> None:
        await self.inner.delete_package_revision(old, user=user)

    async def close(self) -> None:
        await self.inner.close()


class MemoryRepositorySource:
    """A `repositorycontroller.RepositorySource` over a dict, for controller tests.

    `apply`/`delete` change the objects and emit watch events; statuses written by the
    sync are kept in `statuses` (every write in `status_writes`).
    """

    def __init__(self, repositories: Sequence[configv1alpha1.Repository] = ()) -> None:
        self.objects: dict[tuple[str, str], configv1alpha1.Repository] = {}
        for repo in repositories:
            self.objects[repocache.repository_key_of(repo)] = repo
        self.statuses: dict[tuple[str, str], configv1alpha1.RepositoryStatus] = {}
        self.status_writes: list[tuple[tuple[str, str], configv1alpha1.RepositoryStatus]] = []
        self._version = 1
        self._watchers: list[asyncio.Queue[tuple[str, configv1alpha1.Repository] | None]] = []

    def _emit(self, event_type: str, repo: configv1alpha1.Repository) -> None:
        self._version += 1
        for queue in self._watchers:
            queue.put_nowait((event_type, repo))

    def apply(self, repo: configv1alpha1.Repository) -> None:
        key = repocache.repository_key_of(repo)
        event_type = "MODIFIED" if key in self.objects else "ADDED"
        self.objects[key] = repo
        self._emit(event_type, repo)

    def delete(self, namespace: str, name: str) -> None:
        repo = self.objects.pop((namespace, name))
        self._emit("DELETED", repo)

    def end_watches(self) -> None:
        """End every open watch (as an API server does on timeout)."""
        for queue in self._watchers:
            queue.put_nowait(None)

    async def list_repositories(self) -> tuple[list[configv1alpha1.Repository], str]:
        return list(self.objects.values()), str(self._version)

    async def watch_repositories(
        self, resource_version: str
    ) -> AsyncIterator[tuple[Literal["ADDED", "MODIFIED", "DELETED"], configv1alpha1.Repository]]:
        queue: asyncio.Queue[tuple[str, configv1alpha1.Repository] | None] = asyncio.Queue()
        self._watchers.append(queue)
        try:
            while (item := await queue.get()) is not None:
                event_type, repo = item
                assert event_type in ("ADDED", "MODIFIED", "DELETED")
                yield event_type, repo  # type: ignore[misc]
        finally:
            self._watchers.remove(queue)

    async def update_repository_status(
        self, repo: configv1alpha1.Repository, status: configv1alpha1.RepositoryStatus
    ) -> None:
        key = repocache.repository_key_of(repo)
        self.statuses[key] = status
        self.status_writes.append((key, status))


class DiskFullMetadataStore(memory.MemoryMetadataStore):
    """The in-memory metadata store whose creates fail while ``failing`` is set, as a full
    disk makes SQLite fail.

    A test double because a full disk cannot be produced on demand here; everything but
    creating records is the real in-memory store.
    """

    def __init__(self, *, failing: bool = False) -> None:
        super().__init__()
        self.failing = failing

    async def create(self, meta: metatypes.PackageRevisionMeta) -> metatypes.PackageRevisionMeta:
        if self.failing:
            raise errors.BackendUnavailableError("database or disk is full")
        return await super().create(meta)

    async def create_many(self, metas: Sequence[metatypes.PackageRevisionMeta]) -> None:
        if self.failing:
            raise errors.BackendUnavailableError("database or disk is full")
        await super().create_many(metas)
