"""Repository layout promises that are easy to break by accident."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pdb_imports_from_the_repository_root() -> None:
    # pdb imports the standard library's `cmd`; a `cmd/__init__.py` here would shadow it.
    result = subprocess.run(
        [sys.executable, "-c", "import pdb, cmd; print(cmd.__file__)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not result.stdout.strip().startswith(str(ROOT))


def test_command_shims_run_the_package_commands() -> None:
    for shim in ("cmd/porch-server/main.py", "cmd/porchctl/main.py"):
        result = subprocess.run(
            [sys.executable, shim, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, (shim, result.stderr)
        assert "Usage:" in result.stdout, shim
