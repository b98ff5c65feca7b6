"""Serving certificates, the standalone PKI and the kubeconfig that points at it.

Where this sits: :mod:`pkg.cmd.server.config` calls :func:`standalone_pki` on every start
of a standalone server (the first start creates a CA, a serving certificate and an admin
client certificate, ``CN=admin, O=system:masters``, under ``--cert-dir``; later starts
reuse them, re-issuing only a serving certificate that expired or lacks a host), and
:func:`self_signed_serving` for a non-standalone server started without
``--tls-cert-file``. :func:`write_kubeconfig` writes the file kubectl and the Python
client use (``--write-kubeconfig``): the CA and the admin key are embedded, so the
kubeconfig works from any directory; it is written 0600.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pkg.apiserver import pki

__all__ = [
    "ServingFiles",
    "StandalonePKI",
    "self_signed_serving",
    "serving_hosts",
    "standalone_pki",
    "write_kubeconfig",
]

_RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class ServingFiles:
    """The serving certificate and key files the TLS context loads."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class StandalonePKI:
    """The standalone server's CA, serving and admin client material."""

    ca: pki.CertKey
    serving: ServingFiles
    admin: pki.CertKey


def serving_hosts(bind_address: str) -> list[str]:
    """The names a serving certificate must cover for ``bind_address``."""
    hosts = ["localhost", "127.0.0.1", "::1"]
    address = ipaddress.ip_address(bind_address)
    if not address.is_unspecified:
        hosts.append(bind_address)
    else:
        # Listening everywhere: clients may use this machine's name.
        hosts.append(socket.gethostname())
    return list(dict.fromkeys(hosts))


def _covers(cert: x509.Certificate, hosts: Sequence[str]) -> bool:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    names = set(sans.get_values_for_type(x509.DNSName))
    names.update(str(ip) for ip in sans.get_values_for_type(x509.IPAddress))
    for host in hosts:
        try:
            wanted = str(ipaddress.ip_address(host))
        except ValueError:
            wanted = host
        if wanted not in names:
            return False
    return True


def _fresh(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - _RENEW_BEFORE > datetime.datetime.now(datetime.UTC)


def _load_or_create_ca(directory: Path, common_name: str) -> pki.CertKey:
    cert_file, key_file = directory / "ca.crt", directory / "ca.key"
    if cert_file.is_file() and key_file.is_file():
        ca = pki.load_cert_key(cert_file, key_file)
        if _fresh(ca.cert):
            return ca
    ca = pki.new_ca(common_name)
    pki.write_cert_key(ca, cert_file, key_file)
    # A new CA invalidates everything it signed before.
    for stale in ("serving.crt", "serving.key", "admin.crt", "admin.key"):
        (directory / stale).unlink(missing_ok=True)
    return ca


def _serving(directory: Path, ca: pki.CertKey, hosts: Sequence[str]) -> ServingFiles:
    files = ServingFiles(directory / "serving.crt", directory / "serving.key")
    if files.cert_file.is_file() and files.key_file.is_file():
        current = pki.load_cert_key(files.cert_file, files.key_file)
        if (
            _fresh(current.cert)
            and _covers(current.cert, hosts)
            and pki.issued_by(current.cert, ca.cert)
        ):
            return files
    pki.write_cert_key(pki.new_serving_cert(ca, hosts), files.cert_file, files.key_file)
    return files


def standalone_pki(directory: Path, hosts: Sequence[str]) -> StandalonePKI:
    """Load (or create on first start) the standalone PKI in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    ca = _load_or_create_ca(directory, "porch-server-ca")
    serving = _serving(directory, ca, hosts)
    admin_cert, admin_key = directory / "admin.crt", directory / "admin.key"
    admin: pki.CertKey | None = None
    if admin_cert.is_file() and admin_key.is_file():
        admin = pki.load_cert_key(admin_cert, admin_key)
        if not (_fresh(admin.cert) and pki.issued_by(admin.cert, ca.cert)):
            admin = None
    if admin is None:
        admin = pki.new_client_cert(ca, "admin", ["system:masters"])
        pki.write_cert_key(admin, admin_cert, admin_key)
    return StandalonePKI(ca=ca, serving=serving, admin=admin)


def self_signed_serving(directory: Path, hosts: Sequence[str]) -> ServingFiles:
    """A serving certificate in ``--cert-dir`` signed by a CA of its own (reused if valid)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _load_or_create_ca(directory, "porch-server-serving-ca")
    return _serving(directory, ca, hosts)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def write_kubeconfig(
    path: Path, server_url: str, ca: x509.Certificate, client: pki.CertKey, name: str = "porch"
) -> None:
    """A kubeconfig for ``server_url`` with the admin client certificate, namespace default."""
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {"server": server_url, "certificate-authority-data": _b64(ca_pem)},
            }
        ],
        "users": [
            {
                "name": f"{name}-admin",
                "user": {
                    "client-certificate-data": _b64(client.cert_pem),
                    "client-key-data": _b64(client.key_pem),
                },
            }
        ],
        "contexts": [
            {
                "name": name,
                "context": {"cluster": name, "user": f"{name}-admin", "namespace": "default"},
            }
        ],
        "current-context": name,
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        yaml.safe_dump(document, f, sort_keys=False)
    os.replace(temporary, path)
