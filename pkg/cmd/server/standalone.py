"""Standalone mode: Repositories and Secrets from the server's own stores.

Where this sits: :mod:`pkg.cmd.server.server` opens the embedded database under
``--data-dir`` (:func:`open_stores`), serves its stores over HTTP (core ``v1`` secrets,
``config.porch.kpt.dev/v1alpha1`` repositories with ``status``), and wraps their in-process
clients (``store.client()``, acting as ``system:porch-server``) in the adapters here:

* :class:`StoreRepositories`, a :class:`~pkg.cmd.server.repositorysource.RepositoryAPI`
  for the repository controller and the engine;
* :class:`StoreSecrets`, a :class:`~pkg.cmd.server.repositorysource.SecretReader` for
  git credentials.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from api.core import v1 as corev1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import errors
from pkg.cmd.server import repositorysource
from pkg.registry.core.secret import storage as secretstorage
from pkg.registry.generic import sqlite, store
from pkg.registry.porchconfig.repository import storage as repositorystorage

__all__ = ["StandaloneStores", "StoreError", "StoreRepositories", "StoreSecrets", "open_stores"]


class StoreError(Exception):
    """The embedded database cannot be opened; the message says which and why."""


@dataclass(frozen=True)
class StandaloneStores:
    """The embedded database of a standalone server and the stores it backs."""

    db: sqlite.Database
    secrets: store.Store[corev1.Secret]
    repositories: store.Store[configv1alpha1.Repository]

    def close_watches(self) -> None:
        """End every watch stream of both stores (the server is stopping)."""
        self.secrets.close()
        self.repositories.close()


def _make_dirs(*directories: Path) -> None:
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)


@contextlib.asynccontextmanager
async def open_stores(
    data_dir: Path, local_repository_roots: Sequence[Path]
) -> AsyncIterator[StandaloneStores]:
    """Open (creating on first start) the database in ``data_dir`` and its stores."""
    _make_dirs(data_dir, *local_repository_roots)
    try:
        db = await sqlite.Database.open(data_dir / sqlite.DEFAULT_FILE_NAME)
    except sqlite.DatabaseError as err:
        raise StoreError(f"--data-dir {data_dir}: {err}") from None
    try:
        yield StandaloneStores(
            db=db,
            secrets=secretstorage.new_storage(db),
            repositories=repositorystorage.new_storage(db, local_repository_roots),
        )
    finally:
        await db.close()


class StoreRepositories:
    """:class:`~pkg.cmd.server.repositorysource.RepositoryAPI` over the repositories store."""

    def __init__(self, repositories: store.Store[configv1alpha1.Repository]) -> None:
        self._client = repositories.client()

    async def list_repositories(self) -> tuple[list[configv1alpha1.Repository], str]:
        listed = await self._client.list()
        return listed.items, listed.resource_version

    async def watch_repositories(
        self, resource_version: str
    ) -> AsyncIterator[tuple[repositorysource.EventType, configv1alpha1.Repository]]:
        try:
            stream = self._client.watch(resource_version=resource_version)
        except errors.StatusError as err:
            if errors.is_resource_expired(err):
                return  # too old: the caller lists again
            raise
        async with stream:
            async for event in stream:
                if event.type in ("ADDED", "MODIFIED", "DELETED") and isinstance(
                    event.object, configv1alpha1.Repository
                ):
                    yield event.type, event.object

    async def get_repository(self, namespace: str, name: str) -> configv1alpha1.Repository | None:
        try:
            return await self._client.get(namespace, name)
        except errors.StatusError as err:
            if errors.is_not_found(err):
                return None
            raise

    async def update_status(
        self, repo: configv1alpha1.Repository, status: configv1alpha1.RepositoryStatus
    ) -> None:
        meta = repo.metadata
        assert meta is not None  # the controller only passes named Repositories
        await self._client.update_status(meta.namespace or "", meta.name or "", status)

    async def set_finalizers(self, repo: configv1alpha1.Repository, finalizers: list[str]) -> None:
        changed = repo.model_copy(deep=True)
        assert changed.metadata is not None
        changed.metadata.finalizers = finalizers or None
        try:
            await self._client.update(changed)
        except errors.StatusError as err:
            if errors.is_conflict(err) or errors.is_not_found(err):
                raise repositorysource.StaleObjectError(str(err)) from err
            raise


class StoreSecrets:
    """:class:`~pkg.cmd.server.repositorysource.SecretReader` over the secrets store."""

    def __init__(self, secrets: store.Store[corev1.Secret]) -> None:
        self._client = secrets.client()

    async def read_secret(self, namespace: str, name: str) -> repositorysource.SecretData | None:
        try:
            secret = await self._client.get(namespace, name)
        except errors.StatusError as err:
            if errors.is_not_found(err):
                return None
            raise
        return secret.type or repositorysource.OPAQUE_TYPE, dict(secret.data or {})
