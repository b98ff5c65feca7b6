"""Aggregated mode (no --standalone) starts against a kubeconfig and delegates authorization."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from test.e2e import conftest as e2e

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def aggregated(
    porch_server: e2e.PorchServer, tmp_path: Path
) -> Iterator[tuple[str, e2e.PorchServer]]:
    """An aggregated server whose "cluster" is a standalone server (its kubeconfig).

    The standalone server has no SubjectAccessReview API, so every review fails: only
    ``system:masters`` (which needs no review) gets through, as in a real cluster whose
    authorization webhook is down.
    """
    (tmp_path / "tokens.csv").write_text("tok-erin,erin,1001\n")
    port = _free_port()
    log = (tmp_path / "aggregated.log").open("wb")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "porch-server"),
            "--kubeconfig",
            str(porch_server.kubeconfig),
            "--client-ca-file",
            str(porch_server.ca_file),
            "--token-auth-file",
            str(tmp_path / "tokens.csv"),
            "--bind-address",
            "127.0.0.1",
            "--secure-port",
            str(port),
            "--cert-dir",
            str(tmp_path / "certs"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "aggregated.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", verify=False, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "aggregated.log").read_text()
            time.sleep(0.05)
        yield url, porch_server
    finally:
        process.terminate()
        assert process.wait(15) == 0
        log.close()


def test_aggregated_mode_serves_and_delegates_authorization(
    aggregated: tuple[str, e2e.PorchServer],
) -> None:
    url, cluster = aggregated
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the serving certificate is self-signed in --cert-dir
    context.load_cert_chain(*(str(p) for p in cluster.admin_cert))
    with httpx.Client(base_url=url, verify=context) as admin:
        groups = admin.get("/apis")
    assert groups.status_code == 200
    assert groups.json() == {"apiVersion": "v1", "groups": [], "kind": "APIGroupList"}
    with httpx.Client(
        base_url=url,
        verify=False,
        headers={"Authorization": "Bearer tok-erin"},
    ) as erin:
        denied = erin.get("/apis")
    assert denied.status_code == 403
    assert denied.json()["message"].startswith('forbidden: User "erin" cannot get path "/apis"')
