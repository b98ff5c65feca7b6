"""``--use-user-cabundle``: a namespace's https repositories trust the CAs of its
``<namespace>-ca-bundle`` Secret, and only they do.

A real ``porch-server --standalone --use-user-cabundle``, a loopback https git server with
basic auth whose certificate a private CA signed (nothing trusts it by default), and
``kubectl`` doing what an operator and a user do: create the CA Secret with
``--from-file=ca.crt=...``, register Repositories, create, propose and approve a package.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pkg.apiserver import pki
from pkg.testing import gitserver
from test.e2e import conftest as e2e
from test.e2e.server import conftest as fixtures

pytestmark = pytest.mark.e2e


@pytest.fixture
def ca(tmp_path: Path) -> pki.CertKey:
    return pki.new_ca("internal-git-ca")


@pytest.fixture
def https_remote(tmp_path: Path, ca: pki.CertKey) -> Iterator[gitserver.GitServer]:
    tls = gitserver.TlsFiles(cert=tmp_path / "tls.crt", key=tmp_path / "tls.key")
    pki.write_cert_key(pki.new_serving_cert(ca, ["127.0.0.1"]), tls.cert, tls.key)
    with gitserver.GitServer(
        tmp_path / "git", basic_auth=(fixtures.GIT_USER, fixtures.GIT_PASSWORD), tls=tls
    ) as server:
        yield server


def _in(server: e2e.PorchServer, namespace: str) -> fixtures.Kubectl:
    """kubectl in ``namespace``."""

    def run(
        *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        return server.kubectl("-n", namespace, *args, input=input, check=check, timeout=timeout)

    return run


def _register(server: e2e.PorchServer, namespace: str, name: str, url: str) -> None:
    server.kubectl(
        "-n",
        namespace,
        "apply",
        "-f",
        "-",
        input=fixtures.repository_manifest(name, url, secret=fixtures.GIT_SECRET),
    )


def _ready(server: e2e.PorchServer, namespace: str, name: str, expect: str) -> str:
    """Wait until the Repository's Ready condition is ``expect``; its message."""
    server.kubectl(
        "-n",
        namespace,
        "wait",
        f"--for=condition=Ready={expect}",
        f"repository/{name}",
        "--timeout=30s",
    )
    repo = json.loads(
        server.kubectl("-n", namespace, "get", "repository", name, "-o", "json").stdout
    )
    ready = [c for c in repo["status"]["conditions"] if c["type"] == "Ready"]
    return str(ready[0].get("message", ""))


def test_a_namespace_ca_bundle_secret_lets_its_repositories_use_a_private_ca(
    porch_server_factory: e2e.PorchServerFactory,
    https_remote: gitserver.GitServer,
    ca: pki.CertKey,
    tmp_path: Path,
) -> None:
    server = porch_server_factory("--use-user-cabundle")
    url = fixtures.new_remote(https_remote, "blueprints")
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(ca.cert_pem)
    broken = tmp_path / "broken.crt"
    broken.write_text("not a certificate\n")
    for namespace in ("team-a", "team-b", "team-c"):
        fixtures.create_git_secret(_in(server, namespace))
    server.kubectl(
        "-n", "team-a", "create", "secret", "generic", "team-a-ca-bundle",
        f"--from-file=ca.crt={ca_file}",
    )  # fmt: skip
    server.kubectl(
        "-n", "team-c", "create", "secret", "generic", "team-c-ca-bundle",
        f"--from-file=ca.crt={broken}",
    )  # fmt: skip

    # team-a trusts the private CA: register, create, propose, approve (fetches and pushes).
    _register(server, "team-a", "blueprints", url)
    _ready(server, "team-a", "blueprints", "True")
    manifest = fixtures.package_revision_manifest("blueprints", "basens", "ws1")
    server.kubectl("-n", "team-a", "create", "-f", "-", input=manifest)
    name = "blueprints.basens.ws1"
    server.kubectl(
        "-n", "team-a", "patch", "packagerevision", name, "--type=merge",
        "-p", '{"spec":{"lifecycle":"Proposed"}}',
    )  # fmt: skip
    server.kubectl(
        "-n", "team-a", "patch", "packagerevision", name, "--subresource=approval",
        "--type=merge", "-p", '{"spec":{"lifecycle":"Published"}}',
    )  # fmt: skip
    on_remote = https_remote.refs("blueprints.git")
    assert on_remote["refs/tags/basens/v1"] == on_remote["refs/heads/main"]

    # team-b has no CA Secret: the same remote is not trusted there.
    _register(server, "team-b", "blueprints", url)
    message = _ready(server, "team-b", "blueprints", "False")
    assert f"the TLS certificate of {url} is not trusted" in message

    # team-c's Secret holds no certificate: the error names the Secret and the key.
    _register(server, "team-c", "blueprints", url)
    message = _ready(server, "team-c", "blueprints", "False")
    assert 'CA bundle secret "team-c-ca-bundle": key "ca.crt" does not hold PEM' in message
    assert "not a certificate" not in message
    assert "not a certificate" not in server.log_path.read_text()


def test_without_the_flag_a_ca_bundle_secret_is_ignored(
    porch_server_factory: e2e.PorchServerFactory,
    https_remote: gitserver.GitServer,
    ca: pki.CertKey,
    tmp_path: Path,
) -> None:
    server = porch_server_factory()
    url = fixtures.new_remote(https_remote, "blueprints")
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(ca.cert_pem)
    fixtures.create_git_secret(_in(server, "default"))
    server.kubectl(
        "create", "secret", "generic", "default-ca-bundle", f"--from-file=ca.crt={ca_file}"
    )
    _register(server, "default", "blueprints", url)
    message = _ready(server, "default", "blueprints", "False")
    assert f"the TLS certificate of {url} is not trusted" in message
