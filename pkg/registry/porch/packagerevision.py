"""REST storage of ``packagerevisions``: get, list, watch, create, update, delete.

Where this sits: ``pkg.cmd.server`` builds it with :func:`pkg.registry.porch.new_storages`
and the API server routes ``/apis/porch.kpt.dev/v1alpha1/[namespaces/{ns}/]packagerevisions``
to it (PUT and PATCH become :meth:`PackageRevisionStorage.update`). Every call runs the
strategy (:mod:`pkg.registry.porch.strategy`) through the create/update drivers, then one
method of the CaD engine (:class:`~pkg.engine.engine.CaDEngine`), inside a span named as
Porch's (``[START]::packageRevisions::Create``); domain errors become Status errors
(:mod:`pkg.registry.porch.interpret`).

Porch's semantics where Kubernetes resources differ:

* names are computed (``<repository>.<package path dotted>.<workspaceName>``); a create
  ignores ``metadata.name`` and ``generateName`` (with a warning);
* ``metadata.resourceVersion`` of an object is its git commit, with ``.<n>`` appended
  once its metadata changed (``n`` counts metadata changes, which make no commit); opaque,
  not ordered, shared with its packagerevisionresources; a list's resourceVersion is the
  watch event sequence number (never "0"), which watches resume from;
* updates require ``metadata.resourceVersion`` (422 without it, 409 when stale); PATCH
  applies to the current object, so it never conflicts;
* ``metadata.managedFields``, as the API server records them on the object it hands over,
  are kept with the revision's metadata (not in git) and shown by get, list and watch;
  an update that leaves them out keeps them, ``[]`` clears them, and a change of them
  alone moves the resourceVersion like a label change;
* PUT of a missing name is 404; server-side apply of a missing name creates it, and the
  name must then be the one the spec computes (422 otherwise);
* ``dryRun=All`` runs every check and the whole task and render, and stores nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Final

from pydantic import BaseModel

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import errors, field
from pkg.engine import engine
from pkg.registry.porch import fieldselector, packagecommon, strategy, table, watch
from pkg.registry.rest import create, rest

__all__ = ["PackageRevisionStorage"]

INFO: Final = porchv1alpha1.PACKAGE_REVISIONS
KIND: Final = errors.GroupKind(porchv1alpha1.GROUP, strategy.KIND)
_SPAN: Final = "[START]::packageRevisions::"


class PackageRevisionStorage(packagecommon.Storage):
    """``Getter``, ``Lister``, ``Watcher``, ``Creater``, ``Updater``, ``GracefulDeleter`` and
    ``TableConvertor`` of ``packagerevisions`` over one engine."""

    resource_info = INFO
    model = porchv1alpha1.PackageRevision
    list_model = porchv1alpha1.PackageRevisionList
    columns = table.PACKAGE_REVISIONS

    # -- read -------------------------------------------------------------------------------

    async def get(self, ctx: rest.RequestContext, name: str) -> BaseModel:
        with packagecommon.operation(_SPAN + "Get", ctx, INFO, name):
            return await self._engine.get_package_revision(packagecommon.engine_context(ctx), name)

    async def list(self, ctx: rest.RequestContext, options: rest.ListOptions) -> rest.ListResult:
        with packagecommon.operation(_SPAN + "List", ctx, INFO):
            filter = fieldselector.package_revision_filter(options, ctx.namespace)
            packagecommon.start_after(options)  # a malformed continue token is 400 first
            result = await self._engine.list_package_revisions(
                packagecommon.engine_context(ctx), filter
            )
            return packagecommon.page(result.items, result.resource_version, options)

    def watch(
        self, ctx: rest.RequestContext, options: rest.ListOptions
    ) -> AsyncIterator[rest.WatchEvent]:
        return watch.watch_package_revisions(self._engine, ctx, options)

    # -- create -----------------------------------------------------------------------------

    async def create(
        self, ctx: rest.RequestContext, obj: BaseModel, options: rest.CreateOptions
    ) -> BaseModel:
        revision = packagecommon.expect(obj, porchv1alpha1.PackageRevision)
        with packagecommon.operation(
            _SPAN + "Create", ctx, INFO, strategy.computed_name(revision) or ""
        ):
            return await self._create(ctx, revision)

    async def _create(
        self, ctx: rest.RequestContext, obj: porchv1alpha1.PackageRevision
    ) -> porchv1alpha1.PackageRevision:
        packagecommon.require_namespace(ctx)
        if not (obj.spec and obj.spec.repository):
            raise errors.new_bad_request("spec.repositoryName is required")
        create.before_create(strategy.STRATEGY, ctx, obj, KIND)
        return await self._engine.create_package_revision(packagecommon.engine_context(ctx), obj)

    # -- update -----------------------------------------------------------------------------

    async def update(
        self,
        ctx: rest.RequestContext,
        name: str,
        obj_info: rest.UpdatedObjectInfo,
        options: rest.UpdateOptions,
    ) -> tuple[BaseModel, bool]:
        async def create(body: porchv1alpha1.PackageRevision) -> porchv1alpha1.PackageRevision:
            return await self._create_on_update(ctx, name, body)

        return await self._update(
            _SPAN + "Update",
            ctx,
            name,
            obj_info,
            model=porchv1alpha1.PackageRevision,
            strategy=strategy.STRATEGY,
            read=self._engine.get_package_revision,
            write=self._engine.update_package_revision,
            create=create if options.force_allow_create else None,
        )

    async def _create_on_update(
        self, ctx: rest.RequestContext, name: str, obj: porchv1alpha1.PackageRevision
    ) -> porchv1alpha1.PackageRevision:
        """Server-side apply of a missing revision: create it, if its spec gives it the name
        the request asked for (422 otherwise: the client would not find it there)."""
        if obj.spec is not None and obj.spec.repository:
            computed = strategy.computed_name(obj)
            if computed is not None and computed != name:
                raise errors.new_invalid(
                    KIND,
                    name,
                    field.ErrorList(
                        [
                            field.invalid(
                                field.new_path("metadata", "name"),
                                name,
                                f"the spec names this package revision {computed!r} "
                                "(<repository>.<package path>.<workspaceName>)",
                            )
                        ]
                    ),
                )
        return await self._create(ctx, obj)

    # -- delete -----------------------------------------------------------------------------

    async def delete(
        self, ctx: rest.RequestContext, name: str, options: metav1.DeleteOptions
    ) -> tuple[BaseModel, bool]:
        with packagecommon.operation(_SPAN + "Delete", ctx, INFO, name):
            packagecommon.require_namespace(ctx)
            preconditions = None
            if options.preconditions is not None:
                preconditions = engine.Preconditions(
                    uid=options.preconditions.uid,
                    resource_version=options.preconditions.resource_version,
                )
            ectx = packagecommon.engine_context(ctx)
            if "All" in (options.dry_run or []):
                # The API server also folds DeleteOptions.dryRun into the context; a caller
                # in Python may only set the options.
                ectx = dataclasses.replace(ectx, dry_run=True)
            obj, immediately = await self._engine.delete_package_revision(
                ectx, name, preconditions=preconditions
            )
            return obj, immediately
