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
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = [
    "PorchServer",
    "PorchServerFactory",
    "free_port",
    "git",
    "seed_repository",
    "start_porch_server",
]

_REPO = Path(__file__).resolve().parents[2]
_START_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_command() -> list[str]:
    script = Path(sys.executable).parent / "porch-server"
    if script.exists():
        return [str(script)]
    return [sys.executable, str(_REPO / "cmd" / "porch-server" / "main.py")]


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
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

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
        command = [
            *_server_command(),
            "--standalone",
            "--data-dir",
            str(self.data_dir),
            "--bind-address",
            "127.0.0.1",
            "--secure-port",
            str(self.port),
            "--write-kubeconfig",
            str(self.kubeconfig),
            *self.args,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.data_dir.parent,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"porch-server exited with {self.process.returncode}:\n{self.log()}"
                )
            if self.kubeconfig.exists() and self.ca_file.exists():
                context = ssl.create_default_context(cafile=str(self.ca_file))
                try:
                    with urllib.request.urlopen(
                        f"{self.url}/readyz", context=context, timeout=2
                    ) as r:
                        if r.status == 200:
                            return
                except (urllib.error.URLError, OSError):
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"porch-server did not become ready:\n{self.log()}")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Signal the process and wait for it; its exit code (None if it never ran)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
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
