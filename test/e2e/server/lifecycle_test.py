"""A porch-server process over its life: restart on the same data, background sync, SIGTERM,
tracing through every layer."""

from __future__ import annotations

import json
import signal
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from test.e2e import conftest as e2e
from test.e2e.server import conftest as fixtures

pytestmark = pytest.mark.e2e


def _register(server: e2e.PorchServer, name: str) -> str:
    """A Repository ``name`` over a new local git repository, Ready; the repository's path."""
    url = server.local_repository(name)
    server.kubectl("apply", "-f", "-", input=fixtures.repository_manifest(name, url))
    server.kubectl("wait", "--for=condition=Ready", f"repository/{name}", "--timeout=30s")
    return url.removeprefix("file://")


def _create(server: e2e.PorchServer, repository: str, package: str, workspace: str) -> str:
    manifest = fixtures.package_revision_manifest(repository, package, workspace)
    server.kubectl("create", "-f", "-", input=manifest)
    return f"{repository}.{package}.{workspace}"


def _publish(server: e2e.PorchServer, name: str) -> None:
    server.kubectl(
        "patch", "packagerevision", name, "--type=merge", "-p", '{"spec":{"lifecycle":"Proposed"}}'
    )
    server.kubectl(
        "patch",
        "packagerevision",
        name,
        "--subresource=approval",
        "--type=merge",
        "-p",
        '{"spec":{"lifecycle":"Published"}}',
    )


