from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from cryptography import x509

from pkg.apiserver import pki


def test_issued_by_attributes_a_certificate_to_its_ca() -> None:
    ca, other = pki.new_ca("ca"), pki.new_ca("ca")  # same subject, different keys
    leaf = pki.new_client_cert(ca, "alice", ["dev"])
    assert pki.issued_by(leaf.cert, ca.cert)
    assert not pki.issued_by(leaf.cert, other.cert)
    assert (pki.common_name(leaf.cert), pki.organizations(leaf.cert)) == ("alice", ("dev",))


def test_serving_certificate_names_every_host_but_wildcards() -> None:
    ca = pki.new_ca("ca")
    serving = pki.new_serving_cert(ca, ["localhost", "127.0.0.1", "0.0.0.0", "127.0.0.1"])
    sans = serving.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]


def test_written_keys_are_private_and_load_back(tmp_path: Path) -> None:
    ca = pki.new_ca("ca")
    pki.write_cert_key(ca, tmp_path / "ca.crt", tmp_path / "ca.key")
    assert stat.S_IMODE((tmp_path / "ca.key").stat().st_mode) == 0o600
    loaded = pki.load_cert_key(tmp_path / "ca.crt", tmp_path / "ca.key")
    assert loaded.cert == ca.cert
    assert pki.load_certificates(tmp_path / "ca.crt") == [ca.cert]
