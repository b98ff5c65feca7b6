"""Aggregated mode (no --standalone): Repositories and Secrets come from the cluster, found
through a kubeconfig; authorization is delegated to it.

The "cluster" is a standalone server, which serves Repositories and Secrets with the same
API as kube-apiserver with Porch's CRD. It has no SubjectAccessReview API, so every review
fails: only ``system:masters`` (which needs no review) gets through, as in a real cluster
whose authorization webhook is down. It has no TokenReview API either, so a bearer token
that no static token matches is a 401, as with a real cluster that cannot review tokens;
what a cluster's answers do is tested against a stand-in in
``pkg/apiserver/authentication_test.py``.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pkg.testing import gitserver
from test.e2e import conftest as e2e
from test.e2e.server import conftest as fixtures

pytestmark = pytest.mark.e2e

PRS = "/apis/porch.kpt.dev/v1alpha1/namespaces/default/packagerevisions"


@dataclass
class Aggregated:
    url: str
    cluster: e2e.PorchServer
    log: Path

    def admin(self) -> httpx.Client:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the serving certificate is self-signed in --cert-dir
        context.load_cert_chain(*(str(p) for p in self.cluster.admin_cert))
        return httpx.Client(base_url=self.url, verify=context, timeout=30)


@pytest.fixture
def aggregated(porch_server: e2e.PorchServer, tmp_path: Path) -> Iterator[Aggregated]:
    """An aggregated server whose cluster is ``porch_server`` (its kubeconfig)."""
    (tmp_path / "tokens.csv").write_text("tok-erin,erin,1001\n")
    port = e2e.free_port()
    log_path = tmp_path / "aggregated.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "porch-server"),
            "--kubeconfig",
            str(porch_server.kubeconfig),
            "--client-ca-file",
            str(porch_server.ca_file),
            "--token-auth-file",
            str(tmp_path / "tokens.csv"),
            "--authentication-token-webhook-cache-ttl",
            "30s",
            "--bind-address",
            "127.0.0.1",
            "--secure-port",
            str(port),
            "--cert-dir",
            str(tmp_path / "certs"),
            "--data-dir",
            str(tmp_path / "aggregated-data"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{url}/readyz", verify=False, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        yield Aggregated(url, porch_server, log_path)
    finally:
        process.terminate()
        assert process.wait(15) == 0, log_path.read_text()
        log.close()


def test_aggregated_mode_serves_porch_and_delegates_authorization(
    aggregated: Aggregated,
) -> None:
    with aggregated.admin() as admin:
        groups = admin.get("/apis")
    assert groups.status_code == 200
    # Repositories and Secrets are the cluster's (CRD and core API): only porch.kpt.dev here.
    assert [g["name"] for g in groups.json()["groups"]] == ["porch.kpt.dev"]
    with httpx.Client(
        base_url=aggregated.url,
        verify=False,
        headers={"Authorization": "Bearer tok-erin"},
    ) as erin:
        denied = erin.get("/apis")
    assert denied.status_code == 403
    assert denied.json()["message"].startswith('forbidden: User "erin" cannot get path "/apis"')


def test_a_bearer_token_the_cluster_cannot_review_is_unauthorized(
    aggregated: Aggregated,
) -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.a-service-account-token.s1gn4ture"
    with httpx.Client(
        base_url=aggregated.url, verify=False, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        answers = [client.get("/apis/porch.kpt.dev/v1alpha1") for _ in range(2)]
    for answer in answers:
        assert answer.status_code == 401
        assert answer.json() == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }
    log = aggregated.log.read_text()
    # The server asked the cluster (which has no TokenReview API) each time: failures are
    # not cached. The token itself is never logged.
    assert log.count("TokenReview failed, the bearer token authenticates nobody") == 2, log
    assert token not in log


def _until(check: Any, limit: float = 30) -> Any:
    deadline = time.monotonic() + limit
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_repositories_and_secrets_come_from_the_cluster(
    aggregated: Aggregated, tmp_path: Path
) -> None:
    cluster = aggregated.cluster
    with gitserver.GitServer(
        tmp_path / "git", basic_auth=(fixtures.GIT_USER, fixtures.GIT_PASSWORD)
    ) as remote:
        url = fixtures.new_remote(remote, "agg")
        fixtures.create_git_secret(cluster.kubectl)
        cluster.kubectl(
            "apply",
            "-f",
            "-",
            input=fixtures.repository_manifest("agg", url, secret=fixtures.GIT_SECRET),
        )
        body = yaml.safe_load(fixtures.package_revision_manifest("agg", "app", "v1"))
        with aggregated.admin() as admin:
            # The aggregated server registers the Repository it watched in the cluster.
            created = _until(
                lambda: (r := admin.post(PRS, json=body)).status_code == 201 and r.json()
            )
            assert created["metadata"]["name"] == "agg.app.v1"
            listed = admin.get(PRS, params={"fieldSelector": "spec.repository=agg"}).json()
            assert [i["metadata"]["name"] for i in listed["items"]] == ["agg.app.v1"]
        # Through the Secret's credentials, into git.
        assert "refs/heads/drafts/app/v1" in remote.refs("agg.git")
        assert {r.auth_scheme for r in remote.requests if r.status == 200} == {"Basic"}
        repo = yaml.safe_load(cluster.kubectl("get", "repository", "agg", "-o", "yaml").stdout)
        assert repo["metadata"]["finalizers"] == ["config.porch.kpt.dev/repository"]

        # Deleting it in the cluster unregisters it here, then the object goes.
        cluster.kubectl("delete", "repository", "agg", "--timeout=30s")
        with aggregated.admin() as admin:
            _until(lambda: admin.get(f"{PRS}/agg.app.v1").status_code == 404)
    assert "repository default/agg unregistered" in aggregated.log.read_text()
