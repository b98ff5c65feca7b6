"""Aggregated mode: Repositories and Secrets from the Kubernetes cluster the server serves.

Where this sits: :mod:`pkg.cmd.server.server` calls :func:`connect` (``--kubeconfig`` or
the pod's service account) when it runs without ``--standalone`` and wraps the client in
the adapters here, which the repository controller, the engine and the git backend use
through :mod:`pkg.cmd.server.repositorysource`:

* :class:`ClusterRepositories`: Repository custom resources
  (``config.porch.kpt.dev/v1alpha1``, all namespaces): list, then a watch that resumes
  from the last resourceVersion it saw (bookmarks included) whenever the API server ends
  the stream, backs off (1 s doubling to 30 s) and resumes after a connection failure, and
  ends, so that the controller lists again, when the version expired (410). Status is
  written through the ``status`` subresource, finalizers with a merge patch that carries
  the resourceVersion read (a precondition: 409 when the object changed meanwhile).
* :class:`ClusterSecrets`: Secrets through ``CoreV1Api``.

The asyncio flavour of the ``kubernetes`` client (``kubernetes.aio``, on aiohttp) is used
so that a watch is an ordinary cancellable coroutine: stopping the server never waits for
a blocked thread.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import aiohttp
from kubernetes.aio import client as k8s
from kubernetes.aio import config as k8sconfig
from kubernetes.aio import watch as k8swatch

from api.porchconfig import v1alpha1 as configv1alpha1
from api.porchconfig.v1alpha1 import register as configregister
from pkg.apimachinery import codec, errors
from pkg.cmd.server import repositorysource

__all__ = ["ClusterError", "ClusterRepositories", "ClusterSecrets", "connect"]

_log = logging.getLogger(__name__)

_GROUP: Final = configregister.GROUP
_VERSION: Final = configregister.VERSION
_PLURAL: Final = configregister.REPOSITORIES.plural
_MERGE_PATCH: Final = "application/merge-patch+json"
_REQUEST_TIMEOUT: Final = 30.0
_WATCH_TIMEOUT_SECONDS: Final = 300
"""The server ends each watch after this; the adapter resumes at once (client-go: 5-10 min)."""
_BACKOFF_INITIAL: Final = 1.0
_BACKOFF_MAX: Final = 30.0


class ClusterError(Exception):
    """No cluster to talk to; the message says what to pass."""


async def connect(kubeconfig: Path | None) -> k8s.ApiClient:
    """An asyncio client of the cluster: ``kubeconfig`` when given, else in-cluster. The
    caller closes it."""
    configuration = k8s.Configuration()
    try:
        if kubeconfig is not None:
            await k8sconfig.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(kubeconfig), client_configuration=configuration
            )
        else:
            k8sconfig.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration
            )
    except k8sconfig.ConfigException as err:
        raise ClusterError(
            f"aggregated mode needs a cluster: pass --kubeconfig or run in a pod ({err}); "
            "use --standalone to run without Kubernetes"
        ) from None
    return k8s.ApiClient(configuration)


def _decode(raw: Any) -> configv1alpha1.Repository | None:
    """A Repository from the cluster's JSON; None (logged) when it does not fit our model."""
    try:
        return codec.decode(configv1alpha1.Repository, raw)
    except errors.StatusError as err:
        meta = raw.get("metadata", {}) if isinstance(raw, dict) else {}
        _log.warning("ignoring Repository %s/%s: %s", meta.get("namespace"), meta.get("name"), err)
        return None


def _meta(repo: configv1alpha1.Repository) -> tuple[str, str, str | None]:
    meta = repo.metadata
    assert meta is not None  # the controller only passes named Repositories
    return meta.namespace or "", meta.name or "", meta.resource_version


