"""Fixtures for pkg/testing's own tests."""

from pkg.testing.fixtures import git_cache, git_server  # noqa: F401
from pkg.testing.tracing import span_exporter  # noqa: F401
