"""pytest fixtures over `gitserver` and the git cache, for any test package to use.

Import them in a `conftest.py` (`from pkg.testing.fixtures import git_server  # noqa: F401`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pkg.externalrepo.git import cache
from pkg.testing import gitserver


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[gitserver.GitServer]:
    """An anonymous loopback HTTP git server over `<tmp>/git-server` (push allowed)."""
    with gitserver.GitServer(tmp_path / "git-server") as server:
        yield server


@pytest.fixture
async def git_cache(tmp_path: Path) -> AsyncIterator[cache.GitCache]:
    """A git cache under `<tmp>/cache`, closed after the test."""
    git_cache = cache.GitCache(tmp_path / "cache")
    yield git_cache
    await git_cache.close()
