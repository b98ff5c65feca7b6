"""Fixtures for the cache's integration tests (a loopback git server and a git cache)."""

from pkg.testing.fixtures import git_cache, git_server  # noqa: F401
