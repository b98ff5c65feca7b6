"""Fixtures of the server's e2e tests: one standalone server per module, kubectl per test,
a loopback smart-HTTP git server with basic auth per module, and helpers that register
Repositories the way a user does (a basic-auth Secret, ``kubectl apply``, ``kubectl wait``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
import yaml

from pkg.testing import gitserver
from test.e2e import conftest as e2e

GIT_USER = "porch"
GIT_PASSWORD = "git-s3cr3t"
GIT_SECRET = "git-auth"


class Kubectl(Protocol):
    def __call__(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e.PorchServer]:
    """A server shared by the tests of one module (each test uses its own object names)."""
    server = e2e.start_porch_server(tmp_path_factory.mktemp("server"))
    yield server
    server.stop()


@pytest.fixture
def kubectl(shared_server: e2e.PorchServer, tmp_path: Path) -> Kubectl:
    """kubectl against the module's server, with this test's own discovery cache."""

    def run(
        *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        return shared_server.kubectl(
            *args, input=input, check=check, timeout=timeout, cache_dir=tmp_path / "kube-cache"
        )

    return run


@pytest.fixture(scope="module")
def git_remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gitserver.GitServer]:
    """A loopback smart-HTTP git server that wants basic auth (GIT_USER, GIT_PASSWORD)."""
    with gitserver.GitServer(
        tmp_path_factory.mktemp("git"), basic_auth=(GIT_USER, GIT_PASSWORD)
    ) as server:
        yield server


def new_remote(server: gitserver.GitServer, name: str) -> str:
    """A repository ``<name>.git`` on ``server`` with one commit on main; its URL."""
    e2e.seed_repository(server.path(f"{name}.git"))
    return server.repo_url(f"{name}.git")


def repository_manifest(
    name: str,
    url: str,
    *,
    secret: str | None = None,
    annotations: dict[str, str] | None = None,
) -> str:
    git: dict[str, object] = {"repo": url, "branch": "main"}
    if secret is not None:
        git["secretRef"] = {"name": secret}
    metadata: dict[str, object] = {"name": name}
    if annotations:
        metadata["annotations"] = annotations
    return yaml.safe_dump(
        {
            "apiVersion": "config.porch.kpt.dev/v1alpha1",
            "kind": "Repository",
            "metadata": metadata,
            "spec": {"type": "git", "git": git},
        }
    )


def create_git_secret(kubectl: Kubectl, name: str = GIT_SECRET) -> None:
    """The basic-auth Secret of the git server, as a user creates it."""
    kubectl(
        "create",
        "secret",
        "generic",
        name,
        "--type=kubernetes.io/basic-auth",
        f"--from-literal=username={GIT_USER}",
        f"--from-literal=password={GIT_PASSWORD}",
    )


def register(
    kubectl: Kubectl,
    name: str,
    url: str,
    *,
    secret: str | None = None,
    annotations: dict[str, str] | None = None,
) -> None:
    """``kubectl apply`` a Repository and wait until the server reports it Ready."""
    kubectl(
        "apply",
        "-f",
        "-",
        input=repository_manifest(name, url, secret=secret, annotations=annotations),
    )
    kubectl("wait", "--for=condition=Ready", f"repository/{name}", "--timeout=30s")


def package_revision_manifest(
    repository: str,
    package: str,
    workspace: str,
    *,
    description: str = "",
    labels: dict[str, str] | None = None,
) -> str:
    """A PackageRevision with an init task, as ``kubectl create -f`` takes it."""
    metadata: dict[str, object] = {"name": f"{repository}.{package}.{workspace}"}
    if labels:
        metadata["labels"] = labels
    return yaml.safe_dump(
        {
            "apiVersion": "porch.kpt.dev/v1alpha1",
            "kind": "PackageRevision",
            "metadata": metadata,
            "spec": {
                "packageName": package,
                "workspaceName": workspace,
                "repository": repository,
                "lifecycle": "Draft",
                "tasks": [{"type": "init", "init": {"description": description or package}}],
            },
        }
    )
