"""REST storage of ``packagerevisions/approval``: get and update (approve, reject, deletion).

Where this sits: ``pkg.cmd.server`` builds it with :func:`pkg.registry.porch.new_storages`;
the API server routes ``.../packagerevisions/{name}/approval`` to it (GET, PUT, PATCH).
Approving is the one way to publish a revision, so RBAC on this subresource is what
separates approvers from authors. An update runs :mod:`pkg.registry.porch.strategyapproval`
(lifecycle only; the table of allowed changes) and then
:meth:`~pkg.engine.engine.CaDEngine.update_package_revision_approval`, which assigns the
next revision number on approval. There is no create-on-update, not even for server-side
apply: a missing revision is 404. Spans are ``[START]::packageRevisionApproval::Get`` and
``::Update``, as Porch's.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

from api.porch import v1alpha1 as porchv1alpha1
from pkg.registry.porch import packagecommon, strategyapproval, table
from pkg.registry.rest import rest

__all__ = ["PackageRevisionApprovalStorage"]

INFO: Final = porchv1alpha1.PACKAGE_REVISIONS
_SPAN: Final = "[START]::packageRevisionApproval::"


class PackageRevisionApprovalStorage(packagecommon.Storage):
    """``Getter``, ``Updater`` and ``TableConvertor`` of ``packagerevisions/approval``."""

    resource_info = INFO
    model = porchv1alpha1.PackageRevision
    list_model = porchv1alpha1.PackageRevisionList
    columns = table.PACKAGE_REVISIONS  # ``kubectl get --subresource=approval``

    async def get(self, ctx: rest.RequestContext, name: str) -> BaseModel:
        """The whole revision, as a Kubernetes subresource GET returns it."""
        with packagecommon.operation(_SPAN + "Get", ctx, INFO, name):
            return await self._engine.get_package_revision(packagecommon.engine_context(ctx), name)

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
            model=porchv1alpha1.PackageRevision,
            strategy=strategyapproval.STRATEGY,
            read=self._engine.get_package_revision,
            write=self._engine.update_package_revision_approval,
        )
