"""Registration facts of config.porch.kpt.dev/v1alpha1 (the Repository CRD).

In a cluster the Repository resource is a CRD served by kube-apiserver; in standalone mode
porch-server serves it itself from these facts (discovery, routes, the ``repo`` short name and
the status subresource). ``KINDS`` maps each kind to its model for codecs and watch streams.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pydantic import BaseModel

from api import resourceinfo
from api.porchconfig.v1alpha1 import zz_generated_models as models

GROUP = "config.porch.kpt.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

REPOSITORIES = resourceinfo.ResourceInfo(
    group=GROUP,
    version=VERSION,
    kind="Repository",
    list_kind="RepositoryList",
    plural="repositories",
    singular="repository",
    namespaced=True,
    short_names=("repo",),
    subresources=("status",),
)

RESOURCES: tuple[resourceinfo.ResourceInfo, ...] = (REPOSITORIES,)

KINDS: Mapping[str, type[BaseModel]] = MappingProxyType(
    {
        "Repository": models.Repository,
        "RepositoryList": models.RepositoryList,
    }
)
"""Kind -> model class, for every kind (object and list) of this group version."""
