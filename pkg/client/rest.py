"""The client's transport: one REST call (or watch stream) over the ``kubernetes`` ApiClient.

Where this sits: under :mod:`pkg.client.resources`, which builds paths and bodies and
decodes models; above the official ``kubernetes`` client, which owns the connection pool,
TLS and credentials (kubeconfig tokens, exec plugins, client certificates). The
:class:`RESTClient` is long-lived and thread-safe: keep one per process and reuse it, so
connections are pooled.

Every failed response becomes one exception of :mod:`pkg.client.errors`: a readable
``Status`` body keeps its reason and message; anything else gets client-go's generic
message (``the server could not find the requested resource (get ...)``). A request that
gets no answer at all raises :class:`~pkg.client.errors.TransportError`.

Each request is logged (logger ``pkg.client``) at DEBUG with method, URL, status and time,
as kubectl's ``-v=6`` shows them; porchctl's ``-v`` turns that log on.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import kubernetes.client
import urllib3
import urllib3.exceptions

from api.meta import v1 as metav1
from pkg.apimachinery import codec
from pkg.apimachinery import errors as apierrors
from pkg.client import config, errors

__all__ = [
    "ACCEPT_JSON",
    "ACCEPT_TABLE",
    "LineStream",
    "RESTClient",
    "Response",
]

_log = logging.getLogger("pkg.client")

ACCEPT_JSON: Final = "application/json"
ACCEPT_TABLE: Final = "application/json;as=Table;g=meta.k8s.io;v=v1,application/json"
"""What porchctl (and kubectl) send to get a server-side Table, falling back to JSON."""

Query = Sequence[tuple[str, str]]


class Response:
    """A successful answer: status code, content type and the parsed JSON body."""

    __slots__ = ("body", "content_type", "status")

    def __init__(self, status: int, content_type: str, body: Any) -> None:
        self.status = status
        self.content_type = content_type
        self.body = body


class RESTClient:
    """Sends requests for one :class:`~pkg.client.config.ClientConfig`; reuse it."""

    def __init__(self, client_config: config.ClientConfig) -> None:
        self.config = client_config
        self._api = kubernetes.client.ApiClient(client_config.configuration)
        self._api.user_agent = client_config.user_agent

    @property
    def host(self) -> str:
        """The server's base URL (``https://127.0.0.1:9443``)."""
        return str(self.config.configuration.host)

    def close(self) -> None:
        """Release pooled connections (the client is unusable afterwards)."""
        self._api.close()  # type: ignore[no-untyped-call]

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: Any = None,
        content_type: str | None = None,
        accept: str = ACCEPT_JSON,
        resource: str = "",
        name: str = "",
    ) -> Response:
        """Send one request and return the parsed JSON answer.

        ``body`` is JSON-ready data (a dict or list). ``resource`` (``plural.group``) and
        ``name`` only serve the generic error message when the server's error body is not a
        Status. Raises the :mod:`~pkg.client.errors` tree.
        """
        raw = self._send(
            method,
            path=path,
            query=query,
            body=body,
            content_type=content_type,
            accept=accept,
            stream=False,
        )
        try:
            data = raw.read()
        except urllib3.exceptions.HTTPError as err:
            raise errors.TransportError(_transport_message(method, self._url(path), err)) from err
        content_type_header = str(raw.headers.get("Content-Type", ""))
        if raw.status >= 300:
            raise self._error(
                method,
                code=raw.status,
                data=data,
                content_type=content_type_header,
                resource=resource,
                name=name,
            )
        if not data:
            return Response(raw.status, content_type_header, None)
        try:
            parsed = json.loads(data)
        except ValueError as err:
            raise errors.DecodeError(
                f"{method} {path}: the server's answer is not JSON: {err}"
            ) from err
        return Response(raw.status, content_type_header, parsed)

    def stream(
        self,
        path: str,
        *,
        query: Query = (),
        accept: str = ACCEPT_JSON,
        resource: str = "",
    ) -> LineStream:
        """Open a watch (``GET`` with ``watch=true`` in ``query``): one JSON event per line."""
        raw = self._send(
            "GET", path=path, query=query, body=None, content_type=None, accept=accept, stream=True
        )
        if raw.status >= 300:
            data = raw.read()
            raw.release_conn()
            raise self._error(
                "GET",
                code=raw.status,
                data=data,
                content_type=str(raw.headers.get("Content-Type", "")),
                resource=resource,
                name="",
            )
        return LineStream(raw)

    # -- internals ---------------------------------------------------------------------

    def _url(self, path: str, query: Query = ()) -> str:
        url = self.host + path
        if query:
            url += "?" + urllib.parse.urlencode(list(query))
        return url

    def _send(
        self,
        method: str,
        *,
        path: str,
        query: Query,
        body: Any,
        content_type: str | None,
        accept: str,
        stream: bool,
    ) -> urllib3.BaseHTTPResponse:
        headers: dict[str, str] = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        # param_serialize adds the credentials (bearer token, refreshed if it expired) and
        # the User-Agent; the pool already holds the client certificate.
        _, url, serialized, _, _ = self._api.param_serialize(
            method=method,
            resource_path=path,
            header_params=headers,
            auth_settings=["BearerToken"],
        )
        header_dict = urllib3.HTTPHeaderDict(serialized)
        cfg = self.config
        if cfg.impersonate_user:
            header_dict["Impersonate-User"] = cfg.impersonate_user
        for group in cfg.impersonate_groups:
            header_dict.add("Impersonate-Group", group)
        if cfg.impersonate_uid:
            header_dict["Impersonate-Uid"] = cfg.impersonate_uid
        if query:
            url += "?" + urllib.parse.urlencode(list(query))
        timeout: urllib3.Timeout | None = None
        if cfg.request_timeout and not stream:
            timeout = urllib3.Timeout(total=cfg.request_timeout)
        encoded = (
            None if body is None else json.dumps(_jsonable(body), separators=(",", ":")).encode()
        )
        started = time.monotonic()
        try:
            raw: urllib3.BaseHTTPResponse = self._api.rest_client.pool_manager.request(
                method,
                url,
                body=encoded,
                headers=header_dict,
                timeout=timeout,
                preload_content=False,
            )
        except urllib3.exceptions.HTTPError as err:
            _log.debug("%s %s failed in %d ms: %s", method, url, _ms(started), err)
            raise errors.TransportError(_transport_message(method, url, err)) from err
        _log.debug("%s %s %d in %d ms", method, url, raw.status, _ms(started))
        return raw

    def _error(
        self,
        method: str,
        *,
        code: int,
        data: bytes,
        content_type: str,
        resource: str,
        name: str,
    ) -> errors.ApiError:
        status = _read_status(data)
        if status is not None and status.status == "Failure":
            if not status.code:
                status.code = code
            return errors.error_for_status(status)
        media = content_type.split(";", 1)[0].strip().lower()
        # client-go keeps a text body (or a body with no content type) as the message.
        text = (
            data.decode("utf-8", "replace").strip()
            if (not media or media.startswith("text/"))
            else "unknown"
        )
        return errors.error_for_status(errors.generic_status(code, method, resource, name, text))


