"""Reading OpenTelemetry metrics back in tests: the data points an in-memory reader holds.

Libraries record through the OpenTelemetry metrics API against the ``MeterProvider`` they
are given; a test gives them an SDK provider with an ``InMemoryMetricReader`` and reads
what was recorded with these helpers (the sync durations of ``pkg/cache``, the render
durations of ``pkg/engine``, the watcher counters of ``pkg/cache/watchermanager``).
"""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, Metric

__all__ = ["histograms_by", "metrics_named"]


def metrics_named(reader: InMemoryMetricReader, name: str) -> Iterator[Metric]:
    """Every metric called ``name`` the reader collects now (one per meter that records it)."""
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    yield metric


def histograms_by(
    reader: InMemoryMetricReader, name: str, attribute: str, *, unit: str = "s"
) -> dict[str, HistogramDataPoint]:
    """The data points of the histogram ``name`` (in ``unit``) by the value of their
    ``attribute``, asserting that it is a histogram in that unit."""
    points: dict[str, HistogramDataPoint] = {}
    for metric in metrics_named(reader, name):
        assert metric.unit == unit
        for point in metric.data.data_points:
            assert isinstance(point, HistogramDataPoint)
            points[str(dict(point.attributes or {})[attribute])] = point
    return points
