"""Test support for the porch.kpt.dev storages: an engine over fake repositories, request
contexts, and an adapter that runs the REST conformance check on Porch's storages.

Never imported by production code. Used by ``pkg/registry/porch/*_test.py``.

:func:`new_engine` builds a real :class:`~pkg.engine.engine.CaDEngine` over the real cache
(:mod:`pkg.cache.cachetesting`: in-memory fake repositories, which are their own remotes)
whose resolver opens the repositories named in :data:`REPOSITORIES` in whatever namespace a
request names, as a cluster where every namespace registered them would.

:class:`ResttestAdapter` exists because :mod:`pkg.registry.rest.resttest` names objects
freely ("first", "a", "wanted") while Porch computes names from the spec
(``<repository>.<package path>.<workspaceName>``). The adapter gives the check a storage that
speaks the check's names: test name ``N`` is package ``N`` in repository ``repo``,
workspace ``ws``, i.e. Porch name ``repo.N.ws`` (``repo.N`` for packages). Names are mapped
on the way in (URLs, bodies, ``metadata.name`` field selectors) and out (objects, events,
``details.name`` and quoted names in Status messages); everything else is the real storage's
behaviour. Storages without ``create`` (packagerevisionresources, packages) get one that
creates the revision through packagerevisions and returns the storage's own view of it.

:class:`Porch` holds the four storages of :func:`pkg.registry.porch.new_storages` and drives
them as a client would (create, get, PUT, lifecycle changes, publish, list).

The tests' own shorthands live here too, so every storage test reads the same:
:func:`conformance_revision` (the conformance check's ``new_object``), :func:`status_error`
(the StatusError a call raises), :func:`meta_of` and :func:`spec_of` (asserting accessors).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar

import pytest
from pydantic import BaseModel

from api import resourceinfo
from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import errors, strconv
from pkg.cache import cachetesting, watchermanager
from pkg.engine import engine, enginetesting
from pkg.kpt.fn import runtime as fnruntime
from pkg.registry import porch as porchregistry
from pkg.registry.rest import objectmeta, rest

__all__ = [
    "REPOSITORIES",
    "REPOSITORY",
    "WORKSPACE",
    "OpenAnywhere",
    "Porch",
    "Replace",
    "ResttestAdapter",
    "conformance_revision",
    "context",
    "meta_of",
    "names",
    "new_engine",
    "package_name",
    "package_of",
    "revision_name",
    "revision_package",
    "spec_of",
    "status_error",
]

REPOSITORY: Final = "repo"
WORKSPACE: Final = "ws"
REPOSITORIES: Final = (REPOSITORY, "other")
"""Repositories :func:`new_engine`'s resolver opens on demand in any namespace."""

_T = TypeVar("_T")


class OpenAnywhere:
    """An ``engine.RepositoryResolver`` that knows the repositories ``names`` in every
    namespace (git repositories at ``https://example.com/<namespace>/<name>.git``)."""

    def __init__(self, names: Sequence[str] = REPOSITORIES) -> None:
        self._names = frozenset(names)

    async def get_repository(self, namespace: str, name: str) -> configv1alpha1.Repository | None:
        if name not in self._names:
            return None
        return cachetesting.repository_object(name, namespace=namespace)


def new_engine(*, history_size: int | None = None) -> enginetesting.FakeEngine:
    """An engine over an empty cache of fake repositories; creates open ``repo`` and
    ``other`` in the request's namespace on first use. ``history_size`` bounds the watch
    history (the WatcherManager's default otherwise)."""
    backends = cachetesting.FakeBackends()
    manager = watchermanager.WatcherManager(
        history_size=history_size or watchermanager.DEFAULT_HISTORY_SIZE
    )
    cache = cachetesting.new_fake_cache(backends, watcher_manager=manager)
    cad = engine.CaDEngine(
        cache, runtime=fnruntime.BuiltinRuntime(), repository_resolver=OpenAnywhere()
    )
    return enginetesting.FakeEngine(engine=cad, cache=cache, backends=backends)


