"""Repository objects and git Secrets for the engine, whichever API server holds them.

Where this sits: between the repository controller / CaD engine / git backend (below) and
the place Repository objects and Secrets live (above): the standalone server's own stores
(:mod:`pkg.cmd.server.standalone`) or a Kubernetes cluster (:mod:`pkg.cmd.server.cluster`).
Both provide a :class:`RepositoryAPI` and a :class:`SecretReader`; this module turns them
into what the lower layers ask for:

* :class:`FinalizingRepositorySource`: the controller's ``RepositorySource``
  (``pkg.cache.repositorycontroller``) and the engine's ``RepositoryResolver``. It keeps the
  ``config.porch.kpt.dev/repository`` finalizer on every live Repository, so deleting one
  first unregisters it (the controller closes it in the cache: DELETED events, metadata
  removed, git cache released) and only then lets the object go.
* :class:`SecretCredentialResolver`: the git backend's ``CredentialResolver``.
  ``kubernetes.io/basic-auth`` -> ``BasicAuth``; ``Opaque`` with ``bearerToken`` ->
  ``BearerToken`` (Porch's resolver chain, porch.md §9.2). Secret values never reach a log
  line or an error message; errors name the Secret and the key only. It is also the
  ``CABundleResolver`` the server hands the git backend with ``--use-user-cabundle``: a
  namespace's extra CAs are the PEM certificates in key ``ca.crt`` of its Secret
  ``<namespace>-ca-bundle`` (none when that Secret does not exist).

How the finalizer is released: the controller consumes :meth:`FinalizingRepositorySource.
watch_repositories` with ``async for event in ...: await handle(event)``, so the generator
resumes after a ``yield`` only once the controller has handled that event. A deletion
(``deletionTimestamp`` set) is therefore released right after its ``yield`` returns: the
repository is closed by then. Deletions seen in a list are released when the controller
starts the watch that follows the list (it reconciles the list, closing them, first).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Final, Protocol

from cryptography import x509

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.cache import repositorycontroller
from pkg.repository import credentials, errors

__all__ = [
    "BASIC_AUTH_TYPE",
    "BEARER_TOKEN_KEY",
    "CA_BUNDLE_KEY",
    "OPAQUE_TYPE",
    "FinalizingRepositorySource",
    "RepositoryAPI",
    "SecretCredentialResolver",
    "SecretData",
    "SecretReader",
    "StaleObjectError",
    "ca_bundle_from_secret",
    "ca_bundle_secret_name",
    "credential_from_secret",
]

_log = logging.getLogger(__name__)

FINALIZER: Final = configv1alpha1.REPOSITORY_FINALIZER
BASIC_AUTH_TYPE: Final = "kubernetes.io/basic-auth"
OPAQUE_TYPE: Final = "Opaque"
BEARER_TOKEN_KEY: Final = "bearerToken"  # noqa: S105 - a key name, not a token
CA_BUNDLE_KEY: Final = "ca.crt"

EventType = repositorycontroller.RepositoryEventType

_RELEASE_ATTEMPTS: Final = 5


class StaleObjectError(Exception):
    """A write lost a race: the object changed (409) or is gone (404) since it was read.

    Not a failure: the change that beat us arrives as a watch event and is handled then.
    """


class RepositoryAPI(Protocol):
    """Repository objects where they are stored (the standalone store, a cluster)."""

    async def list_repositories(self) -> tuple[list[configv1alpha1.Repository], str]:
        """Every Repository (all namespaces) and the list's resourceVersion."""
        ...

    def watch_repositories(
        self, resource_version: str
    ) -> AsyncIterator[tuple[EventType, configv1alpha1.Repository]]:
        """Changes after ``resource_version``; ends when the caller must list again (the
        version is too old); raises when the API fails."""
        ...

    async def get_repository(self, namespace: str, name: str) -> configv1alpha1.Repository | None:
        """The Repository, or None when it does not exist."""
        ...

    async def update_status(
        self, repo: configv1alpha1.Repository, status: configv1alpha1.RepositoryStatus
    ) -> None:
        """Replace the status through the ``status`` subresource."""
        ...

    async def set_finalizers(self, repo: configv1alpha1.Repository, finalizers: list[str]) -> None:
        """Replace ``metadata.finalizers`` of the object ``repo`` is a version of, only if it
        is still that version (its resourceVersion); :class:`StaleObjectError` otherwise."""
        ...


