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

from collections.abc import Sequence
from typing import Final

from pydantic import BaseModel

from api import resourceinfo
from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import errors
from pkg.engine import engine
from pkg.registry.porch import packagecommon, strategy, strategyapproval, table
from pkg.registry.rest import rest, update
from pkg.repository import errors as repoerrors

__all__ = ["PackageRevisionApprovalStorage"]

INFO: Final = porchv1alpha1.PACKAGE_REVISIONS
KIND: Final = errors.GroupKind(porchv1alpha1.GROUP, strategy.KIND)
_SPAN: Final = "[START]::packageRevisionApproval::"


class PackageRevisionApprovalStorage:
    """``Getter``, ``Updater`` and ``TableConvertor`` of ``packagerevisions/approval``."""

    def __init__(self, cad: engine.CaDEngine) -> None:
        self._engine = cad

    @property
    def resource(self) -> resourceinfo.ResourceInfo:
        return INFO

    def new_object(self) -> type[BaseModel]:
        return porchv1alpha1.PackageRevision

    def new_list(self) -> type[BaseModel]:
        return porchv1alpha1.PackageRevisionList

    def convert_to_table(
        self, ctx: rest.RequestContext, objects: Sequence[BaseModel], include_object: str
    ) -> metav1.Table:
        """The packagerevisions columns (``kubectl get --subresource=approval``)."""
        return table.PACKAGE_REVISIONS.convert_to_table(ctx, objects, include_object)

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
        with packagecommon.operation(_SPAN + "Update", ctx, INFO, name):
            packagecommon.require_namespace(ctx)
            ectx = packagecommon.engine_context(ctx)
            try:
                current = await self._engine.get_package_revision(ectx, name)
            except repoerrors.NotFoundError:
                # The body is still checked first (400 beats 404), but nothing is created.
                packagecommon.ensure_body_name(await obj_info.updated_object(ctx, None), name)
                raise
            old = current.model_copy(deep=True)
            new = await obj_info.updated_object(ctx, old.model_copy(deep=True))
            if not isinstance(new, porchv1alpha1.PackageRevision):
                raise errors.new_bad_request(
                    f"expected PackageRevision object, got {type(new).__name__}"
                )
            packagecommon.ensure_body_name(new, name)
            packagecommon.check_resource_version(INFO, name, new, old)
            update.before_update(strategyapproval.STRATEGY, ctx, new, old, KIND)
            return await self._engine.update_package_revision_approval(ectx, name, new), False