def context(namespace: str | None = "default", *, dry_run: bool = False) -> rest.RequestContext:
    """The context of a request by an authenticated user (``enginetesting.USER``)."""
    return rest.RequestContext(namespace=namespace, user=enginetesting.USER, dry_run=dry_run)


def revision_name(package: str, workspace: str = WORKSPACE, repository: str = REPOSITORY) -> str:
    """The Porch name of a top-level package's revision: ``repo.<package>.ws``."""
    return f"{repository}.{package}.{workspace}"


def package_name(package: str, repository: str = REPOSITORY) -> str:
    """The Porch name of a top-level package: ``repo.<package>``."""
    return f"{repository}.{package}"


def conformance_revision(namespace: str, name: str) -> BaseModel:
    """The conformance check's ``new_object``: a Draft of package ``name`` in ``repo``,
    workspace ``ws``, under the check's name (the adapter maps it to Porch's)."""
    obj = enginetesting.package_revision(name, WORKSPACE, namespace=namespace)
    assert obj.metadata is not None
    obj.metadata.name = name
    return obj


async def status_error(action: Awaitable[object]) -> errors.StatusError:
    """The StatusError ``action`` raises (the test fails when it raises none)."""
    with pytest.raises(errors.StatusError) as info:
        await action
    return info.value


def meta_of(obj: BaseModel) -> metav1.ObjectMeta:
    """``obj.metadata``, asserting that the storage returned one."""
    found = getattr(obj, "metadata", None)
    assert isinstance(found, metav1.ObjectMeta)
    return found


def spec_of(obj: BaseModel) -> porchv1alpha1.PackageRevisionSpec:
    """The spec of a PackageRevision, asserting that ``obj`` is one and has a spec."""
    assert isinstance(obj, porchv1alpha1.PackageRevision) and obj.spec is not None
    return obj.spec


# --- the conformance adapter ---------------------------------------------------------------


def _meta(obj: BaseModel) -> metav1.ObjectMeta:
    return objectmeta.meta_of(obj)


class _MappedInfo:
    """The check's UpdatedObjectInfo, seen by the real storage with Porch names."""

    def __init__(self, adapter: ResttestAdapter, inner: rest.UpdatedObjectInfo) -> None:
        self._adapter = adapter
        self._inner = inner

    async def updated_object(self, ctx: rest.RequestContext, old: BaseModel | None) -> BaseModel:
        shown = self._adapter.outward(old) if old is not None else None
        return self._adapter.inward(await self._inner.updated_object(ctx, shown))


