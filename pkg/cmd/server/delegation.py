"""Delegated authentication settings from the cluster (an aggregated API server's duty).

Where this sits: :func:`pkg.cmd.server.config.new_config` calls :func:`lookup` when the
server runs aggregated and ``--requestheader-client-ca-file`` was not given. kube-apiserver
publishes how it authenticates in the ConfigMap ``kube-system/extension-apiserver-
authentication`` (kubernetes-api-contract.md §9.5): the CA of its front-proxy client
certificate, the names that certificate may carry, the ``X-Remote-*`` header names, and
the cluster's client CA. Reading it (RBAC: a RoleBinding to the Role
``extension-apiserver-authentication-reader`` in ``kube-system``, see ``deployments/``) is
what lets the server trust requests kube-apiserver proxies, as k8s.io/apiserver's
delegating authenticator does.

Values of list keys are JSON arrays in strings. The settings are read at start and then
re-read every minute (:func:`follow`, as the Go server's dynamic CA controllers do), so a
rotated front-proxy or client CA, or a RoleBinding granted after the server started, takes
effect without a restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography import x509

from pkg.apiserver import authentication

__all__ = [
    "CONFIGMAP_NAME",
    "CONFIGMAP_NAMESPACE",
    "REFRESH_INTERVAL",
    "ClusterAuthentication",
    "DelegationError",
    "follow",
    "lookup",
    "parse",
]

CONFIGMAP_NAMESPACE: Final = "kube-system"
CONFIGMAP_NAME: Final = "extension-apiserver-authentication"
_REQUEST_TIMEOUT: Final = 10.0
REFRESH_INTERVAL: Final = 60.0
"""Seconds between two reads of the ConfigMap (Go's dynamic CA controllers resync every
minute)."""

_log = logging.getLogger("porch-server")


class DelegationError(Exception):
    """The ConfigMap cannot be read or used; the message says what to do."""


@dataclass(frozen=True)
class ClusterAuthentication:
    """What the ConfigMap says: client CAs and the front-proxy settings (None when the
    cluster has no front proxy)."""

    client_cas: tuple[x509.Certificate, ...]
    request_header: authentication.RequestHeaderConfig | None


def _certificates(data: Mapping[str, str], key: str) -> tuple[x509.Certificate, ...]:
    pem = data.get(key, "").strip()
    if not pem:
        return ()
    try:
        return tuple(x509.load_pem_x509_certificates(pem.encode()))
    except ValueError as err:
        raise DelegationError(f"{CONFIGMAP_NAME}: {key} holds no valid PEM: {err}") from None


def _names(data: Mapping[str, str], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = data.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        values = json.loads(raw)
    except ValueError:
        values = None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise DelegationError(f"{CONFIGMAP_NAME}: {key} is not a JSON list of strings")
    return tuple(values) or default


def parse(data: Mapping[str, str]) -> ClusterAuthentication:
    """The settings of the ConfigMap's ``data``."""
    proxy_cas = _certificates(data, "requestheader-client-ca-file")
    request_header = None
    if proxy_cas:
        request_header = authentication.RequestHeaderConfig(
            client_cas=proxy_cas,
            allowed_names=_names(data, "requestheader-allowed-names", ()),
            username_headers=_names(
                data, "requestheader-username-headers", authentication.DEFAULT_USERNAME_HEADERS
            ),
            uid_headers=_names(
                data, "requestheader-uid-headers", authentication.DEFAULT_UID_HEADERS
            ),
            group_headers=_names(
                data, "requestheader-group-headers", authentication.DEFAULT_GROUP_HEADERS
            ),
            extra_header_prefixes=_names(
                data,
                "requestheader-extra-headers-prefix",
                authentication.DEFAULT_EXTRA_HEADER_PREFIXES,
            ),
        )
    return ClusterAuthentication(
        client_cas=_certificates(data, "client-ca-file"), request_header=request_header
    )


def lookup(api_client: Any) -> ClusterAuthentication:
    """Read and parse the ConfigMap through a ``kubernetes.client.ApiClient`` (blocking)."""
    from kubernetes import client as k8s_client

    core = k8s_client.CoreV1Api(api_client)
    try:
        configmap = core.read_namespaced_config_map(
            CONFIGMAP_NAME, CONFIGMAP_NAMESPACE, _request_timeout=_REQUEST_TIMEOUT
        )
    except k8s_client.ApiException as err:
        where = f"cannot read configmap {CONFIGMAP_NAMESPACE}/{CONFIGMAP_NAME} ({err.status} "
        if err.status == 403:
            hint = (
                f"{err.reason}): grant it with a RoleBinding in {CONFIGMAP_NAMESPACE} to the "
                "Role extension-apiserver-authentication-reader"
            )
        elif err.status == 404:
            hint = f"{err.reason}: the cluster publishes no delegated authentication settings)"
        else:
            hint = f"{err.reason})"
        raise DelegationError(where + hint) from None
    except Exception as err:  # connection failures of urllib3 have no common base here
        raise DelegationError(
            f"cannot read configmap {CONFIGMAP_NAMESPACE}/{CONFIGMAP_NAME}: {err}"
        ) from None
    return parse(dict(configmap.data or {}))


async def follow(
    read: Callable[[], ClusterAuthentication],
    current: ClusterAuthentication | None,
    changed: Callable[[ClusterAuthentication], None],
    *,
    interval: float = REFRESH_INTERVAL,
) -> None:
    """Every ``interval`` seconds ``read`` the settings (blocking: on a worker thread) and
    call ``changed`` with them when they differ from ``current``; runs until cancelled.

    A read that fails keeps the settings in force and is logged once until it succeeds
    again (a cluster that is briefly unreachable must not turn front-proxy trust off).
    """
    failing: str | None = None
    while True:
        await asyncio.sleep(interval)
        try:
            found = await asyncio.to_thread(read)
        except DelegationError as err:
            if str(err) != failing:
                _log.warning("cannot refresh the front-proxy settings, keeping them: %s", err)
                failing = str(err)
            continue
        failing = None
        if found != current:
            changed(found)
            current = found
            _log.info(
                "front-proxy settings changed in %s/%s: now in force",
                CONFIGMAP_NAMESPACE,
                CONFIGMAP_NAME,
            )
