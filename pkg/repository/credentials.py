"""Credentials for remote repositories, and the resolver contract that supplies them.

A Repository names a Secret (`spec.git.secretRef.name`); the server implements
`CredentialResolver` over Kubernetes Secrets (basic-auth Secrets -> `BasicAuth`, Opaque
Secrets with `bearerToken` -> `BearerToken`) and hands it to the backends through their
options. Backends call `resolve` when they open a repository and again once after the remote
rejects the credentials (the Secret may have been rotated).

Secrets never appear in `repr()`, logs or exceptions: the secret fields are excluded from the
generated `__repr__`.

Private certificate authorities are a separate, optional contract (`CABundleResolver`, Porch's
`--use-user-cabundle`): a server that trusts per-namespace CAs hands one to the git backend,
which asks it for the namespace's bundle when it opens an https repository (and once more
after the remote's certificate was refused: the bundle may have been replaced). Servers that
do not, and other credential resolvers, need not implement it.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

__all__ = [
    "BasicAuth",
    "BearerToken",
    "CABundleResolver",
    "Credential",
    "CredentialResolver",
    "SshKey",
]


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


class CABundleResolver(Protocol):
    """Supplies the extra certificate authorities a namespace's https repositories trust.

    `ca_bundle` returns PEM certificates (trusted in addition to the system's, for that
    namespace's repositories only), or None when the namespace has none (no error: Porch
    treats a missing CA Secret as "no custom CA"). Raises `errors.InvalidRepositoryError`
    naming the Secret and key when the bundle exists but is unusable (no `ca.crt`, not PEM
    certificates). Called off the request path, like `CredentialResolver.resolve`.
    """

    async def ca_bundle(self, namespace: str) -> bytes | None: ...