class ResttestAdapter:
    """The storage under test, named as :mod:`pkg.registry.rest.resttest` names objects.

    ``to_porch``/``from_porch`` map a test name to the Porch name and back; ``creater``
    creates objects (the storage itself when it can, else packagerevisions), ``view`` turns
    what ``creater`` returned into the storage's own object.
    """

    def __init__(
        self,
        storage: rest.Storage,
        *,
        to_porch: Callable[[str], str] = revision_name,
        from_porch: Callable[[str], str] | None = None,
        creater: rest.Creater | None = None,
        view: Callable[[rest.RequestContext, BaseModel], Awaitable[BaseModel]] | None = None,
    ) -> None:
        self._storage = storage
        self._to_porch = to_porch
        self._from_porch = from_porch or revision_package
        creater = creater or (storage if isinstance(storage, rest.Creater) else None)
        assert creater is not None, "the adapter needs a way to create objects"
        self._creater = creater
        self._view = view

    # -- names ------------------------------------------------------------------------------

    def outward(self, obj: BaseModel) -> BaseModel:
        """A copy of a storage object with the check's name."""
        out = obj.model_copy(deep=True)
        meta = getattr(out, "metadata", None)
        if isinstance(meta, metav1.ObjectMeta) and meta.name:
            meta.name = self._from_porch(meta.name)
        return out

    def inward(self, obj: BaseModel) -> BaseModel:
        """A copy of a check's object with the Porch name."""
        out = obj.model_copy(deep=True)
        meta = _meta(out)
        if meta.name:
            meta.name = self._to_porch(meta.name)
        return out

    def _error(self, err: errors.StatusError, test_name: str) -> errors.StatusError:
        status = err.status.model_copy(deep=True)
        porch_name = self._to_porch(test_name)
        if status.message:
            status.message = status.message.replace(
                strconv.quote(porch_name), strconv.quote(test_name)
            )
        if status.details is not None and status.details.name == porch_name:
            status.details.name = test_name
        return errors.StatusError(status)

    async def _call(self, work: Awaitable[_T], test_name: str) -> _T:
        try:
            return await work
        except errors.StatusError as err:
            raise self._error(err, test_name) from err

    def _options(self, options: rest.ListOptions) -> rest.ListOptions:
        selector = options.field_selector
        if selector is None:
            return options

        def porch_names(field: str, value: str) -> tuple[str, str]:
            return field, self._to_porch(value) if field == "metadata.name" else value

        return rest.ListOptions(
            label_selector=options.label_selector,
            field_selector=selector.transform(porch_names),
            limit=options.limit,
            continue_token=options.continue_token,
            resource_version=options.resource_version,
            resource_version_match=options.resource_version_match,
            timeout_seconds=options.timeout_seconds,
            allow_watch_bookmarks=options.allow_watch_bookmarks,
            send_initial_events=options.send_initial_events,
        )

    # -- rest.Storage -----------------------------------------------------------------------

    @property
    def resource(self) -> resourceinfo.ResourceInfo:
        return self._storage.resource

    def new_object(self) -> type[BaseModel]:
        return self._storage.new_object()

    def new_list(self) -> type[BaseModel]:
        return self._storage.new_list()

    async def create(
        self, ctx: rest.RequestContext, obj: BaseModel, options: rest.CreateOptions
    ) -> BaseModel:
        test_name = _meta(obj).name or ""
        created = await self._call(self._creater.create(ctx, self.inward(obj), options), test_name)
        if self._view is not None:
            created = await self._call(self._view(ctx, created), test_name)
        return self.outward(created)

    async def get(self, ctx: rest.RequestContext, name: str) -> BaseModel:
        assert isinstance(self._storage, rest.Getter)
        return self.outward(await self._call(self._storage.get(ctx, self._to_porch(name)), name))

    async def list(self, ctx: rest.RequestContext, options: rest.ListOptions) -> rest.ListResult:
        assert isinstance(self._storage, rest.Lister)
        result = await self._storage.list(ctx, self._options(options))
        return rest.ListResult(
            items=[self.outward(o) for o in result.items],
            resource_version=result.resource_version,
            continue_token=result.continue_token,
            remaining_item_count=result.remaining_item_count,
        )

    async def update(
        self,
        ctx: rest.RequestContext,
        name: str,
        obj_info: rest.UpdatedObjectInfo,
        options: rest.UpdateOptions,
    ) -> tuple[BaseModel, bool]:
        assert isinstance(self._storage, rest.Updater)
        stored, created = await self._call(
            self._storage.update(ctx, self._to_porch(name), _MappedInfo(self, obj_info), options),
            name,
        )
        return self.outward(stored), created

    async def delete(
        self, ctx: rest.RequestContext, name: str, options: metav1.DeleteOptions
    ) -> tuple[BaseModel, bool]:
        assert isinstance(self._storage, rest.GracefulDeleter)
        obj, immediately = await self._call(
            self._storage.delete(ctx, self._to_porch(name), options), name
        )
        return self.outward(obj), immediately

    async def watch(
        self, ctx: rest.RequestContext, options: rest.ListOptions
    ) -> AsyncIterator[rest.WatchEvent]:
        assert isinstance(self._storage, rest.Watcher)
        stream = self._storage.watch(ctx, self._options(options))
        try:
            async for event in stream:
                yield rest.WatchEvent(event.type, self.outward(event.object))
        finally:
            aclose: Any = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()


_NAME_PARTS = re.compile(r"^[^.]+\.(?P<package>.+)\.[^.]+$")


def revision_package(porch_name: str) -> str:
    """``repo.N.ws`` -> ``N`` (the package of a top-level revision)."""
    match = _NAME_PARTS.match(porch_name)
    return match.group("package") if match else porch_name


