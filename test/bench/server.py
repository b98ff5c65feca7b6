"""The porch-server process under benchmark: start, readiness, memory, profiling, stop.

Where it sits: :mod:`test.bench.run` starts one :class:`BenchServer` per run
(``porch-server --standalone`` on a free 127.0.0.1 port, local repositories allowed under
the run's folder), reads its memory from ``/proc`` between workloads and stops it at the
end. It mirrors the e2e fixture (``test/e2e/conftest.py``) with what a benchmark needs on
top: the process id for ``/proc/<pid>/status``, and ``py-spy record`` attached to the
server for one workload (:meth:`BenchServer.profile`).
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = ["BenchServer", "py_spy", "rss_mb"]

_REPO: Final = Path(__file__).resolve().parents[2]
_START_TIMEOUT: Final = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_command() -> list[str]:
    script = Path(sys.executable).parent / "porch-server"
    if script.exists():
        return [str(script)]
    return [sys.executable, str(_REPO / "cmd" / "porch-server" / "main.py")]


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(f"{key} not in /proc/{pid}/status")


def rss_mb(pid: int, *, peak: bool = False) -> float:
    """Resident memory of process `pid` (``VmRSS``, or its peak ``VmHWM``) in MiB."""
    return _status_kb(pid, "VmHWM" if peak else "VmRSS") / 1024


def py_spy() -> str | None:
    """The py-spy executable: ``$PY_SPY``, else the one on ``PATH``, else None."""
    return os.environ.get("PY_SPY") or shutil.which("py-spy")


@dataclass
class BenchServer:
    """A standalone porch-server with its data and local repositories under `base`."""

    base: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def repositories(self) -> Path:
        """The server's ``--local-repository-root``: seed repositories go here."""
        return self.base / "repositories"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def log_path(self) -> Path:
        return self.base / "porch-server.log"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("porch-server is not running")
        return self.process.pid

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.repositories.mkdir(parents=True, exist_ok=True)
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
            "--local-repository-root",
            str(self.repositories),
        ]
        # No exporters: tracing to the console would measure the console.
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.base
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        ca_file = self.data_dir / "pki" / "ca.crt"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"porch-server exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if self.kubeconfig.exists() and ca_file.exists():
                context = ssl.create_default_context(cafile=str(ca_file))
                with (
                    contextlib.suppress(urllib.error.URLError, OSError),
                    urllib.request.urlopen(
                        f"{self.url}/readyz", context=context, timeout=2
                    ) as response,
                ):
                    if response.status == 200:
                        return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"porch-server did not become ready:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    @contextlib.contextmanager
    def profile(self, output: Path, executable: str) -> Iterator[None]:
        """Sample the server with ``py-spy record`` for the duration of the block; the
        collapsed stacks (one line per stack: ``frame;frame;... count``) go to `output`."""
        recorder = subprocess.Popen(
            [
                executable,
                "record",
                "--pid",
                str(self.pid),
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(output),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            yield
        finally:
            # py-spy writes its output when interrupted, as after Ctrl-C.
            recorder.send_signal(signal.SIGINT)
            try:
                recorder.wait(30)
            except subprocess.TimeoutExpired:
                recorder.kill()
                recorder.wait()
