"""Facts about one API resource: its group/version/kind, REST names and subresources.

Every ``api/<group>/<version>/register.py`` declares one :class:`ResourceInfo` per resource it
defines (the Python counterpart of a Go ``register.go`` plus the names a REST storage reports).
The API server reads them to build discovery documents, install routes and render errors
(``packagerevisions.porch.kpt.dev "x" not found``); the registry and the clients use them to
name resources without repeating string literals. The module imports nothing from ``pkg``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceInfo:
    """The names and shape of one API resource, as discovery and the REST paths show them.

    ``group`` is empty for the core group. ``subresources`` lists the subresource names served
    under the resource (``status``, ``approval``), without the resource prefix.
    """

    group: str
    version: str
    kind: str
    list_kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        """``group/version`` (just ``version`` for the core group), the objects' ``apiVersion``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``plural.group`` (or ``plural`` for core), as Kubernetes names a resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural
