"""Fixtures of the task tests: Porch's test-blueprints repository as a local bare repo."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
BUNDLE = SHARED / "testdata" / "test-blueprints.bundle"


@pytest.fixture(scope="session")
def blueprints_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare clone of test-blueprints (tags basens/v1..v4, bucket/v1, empty/v1, ...)."""
    root = tmp_path_factory.mktemp("upstream")
    target = root / "test-blueprints.git"
    subprocess.run(
        ["git", "clone", "--quiet", "--bare", str(BUNDLE), str(target)],
        check=True,
        capture_output=True,
    )
    return target
