"""A real ``porch-server --standalone`` process on 127.0.0.1: start, wait for ready, stop.

Where it sits: the e2e fixture (:class:`test.e2e.conftest.PorchServer`) and the benchmark's
server (:class:`test.bench.server.BenchServer`) both run the server through
:func:`start_standalone` and :func:`stop`; each adds what it needs on top (kubectl and
restarts for e2e; ``/proc`` memory and profiling for the benchmark). The server writes its
own PKI and an admin kubeconfig into ``data_dir`` and answers ``/readyz`` when it serves.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

__all__ = ["free_port", "kubeconfig", "start_standalone", "stop", "url"]

_REPO: Final = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def url(port: int) -> str:
    """The server's base URL."""
    return f"https://127.0.0.1:{port}"


def kubeconfig(data_dir: Path) -> Path:
    """The admin kubeconfig the server writes (``--write-kubeconfig``)."""
    return data_dir / "kubeconfig"


def _server_command() -> list[str]:
    script = Path(sys.executable).parent / "porch-server"
    if script.exists():
        return [str(script)]
    return [sys.executable, str(_REPO / "cmd" / "porch-server" / "main.py")]


def start_standalone(
    data_dir: Path,
    port: int,
    args: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str],
    cwd: Path,
    timeout: float,
    log: Callable[[], str],
) -> subprocess.Popen[bytes]:
    """Start ``porch-server --standalone`` on ``port`` with ``args`` added, its output
    appended to ``log_path``, and return once ``/readyz`` answers 200.

    Raises RuntimeError, with what ``log()`` returns, when the process exits first or is
    not ready within ``timeout`` seconds (it is stopped then).
    """
    command = [
        *_server_command(),
        "--standalone",
        "--data-dir",
        str(data_dir),
        "--bind-address",
        "127.0.0.1",
        "--secure-port",
        str(port),
        "--write-kubeconfig",
        str(kubeconfig(data_dir)),
        *args,
    ]
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=dict(env), cwd=cwd
        )
    deadline = time.monotonic() + timeout
    ca_file = data_dir / "pki" / "ca.crt"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"porch-server exited with {process.returncode}:\n{log()}")
        if kubeconfig(data_dir).exists() and ca_file.exists():
            context = ssl.create_default_context(cafile=str(ca_file))
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(f"{url(port)}/readyz", context=context, timeout=2) as r,
            ):
                if r.status == 200:
                    return process
        time.sleep(0.05)
    stop(process)
    raise RuntimeError(f"porch-server did not become ready:\n{log()}")


def stop(
    process: subprocess.Popen[bytes], signum: int = signal.SIGTERM, timeout: float = 15.0
) -> int:
    """Signal ``process`` (unless it has exited), wait for it, kill it after ``timeout``
    seconds; its exit code."""
    if process.poll() is None:
        process.send_signal(signum)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
