"""An aggregated server keeps the cluster's published CAs and front-proxy settings current:
a rotated front-proxy CA is trusted (and the old one refused) without a restart.

kube-apiserver cannot run here, so the ConfigMap's ``data`` is a dict the test changes; it
goes through the real parser (:func:`delegation.parse`), the real TLS context and app, and
a real HTTPS client presenting front-proxy certificates.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path

import httpx

from pkg.apiserver import apiservertesting, authentication, pki, serving
from pkg.apiserver import config as apiconfig
from pkg.apiserver import server as apiserver
from pkg.cmd.server import certs, delegation, options, server
from pkg.cmd.server import config as serverconfig
from pkg.kpt.fn import runtime as fnruntime


def _configmap(front_proxy_ca: pki.CertKey, client_ca: pki.CertKey) -> dict[str, str]:
    return {
        "client-ca-file": client_ca.cert_pem.decode(),
        "requestheader-client-ca-file": front_proxy_ca.cert_pem.decode(),
        "requestheader-allowed-names": json.dumps(["front-proxy-client"]),
        "requestheader-username-headers": json.dumps(["X-Remote-User"]),
        "requestheader-group-headers": json.dumps(["X-Remote-Group"]),
        "requestheader-extra-headers-prefix": json.dumps(["X-Remote-Extra-"]),
    }


def _cert_files(directory: Path, name: str, cert: pki.CertKey) -> tuple[str, str]:
    (directory / f"{name}.crt").write_bytes(cert.cert_pem)
    (directory / f"{name}.key").write_bytes(cert.key_pem)
    return str(directory / f"{name}.crt"), str(directory / f"{name}.key")


async def _as_front_proxy(url: str, cert: tuple[str, str]) -> int | None:
    """The status of ``GET /apis`` as kube-apiserver's front proxy forwarding alice (None:
    the TLS handshake refused the certificate). A new connection each time: a changed TLS
    context applies to new connections."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the serving certificate is not what is tested
    context.load_cert_chain(*cert)
    try:
        async with httpx.AsyncClient(verify=context, timeout=5) as client:
            response = await client.get(f"{url}/apis", headers={"X-Remote-User": "alice"})
    except (httpx.ConnectError, httpx.ReadError):
        return None
    return response.status_code


async def test_a_rotated_front_proxy_ca_is_followed_without_a_restart(tmp_path: Path) -> None:
    old_proxy_ca, new_proxy_ca = pki.new_ca("front-proxy-ca"), pki.new_ca("front-proxy-ca-2")
    client_ca = pki.new_ca("kubernetes")
    old_proxy = _cert_files(
        tmp_path, "old", pki.new_client_cert(old_proxy_ca, "front-proxy-client")
    )
    new_proxy = _cert_files(
        tmp_path, "new", pki.new_client_cert(new_proxy_ca, "front-proxy-client")
    )
    data = _configmap(old_proxy_ca, client_ca)
    found = delegation.parse(data)
    authenticator = authentication.Authenticator(
        client_cas=found.client_cas, request_header=found.request_header
    )
    serving_files = certs.self_signed_serving(tmp_path / "certs", ["127.0.0.1"])
    cfg = serverconfig.Config(
        options=options.ServerOptions(),
        serving=serving_files,
        standalone_pki=None,
        authenticator=authenticator,
        function_runtime=fnruntime.BuiltinRuntime(),
        follows_cluster=True,
        cluster_authentication=found,
    )
    app = apiserver.new_app(apiconfig.Config(groups=[], authenticator=authenticator))
    tls = serving.tls_context(
        serving_files.cert_file, serving_files.key_file, authenticator.trusted_cas
    )
    async with apiservertesting.serve(app, tls) as url:
        assert await _as_front_proxy(url, old_proxy) == 200
        assert await _as_front_proxy(url, new_proxy) in (None, 401)

        task = server.follow_cluster_authentication(
            cfg, lambda: delegation.parse(dict(data)), app, tls, interval=0.02
        )
        try:
            data.update(_configmap(new_proxy_ca, client_ca))
            async with asyncio.timeout(10):
                while await _as_front_proxy(url, new_proxy) != 200:  # noqa: ASYNC110 (a client polling)
                    await asyncio.sleep(0.02)
            # The old CA's certificates no longer carry a user in.
            assert await _as_front_proxy(url, old_proxy) == 401
        finally:
            task.cancel()
