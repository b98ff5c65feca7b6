"""From validated options to the objects porch-server runs with (step ``config``).

Where this sits: :mod:`pkg.cmd.server.server` calls :func:`new_config` after
``ServerOptions.complete()`` and ``validate()``. It does the file work that must happen
before serving: the standalone PKI (or a self-signed serving certificate), reading the CA
bundles and the token file, building the authentication chain (an aggregated server
without ``--requestheader-client-ca-file`` reads the front-proxy settings from the cluster,
:mod:`pkg.cmd.server.delegation`; an aggregated server also has the cluster review bearer
tokens no static token matches, through the same client as its SubjectAccessReviews), and
the KRM function runtime (reading ``--function-exec``). Stores, the engine and the app are
assembled in :mod:`pkg.cmd.server.server`, which owns their lifetimes.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

import api
from pkg.apiserver import authentication, pki
from pkg.cmd.server import certs, delegation, functions, options
from pkg.kpt.fn import runtime as fnruntime

__all__ = [
    "Config",
    "ConfigError",
    "new_config",
    "openapi_document",
    "with_cluster_authentication",
]

_log = logging.getLogger("porch-server")


class ConfigError(Exception):
    """Options that validate but cannot be put to work (unreadable files, bad contents)."""


@dataclass(frozen=True)
class Config:
    """What the server needs besides storages: options, TLS files, authentication, the
    function runtime the engine renders with."""

    options: options.ServerOptions
    serving: certs.ServingFiles
    standalone_pki: certs.StandalonePKI | None
    authenticator: authentication.Authenticator
    function_runtime: fnruntime.FunctionRuntime
    follows_cluster: bool = False
    """The CAs and front-proxy settings come from the cluster's ConfigMap (aggregated, no
    ``--requestheader-client-ca-file``): the server keeps them current
    (:func:`delegation.follow`, :func:`with_cluster_authentication`)."""
    cluster_authentication: delegation.ClusterAuthentication | None = None
    """What the ConfigMap said at start (None: it could not be read)."""


def with_cluster_authentication(
    cfg: Config, found: delegation.ClusterAuthentication
) -> authentication.Authenticator:
    """``cfg``'s chain with the cluster's newly published settings (flags still win:
    ``--client-ca-file`` keeps its CAs)."""
    client_cas = (
        cfg.authenticator.client_cas if cfg.options.client_ca_file is not None else found.client_cas
    )
    return dataclasses.replace(
        cfg.authenticator, client_cas=client_cas, request_header=found.request_header
    )


def openapi_document(group_dir: str, version: str) -> Path:
    """``api/openapi/<group_dir>/<version>.yaml``, the document a group-version's models and
    OpenAPI come from (installed with the ``api`` package)."""
    return Path(api.__file__).resolve().parent / "openapi" / group_dir / f"{version}.yaml"


def _certificates(flag: str, path: Path) -> tuple[x509.Certificate, ...]:
    try:
        found = tuple(pki.load_certificates(path))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{flag}: cannot read certificates from {path}: {err}") from None
    if not found:
        raise ConfigError(f"{flag}: {path} holds no PEM certificate")
    return found


def _cluster_authentication(kube_client: Any) -> delegation.ClusterAuthentication | None:
    try:
        return delegation.lookup(kube_client)
    except delegation.DelegationError as err:
        # As kube's --authentication-tolerate-lookup-failure: serve; requests that
        # kube-apiserver proxies are 401 until a later read (delegation.follow) succeeds.
        _log.warning("front-proxy authentication is off: %s", err)
        return None


def new_config(opts: options.ServerOptions, kube_client: Any | None = None) -> Config:
    """Build the Config of completed, validated options (may create files in --cert-dir).

    ``kube_client`` (a ``kubernetes.client.ApiClient``) is the server's client of its
    cluster; an aggregated server reads the delegated authentication settings and reviews
    bearer tokens (TokenReview) through it. A standalone server never sends its callers'
    tokens to a cluster, even when it has one for authorization.
    """
    assert opts.cert_dir is not None
    hosts = certs.serving_hosts(opts.bind_address)
    standalone_pki: certs.StandalonePKI | None = None
    if opts.standalone:
        standalone_pki = certs.standalone_pki(opts.cert_dir, hosts)
    if opts.tls_cert_file is not None and opts.tls_private_key_file is not None:
        serving = certs.ServingFiles(opts.tls_cert_file, opts.tls_private_key_file)
    elif standalone_pki is not None:
        serving = standalone_pki.serving
    else:
        serving = certs.self_signed_serving(opts.cert_dir, hosts)

    cluster: delegation.ClusterAuthentication | None = None
    follows_cluster = (
        not opts.standalone
        and kube_client is not None
        and opts.requestheader_client_ca_file is None
    )
    if follows_cluster:
        cluster = _cluster_authentication(kube_client)

    client_cas: tuple[x509.Certificate, ...] = ()
    if opts.client_ca_file is not None:
        client_cas = _certificates("--client-ca-file", opts.client_ca_file)
    elif cluster is not None:
        client_cas = cluster.client_cas
    if standalone_pki is not None:
        # The admin kubeconfig's certificate must always work.
        client_cas = (*client_cas, standalone_pki.ca.cert)

    request_header = cluster.request_header if cluster is not None else None
    if opts.requestheader_client_ca_file is not None:
        request_header = authentication.RequestHeaderConfig(
            client_cas=_certificates(
                "--requestheader-client-ca-file", opts.requestheader_client_ca_file
            ),
            allowed_names=opts.requestheader_allowed_names,
            username_headers=opts.requestheader_username_headers,
            uid_headers=opts.requestheader_uid_headers,
            group_headers=opts.requestheader_group_headers,
            extra_header_prefixes=opts.requestheader_extra_headers_prefix,
        )

    tokens = {}
    if opts.token_auth_file is not None:
        try:
            tokens = authentication.load_token_file(opts.token_auth_file)
        except (OSError, authentication.TokenFileError) as err:
            raise ConfigError(f"--token-auth-file: {err}") from None

    token_review: authentication.TokenReviewAuthenticator | None = None
    if not opts.standalone and kube_client is not None:
        token_review = authentication.TokenReviewAuthenticator(
            authentication.kubernetes_token_review(kube_client),
            cache_ttl=opts.authentication_token_webhook_cache_ttl,
        )

    try:
        function_runtime = functions.new_runtime(
            opts.runtime.default_image_prefix, opts.runtime.function_exec
        )
    except functions.FunctionConfigError as err:
        raise ConfigError(f"--function-exec: {err}") from None

    return Config(
        options=opts,
        function_runtime=function_runtime,
        serving=serving,
        standalone_pki=standalone_pki,
        authenticator=authentication.Authenticator(
            client_cas=client_cas,
            request_header=request_header,
            tokens=tokens,
            token_review=token_review,
        ),
        follows_cluster=follows_cluster,
        cluster_authentication=cluster,
    )
