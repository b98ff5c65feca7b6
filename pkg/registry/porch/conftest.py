"""Fixtures for the porch.kpt.dev storages' tests."""

import pytest

from pkg.registry.porch import porchtesting
from pkg.testing.tracing import span_exporter  # noqa: F401


@pytest.fixture
def porch() -> porchtesting.Porch:
    """The four storages over a fresh engine of fake repositories."""
    return porchtesting.Porch(porchtesting.new_engine())
