"""Authentication against a real porch-server process: anonymous, certificates, front proxy."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pkg.apiserver import pki
from test.e2e import conftest as e2e

pytestmark = pytest.mark.e2e

REPOS = "/apis/config.porch.kpt.dev/v1alpha1/namespaces/default/repositories"
PROXY_HEADERS = {"X-Remote-User": "dave", "X-Remote-Group": "system:masters"}


def _client(
    server: e2e.PorchServer,
    cert: tuple[Path, Path] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(server.ca_file))
    if cert is not None:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    return httpx.Client(base_url=server.url, verify=context, timeout=10, headers=headers)


def _write(directory: Path, name: str, pair: pki.CertKey) -> tuple[Path, Path]:
    paths = directory / f"{name}.crt", directory / f"{name}.key"
    pki.write_cert_key(pair, *paths)
    return paths


def _users(server: e2e.PorchServer) -> list[str]:
    return [
        line.split(" user=")[1].split()[0]
        for line in server.log().splitlines()
        if "pkg.apiserver.access" in line and " user=" in line
    ]


def test_anonymous_requests_get_401_but_probes_work(porch_server: e2e.PorchServer) -> None:
    with _client(porch_server) as anonymous:
        denied = anonymous.get("/apis")
        assert denied.status_code == 401
        assert denied.json() == {
            "apiVersion": "v1",
            "code": 401,
            "kind": "Status",
            "message": "Unauthorized",
            "metadata": {},
            "reason": "Unauthorized",
            "status": "Failure",
        }
        porch = anonymous.get("/apis/porch.kpt.dev/v1alpha1/namespaces/default/packagerevisions")
        assert porch.status_code == 401
        assert anonymous.get("/readyz").text == "ok"
    with _client(porch_server, porch_server.admin_cert) as admin:
        assert admin.get("/apis").status_code == 200


def test_a_client_certificate_from_an_unknown_ca_is_rejected(
    porch_server: e2e.PorchServer, tmp_path: Path
) -> None:
    stranger = _write(tmp_path, "stranger", pki.new_client_cert(pki.new_ca("other"), "admin"))
    with pytest.raises(httpx.HTTPError), _client(porch_server, stranger) as client:
        client.get("/apis")


@dataclass
class FrontProxied:
    server: e2e.PorchServer
    proxy: tuple[Path, Path]
    intruder: tuple[Path, Path]


@pytest.fixture
def front_proxied(
    porch_server_factory: e2e.PorchServerFactory, tmp_path: Path
) -> Iterator[FrontProxied]:
    proxy_ca = pki.new_ca("front-proxy-ca")
    (tmp_path / "proxy-ca.crt").write_bytes(proxy_ca.cert_pem)
    (tmp_path / "tokens.csv").write_text('tok-erin,erin,1001,"devs"\n')
    server = porch_server_factory(
        "--requestheader-client-ca-file",
        str(tmp_path / "proxy-ca.crt"),
        "--requestheader-allowed-names",
        "front-proxy-client",
        "--token-auth-file",
        str(tmp_path / "tokens.csv"),
    )
    yield FrontProxied(
        server,
        _write(tmp_path, "proxy", pki.new_client_cert(proxy_ca, "front-proxy-client")),
        _write(tmp_path, "intruder", pki.new_client_cert(proxy_ca, "intruder")),
    )


def test_the_front_proxy_may_assert_users(front_proxied: FrontProxied) -> None:
    with _client(front_proxied.server, front_proxied.proxy) as proxy:
        assert proxy.get(REPOS, headers=PROXY_HEADERS).status_code == 200
    assert _users(front_proxied.server)[-1] == "dave"


def test_front_proxy_headers_from_another_certificate_are_401(
    front_proxied: FrontProxied,
) -> None:
    with _client(front_proxied.server, front_proxied.intruder) as intruder:
        response = intruder.get(REPOS, headers=PROXY_HEADERS)
    assert response.status_code == 401
    assert response.json()["reason"] == "Unauthorized"


def test_front_proxy_headers_from_a_client_certificate_are_ignored(
    front_proxied: FrontProxied,
) -> None:
    server = front_proxied.server
    with _client(server, server.admin_cert) as admin:
        assert admin.get(REPOS, headers=PROXY_HEADERS).status_code == 200
    assert _users(server)[-1] == "admin"


def test_bearer_tokens_from_the_token_file(front_proxied: FrontProxied) -> None:
    server = front_proxied.server
    with _client(server, headers={"Authorization": "Bearer tok-erin"}) as client:
        assert client.get(REPOS).status_code == 200
    with _client(server, headers={"Authorization": "Bearer wrong"}) as client:
        assert client.get(REPOS).status_code == 401
    assert _users(server)[-2] == "erin"
    assert "tok-erin" not in server.log()
