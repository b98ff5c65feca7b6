"""REST storage of ``packagerevisionresources``: get, list and update of a revision's files.

Where this sits: ``pkg.cmd.server`` builds it with :func:`pkg.registry.porch.new_storages`;
the API server routes ``/apis/porch.kpt.dev/v1alpha1/[namespaces/{ns}/]
packagerevisionresources`` to it. A PackageRevisionResources is the same revision as the
PackageRevision of that name, seen as its files (``spec.resources``). There is no watch,
create or delete (405), as in Porch.

An update (``porchctl rpkg push``, ``kubectl replace``) replaces a Draft's files, renders
the package and commits the result; the response carries the render's function results in
``status.renderStatus``. It requires ``metadata.resourceVersion`` (422 without it, 409
Conflict when stale). A failing render is 422 with Porch's text ("error rendering package
in kpt function pipeline. Package NOT pushed to remote. ..."), and nothing is stored unless
the revision is annotated ``porch.kpt.dev/push-on-render-failure: "true"``. Field selectors
are those of packagerevisions. Spans are ``[START]::PackageRevisionResources::List``,
``::Get`` and ``::Update``, as Porch's.

The revision's files are the whole of what it stores: ``metadata.managedFields`` are not
kept, so the storage declares ``rest.ManagedFieldsDiscarder`` and the API server tracks no
field ownership for it (server-side apply is a plain merge here).
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel

from api.porch import v1alpha1 as porchv1alpha1
from pkg.registry.porch import (
    fieldselector,
    packagecommon,
    strategyresources,
    table,
)
from pkg.registry.rest import rest

__all__ = ["PackageRevisionResourcesStorage"]

INFO: Final = porchv1alpha1.PACKAGE_REVISION_RESOURCES
_SPAN: Final = "[START]::PackageRevisionResources::"


class PackageRevisionResourcesStorage(packagecommon.Storage):
    """``Getter``, ``Lister``, ``Updater``, ``TableConvertor`` and
    ``ManagedFieldsDiscarder`` of ``packagerevisionresources`` over one engine."""

    discards_managed_fields: Literal[True] = True

    resource_info = INFO
    model = porchv1alpha1.PackageRevisionResources
    list_model = porchv1alpha1.PackageRevisionResourcesList
    columns = table.PACKAGE_REVISION_RESOURCES

    async def get(self, ctx: rest.RequestContext, name: str) -> BaseModel:
        with packagecommon.operation(_SPAN + "Get", ctx, INFO, name):
            return await self._engine.get_package_revision_resources(
                packagecommon.engine_context(ctx), name
            )

    async def list(self, ctx: rest.RequestContext, options: rest.ListOptions) -> rest.ListResult:
        with packagecommon.operation(_SPAN + "List", ctx, INFO):
            filter = fieldselector.package_revision_filter(options, ctx.namespace)
            packagecommon.start_after(options)  # a malformed continue token is 400 first
            # The sequence number before listing: a watch from it misses nothing.
            resource_version = str(self._engine.watcher_manager.current_resource_version())
            items = await self._engine.list_package_revision_resources(
                packagecommon.engine_context(ctx), filter
            )
            return packagecommon.page(items, resource_version, options)

    async def update(
        self,
        ctx: rest.RequestContext,
        name: str,
        obj_info: rest.UpdatedObjectInfo,
        options: rest.UpdateOptions,
    ) -> tuple[BaseModel, bool]:
        return await self._update(
            _SPAN + "Update",
            ctx,
            name,
            obj_info,
            model=porchv1alpha1.PackageRevisionResources,
            strategy=strategyresources.STRATEGY,
            read=self._engine.get_package_revision_resources,
            write=self._engine.update_package_resources,
        )