def _key(repo: configv1alpha1.Repository) -> tuple[str, str]:
    meta = repo.metadata
    return (meta.namespace or "", meta.name or "") if meta is not None else ("", "")


def _finalizers(repo: configv1alpha1.Repository) -> list[str]:
    return list(repo.metadata.finalizers or []) if repo.metadata is not None else []


def _being_deleted(repo: configv1alpha1.Repository) -> bool:
    return repo.metadata is not None and repo.metadata.deletion_timestamp is not None


class FinalizingRepositorySource:
    """``RepositorySource`` and ``RepositoryResolver`` over a :class:`RepositoryAPI`,
    managing the repository finalizer (module doc)."""

    def __init__(self, api: RepositoryAPI) -> None:
        self._api = api
        self._pending_release: list[configv1alpha1.Repository] = []

    # -- RepositorySource ------------------------------------------------------------------
    async def list_repositories(self) -> tuple[list[configv1alpha1.Repository], str]:
        items, resource_version = await self._api.list_repositories()
        self._pending_release = []
        for repo in items:
            if _being_deleted(repo):
                if FINALIZER in _finalizers(repo):
                    self._pending_release.append(repo)
            else:
                await self._add_finalizer(repo)
        return items, resource_version

    async def watch_repositories(
        self, resource_version: str
    ) -> AsyncIterator[tuple[EventType, configv1alpha1.Repository]]:
        # The controller reconciled the list (closing deleted repositories) before it
        # asked for this watch.
        pending, self._pending_release = self._pending_release, []
        for repo in pending:
            await self._release(repo)
        async for event_type, repo in self._api.watch_repositories(resource_version):
            deleting = event_type != "DELETED" and _being_deleted(repo)
            if event_type != "DELETED" and not deleting:
                await self._add_finalizer(repo)
            yield event_type, repo
            # Resumed: the controller has handled the event (module doc).
            if deleting and FINALIZER in _finalizers(repo):
                await self._release(repo)

    async def update_repository_status(
        self, repo: configv1alpha1.Repository, status: configv1alpha1.RepositoryStatus
    ) -> None:
        await self._api.update_status(repo, status)

    # -- RepositoryResolver ---------------------------------------------------------------
    async def get_repository(self, namespace: str, name: str) -> configv1alpha1.Repository | None:
        """A live Repository (None when missing or being deleted), for the engine to open
        one the controller has not opened yet."""
        repo = await self._api.get_repository(namespace, name)
        if repo is None or _being_deleted(repo):
            return None
        return repo

    # -- finalizer --------------------------------------------------------------------------
    async def _add_finalizer(self, repo: configv1alpha1.Repository) -> None:
        current = _finalizers(repo)
        if FINALIZER in current:
            return
        try:
            await self._api.set_finalizers(repo, [*current, FINALIZER])
        except StaleObjectError:
            pass  # a newer version is on its way as an event; it gets the finalizer then
        except Exception as err:
            _log.warning("cannot add finalizer to repository %s/%s: %s", *_key(repo), err)

    async def _release(self, repo: configv1alpha1.Repository) -> None:
        current: configv1alpha1.Repository | None = repo
        for _ in range(_RELEASE_ATTEMPTS):
            if current is None or FINALIZER not in _finalizers(current):
                return  # gone, or released by someone else
            remaining = [f for f in _finalizers(current) if f != FINALIZER]
            try:
                await self._api.set_finalizers(current, remaining)
            except StaleObjectError:
                # Changed meanwhile (a status write): release the latest version.
                current = await self._api.get_repository(*_key(repo))
                continue
            except Exception as err:
                # The next list (after the watch ends or fails) retries.
                _log.warning("cannot remove finalizer of repository %s/%s: %s", *_key(repo), err)
                return
            _log.info("repository %s/%s unregistered; deletion may proceed", *_key(repo))
            return
        _log.warning(
            "repository %s/%s kept changing; its finalizer is removed on the next list",
            *_key(repo),
        )


