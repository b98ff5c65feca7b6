"""Who is making a request, as authentication established it.

Mirrors k8s.io/apiserver/pkg/authentication/user: the API server's authenticators
produce a ``UserInfo`` per request; it travels in the request context through the
registry and the engine down to git, where it becomes the commit author.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

ALL_AUTHENTICATED = "system:authenticated"
ALL_UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
SYSTEM_MASTERS = "system:masters"


@dataclass(frozen=True, slots=True)
class UserInfo:
    """An authenticated (or anonymous) user."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_authenticated(self) -> bool:
        """Porch records a user as git author only when it is in system:authenticated."""
        return ALL_AUTHENTICATED in self.groups


ANONYMOUS_USER = UserInfo(name=ANONYMOUS, groups=(ALL_UNAUTHENTICATED,))
