"""A porch-server process over its life: restart, SIGTERM, tracing."""

from __future__ import annotations

import json
import signal
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from test.e2e import conftest as e2e

pytestmark = pytest.mark.e2e

REPOSITORY = """
apiVersion: config.porch.kpt.dev/v1alpha1
kind: Repository
metadata:
  name: kept
spec:
  type: git
  git:
    repo: https://example.com/kept.git
"""


def test_a_restart_on_the_same_data_dir_keeps_everything(porch_server: e2e.PorchServer) -> None:
    porch_server.kubectl("create", "-f", "-", input=REPOSITORY)
    porch_server.kubectl("create", "secret", "generic", "kept-secret", "--from-literal=password=p")
    before = json.loads(porch_server.kubectl("get", "repository", "kept", "-o", "json").stdout)
    ca_before = porch_server.ca_file.read_bytes()
    porch_server.restart()
    after = json.loads(porch_server.kubectl("get", "repository", "kept", "-o", "json").stdout)
    assert after == before
    assert porch_server.kubectl("get", "secret", "kept-secret", "-o", "name").stdout.strip() == (
        "secret/kept-secret"
    )
    # The same PKI: kubeconfigs handed out before the restart keep working.
    assert porch_server.ca_file.read_bytes() == ca_before
    created = porch_server.kubectl("create", "secret", "generic", "new", "--from-literal=a=b")
    assert created.returncode == 0
    rv_new = json.loads(porch_server.kubectl("get", "secret", "new", "-o", "json").stdout)[
        "metadata"
    ]["resourceVersion"]
    assert int(rv_new) > int(after["metadata"]["resourceVersion"])


def test_sigterm_ends_watches_and_exits_zero_quickly(
    porch_server: e2e.PorchServer, tmp_path: Path
) -> None:
    porch_server.kubectl("create", "-f", "-", input=REPOSITORY)
    watch = porch_server.kubectl_process(
        "get", "repositories", "-w", "--output-watch-events", cache_dir=tmp_path / "kc"
    )
    lines: list[str] = []
    try:
        reader = threading.Thread(target=lambda: lines.extend(watch.stdout or []), daemon=True)
        reader.start()
        deadline = time.monotonic() + 20
        while not any(line.startswith("ADDED") for line in lines):
            assert time.monotonic() < deadline, lines
            time.sleep(0.05)
        # A change kubectl prints proves its watch request is open.
        porch_server.kubectl("label", "repository", "kept", "watched=yes")
        while not any(line.startswith("MODIFIED") for line in lines):
            assert time.monotonic() < deadline, lines
            time.sleep(0.05)
        started = time.monotonic()
        code = porch_server.stop(signal.SIGTERM, timeout=15)
        elapsed = time.monotonic() - started
        watch_code = watch.wait(10)
        reader.join(5)
    finally:
        if watch.poll() is None:
            watch.kill()
        watch.communicate()
    assert code == 0, porch_server.log()
    assert elapsed < 10
    # kubectl treats the end of a watch stream as the end of its work.
    assert watch_code == 0
    assert "shutting down" in porch_server.log()


def _spans(log: str) -> list[dict[str, Any]]:
    spans = []
    for line in log.splitlines():
        if line.startswith('{"name"'):
            spans.append(json.loads(line))
    return spans


def test_the_server_span_continues_the_callers_trace(
    porch_server_factory: e2e.PorchServerFactory,
) -> None:
    server = porch_server_factory(env={"OTEL_TRACES_EXPORTER": "console"})
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    context = ssl.create_default_context(cafile=str(server.ca_file))
    context.load_cert_chain(*(str(p) for p in server.admin_cert))
    with httpx.Client(base_url=server.url, verify=context) as client:
        response = client.get(
            "/apis/config.porch.kpt.dev/v1alpha1/namespaces/default/repositories",
            headers={"traceparent": f"00-{trace_id}-{parent}-01"},
        )
    assert response.status_code == 200
    assert server.stop() == 0
    spans = [s for s in _spans(server.log()) if s["context"]["trace_id"] == f"0x{trace_id}"]
    by_kind = {s["kind"]: s for s in spans}
    request = by_kind["SpanKind.SERVER"]
    assert request["name"] == (
        "GET /apis/config.porch.kpt.dev/v1alpha1/namespaces/{namespace}/repositories"
    )
    assert request["parent_id"] == f"0x{parent}"
    assert request["attributes"]["http.response.status_code"] == 200
    assert request["attributes"]["k8s.verb"] == "list"
    assert request["attributes"]["k8s.namespace.name"] == "default"
    assert request["resource"]["attributes"]["service.name"] == "porch-server"
    # The storage's span is a child of the request's, in the same trace.
    children = [s for s in spans if s["parent_id"] == request["context"]["span_id"]]
    assert children, spans
    access = [line for line in server.log().splitlines() if f"trace_id={trace_id}" in line]
    assert len(access) == 1


def test_concurrent_requests_during_shutdown_finish(porch_server: e2e.PorchServer) -> None:
    context = ssl.create_default_context(cafile=str(porch_server.ca_file))
    context.load_cert_chain(*(str(p) for p in porch_server.admin_cert))
    results: list[int] = []

    def hammer() -> None:
        with httpx.Client(base_url=porch_server.url, verify=context) as client:
            for _ in range(20):
                try:
                    results.append(client.get("/apis").status_code)
                except httpx.HTTPError:
                    return

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    assert porch_server.stop() == 0
    for thread in threads:
        thread.join(10)
    assert results
    assert set(results) == {200}
