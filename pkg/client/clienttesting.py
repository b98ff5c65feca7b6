"""A scripted Kubernetes API server on loopback, for the client's and porchctl's tests.

Why a double and not porch-server: these tests pin wire-level behaviour the real server
does not produce on demand (a plain-text 404 from a proxy, a watch ``ERROR`` event, a 409
on the third try, a server without Table support) and client-side rules that must not
depend on server features still being built. The end-to-end tests in ``test/e2e/cli``
run the same client and porchctl against the real porch-server.

:class:`FakeAPIServer` answers each request from routes registered with :meth:`on`
(method + path, optional query matcher) in registration order; a route may be a fixed
response or a function of the request. Unrouted requests get a 404 ``Status``. Every
request is recorded (method, path, query, headers, JSON body). :func:`kubeconfig` writes a
kubeconfig that points at the server.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

__all__ = [
    "FakeAPIServer",
    "RecordedRequest",
    "Response",
    "kubeconfig",
    "status_body",
]


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclasses.dataclass
class Response:
    """What a route answers: a status code, a body (JSON data, text or stream lines)."""

    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    stream_lines: list[Any] | None = None  # sent chunked, one JSON document per line


Handler = Callable[[RecordedRequest], Response]


def status_body(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    """A failure ``metav1.Status`` as the apiserver sends it."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


class FakeAPIServer:
    """See the module docstring. Use as a context manager."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, str, Callable[[dict[str, list[str]]], bool], Handler]] = []
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._httpd: http.server.ThreadingHTTPServer | None = None

    # -- routes ----------------------------------------------------------------------

    def on(
        self,
        method: str,
        path: str,
        response: Response | Handler | Mapping[str, Any] | list[Any],
        *,
        query: Callable[[dict[str, list[str]]], bool] | None = None,
    ) -> None:
        """Answer ``method path`` (first matching route wins) with ``response``.

        A mapping or list is a 200 JSON body; a :class:`Response` is sent as is; a callable
        gets the request and returns the Response.
        """
        handler: Handler
        if callable(response):
            handler = response
        elif isinstance(response, Response):
            fixed = response
            handler = lambda _req: fixed  # noqa: E731 - a one-line closure
        else:
            body = response
            handler = lambda _req: Response(200, body)  # noqa: E731
        with self._lock:
            self._routes.append((method.upper(), path, query or (lambda _q: True), handler))

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # -- lifecycle -------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("FakeAPIServer is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> FakeAPIServer:
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        # A short poll interval: shutdown() waits for the next poll.
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def _dispatch(self, request: RecordedRequest) -> Response:
        with self._lock:
            self._requests.append(request)
            routes = list(self._routes)
        for method, path, matches, handler in routes:
            if method == request.method and path == request.path and matches(request.query):
                return handler(request)
        return Response(404, status_body(404, "NotFound", f"no route for {request.path}"))


def _handler(server: FakeAPIServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _serve(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            request = RecordedRequest(
                method=self.command,
                path=urllib.parse.unquote(parsed.path),
                query=urllib.parse.parse_qs(parsed.query),
                # Repeated headers (Impersonate-Group) are joined, as net/http joins them.
                headers={
                    k.lower(): ", ".join(self.headers.get_all(k) or [])
                    for k in dict.fromkeys(self.headers.keys())
                },
                body=body,
            )
            response = server._dispatch(request)
            if response.stream_lines is not None:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for line in response.stream_lines:
                    chunk = (json.dumps(line) + "\n").encode()
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                return
            if isinstance(response.body, (dict, list)):
                payload = json.dumps(response.body).encode()
            elif response.body is None:
                payload = b""
            else:
                payload = str(response.body).encode()
            self.send_response(response.status)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler


def kubeconfig(path: Path, server: str, *, namespace: str | None = None, token: str = "") -> Path:
    """Write a one-context kubeconfig for ``server`` (plain HTTP) and return its path."""
    context: dict[str, Any] = {"cluster": "fake", "user": "tester"}
    if namespace is not None:
        context["namespace"] = namespace
    user: dict[str, Any] = {"token": token} if token else {}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "tester", "user": user}],
        "contexts": [{"name": "fake", "context": context}],
        "current-context": "fake",
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
