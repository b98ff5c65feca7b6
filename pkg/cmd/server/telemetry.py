"""OpenTelemetry SDK setup from the standard environment variables (the only place it is set up).

Where this sits: :mod:`pkg.cmd.server.server` calls :func:`setup` once at start, before the
app is built, and :meth:`Telemetry.shutdown` on exit. Libraries (``pkg.apiserver``, the
registry, engine, cache, git) use the OpenTelemetry *API* only; the providers installed
here as the global ones make their spans and metrics real.

Variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):

* ``OTEL_SERVICE_NAME`` (default ``porch-server``), ``OTEL_RESOURCE_ATTRIBUTES``.
* ``OTEL_TRACES_EXPORTER``: ``otlp``, ``console`` (one JSON span per line on stdout), ``none``,
  or a comma-separated list. **Default: ``otlp`` when an OTLP endpoint is configured
  (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), else
  ``none``.** The SDK default is ``otlp`` always, which makes a server without a collector
  log export failures forever; Porch's own deployment sets ``none``.
* ``OTEL_METRICS_EXPORTER``: ``otlp``, ``prometheus`` (a scrape endpoint on
  ``OTEL_EXPORTER_PROMETHEUS_HOST``:``OTEL_EXPORTER_PROMETHEUS_PORT``, default
  ``localhost:9464``), ``console``, ``none``; same default rule as traces.
* ``OTEL_EXPORTER_OTLP_PROTOCOL`` / ``OTEL_EXPORTER_OTLP_{TRACES,METRICS}_PROTOCOL``:
  ``http/protobuf`` (default) or ``grpc``. Endpoints, headers, timeouts and TLS settings are
  read by the exporters themselves from their usual variables.
* ``OTEL_PROPAGATORS`` is read by the OpenTelemetry API (default W3C trace context and
  baggage).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)

__all__ = ["Telemetry", "TelemetryError", "setup"]

DEFAULT_SERVICE_NAME: Final = "porch-server"
_SHUTDOWN_TIMEOUT_SECONDS: Final = 2.0

_log = logging.getLogger(__name__)


class TelemetryError(ValueError):
    """An OTEL_* variable has a value we do not support; the message names it."""


@dataclass
class Telemetry:
    """The configured providers and what they export to."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    trace_exporters: list[str] = field(default_factory=list)
    metric_exporters: list[str] = field(default_factory=list)
    prometheus_address: tuple[str, int] | None = None

    def shutdown(self) -> None:
        """Flush and stop exporting, giving up after two seconds (an unreachable collector
        must not hold up a SIGTERM)."""

        def stop() -> None:
            self.tracer_provider.shutdown()
            self.meter_provider.shutdown()

        worker = threading.Thread(target=stop, name="otel-shutdown", daemon=True)
        worker.start()
        worker.join(_SHUTDOWN_TIMEOUT_SECONDS)
        if worker.is_alive():
            _log.warning(
                "telemetry did not flush within %.0fs; dropping it", _SHUTDOWN_TIMEOUT_SECONDS
            )


def _names(env: Mapping[str, str], variable: str, signal: str) -> list[str]:
    raw = env.get(variable, "").strip()
    if not raw:
        has_endpoint = bool(
            env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
        )
        return ["otlp"] if has_endpoint else []
    names = [n.strip().lower() for n in raw.split(",") if n.strip()]
    return [] if names == ["none"] else [n for n in names if n != "none"]


def _protocol(env: Mapping[str, str], signal: str) -> str:
    protocol = (
        env.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol not in ("http/protobuf", "grpc"):
        raise TelemetryError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL: {protocol!r} is not supported (http/protobuf, grpc)"
        )
    return protocol


def _span_line(span: ReadableSpan) -> str:
    text: str = span.to_json(indent=None)
    return text + "\n"


def _tracer_provider(
    env: Mapping[str, str], resource: Resource, names: list[str]
) -> TracerProvider:
    provider = TracerProvider(resource=resource)
    for name in names:
        if name == "console":
            # Synchronous and one line per span: meant for humans and for tests that read it.
            provider.add_span_processor(
                SimpleSpanProcessor(ConsoleSpanExporter(formatter=_span_line))
            )
        elif name == "otlp":
            if _protocol(env, "TRACES") == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                    OTLPSpanExporter as GrpcSpanExporter,
                )

                provider.add_span_processor(BatchSpanProcessor(GrpcSpanExporter()))
            else:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter as HttpSpanExporter,
                )

                provider.add_span_processor(BatchSpanProcessor(HttpSpanExporter()))
        else:
            raise TelemetryError(
                f"OTEL_TRACES_EXPORTER: {name!r} is not supported (otlp, console, none)"
            )
    return provider


def _metric_readers(
    env: Mapping[str, str], names: list[str]
) -> tuple[list[MetricReader], tuple[str, int] | None]:
    readers: list[MetricReader] = []
    prometheus: tuple[str, int] | None = None
    for name in names:
        if name == "console":
            readers.append(PeriodicExportingMetricReader(ConsoleMetricExporter()))
        elif name == "otlp":
            if _protocol(env, "METRICS") == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                    OTLPMetricExporter as GrpcMetricExporter,
                )

                readers.append(PeriodicExportingMetricReader(GrpcMetricExporter()))
            else:
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                    OTLPMetricExporter as HttpMetricExporter,
                )

                readers.append(PeriodicExportingMetricReader(HttpMetricExporter()))
        elif name == "prometheus":
            from opentelemetry.exporter.prometheus import PrometheusMetricReader
            from prometheus_client import start_http_server

            host = env.get("OTEL_EXPORTER_PROMETHEUS_HOST", "localhost")
            try:
                port = int(env.get("OTEL_EXPORTER_PROMETHEUS_PORT", "9464"))
            except ValueError:
                raise TelemetryError(
                    "OTEL_EXPORTER_PROMETHEUS_PORT must be a port number"
                ) from None
            readers.append(PrometheusMetricReader())
            start_http_server(port=port, addr=host)
            prometheus = (host, port)
        else:
            raise TelemetryError(
                f"OTEL_METRICS_EXPORTER: {name!r} is not supported "
                "(otlp, prometheus, console, none)"
            )
    return readers, prometheus


def setup(env: Mapping[str, str] | None = None, *, install_global: bool = True) -> Telemetry:
    """Build the providers from ``env`` (default ``os.environ``) and make them global."""
    env = os.environ if env is None else env
    attributes = {SERVICE_NAME: env.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME}
    # Resource.create also reads OTEL_RESOURCE_ATTRIBUTES (and would read OTEL_SERVICE_NAME).
    resource = Resource.create(attributes)
    trace_names = _names(env, "OTEL_TRACES_EXPORTER", "TRACES")
    metric_names = _names(env, "OTEL_METRICS_EXPORTER", "METRICS")
    tracer_provider = _tracer_provider(env, resource, trace_names)
    readers, prometheus = _metric_readers(env, metric_names)
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    if install_global:
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
    return Telemetry(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        trace_exporters=trace_names,
        metric_exporters=metric_names,
        prometheus_address=prometheus,
    )
