from __future__ import annotations

import pytest

from pkg.cmd.server import telemetry


def _setup(**env: str) -> telemetry.Telemetry:
    return telemetry.setup(env, install_global=False)


def test_nothing_is_exported_without_configuration() -> None:
    otel = _setup()
    assert (otel.trace_exporters, otel.metric_exporters) == ([], [])
    resource = otel.tracer_provider.resource.attributes
    assert resource["service.name"] == "porch-server"
    otel.shutdown()


def test_an_otlp_endpoint_turns_otlp_on() -> None:
    otel = _setup(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318")
    assert (otel.trace_exporters, otel.metric_exporters) == (["otlp"], ["otlp"])
    otel.shutdown()


def test_explicit_exporters_and_service_name() -> None:
    otel = _setup(
        OTEL_TRACES_EXPORTER="console",
        OTEL_METRICS_EXPORTER="none",
        OTEL_SERVICE_NAME="porch-test",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318",
    )
    assert (otel.trace_exporters, otel.metric_exporters) == (["console"], [])
    assert otel.tracer_provider.resource.attributes["service.name"] == "porch-test"
    otel.shutdown()


def test_grpc_protocol_builds_grpc_exporters() -> None:
    otel = _setup(OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
    assert otel.trace_exporters == ["otlp"]
    otel.shutdown()


@pytest.mark.parametrize(
    ("env", "text"),
    [
        pytest.param({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER", id="traces"),
        pytest.param({"OTEL_METRICS_EXPORTER": "statsd"}, "OTEL_METRICS_EXPORTER", id="metrics"),
        pytest.param(
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            id="protocol",
        ),
    ],
)
def test_unsupported_values_name_the_variable(env: dict[str, str], text: str) -> None:
    with pytest.raises(telemetry.TelemetryError, match=text):
        _setup(**env)
