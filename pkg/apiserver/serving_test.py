"""Secure serving over a real TLS socket: client certificates, the front proxy, shutdown."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apiserver import apiservertesting, authentication, config, groups, pki, server, serving

REPOS = "/apis/config.porch.kpt.dev/v1alpha1/namespaces/default/repositories"


@dataclass
class TLS:
    url: str
    ca_file: Path
    files: dict[str, tuple[str, str]]


def _write(tmp_path: Path, name: str, pair: pki.CertKey) -> tuple[str, str]:
    cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    pki.write_cert_key(pair, cert, key)
    return str(cert), str(key)


@pytest.fixture
async def tls(tmp_path: Path, db: apiservertesting.Database) -> AsyncIterator[TLS]:
    server_ca, client_ca, proxy_ca, other_ca = (
        pki.new_ca(n) for n in ("server-ca", "client-ca", "proxy-ca", "other-ca")
    )
    serving_files = _write(tmp_path, "serving", pki.new_serving_cert(server_ca, ["127.0.0.1"]))
    files = {
        "alice": _write(tmp_path, "alice", pki.new_client_cert(client_ca, "alice", ["dev"])),
        "proxy": _write(tmp_path, "proxy", pki.new_client_cert(proxy_ca, "front-proxy-client")),
        "rogue": _write(tmp_path, "rogue", pki.new_client_cert(proxy_ca, "someone-else")),
        "stranger": _write(tmp_path, "stranger", pki.new_client_cert(other_ca, "mallory")),
    }
    ca_file = tmp_path / "server-ca.crt"
    ca_file.write_bytes(server_ca.cert_pem)
    authn = authentication.Authenticator(
        client_cas=(client_ca.cert,),
        request_header=authentication.RequestHeaderConfig(
            client_cas=(proxy_ca.cert,), allowed_names=("front-proxy-client",)
        ),
    )
    repos = apiservertesting.repositories(db)
    app = server.new_app(
        config.Config(
            groups=[
                groups.APIGroupVersion(
                    configv1alpha1.GROUP, configv1alpha1.VERSION, {"repositories": repos}
                )
            ],
            authenticator=authn,
        )
    )
    context = serving.tls_context(Path(serving_files[0]), Path(serving_files[1]), authn.trusted_cas)
    async with apiservertesting.serve(app, context) as url:
        yield TLS(url, ca_file, files)


async def _get(
    tls: TLS, path: str, cert: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    if cert is not None:
        context.load_cert_chain(*tls.files[cert])
    async with httpx.AsyncClient(base_url=tls.url, verify=context) as client:
        return await client.get(path, headers=headers)


def _users(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage().split(" user=")[1].split(" ")[0]
        for r in caplog.records
        if r.name == "pkg.apiserver.access"
    ]


PROXY_HEADERS = {"X-Remote-User": "dave", "X-Remote-Group": "system:masters"}


async def test_client_certificate_authenticates(tls: TLS, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert (await _get(tls, REPOS, "alice")).status_code == 200
    assert _users(caplog) == ["alice"]


async def test_front_proxy_headers_are_trusted_from_the_front_proxy_only(
    tls: TLS, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert (await _get(tls, REPOS, "proxy", PROXY_HEADERS)).status_code == 200
    # A client certificate sending proxy headers is still only itself.
    assert (await _get(tls, REPOS, "alice", PROXY_HEADERS)).status_code == 200
    assert _users(caplog) == ["dave", "alice"]


async def test_a_front_proxy_ca_certificate_with_another_cn_is_refused(tls: TLS) -> None:
    response = await _get(tls, REPOS, "rogue", PROXY_HEADERS)
    assert response.status_code == 401
    assert response.json()["reason"] == "Unauthorized"


async def test_a_certificate_from_an_unknown_ca_fails_the_handshake(tls: TLS) -> None:
    with pytest.raises(httpx.HTTPError):
        await _get(tls, REPOS, "stranger")


async def test_no_certificate_is_anonymous_health_only(tls: TLS) -> None:
    assert (await _get(tls, REPOS)).status_code == 401
    assert (await _get(tls, "/readyz")).text == "ok"


async def test_shutdown_waits_for_in_flight_writes(db: apiservertesting.Database) -> None:
    repos = apiservertesting.repositories(db)
    db.write_delay = 0.5
    app = server.new_app(
        config.Config(
            groups=[
                groups.APIGroupVersion(
                    configv1alpha1.GROUP, configv1alpha1.VERSION, {"repositories": repos}
                )
            ],
            authenticator=authentication.Authenticator(
                tokens={"t": authentication.parse_token_file("t,u,1")["t"]}
            ),
        )
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    running = await serving.start(app, sock, None)
    body = {"metadata": {"name": "late"}, "spec": {"type": "git", "git": {"repo": "https://x"}}}
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer t"}) as client:
        write = asyncio.create_task(client.post(REPOS, json=body))
        await asyncio.sleep(0.2)
        await serving.shutdown(running, app, drain_timeout=3.0)
        response = await write
    assert response.status_code == 201
    assert ("default", "late") in await apiservertesting.keys(repos)
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"{url}/readyz")
