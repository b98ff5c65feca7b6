"""The CaD (configuration as data) engine: every package operation of the API goes through it.

Where it sits: the registry (`pkg/registry/porch`: REST storages of packagerevisions, their
approval subresource, packagerevisionresources and packages) calls `CaDEngine` and nothing
below it. The engine validates the request (porch.md §3), runs the task handlers
(`pkg.task`), renders (`pkg.task.render` -> `pkg.kpt.render`), and writes through the cache
(`pkg.cache.cachetypes`), which keeps memory, the metadata store and the watchers in step with
the repository. Methods take and return API objects (`porchv1alpha1`), so the registry stays
thin; objects returned may be shared with the cache and watchers: never mutate them.

Request path of a write (create shown; updates and deletes are the same shape):

    validate (strategy rules, single task, names, workspace, nesting, sources)
    -> per-object try-lock (a concurrent write on the same object fails at once, 409)
    -> task (init | clone | edit | upgrade) -> packageMetadata/readinessGates into the Kptfile
    -> render (worker thread) -> draft: one commit -> lifecycle -> close (push)
    -> metadata stored + ADDED event (by the cache) -> the new object

All content work (task, Kptfile sync, render) happens before the repository is touched, so a
failing task or render leaves git and the metadata store exactly as they were. If the push
succeeded but storing the metadata failed, the new revision is deleted again before the error
is raised: a failed create leaves nothing behind.

Errors: `pkg.engine.errors` (which HTTP status fits is written there), plus the repository's
domain errors passed through from the cache and backends.

Metrics (OpenTelemetry API, meter `pkg.engine`): `porch.render.duration`, a histogram of the
seconds each render of a package took (create, Draft update, resources update), with one
attribute, `outcome` = `success` | `failure` (a failing pipeline or an error running it).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Final, Protocol

from opentelemetry import metrics, trace

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import field
from pkg.apimachinery import user as apiuser
from pkg.cache import cachetypes
from pkg.engine import errors as engineerrors
from pkg.engine import lifecycle, locks, validation
from pkg.kpt.fn import runtime as fnruntime
from pkg.meta import metatypes
from pkg.repository import errors
from pkg.repository import repository as repo_api
from pkg.task import clone, edit, heal, kptfilesync, render, taskerrors, upgrade
from pkg.task import init as inittask

__all__ = [
    "V1ALPHA2_MIGRATION_ANNOTATION",
    "CaDEngine",
    "EngineContext",
    "EngineOptions",
    "ListResult",
    "Preconditions",
    "RepositoryResolver",
]

_log = logging.getLogger(__name__)
tracer = trace.get_tracer("engine")

V1ALPHA2_MIGRATION_ANNOTATION = "porch.kpt.dev/v1alpha2-migration"
"""On a Repository: its revisions are served by porch.kpt.dev/v1alpha2, not by this API."""

_METER: Final = "pkg.engine"
# Builtin functions render in milliseconds; container functions pulled on first use can
# take minutes.
_RENDER_DURATION_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    20.0,
    30.0,
    60.0,
    120.0,
)

_PACKAGE_REVISIONS = "packagerevisions"
_PACKAGE_REVISION_RESOURCES = "packagerevisionresources"
_PACKAGES = "packages"
_KPTFILE = "Kptfile"

_RENDER_NOT_PUSHED = (
    "error rendering package in kpt function pipeline. Package NOT pushed to remote. "
    "Fix locally (until 'kpt fn render' succeeds) and retry. Details: {}"
)
_RENDER_PUSHED = (
    "error rendering package in kpt function pipeline. Package pushed to remote despite "
    "render failure. Details: {}"
)


@dataclasses.dataclass(frozen=True, slots=True)
class EngineContext:
    """Who asks, where, until when: what every engine call needs from the request.

    `namespace` is the request's namespace ("" for cluster-wide lists); `deadline` is a
    `time.monotonic()` time after which list calls return what they have; `dry_run` makes
    writes do every check and computation but store nothing.
    """

    user: apiuser.UserInfo
    namespace: str
    deadline: float | None = None
    dry_run: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class EngineOptions:
    """Engine settings from the server's flags."""

    default_image_prefix: str = fnruntime.DEFAULT_IMAGE_PREFIX


@dataclasses.dataclass(frozen=True, slots=True)
class Preconditions:
    """Delete preconditions (`metav1.Preconditions`): fail unless the object still has them."""

    uid: str | None = None
    resource_version: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ListResult:
    """A list's items and its collection resourceVersion (watch from it to miss nothing)."""

    items: list[porchv1alpha1.PackageRevision]
    resource_version: str


class RepositoryResolver(Protocol):
    """Finds a Repository object that the cache has not opened yet (standalone: the server's
    own store; aggregated: the Kubernetes API). With one, a create right after a Repository
    was registered opens it instead of failing with "not found" (Porch issue #1107)."""

    async def get_repository(
        self, namespace: str, name: str
    ) -> configv1alpha1.Repository | None: ...


def _repo_user(ctx: EngineContext) -> repo_api.UserInfo:
    return repo_api.UserInfo(name=ctx.user.name, groups=frozenset(ctx.user.groups))


def _attributes(namespace: str, name: str) -> dict[str, str]:
    return {"namespace": namespace, "name": name}


def _invalid(errs: field.ErrorList) -> None:
    if errs:
        raise engineerrors.ValidationError(errs)


