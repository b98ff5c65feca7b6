"""Shared end-to-end fixtures: real ``porch-server --standalone`` processes on loopback.

Any e2e test can ask for:

* ``porch_server``: a fresh standalone server (own temp data dir, free 127.0.0.1 port), ready
  when the fixture returns and stopped (SIGTERM) after the test;
* ``porch_server_factory``: ``start(*extra_args, data_dir=..., env=...)`` for servers with
  more flags (front-proxy CAs, token files, OTEL variables) or a restart on the same data
  dir; every server it started is stopped after the test.

A :class:`PorchServer` knows its ``kubeconfig`` (admin client certificate, namespace
``default``), ``url``, ``ca_file``, ``data_dir`` and log, and runs the real ``kubectl`` with
:meth:`PorchServer.kubectl`, each server with its own HOME and discovery cache so runs never
share stale discovery. :meth:`PorchServer.local_repository` makes a git repository the
server may register (``file://`` under its ``--local-repository-root``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from test import porchserver

__all__ = [
    "PorchServer",
    "PorchServerFactory",
    "free_port",
    "git",
    "seed_repository",
    "start_porch_server",
]

_START_TIMEOUT = 30.0

free_port = porchserver.free_port


@dataclass
class PorchServer:
    """One running porch-server process (see the module docstring)."""

    data_dir: Path
    port: int
    args: tuple[str, ...]
    env: dict[str, str]
    home: Path
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-{self.port}.log"

    @property
    def url(self) -> str:
        return porchserver.url(self.port)

    @property
    def kubeconfig(self) -> Path:
        return porchserver.kubeconfig(self.data_dir)

    @property
    def ca_file(self) -> Path:
        return self.data_dir / "pki" / "ca.crt"

    @property
    def admin_cert(self) -> tuple[Path, Path]:
        return self.data_dir / "pki" / "admin.crt", self.data_dir / "pki" / "admin.key"

    @property
    def local_repository_root(self) -> Path:
        """Where ``file://`` repositories are allowed (the default root of ``--data-dir``)."""
        return self.data_dir / "repositories"

    def local_repository(self, name: str) -> str:
        """A bare repository ``<root>/<name>.git`` with one commit on ``main``; its URL."""
        path = self.local_repository_root / f"{name}.git"
        seed_repository(path)
        return f"file://{path}"

    def log(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        self.process = porchserver.start_standalone(
            self.data_dir,
            self.port,
            self.args,
            log_path=self.log_path,
            env=self.env,
            cwd=self.data_dir.parent,
            timeout=_START_TIMEOUT,
            log=self.log,
        )

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Signal the process and wait for it; its exit code (None if it never ran)."""
        if self.process is None:
            return None
        code = porchserver.stop(self.process, signum, timeout)
        self.process = None
        return code

    def restart(self) -> None:
        """Stop and start again on the same data directory and port."""
        self.stop()
        self.start()

    def kubectl_env(self) -> dict[str, str]:
        """The environment kubectl runs with: this server's kubeconfig and its own HOME."""
        return {**os.environ, "HOME": str(self.home), "KUBECONFIG": str(self.kubeconfig)}

    def kubectl_process(self, *args: str, cache_dir: Path | None = None) -> subprocess.Popen[str]:
        """A kubectl that keeps running (``get -w``); the caller ends it."""
        cache = cache_dir or (self.home / ".kube" / "cache")
        return subprocess.Popen(
            ["kubectl", "--cache-dir", str(cache), *args],
            env=self.kubectl_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
        cache_dir: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this server; raises on failure when ``check``."""
        cache = cache_dir or (self.home / ".kube" / "cache")
        result = subprocess.run(
            ["kubectl", "--cache-dir", str(cache), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.kubectl_env(),
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result


PorchServerFactory = Callable[..., PorchServer]

_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(*args: str | Path, cwd: Path | None = None) -> str:
    """The git CLI with a neutral identity; raises on failure, returns stdout."""
    result = subprocess.run(
        ["git", *(str(a) for a in args)],
        cwd=cwd,
        env={**os.environ, **_GIT_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(map(str, args))} failed: {result.stderr}")
    return result.stdout


def seed_repository(path: Path, branch: str = "main") -> None:
    """Create the bare repository ``path`` with one commit (README.md) on ``branch``, as
    Porch's tests start from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    git("init", "--quiet", "--bare", f"--initial-branch={branch}", path)
    work = path.parent / f".{path.name}-work"
    git("clone", "--quiet", path, work)
    (work / "README.md").write_text("# porch-test\n")
    git("add", "README.md", cwd=work)
    git("commit", "--quiet", "-m", "Initial commit", cwd=work)
    git("push", "--quiet", "origin", f"HEAD:{branch}", cwd=work)
    shutil.rmtree(work)


def start_porch_server(
    base: Path, *args: str, data_dir: Path | None = None, env: dict[str, str] | None = None
) -> PorchServer:
    """Start a standalone server under ``base`` (a fresh data dir unless given)."""
    data_dir = data_dir or base / f"porch-{free_port()}"
    data_dir.mkdir(parents=True, exist_ok=True)
    home = base / "home"
    home.mkdir(exist_ok=True)
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    server_env.update(env or {})
    server = PorchServer(
        data_dir=data_dir, port=free_port(), args=tuple(args), env=server_env, home=home
    )
    server.start()
    return server


@pytest.fixture
def porch_server_factory(tmp_path: Path) -> Iterator[PorchServerFactory]:
    started: list[PorchServer] = []

    def start(
        *args: str, data_dir: Path | None = None, env: dict[str, str] | None = None
    ) -> PorchServer:
        server = start_porch_server(tmp_path, *args, data_dir=data_dir, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        with contextlib.suppress(Exception):
            server.stop()


@pytest.fixture
def porch_server(porch_server_factory: PorchServerFactory) -> PorchServer:
    return porch_server_factory()
