"""What the server serves: group-versions, each a set of storages keyed by resource path.

Where this sits: ``pkg.cmd.server`` builds one :class:`APIGroupVersion` per group-version
from the storages it wires (core ``v1`` secrets and ``config.porch.kpt.dev/v1alpha1``
repositories in standalone mode, ``porch.kpt.dev/v1alpha1`` once the engine exists) and
hands the list to :func:`pkg.apiserver.server.new_app`. Route installation
(:mod:`pkg.apiserver.server`), discovery (:mod:`pkg.apiserver.discovery`) and OpenAPI
(:mod:`pkg.apiserver.openapi`) all read the same objects, so what is routed, what is
advertised and what is documented cannot drift apart.

A storage's verbs are its capabilities (:mod:`pkg.registry.rest.rest`): ``Getter`` gives
``get``, ``Lister`` ``list``, ``Watcher`` ``watch``, ``Creater`` ``create``, ``Updater``
``update`` and ``patch``, ``GracefulDeleter`` ``delete``, ``CollectionDeleter``
``deletecollection``. Subresources are storages of their own under ``"<plural>/<sub>"``
and only ever serve ``get``, ``update`` and ``patch``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from api import resourceinfo
from pkg.registry.rest import rest

__all__ = ["APIGroupVersion", "Resource", "verbs_of"]


def verbs_of(storage: rest.Storage, *, subresource: bool = False) -> list[str]:
    """The Kubernetes verbs ``storage`` supports, sorted as discovery lists them."""
    verbs: set[str] = set()
    if isinstance(storage, rest.Getter):
        verbs.add("get")
    if isinstance(storage, rest.Updater):
        verbs.update(("update", "patch"))
    if not subresource:
        if isinstance(storage, rest.Lister):
            verbs.add("list")
        if isinstance(storage, rest.Watcher):
            verbs.add("watch")
        if isinstance(storage, rest.Creater):
            verbs.add("create")
        if isinstance(storage, rest.GracefulDeleter):
            verbs.add("delete")
        if isinstance(storage, rest.CollectionDeleter):
            verbs.add("deletecollection")
    return sorted(verbs)


@dataclass(frozen=True)
class Resource:
    """One served resource path: ``plural`` or ``plural/subresource`` and its storage."""

    path: str
    storage: rest.Storage

    @property
    def info(self) -> resourceinfo.ResourceInfo:
        return self.storage.resource

    @property
    def plural(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def subresource(self) -> str:
        return self.path.split("/", 1)[1] if "/" in self.path else ""

    @property
    def verbs(self) -> list[str]:
        return verbs_of(self.storage, subresource=bool(self.subresource))


@dataclass(frozen=True)
class APIGroupVersion:
    """One group-version: its storages, and the OpenAPI document that describes its kinds.

    ``storages`` maps ``"<plural>"`` and ``"<plural>/<subresource>"`` to a storage; order
    is kept in discovery. ``openapi_document`` is the ``api/openapi/<group>/<version>.yaml``
    the models were generated from (None: the group-version is not in ``/openapi/v3``).
    The group ``""`` is the core group, served under ``/api/v1``.
    """

    group: str
    version: str
    storages: Mapping[str, rest.Storage]
    openapi_document: Path | None = None
    resources: Sequence[Resource] = field(init=False)

    def __post_init__(self) -> None:
        resources: list[Resource] = []
        for path, storage in self.storages.items():
            info = storage.resource
            if (info.group, info.version) != (self.group, self.version):
                raise ValueError(
                    f"storage for {path!r} serves {info.api_version}, not {self.group_version}"
                )
            plural, _, sub = path.partition("/")
            if plural != info.plural or "/" in sub:
                raise ValueError(f"storage path {path!r} does not match resource {info.plural!r}")
            if sub and plural not in self.storages:
                raise ValueError(f"subresource {path!r} has no parent resource {plural!r}")
            resources.append(Resource(path, storage))
        object.__setattr__(self, "resources", tuple(resources))

    @property
    def group_version(self) -> str:
        """``group/version``, or just ``version`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def prefix(self) -> str:
        """The URL prefix: ``/apis/<group>/<version>`` or ``/api/<version>``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def top_level(self) -> list[Resource]:
        """Resources without their subresources, in order."""
        return [r for r in self.resources if not r.subresource]

    def subresources_of(self, plural: str) -> list[Resource]:
        return [r for r in self.resources if r.subresource and r.plural == plural]
