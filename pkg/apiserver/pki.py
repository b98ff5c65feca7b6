"""Certificates for secure serving and client authentication (client-go's ``util/cert``).

Where this sits: ``pkg.cmd.server`` calls it on the first start of a standalone server to
create a CA, a serving certificate and an admin client certificate in the data directory
(and to self-sign a serving certificate into ``--cert-dir`` when no ``--tls-cert-file`` is
given); :mod:`pkg.apiserver.authentication` uses :func:`issued_by` to tell which CA signed
a client certificate, because Python's ``ssl`` does not say which of the loaded CAs
verified the peer (``SSLSocket.get_verified_chain`` arrives only in Python 3.13).

Keys are ECDSA P-256: Go (kubectl), OpenSSL (Python's ``ssl``) and libgit2 all accept
them, and they are generated in milliseconds.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CertKey",
    "common_name",
    "issued_by",
    "load_cert_key",
    "load_certificates",
    "new_ca",
    "new_client_cert",
    "new_serving_cert",
    "organizations",
    "write_cert_key",
]

# Kubernetes' self-signed serving certs live a year; a standalone CA ten. A client that
# runs longer than that regenerates by deleting the data directory's pki folder.
_CA_VALIDITY = datetime.timedelta(days=3650)
_CERT_VALIDITY = datetime.timedelta(days=365)
# Clocks of clients and server differ a little; backdate so a fresh cert is valid at once.
_BACKDATE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class CertKey:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _name(common: str, orgs: Sequence[str] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common))
    return x509.Name(attrs)


def _builder(
    subject: x509.Name, issuer: x509.Name, validity: datetime.timedelta
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + validity)
    )


def _key_usage(
    *, key_encipherment: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    """Digital signature, plus what is asked: a CA signs certificates and CRLs, a leaf
    enciphers keys (as client-go's certificates have it)."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def new_ca(common_name: str) -> CertKey:
    """A self-signed CA certificate that may sign serving and client certificates."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    cert = (
        _builder(name, name, _CA_VALIDITY)
        .public_key(key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertKey(cert, key)


def _leaf(
    ca: CertKey,
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    sans: Sequence[x509.GeneralName] = (),
) -> CertKey:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(subject, ca.cert.subject, _CERT_VALIDITY)
        .public_key(key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(key_encipherment=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return CertKey(builder.sign(ca.key, hashes.SHA256()), key)


def new_serving_cert(ca: CertKey, hosts: Sequence[str]) -> CertKey:
    """A TLS server certificate for ``hosts`` (IP addresses and DNS names), signed by ``ca``.

    The first host is the subject CN; every host is a SAN, as Go's TLS verification only
    reads SANs. ``0.0.0.0``/``::`` (wildcard bind addresses) are skipped: no client dials them.
    """
    sans: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):  # keep order, drop duplicates
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            sans.append(x509.DNSName(host))
            continue
        if not ip.is_unspecified:
            sans.append(x509.IPAddress(ip))
    common = hosts[0] if hosts else "porch-server"
    return _leaf(ca, _name(common), ExtendedKeyUsageOID.SERVER_AUTH, sans)


def new_client_cert(ca: CertKey, common_name: str, orgs: Sequence[str] = ()) -> CertKey:
    """A TLS client certificate: Kubernetes reads the CN as the user and each O as a group."""
    return _leaf(ca, _name(common_name, orgs), ExtendedKeyUsageOID.CLIENT_AUTH)


def write_cert_key(pair: CertKey, cert_path: Path, key_path: Path) -> None:
    """Write the PEM files; the key is readable by its owner only."""
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.write_bytes(pair.cert_pem)
    # Create the key file 0600 from the start rather than chmod after writing it.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pair.key_pem)


def load_cert_key(cert_path: Path, key_path: Path) -> CertKey:
    """Read a pair written by :func:`write_cert_key` (an EC key is required)."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path}: expected an EC private key")
    return CertKey(cert, key)


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle (a CA file may hold several during rotation)."""
    return x509.load_pem_x509_certificates(path.read_bytes())


def issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether ``ca`` signed ``cert``: the issuer name matches and the signature verifies.

    The TLS handshake already verified ``cert`` against *some* loaded CA and checked its
    validity period; this only attributes it to one of them.
    """
    try:
        cert.verify_directly_issued_by(ca)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def common_name(cert: x509.Certificate) -> str:
    """The subject CN (empty when absent)."""
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def organizations(cert: x509.Certificate) -> tuple[str, ...]:
    """Every subject O, in order."""
    return tuple(
        str(attr.value) for attr in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    )
