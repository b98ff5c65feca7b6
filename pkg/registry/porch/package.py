"""REST storage of ``packages``: get and list, read-only (porch.md §1.6).

Where this sits: ``pkg.cmd.server`` builds it with :func:`pkg.registry.porch.new_storages`;
the API server routes ``/apis/porch.kpt.dev/v1alpha1/[namespaces/{ns}/]packages`` to it.
A package (kind ``PorchPackage``) is a package path with at least one revision in a
registered repository, named ``<repository>.<package path dotted>``, with the latest
published revision number in ``status.latestRevision``. The storage implements only
``Getter`` and ``Lister``, so the API server answers create, update, patch, delete and
watch with 405 MethodNotAllowed. Field selectors: ``metadata.name``,
``metadata.namespace``, ``spec.packageName``, ``spec.repository``; a label selector is
applied to the (always empty) labels. Spans are ``packages::List`` and ``packages::Get``,
as Porch's.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

from api.porch import v1alpha1 as porchv1alpha1
from pkg.registry.porch import fieldselector, packagecommon, table
from pkg.registry.rest import rest

__all__ = ["PackageStorage"]

INFO: Final = porchv1alpha1.PACKAGES
_SPAN: Final = "packages::"


class PackageStorage(packagecommon.Storage):
    """``Getter``, ``Lister`` and ``TableConvertor`` of ``packages`` over one engine."""

    resource_info = INFO
    model = porchv1alpha1.PorchPackage
    list_model = porchv1alpha1.PorchPackageList
    columns = table.PACKAGES

    async def get(self, ctx: rest.RequestContext, name: str) -> BaseModel:
        with packagecommon.operation(_SPAN + "Get", ctx, INFO, name):
            return await self._engine.get_package(packagecommon.engine_context(ctx), name)

    async def list(self, ctx: rest.RequestContext, options: rest.ListOptions) -> rest.ListResult:
        with packagecommon.operation(_SPAN + "List", ctx, INFO):
            filter = fieldselector.package_filter(options, ctx.namespace)
            packagecommon.start_after(options)  # a malformed continue token is 400 first
            resource_version = str(self._engine.watcher_manager.current_resource_version())
            packages = await self._engine.list_packages(packagecommon.engine_context(ctx), filter)
            selector = options.label_selector
            if selector is not None:
                packages = [
                    p
                    for p in packages
                    if selector.matches((p.metadata.labels if p.metadata else None) or {})
                ]
            return packagecommon.page(packages, resource_version, options)
