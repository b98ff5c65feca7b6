"""Kind and apiVersion facts of kpt.dev/v1 and of the KRM function wire type.

kpt's types are not API resources: porch-server serves none of them, so there are no
:class:`~api.resourceinfo.ResourceInfo` entries (``RESOURCES`` is empty). The Kptfile and the
function result list are files in a package (and PackageRevisionResources content);
``KINDS`` lets the package code and the renderer pick the model for a decoded document. The
ResourceList that functions read and write belongs to another group,
config.kubernetes.io/v1, and is recorded separately.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from pydantic import BaseModel

from api import resourceinfo
from api.kptfile.v1 import zz_generated_models as models

GROUP = "kpt.dev"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"

KPTFILE_KIND: Final = "Kptfile"
KPTFILE_NAME: Final = "Kptfile"
"""File name of the Kptfile at a package root (the same word as the kind)."""

FUNCTION_RESULT_LIST_KIND: Final = "FunctionResultList"

RESOURCE_LIST_API_VERSION: Final = "config.kubernetes.io/v1"
RESOURCE_LIST_KIND: Final = "ResourceList"

RESOURCES: tuple[resourceinfo.ResourceInfo, ...] = ()

KINDS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {
        KPTFILE_KIND: models.Kptfile,
        FUNCTION_RESULT_LIST_KIND: models.FunctionResultList,
    }
)
"""Kind -> model class, for the kinds of kpt.dev/v1."""