def _json(server: e2e.PorchServer, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(server.kubectl("get", *args, "-o", "json").stdout)
    return result


def test_a_restart_on_the_same_data_dir_keeps_everything(porch_server: e2e.PorchServer) -> None:
    _register(porch_server, "kept")
    porch_server.kubectl("create", "secret", "generic", "kept-secret", "--from-literal=password=p")
    published = _create(porch_server, "kept", "app", "v1")
    _publish(porch_server, published)
    draft = _create(porch_server, "kept", "db", "v1")
    porch_server.kubectl("label", "packagerevision", published, "team=blue")
    porch_server.kubectl("annotate", "packagerevision", draft, "owner=alice")
    repository_before = _json(porch_server, "repository", "kept")
    revisions_before = _json(porch_server, "packagerevisions")["items"]
    assert len(revisions_before) == 3  # app v1, its main placeholder, db v1
    ca_before = porch_server.ca_file.read_bytes()

    porch_server.restart()

    # Ready means every Repository had its first sync: the revisions are back at once.
    revisions_after = _json(porch_server, "packagerevisions")["items"]
    assert revisions_after == revisions_before
    by_name = {item["metadata"]["name"]: item for item in revisions_after}
    assert by_name[published]["metadata"]["labels"] == {
        "kpt.dev/latest-revision": "true",
        "team": "blue",
    }
    assert by_name[draft]["metadata"]["annotations"] == {"owner": "alice"}
    repository_after = _json(porch_server, "repository", "kept")
    for part in ("uid", "creationTimestamp", "finalizers", "generation"):
        assert repository_after["metadata"][part] == repository_before["metadata"][part]
    assert repository_after["spec"] == repository_before["spec"]
    assert porch_server.kubectl("get", "secret", "kept-secret", "-o", "name").stdout.strip() == (
        "secret/kept-secret"
    )
    # The same PKI: kubeconfigs handed out before the restart keep working.
    assert porch_server.ca_file.read_bytes() == ca_before


class _Watch:
    """``kubectl get packagerevisions -w --output-watch-events`` running in the background."""

    def __init__(self, server: e2e.PorchServer, cache: Path) -> None:
        self.process = server.kubectl_process(
            "get", "packagerevisions", "-w", "--output-watch-events", cache_dir=cache
        )
        self._lines: list[str] = []
        self._reader = threading.Thread(
            target=lambda: self._lines.extend(self.process.stdout or []), daemon=True
        )
        self._reader.start()

    @property
    def lines(self) -> list[str]:
        return list(self._lines)

    def wait_for(self, predicate: Callable[[list[str]], bool], limit: float = 30) -> None:
        deadline = time.monotonic() + limit
        while not predicate(self.lines):
            assert time.monotonic() < deadline, f"not seen in time; got {self.lines}"
            time.sleep(0.05)

    def close(self) -> int:
        """End kubectl (if the server did not end it); its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.communicate(timeout=10)
        self._reader.join(5)
        return self.process.returncode


@pytest.fixture
def watches(tmp_path: Path) -> Iterator[Callable[[e2e.PorchServer], _Watch]]:
    started: list[_Watch] = []

    def start(server: e2e.PorchServer) -> _Watch:
        watch = _Watch(server, tmp_path / f"watch-{len(started)}")
        started.append(watch)
        return watch

    yield start
    for watch in started:
        watch.close()


def _added(name: str) -> Callable[[list[str]], bool]:
    return lambda lines: any(line.split()[:2] == ["ADDED", name] for line in lines)


def test_sync_picks_up_a_tag_pushed_with_git(
    porch_server_factory: e2e.PorchServerFactory,
    watches: Callable[[e2e.PorchServer], _Watch],
    tmp_path: Path,
) -> None:
    server = porch_server_factory("--repo-sync-frequency", "1s")
    remote = _register(server, "synced")
    existing = _create(server, "synced", "first", "v1")
    watch = watches(server)
    watch.wait_for(_added(existing))

    # Someone publishes a package with plain git: a commit on main and a version tag.
    work = tmp_path / "work"
    e2e.git("clone", "--quiet", remote, work)
    (work / "pushed").mkdir()
    (work / "pushed" / "Kptfile").write_text(
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pushed\n"
    )
    e2e.git("add", ".", cwd=work)
    e2e.git("commit", "--quiet", "-m", "pushed by hand", cwd=work)
    e2e.git("tag", "pushed/v1", cwd=work)
    e2e.git("push", "--quiet", "origin", "HEAD:main", "pushed/v1", cwd=work)

    watch.wait_for(_added("synced.pushed.v1"), limit=20)
    found = _json(server, "packagerevision", "synced.pushed.v1")
    assert found["spec"]["lifecycle"] == "Published"
    assert found["spec"]["revision"] == 1
    assert found["metadata"]["labels"] == {"kpt.dev/latest-revision": "true"}


def test_sigterm_ends_watches_and_exits_zero_quickly(
    porch_server: e2e.PorchServer, watches: Callable[[e2e.PorchServer], _Watch]
) -> None:
    _register(porch_server, "watched")
    name = _create(porch_server, "watched", "app", "v1")
    watch = watches(porch_server)
    watch.wait_for(_added(name))
    # A change kubectl prints proves its watch request is open.
    porch_server.kubectl("label", "packagerevision", name, "seen=yes")
    watch.wait_for(lambda lines: any(line.split()[:2] == ["MODIFIED", name] for line in lines))
    started = time.monotonic()
    code = porch_server.stop(signal.SIGTERM, timeout=15)
    elapsed = time.monotonic() - started
    watch_code = watch.close()
    assert code == 0, porch_server.log()
    assert elapsed < 10
    # kubectl treats the end of a watch stream as the end of its work.
    assert watch_code == 0
    assert "shutting down" in porch_server.log()


def _spans(log: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.splitlines() if line.startswith('{"name"')]


def _client(server: e2e.PorchServer) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(server.ca_file))
    context.load_cert_chain(*(str(p) for p in server.admin_cert))
    return httpx.Client(base_url=server.url, verify=context, timeout=30)


def test_one_trace_runs_through_server_registry_engine_cache_and_git(
    porch_server_factory: e2e.PorchServerFactory,
) -> None:
    server = porch_server_factory(env={"OTEL_TRACES_EXPORTER": "console"})
    _register(server, "traced")
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    body = yaml.safe_load(fixtures.package_revision_manifest("traced", "app", "v1"))
    with _client(server) as client:
        response = client.post(
            "/apis/porch.kpt.dev/v1alpha1/namespaces/default/packagerevisions",
            json=body,
            headers={"traceparent": f"00-{trace_id}-{parent}-01"},
        )
    assert response.status_code == 201, response.text
    assert server.stop() == 0
    spans = [s for s in _spans(server.log()) if s["context"]["trace_id"] == f"0x{trace_id}"]
    request = next(s for s in spans if s["kind"] == "SpanKind.SERVER")
    assert request["name"] == (
        "POST /apis/porch.kpt.dev/v1alpha1/namespaces/{namespace}/packagerevisions"
    )
    assert request["parent_id"] == f"0x{parent}"
    assert request["attributes"]["http.response.status_code"] == 201
    assert request["attributes"]["k8s.verb"] == "create"
    assert request["resource"]["attributes"]["service.name"] == "porch-server"
    names = {s["name"] for s in spans}
    assert "[START]::packageRevisions::Create" in names  # registry
    assert "cadEngine::CreatePackageRevision" in names  # engine
    assert any(n.startswith(("Cache::", "cachedRepository::")) for n in names), names  # cache
    assert any(n.startswith("gitRepository::") for n in names), names  # git
    # Every span of the trace hangs off the request's span.
    by_id = {s["context"]["span_id"]: s for s in spans}
    for span in spans:
        ancestor = span
        while ancestor["parent_id"] in by_id:
            ancestor = by_id[ancestor["parent_id"]]
        assert ancestor is request, span["name"]
    engine = next(s for s in spans if s["name"] == "cadEngine::CreatePackageRevision")
    # Operation and package names are span attributes.
    assert engine["attributes"] == {
        "repository": "default/traced",
        "package": "app",
        "workspace": "v1",
    }
    access = [line for line in server.log().splitlines() if f"trace_id={trace_id}" in line]
    assert len(access) == 1


def test_concurrent_requests_during_shutdown_finish(porch_server: e2e.PorchServer) -> None:
    results: list[int] = []

    def hammer() -> None:
        with _client(porch_server) as client:
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


def test_prometheus_metrics_count_requests_by_verb_resource_and_code(
    porch_server_factory: e2e.PorchServerFactory,
) -> None:
    port = e2e.free_port()
    server = porch_server_factory(
        env={
            "OTEL_METRICS_EXPORTER": "prometheus",
            "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
            "OTEL_EXPORTER_PROMETHEUS_PORT": str(port),
        }
    )
    _register(server, "measured")
    _create(server, "measured", "app", "v1")
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    created = [
        line
        for line in text.splitlines()
        if line.startswith("apiserver_request_duration_seconds_count{")
        and 'resource="packagerevisions"' in line
        and 'verb="create"' in line
    ]
    assert len(created) == 1, text
    assert 'code="201"' in created[0]
    assert created[0].endswith(" 1.0")
