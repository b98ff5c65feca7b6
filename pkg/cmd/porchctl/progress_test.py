"""Progress is drawn on stderr only when stdout is a terminal (a real pty here)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from pkg.client import clienttesting

PRS = "/apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions"
_CLONE = "from pkg.cmd.porchctl.main import main; raise SystemExit(main())"
_REPO = Path(__file__).resolve().parents[3]


def _slow_create(req: clienttesting.RecordedRequest) -> clienttesting.Response:
    time.sleep(0.5)  # the server "fetches and renders the upstream"
    return clienttesting.Response(
        201, {**req.body, "metadata": {"name": "git.copy.v1", "namespace": "ns"}}
    )


def _clone(api: clienttesting.FakeAPIServer, tmp_path: Path, *, tty: bool) -> tuple[str, str]:
    kubeconfig = clienttesting.kubeconfig(tmp_path / "kubeconfig", api.url, namespace="ns")
    argv = [sys.executable, "-c", _CLONE, "rpkg", "clone", "g.p.v1", "copy", "--repository=git"]
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    if not tty:
        done = subprocess.run(argv, env=env, cwd=_REPO, capture_output=True, text=True, check=True)
        return done.stdout, done.stderr
    leader, follower = pty.openpty()
    try:
        # Bytes, not text: universal newlines would turn the spinner's \r into \n.
        process = subprocess.Popen(
            argv, env=env, cwd=_REPO, stdout=follower, stderr=subprocess.PIPE
        )
        os.close(follower)
        _, raw_stderr = process.communicate(timeout=30)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # the pty reports EIO once the child side is closed
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(leader)
    assert process.returncode == 0
    return b"".join(chunks).decode().replace("\r\n", "\n"), raw_stderr.decode()


def test_spinner_only_on_a_terminal(tmp_path: Path) -> None:
    with clienttesting.FakeAPIServer() as api:
        api.on("POST", PRS, _slow_create)
        out, err = _clone(api, tmp_path, tty=False)
        assert (out, err) == ("git.copy.v1 created\n", "")
        out, err = _clone(api, tmp_path, tty=True)
    assert out == "git.copy.v1 created\n"
    assert "Cloning g.p.v1 |" in err
    assert err.endswith("\r\x1b[K")  # the line is erased before the result is printed
