"""porch.kpt.dev/v1alpha1 REST storage: packagerevisions (+ approval), packagerevisionresources,
packages.

Where this sits: between the API server (``pkg.apiserver``, which routes requests to the
storages' capability methods) and the CaD engine (``pkg.engine``, which does the package
work). ``pkg.cmd.server`` calls :func:`new_storages` once with the server's engine and
registers the result as the ``porch.kpt.dev/v1alpha1`` group-version.

Modules, named after Porch's ``pkg/registry/porch``: ``packagerevision``,
``packagerevisionapproval``, ``packagerevisionresources``, ``package`` (the storages);
``strategy``, ``strategyapproval``, ``strategyresources`` (validation and defaulting run
by the create/update drivers); ``fieldselector`` (selectors to cache filters); ``table``
(``kubectl get`` columns); ``watch`` (watch streams); ``interpret`` (domain errors to
Status: the right code, Porch's text); ``packagecommon`` (what they share).
"""

from __future__ import annotations

from typing import Final

from pkg.engine import engine
from pkg.registry.porch import (
    package,
    packagerevision,
    packagerevisionapproval,
    packagerevisionresources,
)
from pkg.registry.rest import rest

__all__ = ["STORAGE_PATHS", "new_storages"]

STORAGE_PATHS: Final = (
    "packagerevisions",
    "packagerevisions/approval",
    "packagerevisionresources",
    "packages",
)
"""The keys of :func:`new_storages`, in the order discovery lists them."""


def new_storages(cad: engine.CaDEngine) -> dict[str, rest.Storage]:
    """The storages of porch.kpt.dev/v1alpha1 over ``cad``, keyed by resource path
    (``"<plural>"`` or ``"<plural>/<subresource>"``), as
    ``pkg.apiserver.groups.APIGroupVersion`` takes them."""
    return {
        "packagerevisions": packagerevision.PackageRevisionStorage(cad),
        "packagerevisions/approval": packagerevisionapproval.PackageRevisionApprovalStorage(cad),
        "packagerevisionresources": packagerevisionresources.PackageRevisionResourcesStorage(cad),
        "packages": package.PackageStorage(cad),
    }
