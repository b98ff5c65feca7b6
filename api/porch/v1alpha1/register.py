"""Registration facts of porch.kpt.dev/v1alpha1, the aggregated API porch-server serves.

The Python counterpart of Porch's ``register.go``: group, version and one
:class:`~api.resourceinfo.ResourceInfo` per resource. The API server builds discovery and
installs routes from ``RESOURCES``; codecs and watch streams look models up by kind in
``KINDS``. None of the resources has short names or categories (Porch's REST storage
implements neither; ``rpkg`` is only a porchctl word).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pydantic import BaseModel

from api import resourceinfo
from api.porch.v1alpha1 import zz_generated_models as models

GROUP = "porch.kpt.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

PACKAGE_REVISIONS = resourceinfo.ResourceInfo(
    group=GROUP,
    version=VERSION,
    kind="PackageRevision",
    list_kind="PackageRevisionList",
    plural="packagerevisions",
    singular="packagerevision",
    namespaced=True,
    # Publishing goes through packagerevisions/approval; Porch registers no status subresource.
    subresources=("approval",),
)

PACKAGE_REVISION_RESOURCES = resourceinfo.ResourceInfo(
    group=GROUP,
    version=VERSION,
    kind="PackageRevisionResources",
    list_kind="PackageRevisionResourcesList",
    plural="packagerevisionresources",
    # Porch's singular name is the plural word: the kind already ends in "Resources".
    singular="packagerevisionresources",
    namespaced=True,
)

PACKAGES = resourceinfo.ResourceInfo(
    group=GROUP,
    version=VERSION,
    # Porch's Go type (and so the kind) is PorchPackage; the resource keeps the short word.
    kind="PorchPackage",
    list_kind="PorchPackageList",
    plural="packages",
    singular="package",
    namespaced=True,
)

RESOURCES: tuple[resourceinfo.ResourceInfo, ...] = (
    PACKAGE_REVISIONS,
    PACKAGE_REVISION_RESOURCES,
    PACKAGES,
)

KINDS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {
        "PackageRevision": models.PackageRevision,
        "PackageRevisionList": models.PackageRevisionList,
        "PackageRevisionResources": models.PackageRevisionResources,
        "PackageRevisionResourcesList": models.PackageRevisionResourcesList,
        "PorchPackage": models.PorchPackage,
        "PorchPackageList": models.PorchPackageList,
    }
)
"""Kind -> model class, for every kind (object and list) of this group version."""
