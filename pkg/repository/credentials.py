"""Credentials for remote repositories, and the resolver contract that supplies them.

A Repository names a Secret (`spec.git.secretRef.name`); the server implements
`CredentialResolver` over Kubernetes Secrets (basic-auth Secrets -> `BasicAuth`, Opaque
Secrets with `bearerToken` -> `BearerToken`) and hands it to the backends through their
options. Backends call `resolve` when they open a repository and again once after the remote
rejects the credentials (the Secret may have been rotated).

Secrets never appear in `repr()`, logs or exceptions: the secret fields are excluded from the
generated `__repr__`.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

__all__ = ["BasicAuth", "BearerToken", "Credential", "CredentialResolver", "SshKey"]


@dataclasses.dataclass(frozen=True, slots=True)
class BasicAuth:
    """HTTP basic authentication (Secret type `kubernetes.io/basic-auth`)."""

    username: str
    password: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class BearerToken:
    """HTTP `Authorization: Bearer <token>` (Opaque Secret with a `bearerToken` key)."""

    token: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class SshKey:
    """An SSH private key (PEM/OpenSSH text) for `ssh://` repositories."""

    username: str
    private_key: str = dataclasses.field(repr=False)
    public_key: str = ""
    passphrase: str = dataclasses.field(default="", repr=False)


Credential = BasicAuth | BearerToken | SshKey


class CredentialResolver(Protocol):
    """Turns a Secret reference into a credential.

    Called by repository backends off the request path (when a repository is opened, and
    once more after an authentication failure). Raises `errors.NotFoundError` when the
    Secret does not exist and `errors.InvalidRepositoryError` when it holds no usable
    credential; backends report both as the repository's error.
    """

    async def resolve(self, namespace: str, secret_name: str) -> Credential: ...
