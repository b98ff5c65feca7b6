from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from pkg.apiserver import pki
from pkg.cmd.server import certs

HOSTS = ["localhost", "127.0.0.1"]


def _sans(path: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(v) for v in sans.get_values_for_type(x509.DNSName)] + [
        str(v) for v in sans.get_values_for_type(x509.IPAddress)
    ]


def test_first_start_creates_the_pki_and_later_starts_reuse_it(tmp_path: Path) -> None:
    first = certs.standalone_pki(tmp_path / "pki", HOSTS)
    assert pki.issued_by(first.admin.cert, first.ca.cert)
    assert pki.common_name(first.admin.cert) == "admin"
    assert pki.organizations(first.admin.cert) == ("system:masters",)
    assert stat.S_IMODE((tmp_path / "pki").stat().st_mode) == 0o700
    second = certs.standalone_pki(tmp_path / "pki", HOSTS)
    assert second.ca.cert == first.ca.cert
    assert second.admin.cert == first.admin.cert
    assert second.serving.cert_file.read_bytes() == first.serving.cert_file.read_bytes()


def test_a_new_bind_address_reissues_only_the_serving_certificate(tmp_path: Path) -> None:
    first = certs.standalone_pki(tmp_path, HOSTS)
    before = first.serving.cert_file.read_bytes()
    second = certs.standalone_pki(tmp_path, [*HOSTS, "10.1.2.3"])
    assert second.serving.cert_file.read_bytes() != before
    assert "10.1.2.3" in _sans(second.serving.cert_file)
    assert second.ca.cert == first.ca.cert


def test_serving_hosts_cover_the_bind_address() -> None:
    assert "192.168.1.5" in certs.serving_hosts("192.168.1.5")
    assert "0.0.0.0" not in certs.serving_hosts("0.0.0.0")
    assert {"localhost", "127.0.0.1"} <= set(certs.serving_hosts("127.0.0.1"))


def test_the_kubeconfig_loads_in_the_kubernetes_client(tmp_path: Path) -> None:
    material = certs.standalone_pki(tmp_path / "pki", HOSTS)
    path = tmp_path / "kubeconfig"
    certs.write_kubeconfig(path, "https://127.0.0.1:9443", material.ca.cert, material.admin)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    configuration = k8s_client.Configuration()
    k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(path), client_configuration=configuration
    )
    assert configuration.host == "https://127.0.0.1:9443"
    assert configuration.ssl_ca_cert is not None
    assert configuration.cert_file is not None
    assert Path(configuration.ssl_ca_cert).read_bytes() == material.ca.cert_pem
    assert Path(configuration.cert_file).read_bytes() == material.admin.cert_pem
    contexts, current = k8s_config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
        config_file=str(path)
    )
    assert current["context"]["namespace"] == "default"
    assert len(contexts) == 1
