"""Domain errors of package repositories; they know nothing of HTTP.

Raised by repository backends (`pkg/externalrepo/git`, `pkg/repository/fake`) and by the
contracts in `pkg/repository/repository.py` (name parsing); the engine lets them through and
the registry (`pkg/registry/porch/interpret.py`) turns each into a Kubernetes `Status` by
operation. Backends chain the underlying cause with `raise ... from err`.

    RepositoryError                  base of everything below
    ├── NotFoundError                a revision, package, branch or ref does not exist
    ├── AlreadyExistsError           a revision/ref that must be new already exists
    ├── ConflictError                the object changed since it was read (stale write,
    │                                lost compare-and-swap, concurrent writer)
    ├── InvalidPackageError          package content or names are unacceptable (missing
    │                                Kptfile, unsafe file path, invalid name)
    ├── InvalidRepositoryError       the Repository spec cannot be used (bad URL, branch,
    │                                directory, unsupported type)
    ├── ForbiddenError               the operation is not allowed (lifecycle forbids it, the
    │                                remote's hook declined the push, local repos disallowed)
    └── BackendUnavailableError      the remote or the cache failed (network, auth, server
                                     error); usually transient, retrying later may succeed
"""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "BackendUnavailableError",
    "ConflictError",
    "ForbiddenError",
    "InvalidPackageError",
    "InvalidRepositoryError",
    "NotFoundError",
    "RepositoryError",
]


class RepositoryError(Exception):
    """Base of all package repository errors. The message is safe to show to API users."""


class NotFoundError(RepositoryError):
    """The requested revision, package, branch or ref does not exist."""


class AlreadyExistsError(RepositoryError):
    """A revision or ref that the operation must create already exists."""


class ConflictError(RepositoryError):
    """The object was modified since it was read; re-read and retry."""


class InvalidPackageError(RepositoryError):
    """Package content or identity is invalid; nothing was written."""


class InvalidRepositoryError(RepositoryError):
    """The Repository specification cannot be used as given."""


class ForbiddenError(RepositoryError):
    """The operation is not permitted (by lifecycle rules, by policy, or by the remote)."""


class BackendUnavailableError(RepositoryError):
    """The storage backend failed (network, authentication, remote server, local cache)."""
