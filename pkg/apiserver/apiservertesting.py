"""Test support for the API server's own tests: real generic stores and a loopback server.

Never imported by production code. The HTTP layer is tested over the real generic store
(:class:`pkg.registry.generic.store.Store` on a SQLite file in the test's temp dir), built
here with the generic strategies, so the handlers meet the same selectors, paging,
preconditions, watch history and status rules as in the server. :class:`Database` is the
real database with a settable write latency (a slow disk), the one condition a test cannot
otherwise produce. :func:`serve` runs an app on a real 127.0.0.1 socket inside the test's
event loop (Sanic's ``port=0`` binds 8000, so the socket is bound here); ``pkg.cmd.server``'s
test support uses it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from kubernetes import client as k8s_client
from pydantic import BaseModel

from api.core import v1 as corev1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apiserver import config, serving
from pkg.registry.generic import sqlite, store, strategy
from pkg.registry.rest import objectmeta, rest

__all__ = [
    "Database",
    "ReviewHandler",
    "Strategy",
    "keys",
    "kube_review_endpoint",
    "open_database",
    "repositories",
    "secrets",
    "serve",
]


class Strategy(strategy.DefaultStrategy):
    """The generic rules, plus one create warning so tests see warnings reach the client."""

    def warnings_on_create(self, ctx: rest.RequestContext, obj: BaseModel) -> list[str]:
        labels = objectmeta.meta_of(obj).labels or {}
        return ["label 'deprecated' is set"] if "deprecated" in labels else []


class Database(sqlite.Database):
    """The real database; every commit first waits ``write_delay`` seconds (a slow disk).

    The wait happens inside the store's write (under its lock, after it began), which is
    where a request deadline or a shutdown meets a write in flight.
    """

    write_delay: float = 0.0

    async def commit(
        self, resource: str, namespace: str, name: str, resource_version: int, body: str | None
    ) -> None:
        if self.write_delay:
            await asyncio.sleep(self.write_delay)
        await super().commit(resource, namespace, name, resource_version, body)


async def open_database(directory: Path) -> Database:
    """A new :class:`Database` in ``directory``; close it with ``await db.close()``."""
    db = await Database.open(directory / sqlite.DEFAULT_FILE_NAME)
    assert isinstance(db, Database)  # open() builds cls; its annotation names the base
    return db


def repositories(
    db: sqlite.Database, tuning: store.Tuning | None = None
) -> store.Store[configv1alpha1.Repository]:
    """A generic store of ``repositories`` with a ``status`` subresource."""
    return store.Store(
        db,
        resource=configv1alpha1.REPOSITORIES,
        model=configv1alpha1.Repository,
        list_model=configv1alpha1.RepositoryList,
        strategy=Strategy(),
        status_strategy=strategy.StatusStrategy(),
        tuning=tuning,
    )


def secrets(db: sqlite.Database, tuning: store.Tuning | None = None) -> store.Store[corev1.Secret]:
    """A generic store of core ``secrets``."""
    return store.Store(
        db,
        resource=corev1.SECRETS,
        model=corev1.Secret,
        list_model=corev1.SecretList,
        strategy=Strategy(),
        tuning=tuning,
    )


async def keys(storage: store.Store[Any]) -> list[tuple[str, str]]:
    """``(namespace, name)`` of every stored object, sorted: what a write left behind."""
    listed = await storage.client().list()
    return [
        (meta.namespace or "", meta.name or "")
        for meta in (objectmeta.meta_of(obj) for obj in listed.items)
    ]


@contextlib.asynccontextmanager
async def serve(app: config.App, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """Run ``app`` on a free 127.0.0.1 port in the current loop; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    server = await serving.start(app, sock, ssl_context)
    scheme = "https" if ssl_context is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        await serving.shutdown(server, app, drain_timeout=2.0)


class ReviewHandler(http.server.BaseHTTPRequestHandler):
    """Base of a stand-in for kube-apiserver's review endpoints (TokenReview,
    SubjectAccessReview), which cannot run on this machine: subclasses answer ``do_POST``
    with :meth:`read_json` and :meth:`reply_json`."""

    def read_json(self) -> Any:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def reply_json(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextlib.contextmanager
def kube_review_endpoint(
    handler: type[ReviewHandler],
) -> Iterator[k8s_client.ApiClient]:
    """Serve ``handler`` on 127.0.0.1 and yield a real ``kubernetes`` client pointed at it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    configuration = k8s_client.Configuration()
    configuration.host = f"http://127.0.0.1:{server.server_address[1]}"
    api_client = k8s_client.ApiClient(configuration)
    try:
        yield api_client
    finally:
        api_client.close()  # type: ignore[no-untyped-call]
        server.shutdown()
        server.server_close()