class ClusterRepositories:
    """:class:`~pkg.cmd.server.repositorysource.RepositoryAPI` over Repository custom
    resources (module doc)."""

    def __init__(
        self, api_client: k8s.ApiClient, *, watch_timeout_seconds: int = _WATCH_TIMEOUT_SECONDS
    ) -> None:
        self._api = k8s.CustomObjectsApi(api_client)
        self._watch_timeout = watch_timeout_seconds

    async def list_repositories(self) -> tuple[list[configv1alpha1.Repository], str]:
        listed: Any = await self._api.list_cluster_custom_object(
            _GROUP, _VERSION, _PLURAL, _request_timeout=_REQUEST_TIMEOUT
        )
        items = [repo for raw in listed.get("items") or [] if (repo := _decode(raw)) is not None]
        return items, str((listed.get("metadata") or {}).get("resourceVersion") or "")

    async def watch_repositories(
        self, resource_version: str
    ) -> AsyncIterator[tuple[repositorysource.EventType, configv1alpha1.Repository]]:
        backoff = _BACKOFF_INITIAL
        while True:
            watcher = k8swatch.Watch()  # type: ignore[no-untyped-call]
            try:
                async with watcher.stream(  # type: ignore[no-untyped-call]
                    self._api.list_cluster_custom_object,
                    _GROUP,
                    _VERSION,
                    _PLURAL,
                    resource_version=resource_version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=self._watch_timeout,
                    _request_timeout=self._watch_timeout + _REQUEST_TIMEOUT,
                ) as stream:
                    async for event in stream:
                        backoff = _BACKOFF_INITIAL
                        resource_version = watcher.resource_version or resource_version
                        event_type = event.get("type")
                        if event_type not in ("ADDED", "MODIFIED", "DELETED"):
                            continue  # BOOKMARK: only its resourceVersion matters
                        repo = _decode(event.get("raw_object"))
                        if repo is not None:
                            yield event_type, repo
            except k8s.ApiException as err:
                if err.status == 410:
                    _log.info("repository watch expired; listing again")
                    return
                raise
            except (aiohttp.ClientError, TimeoutError) as err:
                _log.warning(
                    "repository watch failed (resuming in %.0fs from %s): %s",
                    backoff,
                    resource_version,
                    err,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
            # A normal end (the server's timeout): resume from the last version seen.

    async def get_repository(self, namespace: str, name: str) -> configv1alpha1.Repository | None:
        try:
            raw = await self._api.get_namespaced_custom_object(
                _GROUP, _VERSION, namespace, _PLURAL, name, _request_timeout=_REQUEST_TIMEOUT
            )
        except k8s.ApiException as err:
            if err.status == 404:
                return None
            raise
        return _decode(raw)

    async def update_status(
        self, repo: configv1alpha1.Repository, status: configv1alpha1.RepositoryStatus
    ) -> None:
        namespace, name, _ = _meta(repo)
        await self._api.patch_namespaced_custom_object_status(
            _GROUP,
            _VERSION,
            namespace,
            _PLURAL,
            name,
            {"status": codec.to_dict(status)},
            _content_type=_MERGE_PATCH,
            _request_timeout=_REQUEST_TIMEOUT,
        )

    async def set_finalizers(self, repo: configv1alpha1.Repository, finalizers: list[str]) -> None:
        namespace, name, resource_version = _meta(repo)
        try:
            await self._api.patch_namespaced_custom_object(
                _GROUP,
                _VERSION,
                namespace,
                _PLURAL,
                name,
                {"metadata": {"finalizers": finalizers, "resourceVersion": resource_version}},
                _content_type=_MERGE_PATCH,
                _request_timeout=_REQUEST_TIMEOUT,
            )
        except k8s.ApiException as err:
            if err.status in (404, 409):
                raise repositorysource.StaleObjectError(str(err.reason)) from err
            raise


class ClusterSecrets:
    """:class:`~pkg.cmd.server.repositorysource.SecretReader` over ``CoreV1Api``."""

    def __init__(self, api_client: k8s.ApiClient) -> None:
        self._api = k8s.CoreV1Api(api_client)

    async def read_secret(self, namespace: str, name: str) -> repositorysource.SecretData | None:
        try:
            secret = await self._api.read_namespaced_secret(
                name, namespace, _request_timeout=_REQUEST_TIMEOUT
            )
        except k8s.ApiException as err:
            if err.status == 404:
                return None
            raise
        data = {
            # Values arrive base64-encoded, as the API serves them; keep them that way.
            key: value if isinstance(value, str) else base64.b64encode(value).decode("ascii")
            for key, value in (secret.data or {}).items()
        }
        return secret.type or repositorysource.OPAQUE_TYPE, data
