"""Where the client connects to and as whom: kubeconfig, in-cluster config, overrides.

Where this sits: the first step of building a :class:`~pkg.client.client.Client`. porchctl
fills :class:`Overrides` from its kubeconfig flags (``--kubeconfig``, ``--context``,
``-n``, ``-s`` ...); controllers usually pass none. :func:`load` resolves them the way
client-go's ``ConfigFlags`` do and returns a :class:`ClientConfig`: a ``kubernetes``
``Configuration`` (host, TLS, credentials) plus the default namespace and the per-request
settings (impersonation, timeout, user agent) the transport applies.

Resolution order, as kubectl's:

* kubeconfig files: ``--kubeconfig``, else ``$KUBECONFIG`` (a ``:``-separated list, merged
  first-wins), else ``~/.kube/config``; when none exists and the process runs in a pod, the
  in-cluster service-account configuration;
* context ``--context``, else ``current-context``; ``--cluster`` / ``--user`` replace the
  context's; ``--server``, ``--certificate-authority``, ``--token`` ... replace single values;
* namespace ``-n``, else the context's namespace, else ``$NAMESPACE`` (Porch's porchctl
  honours it), else ``default``; in a pod, the service account's namespace.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import kubernetes.client
import kubernetes.config.config_exception
import kubernetes.config.incluster_config
import kubernetes.config.kube_config
import urllib3.util

from pkg.client import errors

__all__ = [
    "DEFAULT_NAMESPACE",
    "ClientConfig",
    "Overrides",
    "load",
]

DEFAULT_NAMESPACE: Final = "default"
_IN_CLUSTER_NAMESPACE_FILE: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_OVERRIDE_CONTEXT: Final = "porch-client-overrides"

# The kubernetes package's kubeconfig loader is untyped; it is used through these names only.
kube_config: Any = kubernetes.config.kube_config
_ConfigException: type[Exception] = kubernetes.config.config_exception.ConfigException
_load_incluster_config: Any = kubernetes.config.incluster_config.load_incluster_config


@dataclasses.dataclass(frozen=True)
class Overrides:
    """Explicit connection settings; every unset (None) field comes from the kubeconfig."""

    kubeconfig: str | None = None
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    namespace: str | None = None
    server: str | None = None
    token: str | None = None
    username: str | None = None
    password: str | None = None
    certificate_authority: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure_skip_tls_verify: bool | None = None
    tls_server_name: str | None = None
    impersonate_user: str | None = None
    impersonate_groups: Sequence[str] = ()
    impersonate_uid: str | None = None
    request_timeout: float | None = None  # seconds; None or 0 means no timeout


@dataclasses.dataclass(frozen=True)
class ClientConfig:
    """A resolved connection: the ``kubernetes`` configuration plus per-request settings."""

    configuration: kubernetes.client.Configuration
    namespace: str
    """Default namespace for namespaced calls that do not name one."""
    namespace_from_config: bool
    """True when ``namespace`` was set explicitly (flag, context, service account) rather
    than falling back to ``default``."""
    user_agent: str = "porch-client"
    impersonate_user: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    impersonate_uid: str | None = None
    request_timeout: float | None = None

    def with_user_agent(self, user_agent: str) -> ClientConfig:
        """A copy that identifies itself as ``user_agent`` (e.g. ``porchctl/0.1.0``)."""
        return dataclasses.replace(self, user_agent=user_agent)


def load(overrides: Overrides | None = None) -> ClientConfig:
    """Resolve kubeconfig (or in-cluster config) and ``overrides`` into a ClientConfig.

    Raises ConfigError when no configuration is usable, with kubectl's wording where it
    has one.
    """
    overrides = overrides or Overrides()
    paths = _kubeconfig_paths(overrides.kubeconfig)
    existing = [p for p in paths if Path(p).expanduser().exists()]
    if overrides.kubeconfig and not existing:
        raise errors.ConfigError(f"stat {overrides.kubeconfig}: no such file or directory")
    if existing:
        configuration, context_namespace = _from_kubeconfig(existing, overrides)
        namespace_source = context_namespace
    elif overrides.server:
        configuration = kubernetes.client.Configuration()
        namespace_source = None
    elif os.environ.get("KUBERNETES_SERVICE_HOST"):
        configuration = kubernetes.client.Configuration()
        try:
            _load_incluster_config(client_configuration=configuration)
        except _ConfigException as err:
            raise errors.ConfigError(str(err)) from err
        namespace_source = _in_cluster_namespace()
    else:
        # kubectl's text when nothing tells it where the server is.
        raise errors.ConfigError(
            "invalid configuration: no configuration has been provided, try setting "
            "KUBERNETES_MASTER environment variable"
        )
    _apply_single_value_overrides(configuration, overrides)
    namespace, explicit = _namespace(overrides.namespace, namespace_source)
    return ClientConfig(
        configuration=configuration,
        namespace=namespace,
        namespace_from_config=explicit,
        impersonate_user=overrides.impersonate_user,
        impersonate_groups=tuple(overrides.impersonate_groups),
        impersonate_uid=overrides.impersonate_uid,
        request_timeout=overrides.request_timeout or None,
    )


def _kubeconfig_paths(explicit: str | None) -> list[str]:
    if explicit:
        return [explicit]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in env.split(kube_config.ENV_KUBECONFIG_PATH_SEPARATOR) if p]
    return [kube_config.KUBE_CONFIG_DEFAULT_LOCATION]


def _from_kubeconfig(
    paths: list[str], overrides: Overrides
) -> tuple[kubernetes.client.Configuration, str | None]:
    try:
        merger = kube_config.KubeConfigMerger(kube_config.ENV_KUBECONFIG_PATH_SEPARATOR.join(paths))
    except (OSError, _ConfigException) as err:
        raise errors.ConfigError(f"error loading config file: {err}") from err
    merged = merger.config
    if merged is None:
        raise errors.ConfigError("invalid configuration: no configuration has been provided")
    context_name = overrides.context or merged.value.get("current-context") or ""
    context = _find(merged.value.get("contexts"), context_name)
    if context is None and not (overrides.cluster or overrides.server):
        if overrides.context:
            raise errors.ConfigError(f'context "{overrides.context}" does not exist')
        raise errors.ConfigError(
            "invalid configuration: no configuration has been provided, try setting "
            "KUBERNETES_MASTER environment variable"
        )
    context_body: dict[str, Any] = dict(context["context"]) if context else {}
    if overrides.cluster:
        if _find(merged.value.get("clusters"), overrides.cluster) is None:
            raise errors.ConfigError(f'cluster "{overrides.cluster}" does not exist')
        context_body["cluster"] = overrides.cluster
    if overrides.user:
        if _find(merged.value.get("users"), overrides.user) is None:
            raise errors.ConfigError(f'user "{overrides.user}" does not exist')
        context_body["user"] = overrides.user
    if "cluster" not in context_body:
        # --server without any cluster entry: an empty cluster the override fills in.
        merged.value["clusters"].append(
            kube_config.ConfigNode(
                "override", {"name": _OVERRIDE_CONTEXT, "cluster": {"server": overrides.server}}
            )
        )
        context_body["cluster"] = _OVERRIDE_CONTEXT
    # The loader reads one named context; a synthetic one carries the overrides so that the
    # user's files are never modified.
    merged.value["contexts"].append(
        kube_config.ConfigNode(
            "override",
            {"name": _OVERRIDE_CONTEXT, "context": context_body},
            merger.paths[0] if merger.paths else None,
        )
    )
    configuration = kubernetes.client.Configuration()
    try:
        loader = kube_config.KubeConfigLoader(
            config_dict=merged, active_context=_OVERRIDE_CONTEXT, config_base_path=None
        )
        loader.load_and_set(configuration)
    except (_ConfigException, ValueError, OSError) as err:
        raise errors.ConfigError(f"invalid configuration: {err}") from err
    namespace = context_body.get("namespace")
    return configuration, namespace if isinstance(namespace, str) else None


def _find(entries: Any, name: str) -> Mapping[str, Any] | None:
    for entry in entries or ():
        value = entry.value if isinstance(entry, kube_config.ConfigNode) else entry
        if isinstance(value, Mapping) and value.get("name") == name:
            return value
    return None


def _apply_single_value_overrides(
    configuration: kubernetes.client.Configuration, overrides: Overrides
) -> None:
    if overrides.server:
        configuration.host = overrides.server.rstrip("/")
    if overrides.certificate_authority:
        configuration.ssl_ca_cert = overrides.certificate_authority
    if overrides.insecure_skip_tls_verify is not None:
        configuration.verify_ssl = not overrides.insecure_skip_tls_verify
    if overrides.tls_server_name:
        configuration.tls_server_name = overrides.tls_server_name
    if overrides.client_certificate:
        configuration.cert_file = overrides.client_certificate
    if overrides.client_key:
        configuration.key_file = overrides.client_key
    if overrides.token:
        configuration.api_key["BearerToken"] = f"Bearer {overrides.token}"
        configuration.refresh_api_key_hook = None
    elif overrides.username is not None and overrides.password is not None:
        configuration.username = overrides.username
        configuration.password = overrides.password
        configuration.api_key["BearerToken"] = urllib3.util.make_headers(
            basic_auth=f"{overrides.username}:{overrides.password}"
        )["authorization"]
        configuration.refresh_api_key_hook = None


def _in_cluster_namespace() -> str | None:
    # client-go's inClusterClientConfig.Namespace: POD_NAMESPACE, then the token's file.
    env = os.environ.get("POD_NAMESPACE")
    if env:
        return env
    try:
        text = _IN_CLUSTER_NAMESPACE_FILE.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


def _namespace(flag: str | None, configured: str | None) -> tuple[str, bool]:
    """Porch's ``EnsureNamespace``: flag, kubeconfig (unless ``default``), $NAMESPACE."""
    if flag:
        return flag, True
    if configured and configured != DEFAULT_NAMESPACE:
        return configured, True
    env = os.environ.get("NAMESPACE")
    if env:
        return env, True
    return DEFAULT_NAMESPACE, configured == DEFAULT_NAMESPACE