def package_of(porch_name: str) -> str:
    """``repo.N`` -> ``N`` (the package of a Package object)."""
    return porch_name.split(".", 1)[1] if "." in porch_name else porch_name


# --- driving the storages ------------------------------------------------------------------


class Replace:
    """A PUT body as a ``rest.UpdatedObjectInfo``: the new object whatever is stored."""

    def __init__(self, obj: BaseModel) -> None:
        self._obj = obj

    async def updated_object(self, ctx: rest.RequestContext, old: BaseModel | None) -> BaseModel:
        return self._obj.model_copy(deep=True)


class Porch:
    """The four storages over one fake engine, with shorthands for a revision's lifecycle."""

    def __init__(self, fake: enginetesting.FakeEngine) -> None:
        self.fake = fake
        self.engine = fake.engine
        storages = porchregistry.new_storages(fake.engine)
        self.revisions = storages["packagerevisions"]
        self.approval = storages["packagerevisions/approval"]
        self.resources = storages["packagerevisionresources"]
        self.packages = storages["packages"]

    async def create(
        self,
        package: str,
        workspace: str = WORKSPACE,
        *,
        namespace: str = "default",
        repository: str = REPOSITORY,
        **fields: Any,
    ) -> porchv1alpha1.PackageRevision:
        """Create a revision through packagerevisions (``fields`` as
        ``enginetesting.package_revision`` takes them)."""
        assert isinstance(self.revisions, rest.Creater)
        obj = enginetesting.package_revision(package, workspace, repository=repository, **fields)
        created = await self.revisions.create(context(namespace), obj, rest.CreateOptions())
        assert isinstance(created, porchv1alpha1.PackageRevision)
        return created

    async def get(self, name: str, *, namespace: str = "default") -> porchv1alpha1.PackageRevision:
        assert isinstance(self.revisions, rest.Getter)
        obj = await self.revisions.get(context(namespace), name)
        assert isinstance(obj, porchv1alpha1.PackageRevision)
        return obj

    async def put(
        self,
        obj: BaseModel,
        *,
        storage: rest.Storage | None = None,
        namespace: str = "default",
        dry_run: bool = False,
        force_allow_create: bool = False,
        name: str | None = None,
    ) -> BaseModel:
        """PUT ``obj`` to packagerevisions (or ``storage``) under its own name."""
        target = storage or self.revisions
        assert isinstance(target, rest.Updater)
        stored, _ = await target.update(
            context(namespace, dry_run=dry_run),
            name or _meta(obj).name or "",
            Replace(obj),
            rest.UpdateOptions(force_allow_create=force_allow_create),
        )
        return stored

    async def lifecycle(
        self, name: str, value: str, *, approval: bool = False, namespace: str = "default"
    ) -> porchv1alpha1.PackageRevision:
        """Set ``spec.lifecycle`` of the current object, through approval if asked."""
        current = await self.get(name, namespace=namespace)
        changed = current.model_copy(deep=True)
        assert changed.spec is not None
        changed.spec.lifecycle = value  # type: ignore[assignment]
        stored = await self.put(
            changed, storage=self.approval if approval else None, namespace=namespace
        )
        assert isinstance(stored, porchv1alpha1.PackageRevision)
        return stored

    async def publish(
        self, name: str, *, namespace: str = "default"
    ) -> porchv1alpha1.PackageRevision:
        """Propose, then approve."""
        await self.lifecycle(name, "Proposed", namespace=namespace)
        return await self.lifecycle(name, "Published", approval=True, namespace=namespace)

    async def list(
        self, storage: rest.Storage | None = None, namespace: str | None = "default", **options: Any
    ) -> rest.ListResult:
        target = storage or self.revisions
        assert isinstance(target, rest.Lister)
        return await target.list(context(namespace), rest.ListOptions(**options))


def names(result: rest.ListResult) -> list[str]:
    """``metadata.name`` of every item of a list."""
    return [_meta(item).name or "" for item in result.items]
