"""Delegated authentication settings as kube-apiserver publishes them, and what the server
makes of a cluster that does not publish them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8sconfig

from pkg.apiserver import authentication, pki
from pkg.cmd.server import delegation, servertesting


def _pem(ca: pki.CertKey) -> str:
    return ca.cert_pem.decode()


def test_the_configmap_configures_front_proxy_and_client_certificates() -> None:
    proxy_ca, client_ca = pki.new_ca("front-proxy-ca"), pki.new_ca("kubernetes")
    found = delegation.parse(
        {
            "client-ca-file": _pem(client_ca),
            "requestheader-client-ca-file": _pem(proxy_ca),
            "requestheader-allowed-names": json.dumps(["front-proxy-client"]),
            "requestheader-username-headers": json.dumps(["X-Remote-User"]),
            "requestheader-group-headers": json.dumps(["X-Remote-Group"]),
            "requestheader-extra-headers-prefix": json.dumps(["X-Remote-Extra-"]),
        }
    )
    assert found.client_cas == (client_ca.cert,)
    assert found.request_header == authentication.RequestHeaderConfig(
        client_cas=(proxy_ca.cert,),
        allowed_names=("front-proxy-client",),
        username_headers=("X-Remote-User",),
        group_headers=("X-Remote-Group",),
        extra_header_prefixes=("X-Remote-Extra-",),
    )
    # The settings work: a request kube-apiserver proxies authenticates as the user.
    authn = authentication.Authenticator(
        client_cas=found.client_cas, request_header=found.request_header
    )
    proxy = pki.new_client_cert(proxy_ca, "front-proxy-client")
    user = authn.authenticate(
        proxy.cert, [("X-Remote-User", "alice"), ("X-Remote-Group", "porch-authors")]
    )
    assert user is not None
    assert user.name == "alice"
    assert "porch-authors" in user.groups


def test_a_cluster_without_front_proxy_has_none() -> None:
    client_ca = pki.new_ca("kubernetes")
    found = delegation.parse({"client-ca-file": _pem(client_ca)})
    assert found.request_header is None
    assert found.client_cas == (client_ca.cert,)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"requestheader-client-ca-file": "not a certificate"},
            "requestheader-client-ca-file holds no valid PEM",
            id="bad-pem",
        ),
        pytest.param(
            {
                "requestheader-client-ca-file": "CA",
                "requestheader-allowed-names": "front-proxy-client",
            },
            "requestheader-allowed-names is not a JSON list of strings",
            id="bad-list",
        ),
    ],
)
def test_unusable_settings_are_named(data: dict[str, str], message: str) -> None:
    if data.get("requestheader-client-ca-file") == "CA":
        data["requestheader-client-ca-file"] = _pem(pki.new_ca("front-proxy-ca"))
    with pytest.raises(delegation.DelegationError, match=message):
        delegation.parse(data)


@pytest.fixture
def unreachable_cluster(tmp_path: Path) -> Iterator[k8s.ApiClient]:
    """A kubeconfig pointing at a port nobody listens on."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    configuration = k8s.Configuration()
    configuration.retries = 0
    k8sconfig.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig), client_configuration=configuration
    )
    with k8s.ApiClient(configuration) as api_client:
        yield api_client


def test_an_unreachable_cluster_is_a_clear_error(unreachable_cluster: k8s.ApiClient) -> None:
    with pytest.raises(
        delegation.DelegationError,
        match="cannot read configmap kube-system/extension-apiserver-authentication",
    ):
        delegation.lookup(unreachable_cluster)


async def test_a_cluster_that_publishes_no_settings_says_so(tmp_path: Path) -> None:
    # Our standalone API serves no ConfigMaps: the answer is 404, as from a cluster that
    # is not one. (The blocking client runs in a thread: the server shares this loop.)
    async with servertesting.serve_cluster(tmp_path) as served:
        configuration = k8s.Configuration()
        k8sconfig.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(served.kubeconfig), client_configuration=configuration
        )
        with (
            k8s.ApiClient(configuration) as api_client,
            pytest.raises(delegation.DelegationError, match="404 Not Found: the cluster"),
        ):
            await asyncio.to_thread(delegation.lookup, api_client)


async def test_follow_reports_changes_and_rides_out_failed_reads(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, second = pki.new_ca("front-proxy-ca"), pki.new_ca("front-proxy-ca-2")
    answers: list[dict[str, str] | None] = [
        {"requestheader-client-ca-file": _pem(first)},  # unchanged
        None,  # the cluster is unreachable
        None,
        {"requestheader-client-ca-file": _pem(second)},
        {"requestheader-client-ca-file": _pem(second)},
    ]
    seen: list[delegation.ClusterAuthentication] = []
    done = asyncio.Event()

    def read() -> delegation.ClusterAuthentication:
        data = answers.pop(0) if answers else {"requestheader-client-ca-file": _pem(second)}
        if not answers:
            done.set()
        if data is None:
            raise delegation.DelegationError("cannot read configmap: connection refused")
        return delegation.parse(data)

    current = delegation.parse({"requestheader-client-ca-file": _pem(first)})
    task = asyncio.ensure_future(delegation.follow(read, current, seen.append, interval=0.01))
    try:
        async with asyncio.timeout(10):
            await done.wait()
        await asyncio.sleep(0.05)
    finally:
        task.cancel()
    # One change, reported once; the failed reads kept what was in force.
    assert [s.request_header.client_cas for s in seen if s.request_header] == [(second.cert,)]
    warnings = [r.getMessage() for r in caplog.records if "cannot refresh" in r.getMessage()]
    assert warnings == [
        "cannot refresh the front-proxy settings, keeping them: "
        "cannot read configmap: connection refused"
    ]