def _is_true(value: str | None) -> bool:
    return (value or "").lower() == "true"


class CaDEngine:
    """The engine: one per server, constructed by the command wiring.

    `cache` serves reads and carries writes; `runtime` runs KRM functions during render;
    `git_fetcher` reads unregistered upstreams for `clone` from git (None: such clones are
    refused); `repository_resolver` lets writes open repositories the cache has not opened;
    `meter_provider` (default: the global one) receives the render duration metric.
    """

    def __init__(
        self,
        cache: cachetypes.Cache,
        *,
        runtime: fnruntime.FunctionRuntime,
        options: EngineOptions | None = None,
        git_fetcher: clone.GitPackageFetcher | None = None,
        repository_resolver: RepositoryResolver | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._cache = cache
        meter = metrics.get_meter(_METER, meter_provider=meter_provider)
        self._render_duration = meter.create_histogram(
            "porch.render.duration",
            unit="s",
            description="Duration of package renders (the Kptfile pipeline), by outcome.",
            explicit_bucket_boundaries_advisory=_RENDER_DURATION_BUCKETS,
        )
        self._runtime = runtime
        self._options = options or EngineOptions()
        self._git_fetcher = git_fetcher
        self._resolver = repository_resolver
        self._locks = locks.LockTable()

    @property
    def watcher_manager(self) -> cachetypes.WatcherManager:
        return self._cache.watcher_manager

    @property
    def writes_in_flight(self) -> int:
        """Objects whose write holds the lock right now (the lock table's size)."""
        return len(self._locks)

    # -- repositories -----------------------------------------------------------------------

    async def open_repository(self, repo: configv1alpha1.Repository) -> cachetypes.CachedRepository:
        """Open (or return the open) repository of a Repository object."""
        with tracer.start_as_current_span(
            "cadEngine::OpenRepository",
            attributes={"repository": f"{_namespace_of(repo)}/{_name_of(repo)}"},
        ):
            return await self._cache.open_repository(repo)

    async def close_repository(self, namespace: str, name: str) -> None:
        """Unregister a repository: its revisions disappear (DELETED events), metadata goes."""
        with tracer.start_as_current_span(
            "cadEngine::CloseRepository", attributes={"repository": f"{namespace}/{name}"}
        ):
            await self._cache.close_repository(namespace, name)

    async def refresh_repository(self, namespace: str, name: str) -> cachetypes.RefreshResult:
        """Fetch and re-list a repository now (changes made behind the server's back)."""
        with tracer.start_as_current_span(
            "cadEngine::RefreshRepository", attributes={"repository": f"{namespace}/{name}"}
        ):
            repo = self._cache.get_repository(namespace, name)
            if repo is None:
                raise engineerrors.ObjectNotFoundError(
                    "repositories",
                    name,
                    f'repositories.config.porch.kpt.dev "{name}" not found',
                )
            return await repo.refresh()

    async def _repository(self, ctx: EngineContext, name: str) -> cachetypes.CachedRepository:
        """The open repository `name` of the request namespace, opening it through the
        resolver when the cache does not have it yet; refuses v1alpha2-managed ones (410)."""
        repo = self._cache.get_repository(ctx.namespace, name)
        if repo is None and self._resolver is not None:
            obj = await self._resolver.get_repository(ctx.namespace, name)
            if obj is not None:
                repo = await self._cache.open_repository(obj)
        if repo is None:
            raise engineerrors.ObjectNotFoundError(
                "repositories", name, f'repositories.config.porch.kpt.dev "{name}" not found'
            )
        if _managed_by_v1alpha2(repo.repository):
            raise engineerrors.RepositoryGoneError(f"repository {name} is managed by v1alpha2")
        return repo

    async def _find(
        self,
        ctx: EngineContext,
        name: str,
        resource: str = _PACKAGE_REVISIONS,
        *,
        for_write: bool = False,
    ) -> tuple[cachetypes.CachedRepository, cachetypes.CachedPackageRevision]:
        """The cached revision `name` of the request namespace, or `ObjectNotFoundError`.

        Revisions of v1alpha2-managed repositories do not exist for reads (404); a write
        to one is refused with `RepositoryGoneError` (410)."""
        try:
            key = repo_api.parse_package_revision_name(ctx.namespace, name)
        except errors.InvalidPackageError as err:
            raise engineerrors.ObjectNotFoundError(resource, name) from err
        repo = self._cache.get_repository(ctx.namespace, key.repo_key.name)
        if repo is None:
            raise engineerrors.ObjectNotFoundError(resource, name)
        if _managed_by_v1alpha2(repo.repository):
            if for_write:
                raise engineerrors.RepositoryGoneError(
                    f"repository {repo.key.name} is managed by v1alpha2"
                )
            raise engineerrors.ObjectNotFoundError(resource, name)
        revision = await repo.get_package_revision(name)
        if revision is None:
            raise engineerrors.ObjectNotFoundError(resource, name)
        return repo, revision

    async def _find_source(
        self, ctx: EngineContext, name: str | None, path: str
    ) -> cachetypes.CachedPackageRevision:
        """A revision a task names as its source; a missing one is a field error."""
        if not name:
            raise taskerrors.InvalidFieldError(path, name or "", f"{path} is required")
        try:
            _, revision = await self._find(ctx, name)
        except errors.NotFoundError as err:
            raise taskerrors.InvalidFieldError(
                path, name, f'failed to fetch package revision "{name}": {err}'
            ) from err
        return revision

    async def _render(self, files: Mapping[str, str]) -> render.RenderOutcome:
        """Render `files` (on a worker thread) and record how long it took and how it ended."""
        clock = time.perf_counter()
        try:
            result = await render.render_package(
                files,
                runtime=self._runtime,
                default_image_prefix=self._options.default_image_prefix,
            )
        except Exception:
            # The pipeline could not even be run; a cancelled request records nothing.
            self._record_render(clock, "failure")
            raise
        self._record_render(clock, "failure" if result.failed else "success")
        return result

    def _record_render(self, clock: float, outcome: str) -> None:
        self._render_duration.record(time.perf_counter() - clock, {"outcome": outcome})

    # -- reads ------------------------------------------------------------------------------

    def _scoped(
        self, ctx: EngineContext, filter: cachetypes.PackageRevisionFilter
    ) -> cachetypes.PackageRevisionFilter:
        if ctx.namespace and filter.namespace is None:
            return dataclasses.replace(filter, namespace=ctx.namespace)
        return filter

    async def _list_cached(
        self, ctx: EngineContext, filter: cachetypes.PackageRevisionFilter
    ) -> list[cachetypes.CachedPackageRevision]:
        revisions = await self._cache.list_package_revisions(
            self._scoped(ctx, filter), deadline=ctx.deadline
        )
        hidden = {
            (r.key.namespace, r.key.name)
            for r in self._cache.repositories(ctx.namespace or None)
            if _managed_by_v1alpha2(r.repository)
        }
        if not hidden:
            return revisions
        return [
            r
            for r in revisions
            if (r.key.pkg_key.repo_key.namespace, r.key.pkg_key.repo_key.name) not in hidden
        ]

    async def list_package_revisions(
        self, ctx: EngineContext, filter: cachetypes.PackageRevisionFilter = cachetypes.ANY
    ) -> ListResult:
        """Revisions matching `filter` in the request namespace (all namespaces when the
        context has none), with the collection resourceVersion taken before listing."""
        with tracer.start_as_current_span(
            "cadEngine::ListPackageRevisions", attributes={"namespace": ctx.namespace}
        ):
            resource_version = self._cache.watcher_manager.current_resource_version()
            revisions = await self._list_cached(ctx, filter)
            return ListResult(
                items=[r.to_api() for r in revisions], resource_version=str(resource_version)
            )

    async def get_package_revision(
        self, ctx: EngineContext, name: str
    ) -> porchv1alpha1.PackageRevision:
        with tracer.start_as_current_span(
            "cadEngine::GetPackageRevision", attributes=_attributes(ctx.namespace, name)
        ):
            _, revision = await self._find(ctx, name)
            return revision.to_api()

    async def list_package_revision_resources(
        self, ctx: EngineContext, filter: cachetypes.PackageRevisionFilter = cachetypes.ANY
    ) -> list[porchv1alpha1.PackageRevisionResources]:
        with tracer.start_as_current_span(
            "cadEngine::ListPackageRevisionResources", attributes={"namespace": ctx.namespace}
        ):
            revisions = await self._list_cached(ctx, filter)
            return [await r.to_resources_api() for r in revisions]

    async def get_package_revision_resources(
        self, ctx: EngineContext, name: str
    ) -> porchv1alpha1.PackageRevisionResources:
        with tracer.start_as_current_span(
            "cadEngine::GetPackageRevisionResources",
            attributes=_attributes(ctx.namespace, name),
        ):
            _, revision = await self._find(ctx, name, _PACKAGE_REVISION_RESOURCES)
            return await revision.to_resources_api()

    async def list_packages(
        self, ctx: EngineContext, filter: cachetypes.PackageFilter | None = None
    ) -> list[porchv1alpha1.PorchPackage]:
        with tracer.start_as_current_span(
            "cadEngine::ListPackages", attributes={"namespace": ctx.namespace}
        ):
            filter = filter or cachetypes.PackageFilter()
            if ctx.namespace and filter.namespace is None:
                filter = dataclasses.replace(filter, namespace=ctx.namespace)
            packages = await self._cache.list_packages(filter, deadline=ctx.deadline)
            hidden = {
                (r.key.namespace, r.key.name)
                for r in self._cache.repositories(ctx.namespace or None)
                if _managed_by_v1alpha2(r.repository)
            }
            return [
                p.to_api()
                for p in packages
                if (p.key.repo_key.namespace, p.key.repo_key.name) not in hidden
            ]

    async def get_package(self, ctx: EngineContext, name: str) -> porchv1alpha1.PorchPackage:
        with tracer.start_as_current_span(
            "cadEngine::GetPackage", attributes=_attributes(ctx.namespace, name)
        ):
            try:
                key = repo_api.parse_package_name(ctx.namespace, name)
            except errors.InvalidPackageError as err:
                raise engineerrors.ObjectNotFoundError(_PACKAGES, name) from err
            packages = await self.list_packages(
                ctx,
                cachetypes.PackageFilter(
                    namespace=ctx.namespace, repository=key.repo_key.name, name=name
                ),
            )
            for package in packages:
                if package.metadata is not None and package.metadata.name == name:
                    return package
            raise engineerrors.ObjectNotFoundError(_PACKAGES, name)

    def watch_package_revisions(
        self,
        ctx: EngineContext,
        filter: cachetypes.PackageRevisionFilter = cachetypes.ANY,
        resource_version: str | None = None,
        *,
        queue_size: int | None = None,
    ) -> cachetypes.Watcher:
        """Register a watch. With a numeric `resource_version` (other than "0") from a list,
        events after it are replayed first; one older than the history raises
        `cachetypes.ExpiredError` (410)."""
        since: int | None = None
        if resource_version and resource_version != "0":
            try:
                since = int(resource_version)
            except ValueError as err:
                raise engineerrors.BadRequestError(
                    f"invalid resourceVersion {resource_version!r} for a watch"
                ) from err
        return self._cache.watcher_manager.watch(
            self._scoped(ctx, filter), queue_size=queue_size, since=since
        )

    # -- create -----------------------------------------------------------------------------

    async def create_package_revision(
        self, ctx: EngineContext, obj: porchv1alpha1.PackageRevision
    ) -> porchv1alpha1.PackageRevision:
        """Create a revision from `obj` (porch.md §3.4); returns the created object.

        `metadata.name` is ignored (the server computes it); labels, annotations,
        finalizers, ownerReferences and managedFields (as the API server recorded them
        for this write) are stored as the revision's metadata.
        """
        namespace = ctx.namespace or (obj.metadata.namespace if obj.metadata else None) or ""
        if not namespace:
            raise engineerrors.BadRequestError("namespace must be specified")
        ctx = dataclasses.replace(ctx, namespace=namespace)
        spec = obj.spec or porchv1alpha1.PackageRevisionSpec()
        if not spec.repository:
            raise engineerrors.BadRequestError("spec.repositoryName is required")
        with tracer.start_as_current_span(
            "cadEngine::CreatePackageRevision",
            attributes={
                "repository": f"{namespace}/{spec.repository}",
                "package": spec.package_name or "",
                "workspace": spec.workspace_name or "",
            },
        ):
            _invalid(validation.validate_create(obj))
            tasks = list(spec.tasks or [])
            if len(tasks) > 1:
                raise taskerrors.InvalidFieldError(
                    "spec.tasks", len(tasks), "task list must not contain more than one task"
                )
            package_name = spec.package_name or ""
            workspace = spec.workspace_name or ""
            task = tasks[0] if tasks else inittask.default_init_task(package_name)
            lock_key = f"{namespace}-{spec.repository}-{package_name}-{workspace}"
            in_progress = (
                "another request is already in progress to create package revision with "
                f"details namespace={namespace}, repository={spec.repository}, "
                f"package={package_name},workspace={workspace}"
            )
            with self._locks.hold(lock_key, in_progress):
                return await self._create(ctx, obj, spec, task)

    async def _create(
        self,
        ctx: EngineContext,
        obj: porchv1alpha1.PackageRevision,
        spec: porchv1alpha1.PackageRevisionSpec,
        task: porchv1alpha1.Task,
    ) -> porchv1alpha1.PackageRevision:
        repository = spec.repository or ""
        package_name = spec.package_name or ""
        workspace = repo_api.WorkspaceName(spec.workspace_name or "")
        repo = await self._repository(ctx, repository)
        pkg_key = repo_api.PackageKey.from_package_path(repo.key, package_name)
        try:
            repo_api.validate_package_revision_name(
                repository, pkg_key.path, pkg_key.package, workspace
            )
        except errors.InvalidPackageError as err:
            raise taskerrors.InvalidFieldError(
                "metadata.name",
                repo_api.compose_package_revision_name(
                    repository, pkg_key.path, pkg_key.package, workspace
                ),
                f"failed to create packagerevision: {err}",
            ) from err
        same_package = await repo.list_package_revisions(
            cachetypes.PackageRevisionFilter(package_path=pkg_key.package_path)
        )
        _check_workspace_unique(spec, same_package)
        if task.type == "clone" and same_package:
            raise engineerrors.PackageExistsError(
                f"`clone` cannot create a new revision for package {_q(package_name)} that "
                f"already exists in repo {_q(repository)}; make subsequent revisions using "
                "`copy`"
            )
        if task.type in ("init", "clone"):
            _check_package_path(
                package_name, repository, [p.key.package_path for p in await repo.list_packages()]
            )

        files = await self._run_task(ctx, repo, spec, task)
        files = kptfilesync.apply_package_metadata(
            files, spec.package_metadata, spec.readiness_gates
        )
        outcome = await self._render(files)
        if outcome.failed:
            raise engineerrors.RenderFailedError(
                _RENDER_NOT_PUSHED.format(outcome.error),
                render_error=outcome.error,
                render_status=outcome.render_status,
                pushed=False,
            )

        key = repo_api.PackageRevisionKey(pkg_key=pkg_key, revision=0, workspace_name=workspace)
        draft = await repo.create_package_revision_draft(key, user=_repo_user(ctx))
        await draft.update_resources(outcome.files, task)
        await draft.update_lifecycle(repo_api.Lifecycle.DRAFT)
        name = key.k8s_name()
        meta = _new_meta(ctx.namespace, name, repository, obj.metadata)
        if ctx.dry_run:
            return _dry_run_object(
                namespace=ctx.namespace, name=name, repo=repo, spec=spec, task=task, meta=meta
            )
        try:
            created = await repo.close_package_revision_draft(draft, meta=meta)
        except errors.BackendUnavailableError:
            await self._roll_back_create(repo, name, _repo_user(ctx))
            raise
        return created.to_api()

    async def _roll_back_create(
        self, repo: cachetypes.CachedRepository, name: str, user: repo_api.UserInfo
    ) -> None:
        """After a failed close: if the push landed (the failure was storing metadata),
        delete the revision again, so that a failed create leaves nothing behind.

        The cache looks the revision up in the backend (it may not have cached it) and
        drops it without needing the failing metadata store. A rollback that fails is
        logged; the caller raises the original error either way.
        """
        try:
            await repo.discard_package_revision(name, user=user)
        except errors.RepositoryError as err:
            _log.warning("failed to roll back package revision creation %s: %s", name, err)

    async def _run_task(
        self,
        ctx: EngineContext,
        repo: cachetypes.CachedRepository,
        spec: porchv1alpha1.PackageRevisionSpec,
        task: porchv1alpha1.Task,
    ) -> dict[str, str]:
        package_name = spec.package_name or ""
        repository = spec.repository or ""
        deployment = bool(repo.repository.spec and repo.repository.spec.deployment)
        if task.type == "init":
            if task.init is None:
                raise taskerrors.InvalidFieldError(
                    "spec.tasks[0].init", None, 'init not set for task of type "init"'
                )
            return inittask.init_package(package_name, task.init)
        if task.type == "clone":
            return await self._clone(ctx, task, package_name, deployment)
        if task.type == "edit":
            source_ref = task.edit.source_ref if task.edit is not None else None
            source = await self._find_source(
                ctx, source_ref.name if source_ref else None, "spec.tasks[0].edit.sourceRef.name"
            )
            return await edit.edit_from_revision(
                source.snapshot, repository=repository, package_path=package_name
            )
        if task.upgrade is None:
            raise taskerrors.InvalidFieldError(
                "spec.tasks[0].upgrade", None, 'upgrade field not set for task of type "upgrade"'
            )
        return await self._upgrade(ctx, task.upgrade, package_name)

    async def _clone(
        self, ctx: EngineContext, task: porchv1alpha1.Task, package_name: str, deployment: bool
    ) -> dict[str, str]:
        upstream = task.clone.upstream_ref if task.clone is not None else None
        path = "spec.tasks[0].clone.upstreamRef"
        if upstream is None:
            raise taskerrors.InvalidFieldError(path, None, 'clone not set for task of type "clone"')
        if upstream.upstream_ref is not None:
            source = await self._find_source(
                ctx, upstream.upstream_ref.name, f"{path}.upstreamRef.name"
            )
            return await clone.clone_from_revision(
                source.snapshot,
                package_name=package_name,
                deployment=deployment,
                package_path=package_name,
            )
        if upstream.git is not None:
            if self._git_fetcher is None:
                raise taskerrors.InvalidFieldError(
                    f"{path}.git", upstream.git.repo, "clone from git is not enabled on this server"
                )
            return await clone.clone_from_git(
                self._git_fetcher,
                ctx.namespace,
                upstream.git,
                package_name=package_name,
                deployment=deployment,
                package_path=package_name,
            )
        if upstream.oci is not None:
            raise taskerrors.InvalidFieldError(
                f"{path}.oci", upstream.oci.image, "clone from OCI is not implemented"
            )
        raise taskerrors.InvalidFieldError(
            path, None, "invalid clone source (neither of git, oci, nor upstream were specified)"
        )

    async def _upgrade(
        self, ctx: EngineContext, spec: porchv1alpha1.PackageUpgradeTaskSpec, package_name: str
    ) -> dict[str, str]:
        path = "spec.tasks[0].upgrade"
        refs = (
            (spec.old_upstream_ref, f"{path}.oldUpstreamRef.name"),
            (spec.new_upstream_ref, f"{path}.newUpstreamRef.name"),
            (spec.local_package_revision_ref, f"{path}.localPackageRevisionRef.name"),
        )
        sources = [await self._find_source(ctx, ref.name if ref else None, p) for ref, p in refs]
        for source, (_, source_path) in zip(sources, refs, strict=True):
            if not source.lifecycle.is_published:
                raise taskerrors.InvalidFieldError(
                    source_path,
                    source.name,
                    "all source PackageRevisions of upgrade task must be published, "
                    f"{_q(source.name)} is not",
                )
        old_upstream, new_upstream, local = sources
        return await upgrade.upgrade_package(
            old_upstream.snapshot,
            new_upstream.snapshot,
            local.snapshot,
            strategy=spec.strategy,
            package_name=package_name,
        )

    # -- update -----------------------------------------------------------------------------

    async def update_package_revision(
        self,
        ctx: EngineContext,
        name: str,
        new_obj: porchv1alpha1.PackageRevision,
        *,
        force_allow_create: bool = False,
    ) -> porchv1alpha1.PackageRevision:
        """Update through the main resource (porch.md §3.5). With `force_allow_create` (server-
        side apply) a name that does not exist is created from `new_obj`."""
        with tracer.start_as_current_span(
            "cadEngine::UpdatePackageRevision", attributes=_attributes(ctx.namespace, name)
        ):
            try:
                await self._find(ctx, name, for_write=True)
            except errors.NotFoundError:
                if not force_allow_create:
                    raise
                return await self.create_package_revision(ctx, new_obj)
            return await self._update(ctx, name, new_obj, lifecycle.Endpoint.MAIN)

    async def update_package_revision_approval(
        self, ctx: EngineContext, name: str, new_obj: porchv1alpha1.PackageRevision
    ) -> porchv1alpha1.PackageRevision:
        """Update through the approval subresource: approve (Proposed -> Published, with the
        next revision number), reject, propose or reject deletion (porch.md §3.2)."""
        with tracer.start_as_current_span(
            "cadEngine::UpdatePackageRevisionApproval",
            attributes=_attributes(ctx.namespace, name),
        ):
            return await self._update(ctx, name, new_obj, lifecycle.Endpoint.APPROVAL)

    def _object_lock(self, namespace: str, name: str) -> tuple[str, str]:
        key = f"{namespace}/{name}"
        return key, f'another request is already in progress on package revision "{key}"'

    async def _update(
        self,
        ctx: EngineContext,
        name: str,
        new_obj: porchv1alpha1.PackageRevision,
        endpoint: lifecycle.Endpoint,
    ) -> porchv1alpha1.PackageRevision:
        with self._locks.hold(*self._object_lock(ctx.namespace, name)):
            repo, current = await self._find(ctx, name, for_write=True)
            _check_resource_version(_PACKAGE_REVISIONS, name, current, new_obj.metadata)
            old_obj = current.to_api()
            new_obj = validation.prepare_for_update(old_obj, new_obj)
            meta = _updated_meta(current.meta, new_obj.metadata)
            if current.meta.deletion_timestamp is not None and not meta.finalizers:
                # The last finalizer of a revision being deleted went: delete it now.
                if not ctx.dry_run:
                    await repo.update_package_revision_meta(meta)
                    refreshed = await repo.get_package_revision(name)
                    await repo.delete_package_revision(refreshed or current, user=_repo_user(ctx))
                return old_obj
            _invalid(validation.validate_update(endpoint, old_obj, new_obj))
            new_spec = new_obj.spec or porchv1alpha1.PackageRevisionSpec()
            target = lifecycle.parse_lifecycle(new_spec.lifecycle) or current.lifecycle
            if current.lifecycle is repo_api.Lifecycle.DRAFT:
                return await self._update_draft(
                    ctx, repo, current=current, new_obj=new_obj, target=target, meta=meta
                )
            if ctx.dry_run:
                return new_obj
            if target is current.lifecycle:
                return (await repo.update_package_revision_meta(meta)).to_api()
            draft = await repo.update_package_revision(current, user=_repo_user(ctx))
            await draft.update_lifecycle(target)
            closed = await repo.close_package_revision_draft(draft, meta=meta)
            return closed.to_api()

    async def _update_draft(
        self,
        ctx: EngineContext,
        repo: cachetypes.CachedRepository,
        *,
        current: cachetypes.CachedPackageRevision,
        new_obj: porchv1alpha1.PackageRevision,
        target: repo_api.Lifecycle,
        meta: metatypes.PackageRevisionMeta,
    ) -> porchv1alpha1.PackageRevision:
        """A Draft's update: Kptfile patched from the object, re-rendered, one commit
        ("Rendering package") when the files changed, then the lifecycle."""
        with tracer.start_as_current_span(
            "genericTaskHandler::DoPRMutations", attributes=_attributes(ctx.namespace, current.name)
        ):
            old_files = await current.resources()
            files = dict(old_files)
            kptfile = files.get(_KPTFILE)
            if kptfile is not None:
                patched = kptfilesync.patch_kptfile(kptfile, new_obj)
                if patched is not None:
                    files[_KPTFILE] = patched
            outcome = await self._render(files)
        annotations = (new_obj.metadata.annotations if new_obj.metadata else None) or {}
        if outcome.failed and not _is_true(
            annotations.get(porchv1alpha1.PUSH_ON_RENDER_FAILURE_ANNOTATION)
        ):
            raise engineerrors.RenderFailedError(
                _RENDER_NOT_PUSHED.format(outcome.error),
                render_error=outcome.error,
                render_status=outcome.render_status,
                pushed=False,
            )
        if ctx.dry_run:
            return new_obj
        changed = outcome.files != old_files
        if not changed and target is current.lifecycle:
            return (await repo.update_package_revision_meta(meta)).to_api()
        draft = await repo.update_package_revision(current, user=_repo_user(ctx))
        if changed:
            await draft.update_resources(outcome.files, None)
        await draft.update_lifecycle(target)
        closed = await repo.close_package_revision_draft(draft, meta=meta)
        return closed.to_api()

    async def update_package_resources(
        self, ctx: EngineContext, name: str, new_prr: porchv1alpha1.PackageRevisionResources
    ) -> porchv1alpha1.PackageRevisionResources:
        """Replace a Draft's files (porch.md §3.6): comments healed from the old files, then
        rendered and committed ("Rendering package"). Returns the stored object with
        `status.renderStatus`. A failing render raises `RenderFailedError` and stores
        nothing, unless the revision is annotated `porch.kpt.dev/push-on-render-failure:
        "true"` (then it is stored and the error says so)."""
        with (
            tracer.start_as_current_span(
                "cadEngine::UpdatePackageResources", attributes=_attributes(ctx.namespace, name)
            ),
            self._locks.hold(*self._object_lock(ctx.namespace, name)),
        ):
            return await self._update_resources(ctx, name, new_prr)

    async def _update_resources(
        self, ctx: EngineContext, name: str, new_prr: porchv1alpha1.PackageRevisionResources
    ) -> porchv1alpha1.PackageRevisionResources:
        repo, current = await self._find(ctx, name, _PACKAGE_REVISION_RESOURCES, for_write=True)
        if current.lifecycle is not repo_api.Lifecycle.DRAFT:
            raise repo_api.not_draft_error(current.lifecycle)
        _check_resource_version(_PACKAGE_REVISION_RESOURCES, name, current, new_prr.metadata)
        old_files = await current.resources()
        new_files = dict((new_prr.spec.resources if new_prr.spec else None) or {})
        with tracer.start_as_current_span(
            "genericTaskHandler::DoPRResourceMutations", attributes=_attributes(ctx.namespace, name)
        ):
            files = heal.heal_comments(old_files, new_files)
            outcome = await self._render(files)
        push_anyway = _is_true(
            current.meta.annotations.get(porchv1alpha1.PUSH_ON_RENDER_FAILURE_ANNOTATION)
        )
        if outcome.failed and not push_anyway:
            raise engineerrors.RenderFailedError(
                _RENDER_NOT_PUSHED.format(outcome.error),
                render_error=outcome.error,
                render_status=outcome.render_status,
                pushed=False,
            )
        if ctx.dry_run:
            result = await current.to_resources_api()
            spec = (result.spec or porchv1alpha1.PackageRevisionResourcesSpec()).model_copy(
                update={"resources": outcome.files}
            )
            return result.model_copy(update={"spec": spec, "status": _prr_status(outcome)})
        draft = await repo.update_package_revision(current, user=_repo_user(ctx))
        await draft.update_resources(outcome.files, None)
        closed = await repo.close_package_revision_draft(draft)
        if outcome.failed:
            raise engineerrors.RenderFailedError(
                _RENDER_PUSHED.format(outcome.error),
                render_error=outcome.error,
                render_status=outcome.render_status,
                pushed=True,
            )
        stored = await closed.to_resources_api()
        return stored.model_copy(update={"status": _prr_status(outcome)})

    # -- delete -----------------------------------------------------------------------------

    async def delete_package_revision(
        self, ctx: EngineContext, name: str, *, preconditions: Preconditions | None = None
    ) -> tuple[porchv1alpha1.PackageRevision, bool]:
        """Delete a revision (porch.md §3.7). Returns the object and whether it was deleted
        now: with finalizers it is only marked (deletionTimestamp, MODIFIED event) and goes
        when an update removes the last finalizer."""
        with tracer.start_as_current_span(
            "cadEngine::DeletePackageRevision", attributes=_attributes(ctx.namespace, name)
        ):
            if not ctx.namespace:
                raise engineerrors.BadRequestError("namespace must be specified")
            with self._locks.hold(*self._object_lock(ctx.namespace, name)):
                return await self._delete(ctx, name, preconditions)

    async def _delete(
        self, ctx: EngineContext, name: str, preconditions: Preconditions | None
    ) -> tuple[porchv1alpha1.PackageRevision, bool]:
        repo, current = await self._find(ctx, name, for_write=True)
        obj = current.to_api()
        _check_preconditions(obj, preconditions)
        if current.lifecycle is repo_api.Lifecycle.PUBLISHED:
            raise engineerrors.DeleteForbiddenError(
                name,
                "published PackageRevisions must be proposed for deletion by setting "
                "spec.lifecycle to 'DeletionProposed' prior to deletion",
            )
        referrers = await self._upstream_referrers(ctx, name)
        if referrers:
            raise engineerrors.DeleteForbiddenError(
                name,
                "cannot delete package revision, it is referenced as upstream by: "
                + ", ".join(referrers),
            )
        if ctx.dry_run:
            return obj, not current.meta.finalizers
        if current.meta.finalizers:
            if current.meta.deletion_timestamp is not None:
                return obj, False
            marked = await repo.update_package_revision_meta(
                current.meta.with_changes(deletion_timestamp=metatypes.now())
            )
            return marked.to_api(), False
        await repo.delete_package_revision(current, user=_repo_user(ctx))
        return obj, True

    async def _upstream_referrers(self, ctx: EngineContext, name: str) -> list[str]:
        """Names of revisions of the namespace created from `name` by clone or upgrade
        (placeholders, which repeat their package's task, are ignored). The cache keeps
        an index of these references: a delete does not scan the namespace."""
        referrers = await self._cache.list_upstream_referrers(
            ctx.namespace, name, deadline=ctx.deadline
        )
        return [str(revision.name) for revision in referrers if revision.name != name]


# --- helpers ---------------------------------------------------------------------------------


def _namespace_of(repo: configv1alpha1.Repository) -> str:
    return (repo.metadata.namespace if repo.metadata else None) or ""


def _name_of(repo: configv1alpha1.Repository) -> str:
    return (repo.metadata.name if repo.metadata else None) or ""


def _managed_by_v1alpha2(repo: configv1alpha1.Repository) -> bool:
    annotations = (repo.metadata.annotations if repo.metadata else None) or {}
    return _is_true(annotations.get(V1ALPHA2_MIGRATION_ANNOTATION))


def _q(text: str) -> str:
    """Go's %q for the plain names in Porch's messages."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_workspace_unique(
    spec: porchv1alpha1.PackageRevisionSpec,
    same_package: Sequence[cachetypes.CachedPackageRevision],
) -> None:
    workspace = spec.workspace_name or ""
    if any(r.key.workspace_name == workspace for r in same_package):
        raise engineerrors.PackageExistsError(
            "package revision workspaceNames must be unique; package revision with name "
            f"{spec.package_name} in repo {spec.repository} with workspaceName {workspace} "
            "already exists"
        )


def _check_package_path(package_path: str, repository: str, existing: Sequence[str]) -> None:
    """A new package may not share its path with another package, nor nest in or around one."""
    for other in existing:
        if other == package_path:
            raise engineerrors.PackageExistsError(
                f"package {_q(package_path)} already exists in repository {_q(repository)}"
            )
        if other.startswith(package_path + "/") or package_path.startswith(other + "/"):
            raise taskerrors.InvalidFieldError(
                "spec.packageName",
                package_path,
                f"package path {_q(package_path)} conflicts with existing package "
                f"{_q(other)}: packages cannot be nested",
            )


def _check_resource_version(
    resource: str,
    name: str,
    current: cachetypes.CachedPackageRevision,
    metadata: metav1.ObjectMeta | None,
) -> None:
    requested = (metadata.resource_version if metadata else None) or ""
    if not requested:
        raise taskerrors.InvalidFieldError(
            "metadata.resourceVersion", requested, "resourceVersion must be specified for an update"
        )
    # The value the cache put in the object the client read: commit and metadata version
    # (a metadata-only update moves it too, so a stale copy of a label edit is caught).
    if requested != current.api_resource_version:
        raise engineerrors.StaleObjectError(resource, name)


def _check_preconditions(
    obj: porchv1alpha1.PackageRevision, preconditions: Preconditions | None
) -> None:
    if preconditions is None or obj.metadata is None:
        return
    if preconditions.uid is not None and preconditions.uid != obj.metadata.uid:
        raise errors.ConflictError(
            f"Precondition failed: UID in precondition: {preconditions.uid}, UID in object "
            f"meta: {obj.metadata.uid}"
        )
    if (
        preconditions.resource_version is not None
        and preconditions.resource_version != obj.metadata.resource_version
    ):
        raise errors.ConflictError(
            "Precondition failed: ResourceVersion in precondition: "
            f"{preconditions.resource_version}, ResourceVersion in object meta: "
            f"{obj.metadata.resource_version}"
        )


def _user_labels(metadata: metav1.ObjectMeta | None) -> dict[str, str]:
    labels = dict((metadata.labels if metadata else None) or {})
    # Computed on read, never stored.
    labels.pop(porchv1alpha1.LATEST_REVISION_LABEL, None)
    return labels


def _new_meta(
    namespace: str, name: str, repository: str, metadata: metav1.ObjectMeta | None
) -> metatypes.PackageRevisionMeta:
    return metatypes.PackageRevisionMeta.new(
        namespace,
        name,
        repository,
        labels=_user_labels(metadata),
        annotations=dict((metadata.annotations if metadata else None) or {}),
        finalizers=list((metadata.finalizers if metadata else None) or []),
        owner_references=list((metadata.owner_references if metadata else None) or []),
        managed_fields=list((metadata.managed_fields if metadata else None) or []),
    )


def _updated_meta(
    stored: metatypes.PackageRevisionMeta, metadata: metav1.ObjectMeta | None
) -> metatypes.PackageRevisionMeta:
    """The stored metadata with the request's labels, annotations, finalizers,
    ownerReferences and managedFields (an update replaces them, as a Kubernetes update
    does). managedFields left unset (None) keep the stored ones, an empty list clears
    them, as in Kubernetes; a change of them alone is a metadata change like any other
    (it moves the resourceVersion)."""
    managed_fields = metadata.managed_fields if metadata else None
    return dataclasses.replace(
        stored,
        labels=_user_labels(metadata),
        annotations=dict((metadata.annotations if metadata else None) or {}),
        finalizers=tuple((metadata.finalizers if metadata else None) or ()),
        owner_references=tuple((metadata.owner_references if metadata else None) or ()),
        managed_fields=(stored.managed_fields if managed_fields is None else tuple(managed_fields)),
    )


def _prr_status(outcome: render.RenderOutcome) -> porchv1alpha1.PackageRevisionResourcesStatus:
    return porchv1alpha1.PackageRevisionResourcesStatus(render_status=outcome.render_status)


def _dry_run_object(
    *,
    namespace: str,
    name: str,
    repo: cachetypes.CachedRepository,
    spec: porchv1alpha1.PackageRevisionSpec,
    task: porchv1alpha1.Task,
    meta: metatypes.PackageRevisionMeta,
) -> porchv1alpha1.PackageRevision:
    """What a create would have returned, for a dry run (nothing was stored)."""
    repo_spec = repo.repository.spec
    return porchv1alpha1.PackageRevision(
        api_version=porchv1alpha1.API_VERSION,
        kind="PackageRevision",
        metadata=metav1.ObjectMeta(
            name=name,
            namespace=namespace,
            uid=repo_api.package_revision_uid(namespace, name),
            labels=dict(meta.labels) or None,
            annotations=dict(meta.annotations) or None,
            finalizers=list(meta.finalizers) or None,
            owner_references=list(meta.owner_references) or None,
            creation_timestamp=meta.creation_timestamp.astimezone(datetime.UTC),
            managed_fields=list(meta.managed_fields) or None,
        ),
        spec=spec.model_copy(update={"lifecycle": "Draft", "tasks": [task]}),
        status=porchv1alpha1.PackageRevisionStatus(
            deployment=bool(repo_spec and repo_spec.deployment)
        ),
    )
