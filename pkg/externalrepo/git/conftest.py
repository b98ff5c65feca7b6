"""Fixtures for the git backend's tests (a loopback git server and a cache per test)."""

from pkg.testing.fixtures import git_cache, git_server  # noqa: F401
