"""From validated options to the objects porch-server runs with (step ``config``).

Where this sits: :mod:`pkg.cmd.server.server` calls :func:`new_config` after
``ServerOptions.complete()`` and ``validate()``. It does the file work that must happen
before serving: the standalone PKI (or a self-signed serving certificate), reading the CA
bundles and the token file, and building the authentication chain. Storages and the app
are assembled in :mod:`pkg.cmd.server.server`, which owns their lifetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

import api
from pkg.apiserver import authentication, pki
from pkg.cmd.server import certs, options

__all__ = ["Config", "ConfigError", "new_config", "openapi_document"]


class ConfigError(Exception):
    """Options that validate but cannot be put to work (unreadable files, bad contents)."""


@dataclass(frozen=True)
class Config:
    """What the server needs besides storages: options, TLS files, authentication."""

    options: options.ServerOptions
    serving: certs.ServingFiles
    standalone_pki: certs.StandalonePKI | None
    authenticator: authentication.Authenticator


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


def new_config(opts: options.ServerOptions) -> Config:
    """Build the Config of completed, validated options (may create files in --cert-dir)."""
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

    client_cas: tuple[x509.Certificate, ...] = ()
    if opts.client_ca_file is not None:
        client_cas = _certificates("--client-ca-file", opts.client_ca_file)
    if standalone_pki is not None:
        # The admin kubeconfig's certificate must always work.
        client_cas = (*client_cas, standalone_pki.ca.cert)

    request_header: authentication.RequestHeaderConfig | None = None
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

    return Config(
        options=opts,
        serving=serving,
        standalone_pki=standalone_pki,
        authenticator=authentication.Authenticator(
            client_cas=client_cas, request_header=request_header, tokens=tokens
        ),
    )
