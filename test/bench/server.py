"""The porch-server process under benchmark: start, readiness, memory, profiling, stop.

Where it sits: :mod:`test.bench.run` starts one :class:`BenchServer` per run
(``porch-server --standalone`` on a free 127.0.0.1 port, local repositories allowed under
the run's folder), reads its memory from ``/proc`` between workloads and stops it at the
end. It starts the server as the e2e fixture does (:mod:`test.porchserver`), with what a
benchmark needs on top: the process id for ``/proc/<pid>/status``, and ``py-spy record``
attached to the server for one workload (:meth:`BenchServer.profile`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from test import porchserver

__all__ = ["BenchServer", "py_spy", "rss_mb"]

_START_TIMEOUT: Final = 60.0


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
    port: int = field(default_factory=porchserver.free_port)
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
        return porchserver.kubeconfig(self.data_dir)

    @property
    def log_path(self) -> Path:
        return self.base / "porch-server.log"

    @property
    def url(self) -> str:
        return porchserver.url(self.port)

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
        # No exporters: tracing to the console would measure the console.
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        self.process = porchserver.start_standalone(
            self.data_dir,
            self.port,
            ["--local-repository-root", str(self.repositories)],
            log_path=self.log_path,
            env=env,
            cwd=self.base,
            timeout=_START_TIMEOUT,
            log=self.log_tail,
        )

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is not None:
            porchserver.stop(self.process, timeout=timeout)
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
