"""The aggregated-mode adapters against a real API endpoint over HTTPS.

The "cluster" is our own standalone server's API (``serve_cluster`` in ``conftest.py``),
which speaks the same Kubernetes API for Repository objects and Secrets as kube-apiserver
with Porch's CRD: the adapters run the real ``kubernetes`` client against it, no mocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubernetes.aio import client as k8s

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.cmd.server import cluster, repositorysource, servertesting
from pkg.repository import credentials, errors

GROUP, VERSION, PLURAL = "config.porch.kpt.dev", "v1alpha1", "repositories"
FINALIZER = "config.porch.kpt.dev/repository"


@pytest.fixture
async def kube(tmp_path: Path) -> AsyncIterator[servertesting.Cluster]:
    async with servertesting.serve_cluster(tmp_path) as served:
        yield served


async def test_list_get_status_and_finalizers(kube: servertesting.Cluster) -> None:
    api = cluster.ClusterRepositories(kube.client)
    await kube.create_repository("blue")
    await kube.create_repository("green", "team-b")

    items, resource_version = await api.list_repositories()
    assert sorted((r.metadata.namespace, r.metadata.name) for r in items if r.metadata) == [
        ("default", "blue"),
        ("team-b", "green"),
    ]
    assert int(resource_version) >= 2

    blue = await api.get_repository("default", "blue")
    assert blue is not None and blue.spec is not None and blue.spec.git is not None
    assert blue.spec.git.branch == "main"  # the CRD's default
    assert await api.get_repository("default", "missing") is None

    await api.update_status(
        blue, configv1alpha1.RepositoryStatus(package_count=7, git_commit_hash="abc")
    )
    with pytest.raises(repositorysource.StaleObjectError):
        await api.set_finalizers(blue, [FINALIZER])  # read before the status write
    blue = await api.get_repository("default", "blue")
    assert blue is not None
    await api.set_finalizers(blue, [FINALIZER])
    raw = await kube.custom.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "blue")
    assert isinstance(raw, dict)
    assert raw["status"] == {"gitCommitHash": "abc", "packageCount": 7}
    assert raw["metadata"]["finalizers"] == [FINALIZER]

    with pytest.raises(repositorysource.StaleObjectError):
        await api.set_finalizers(blue, [])  # stale: the finalizer write changed it
    gone = blue.model_copy(deep=True)
    assert gone.metadata is not None
    gone.metadata.name = "never-created"
    with pytest.raises(repositorysource.StaleObjectError):
        await api.set_finalizers(gone, [FINALIZER])


async def _collect(
    stream: AsyncIterator[tuple[str, configv1alpha1.Repository]], count: int
) -> list[tuple[str, str]]:
    got: list[tuple[str, str]] = []
    async for event_type, repo in stream:
        assert repo.metadata is not None
        got.append((event_type, repo.metadata.name or ""))
        if len(got) == count:
            break
    return got


async def test_the_watch_resumes_when_the_server_ends_the_stream(
    kube: servertesting.Cluster,
) -> None:
    # A one-second server-side timeout: every change below arrives on a later stream,
    # resumed from the last resourceVersion (nothing replayed, nothing lost).
    api = cluster.ClusterRepositories(kube.client, watch_timeout_seconds=1)
    await kube.create_repository("before")
    _, resource_version = await api.list_repositories()
    stream = api.watch_repositories(resource_version)

    async def changes() -> None:
        await asyncio.sleep(1.5)
        await kube.create_repository("during")
        await asyncio.sleep(1.5)
        await kube.custom.delete_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, "during"
        )

    writer = asyncio.create_task(changes())
    try:
        async with asyncio.timeout(15):
            events = await _collect(stream, 2)
    finally:
        await writer
        await stream.aclose()  # type: ignore[attr-defined]
    assert events == [("ADDED", "during"), ("DELETED", "during")]


async def test_a_watch_from_an_expired_version_ends_so_the_controller_lists(tmp_path: Path) -> None:
    async with servertesting.serve_cluster(tmp_path) as first:
        await first.create_repository("old")
        await first.custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "old")
    # After a restart the store's history starts at its current version.
    async with servertesting.serve_cluster(tmp_path) as restarted:
        api = cluster.ClusterRepositories(restarted.client)
        async with asyncio.timeout(10):
            assert await _collect(api.watch_repositories("1"), 1) == []


async def test_secrets_become_credentials(kube: servertesting.Cluster) -> None:
    await kube.core.create_namespaced_secret(
        "default",
        k8s.V1Secret(
            metadata=k8s.V1ObjectMeta(name="git-auth"),
            type="kubernetes.io/basic-auth",
            string_data={"username": "porch", "password": "s3cr3t"},
        ),
    )
    await kube.core.create_namespaced_secret(
        "default",
        k8s.V1Secret(metadata=k8s.V1ObjectMeta(name="token"), string_data={"bearerToken": "t0k"}),
    )
    resolver = repositorysource.SecretCredentialResolver(cluster.ClusterSecrets(kube.client))
    assert await resolver.resolve("default", "git-auth") == credentials.BasicAuth("porch", "s3cr3t")
    assert await resolver.resolve("default", "token") == credentials.BearerToken("t0k")
    with pytest.raises(errors.NotFoundError):
        await resolver.resolve("default", "missing")


async def test_no_cluster_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(cluster.ClusterError, match="pass --kubeconfig or run in a pod"):
        await cluster.connect(None)
    (tmp_path / "bad").write_text("apiVersion: v1\nkind: Config\n")
    with pytest.raises(cluster.ClusterError, match="use --standalone"):
        await cluster.connect(tmp_path / "bad")
