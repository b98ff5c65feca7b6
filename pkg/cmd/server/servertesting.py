"""Test support for porch-server's wiring: a standalone API served over HTTPS in-process.

Never imported by production code. :func:`serve_cluster` serves the Repository and Secret
stores of a standalone server (over a data directory, so a second call on the same
directory is a restart) with the standalone PKI, writes the kubeconfig a standalone server
writes, and yields a :class:`Cluster`: the asyncio ``kubernetes`` client configured from
that kubeconfig. The aggregated-mode adapters are tested against it: it speaks the
Kubernetes API for Repository objects and Secrets as kube-apiserver with Porch's CRD does.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes.aio import client as k8s

from pkg.apiserver import apiservertesting, authentication, serving
from pkg.apiserver import config as apiconfig
from pkg.apiserver import server as apiserver
from pkg.cmd.server import certs, cluster, server, standalone

__all__ = ["Cluster", "serve_cluster"]

GROUP, VERSION, PLURAL = "config.porch.kpt.dev", "v1alpha1", "repositories"


@dataclass
class Cluster:
    """Clients of the served API, and where its kubeconfig is."""

    client: k8s.ApiClient
    custom: k8s.CustomObjectsApi
    core: k8s.CoreV1Api
    kubeconfig: Path

    async def create_repository(self, name: str, namespace: str = "default") -> dict[str, Any]:
        """Create a git Repository ``name`` (on a remote nobody serves); the stored object."""
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Repository",
            "metadata": {"name": name},
            "spec": {"type": "git", "git": {"repo": f"https://example.com/{name}.git"}},
        }
        created = await self.custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, body
        )
        assert isinstance(created, dict)  # custom objects come back as decoded JSON
        return created


@contextlib.asynccontextmanager
async def serve_cluster(root: Path) -> AsyncIterator[Cluster]:
    """Serve the stores under ``root`` over HTTPS until the context ends (module doc)."""
    async with standalone.open_stores(root / "data", [root / "repos"]) as stores:
        pki = certs.standalone_pki(root / "pki", certs.serving_hosts("127.0.0.1"))
        app = apiserver.new_app(
            apiconfig.Config(
                groups=server.group_versions(stores, {}),
                authenticator=authentication.Authenticator(client_cas=(pki.ca.cert,)),
            )
        )
        tls = serving.tls_context(pki.serving.cert_file, pki.serving.key_file, (pki.ca.cert,))
        async with apiservertesting.serve(app, tls) as url:
            kubeconfig = root / "kubeconfig"
            certs.write_kubeconfig(kubeconfig, url, pki.ca.cert, pki.admin)
            api_client = await cluster.connect(kubeconfig)
            try:
                yield Cluster(
                    api_client,
                    k8s.CustomObjectsApi(api_client),
                    k8s.CoreV1Api(api_client),
                    kubeconfig,
                )
            finally:
                await api_client.close()  # type: ignore[no-untyped-call]
