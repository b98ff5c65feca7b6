"""Fixtures of the server's e2e tests: one standalone server per module, kubectl per test."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from test.e2e import conftest as e2e


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
