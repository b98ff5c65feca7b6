"""Fixtures for the porch.kpt.dev storages' tests."""

from pkg.testing.tracing import span_exporter  # noqa: F401
