"""The benchmark's client: what a user's program sends to porch-server, over HTTPS.

Where it sits: the workloads of :mod:`test.bench.workloads` drive porch-server through
:class:`Client` (one keep-alive HTTPS connection per client, like kubectl or the
``kubernetes`` client); the watch workload writes with :func:`async_client` (its watches
are bare streams, :mod:`test.bench.watch`). The connection comes from
the kubeconfig the server wrote (``--write-kubeconfig``), read by the ``kubernetes``
package's own loader: server URL, CA and the admin client certificate.

Every call returns the decoded JSON body, so a timed call costs what a user's program
pays: request, server work, transfer and decoding. An error response raises
:class:`ApiError` with the Status message, which names what the server refused.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

__all__ = [
    "ACCEPT_JSON",
    "ACCEPT_TABLE",
    "ApiError",
    "Client",
    "Connection",
    "async_client",
    "load_connection",
]

# kubectl's Accept header for `kubectl get` (a Table, or plain JSON from old servers).
ACCEPT_TABLE: Final = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
ACCEPT_JSON: Final = "application/json"
PORCH: Final = "/apis/porch.kpt.dev/v1alpha1"
CONFIG: Final = "/apis/config.porch.kpt.dev/v1alpha1"
_TIMEOUT: Final = httpx.Timeout(120.0, connect=10.0)

JSON = dict[str, Any]


class ApiError(Exception):
    """The server answered with an error status; `status` and the Status `message`."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {message}")
        self.status = status


@dataclass(frozen=True, slots=True)
class Connection:
    """Where the server is and how to talk to it (from a kubeconfig)."""

    url: str
    ssl_context: ssl.SSLContext
    namespace: str


def load_connection(kubeconfig: Path, namespace: str = "default") -> Connection:
    """Server URL and TLS (CA, client certificate) of the kubeconfig's current context."""
    configuration = k8s_client.Configuration()
    k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig), client_configuration=configuration
    )
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    return Connection(url=str(configuration.host), ssl_context=context, namespace=namespace)


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        message = str(response.json().get("message", response.text))
    except ValueError:
        message = response.text
    raise ApiError(
        response.request.method, response.request.url.path, response.status_code, message
    )


def async_client(connection: Connection, connections: int) -> httpx.AsyncClient:
    """An asyncio client allowing `connections` parallel connections."""
    return httpx.AsyncClient(
        base_url=connection.url,
        verify=connection.ssl_context,
        timeout=httpx.Timeout(None, connect=10.0),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


class Client:
    """A synchronous client of porch-server's API (one connection, kept alive)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.namespace = connection.namespace
        self._http = httpx.Client(
            base_url=connection.url, verify=connection.ssl_context, timeout=_TIMEOUT
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        body: JSON | None = None,
        params: dict[str, str] | None = None,
        accept: str = ACCEPT_JSON,
    ) -> JSON:
        response = self._http.request(
            method, path, json=body, params=params, headers={"Accept": accept}
        )
        _raise_for_status(response)
        decoded: JSON = response.json()
        return decoded

    def _porch(self, plural: str, name: str = "", sub: str = "") -> str:
        path = f"{PORCH}/namespaces/{self.namespace}/{plural}"
        if name:
            path += f"/{name}"
        if sub:
            path += f"/{sub}"
        return path

    # -- repositories -----------------------------------------------------------------------
    def create_repository(self, name: str, url: str, branch: str = "main") -> JSON:
        body: JSON = {
            "apiVersion": "config.porch.kpt.dev/v1alpha1",
            "kind": "Repository",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {"type": "git", "git": {"repo": url, "branch": branch}},
        }
        return self.request("POST", f"{CONFIG}/namespaces/{self.namespace}/repositories", body=body)

    def repository(self, name: str) -> JSON:
        return self.request("GET", f"{CONFIG}/namespaces/{self.namespace}/repositories/{name}")

    # -- package revisions ------------------------------------------------------------------
    def list_package_revisions(
        self, params: dict[str, str] | None = None, *, table: bool = False
    ) -> JSON:
        return self.request(
            "GET",
            self._porch("packagerevisions"),
            params=params,
            accept=ACCEPT_TABLE if table else ACCEPT_JSON,
        )

    def create_package_revision(
        self, repository: str, package: str, workspace: str, description: str = ""
    ) -> JSON:
        body: JSON = {
            "apiVersion": "porch.kpt.dev/v1alpha1",
            "kind": "PackageRevision",
            "metadata": {"namespace": self.namespace},
            "spec": {
                "packageName": package,
                "workspaceName": workspace,
                "repository": repository,
                "lifecycle": "Draft",
                "tasks": [
                    {
                        "type": "init",
                        "init": {"description": description or f"{package} description"},
                    }
                ],
            },
        }
        return self.request("POST", self._porch("packagerevisions"), body=body)

    def package_revision(self, name: str) -> JSON:
        return self.request("GET", self._porch("packagerevisions", name))

    def set_lifecycle(self, revision: JSON, lifecycle: str, *, approval: bool) -> JSON:
        """PUT `revision` with `spec.lifecycle` changed, on the approval subresource or not."""
        name = revision["metadata"]["name"]
        changed = {**revision, "spec": {**revision["spec"], "lifecycle": lifecycle}}
        return self.request(
            "PUT",
            self._porch("packagerevisions", name, "approval" if approval else ""),
            body=changed,
        )

    def delete_package_revision(self, name: str) -> JSON:
        return self.request("DELETE", self._porch("packagerevisions", name))

    def resources(self, name: str) -> JSON:
        return self.request("GET", self._porch("packagerevisionresources", name))

    def update_resources(self, resources: JSON) -> JSON:
        name = resources["metadata"]["name"]
        return self.request("PUT", self._porch("packagerevisionresources", name), body=resources)