# -- credentials -------------------------------------------------------------------------------

SecretData = tuple[str, Mapping[str, str]]
"""A Secret as credential resolution needs it: its type and its base64-encoded data."""


class SecretReader(Protocol):
    """Reads Secrets where they are stored."""

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        """The Secret's type and data (values base64, as the API serves them); None when
        it does not exist."""
        ...


def _decoded(name: str, data: Mapping[str, str], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        # Go's decoder (and so the API server's) skips line breaks.
        text = value.replace("\r", "").replace("\n", "")
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        # Never the value itself in the message.
        raise errors.InvalidRepositoryError(
            f'secret "{name}": key "{key}" is not base64-encoded UTF-8 text'
        ) from None


def credential_from_secret(
    name: str, secret_type: str, data: Mapping[str, str]
) -> credentials.Credential:
    """The credential a Secret holds (module doc); ``InvalidRepositoryError`` naming the
    Secret and the missing key when it holds none."""
    if secret_type == BASIC_AUTH_TYPE:
        username = _decoded(name, data, "username")
        password = _decoded(name, data, "password")
        if username is None or password is None:
            missing = "username" if username is None else "password"
            raise errors.InvalidRepositoryError(
                f'secret "{name}" of type {BASIC_AUTH_TYPE} has no "{missing}"'
            )
        return credentials.BasicAuth(username=username, password=password)
    if secret_type in ("", OPAQUE_TYPE):
        token = _decoded(name, data, BEARER_TOKEN_KEY)
        if token is None:
            raise errors.InvalidRepositoryError(
                f'secret "{name}" of type {OPAQUE_TYPE} has no "{BEARER_TOKEN_KEY}"'
            )
        return credentials.BearerToken(token=token)
    raise errors.InvalidRepositoryError(
        f'secret "{name}" has type {secret_type}; git credentials need type '
        f'{BASIC_AUTH_TYPE}, or {OPAQUE_TYPE} with "{BEARER_TOKEN_KEY}"'
    )


class SecretCredentialResolver:
    """``CredentialResolver`` over a :class:`SecretReader` (module doc)."""

    def __init__(self, reader: SecretReader) -> None:
        self._reader = reader

    async def resolve(self, namespace: str, secret_name: str) -> credentials.Credential:
        secret = await self._reader.read_secret(namespace, secret_name)
        if secret is None:
            raise errors.NotFoundError(f'secret "{secret_name}" not found in namespace {namespace}')
        secret_type, data = secret
        return credential_from_secret(secret_name, secret_type, data)

    async def ca_bundle(self, namespace: str) -> bytes | None:
        """The namespace's extra CAs (``CABundleResolver``, module doc)."""
        name = ca_bundle_secret_name(namespace)
        secret = await self._reader.read_secret(namespace, name)
        if secret is None:
            return None  # Porch: no CA Secret, no custom CA
        return ca_bundle_from_secret(name, secret[1])


def ca_bundle_secret_name(namespace: str) -> str:
    """The Secret that holds a namespace's CA bundle (Porch's ``<namespace>-ca-bundle``)."""
    return f"{namespace}-ca-bundle"


def ca_bundle_from_secret(name: str, data: Mapping[str, str]) -> bytes:
    """The PEM certificates in key ``ca.crt`` of Secret ``name``; ``InvalidRepositoryError``
    naming the Secret and key when the key is missing or holds no valid certificate (a
    broken bundle must fail the repository visibly, not be silently ignored)."""
    text = _decoded(name, data, CA_BUNDLE_KEY)
    if text is None:
        raise errors.InvalidRepositoryError(f'CA bundle secret "{name}" has no "{CA_BUNDLE_KEY}"')
    bundle = text.encode()
    try:
        x509.load_pem_x509_certificates(bundle)
    except ValueError:
        raise errors.InvalidRepositoryError(
            f'CA bundle secret "{name}": key "{CA_BUNDLE_KEY}" does not hold PEM certificates'
        ) from None
    return bundle