class LineStream:
    """The lines of a streamed answer, each parsed as JSON; close() ends the stream."""

    def __init__(self, raw: urllib3.BaseHTTPResponse) -> None:
        self._raw = raw
        self._closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        buffer = b""
        try:
            for chunk in self._chunks():
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield _parse_event(line)
            if buffer.strip():
                yield _parse_event(buffer)
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.ReadTimeoutError) as err:
            if not self._closed:
                raise errors.TransportError(f"watch stream ended: {err}") from err
        finally:
            self.close()

    def _chunks(self) -> Iterator[bytes]:
        # Events must come out as soon as they arrive: a chunked stream is read chunk by
        # chunk, anything else with read1 (whatever is available, without waiting to fill
        # a buffer).
        if self._raw.chunked:
            yield from self._raw.read_chunked(decode_content=True)
            return
        while chunk := self._raw.read1(1 << 16):
            yield chunk

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._raw.release_conn()
            self._raw.close()


def _parse_event(line: bytes) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError as err:
        raise errors.DecodeError(f"watch event is not JSON: {err}") from err
    if not isinstance(event, dict):
        raise errors.DecodeError("watch event is not a JSON object")
    return event


def _read_status(data: bytes) -> metav1.Status | None:
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or parsed.get("kind") != "Status":
        return None
    try:
        return codec.decode(metav1.Status, parsed)
    except apierrors.StatusError:
        return None


def _jsonable(body: Any) -> Mapping[str, Any] | list[Any]:
    if isinstance(body, (Mapping, list)):
        return body
    raise TypeError(f"request body must be a mapping or a list, not {type(body).__name__}")


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _transport_message(method: str, url: str, err: BaseException) -> str:
    """Go's ``*url.Error`` text: ``Get "https://h:p/x": dial tcp h:p: connect: ...``."""
    reason: BaseException = err
    while True:
        inner = getattr(reason, "reason", None)
        if isinstance(inner, BaseException) and inner is not reason:
            reason = inner
            continue
        break
    parsed = urllib.parse.urlsplit(url)
    host = parsed.netloc
    if isinstance(reason, urllib3.exceptions.NewConnectionError) or isinstance(
        reason.__cause__, ConnectionRefusedError
    ):
        detail = f"dial tcp {host}: connect: connection refused"
    elif isinstance(reason, urllib3.exceptions.SSLError):
        detail = f"tls: {reason}"
    elif isinstance(reason, (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.TimeoutError)):
        detail = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    else:
        detail = str(reason)
    return f'{method.capitalize()} "{url}": {detail}'
