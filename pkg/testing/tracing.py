"""A pytest fixture that records OpenTelemetry spans (installs the SDK once per process).

Libraries use only the OpenTelemetry API (the SDK belongs to `pkg.cmd`), so tests that import
this module must live outside the library packages' import contract, e.g. in `pkg/testing`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

# One SDK provider per process (OpenTelemetry refuses to replace it), shared by all tests.
_installed: dict[str, InMemorySpanExporter] = {}


@pytest.fixture
def span_exporter() -> Iterator[InMemorySpanExporter]:
    """Spans finished during the test (an SDK tracer provider is installed once per process,
    as `pkg.cmd` would; libraries only use the OpenTelemetry API)."""
    exporter = _installed.get("exporter")
    if exporter is None:
        exporter = _installed["exporter"] = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
    exporter.clear()
    yield exporter
    exporter.clear()
