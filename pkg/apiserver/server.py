"""The Sanic app factory: routes from storage capabilities, the request pipeline, errors.

Where this sits: the top of the request flow. ``pkg.cmd.server`` calls :func:`new_app`
with a :class:`~pkg.apiserver.config.Config` and serves the result
(:mod:`pkg.apiserver.serving`). Every route goes through the same pipeline
(:func:`_pipeline`):

1. parse the query (form decoding, blanks kept) and the
   :class:`~pkg.apiserver.requestinfo.RequestInfo`;
2. open a SERVER span continuing the caller's W3C ``traceparent``;
3. authenticate (401 ``Unauthorized`` unless the endpoint is a health probe);
4. authorize (403 with Kubernetes' message; health paths are always allowed);
5. run the handler (:mod:`pkg.apiserver.handlers`, discovery, OpenAPI, health);
6. render any exception as a ``metav1.Status``: a StatusError as itself, anything else as
   a 500 InternalError logged once with the trace id (a bug to fix);
7. end the span *in the handler's finally* (Sanic runs response middleware before a
   stream's body, so middleware would end a watch's span at its first byte), record the
   latency histogram by verb/resource/code, and write one access-log line with the trace
   id. Headers (``Authorization`` above all) and bodies are never logged.

Routes are installed per storage with exactly the HTTP methods its capabilities allow,
so Sanic itself answers 404/405 for the rest (rendered as Status by the app's error
handler). Discovery (``/api``, ``/apis``...), ``/version``, ``/openapi/v3`` and the health
endpoints complete the server. No module-level state: everything lives in
``app.ctx.porch`` (:class:`~pkg.apiserver.config.State`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

from cryptography import x509
from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from sanic import Request, Sanic, response
from sanic import exceptions as sanic_exceptions
from sanic.response import HTTPResponse

from api.meta import v1 as metav1
from pkg.apimachinery import errors
from pkg.apimachinery import user as userinfo
from pkg.apiserver import (
    authentication,
    authorization,
    config,
    discovery,
    groups,
    handlers,
    health,
    negotiation,
    openapi,
    params,
    requestinfo,
    responses,
)
from pkg.registry.rest import rest

__all__ = ["new_app", "set_authenticator"]

_log = logging.getLogger("pkg.apiserver")
_access_log = logging.getLogger("pkg.apiserver.access")

_INSTRUMENTATION: Final = "pkg.apiserver"
_HEALTH_PATHS: Final = authorization.ALWAYS_ALLOW_PATHS
_PARAM_RE: Final = re.compile(r"<([a-z_]+)(:[a-z]+)?>")
_UNSET: Final = object()
_CLIENT_CLOSED_REQUEST: Final = 499
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# How much of a refused (413) body Sanic reads and discards so the client sees the Status.
_DRAIN_FACTOR: Final = 4
# Sanic's idle-write timer must outlast the longest silent watch (2 x min, plus slack).
_WATCH_SLACK_SECONDS: Final = 60.0
# kube-apiserver's apiserver_request_duration_seconds buckets.
_LATENCY_BUCKETS: Final = (
    0.005,
    0.025,
    0.05,
    0.1,
    0.2,
    0.4,
    0.6,
    0.8,
    1.0,
    1.25,
    1.5,
    2.0,
    3.0,
    4.0,
    5.0,
    6.0,
    8.0,
    10.0,
    15.0,
    20.0,
    30.0,
    45.0,
    60.0,
)

Handler = Callable[..., Awaitable[HTTPResponse | None]]


def _route_label(uri: str) -> str:
    """``/apis/g/v/namespaces/<namespace>/x`` -> ``/apis/g/v/namespaces/{namespace}/x``."""
    return _PARAM_RE.sub(lambda m: "{" + m.group(1) + "}", uri)


def _peer_certificate(request: Request) -> x509.Certificate | None:
    """The verified TLS client certificate of the connection (parsed once per connection)."""
    conn = request.conn_info
    if conn is None:
        return None
    cached = getattr(conn.ctx, "peer_certificate", _UNSET)
    if cached is not _UNSET:
        return cached if isinstance(cached, x509.Certificate) else None
    cert: x509.Certificate | None = None
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is not None:
        der = ssl_object.getpeercert(binary_form=True)
        if der:
            cert = x509.load_der_x509_certificate(der)
    conn.ctx.peer_certificate = cert
    return cert


async def _authenticate(request: Request, state: config.State) -> userinfo.UserInfo | None:
    headers = list(request.headers.items())
    authenticator = state.authenticator or state.config.authenticator
    return await authenticator.authenticate_request(_peer_certificate(request), headers)


def set_authenticator(app: config.App, authenticator: authentication.Authenticator) -> None:
    """Authenticate every request from now on with ``authenticator`` (requests in flight
    finish with the chain they started with). The TLS context must already trust its
    CAs (:func:`pkg.apiserver.serving.trust_client_cas`)."""
    state: config.State = app.ctx.porch
    state.authenticator = authenticator


def _attributes(user: userinfo.UserInfo, info: requestinfo.RequestInfo) -> authorization.Attributes:
    return authorization.Attributes(
        user=user,
        verb=info.verb,
        resource_request=info.is_resource_request,
        path=info.path,
        namespace=info.namespace,
        api_group=info.api_group,
        api_version=info.api_version,
        resource=info.resource,
        subresource=info.subresource,
        name=info.name,
    )


def _trace_id(span: trace.Span) -> str:
    ctx = span.get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""


def _status_of_exception(exc: BaseException, trace_id: str) -> errors.StatusError:
    """Any exception as the StatusError the client gets (one place for the mapping)."""
    if isinstance(exc, errors.StatusError):
        return exc
    if isinstance(exc, sanic_exceptions.NotFound):
        return errors.StatusError(
            _generic_status(404, "NotFound", "the server could not find the requested resource")
        )
    if isinstance(exc, sanic_exceptions.MethodNotAllowed):
        return errors.StatusError(
            _generic_status(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )
        )
    if isinstance(exc, sanic_exceptions.PayloadTooLarge):
        return errors.new_request_entity_too_large(str(exc) or "the request body is too large")
    if isinstance(exc, sanic_exceptions.BadRequest):
        return errors.new_bad_request(str(exc) or "bad request")
    if isinstance(exc, sanic_exceptions.SanicException) and exc.status_code < 500:
        return errors.StatusError(_generic_status(exc.status_code, "", str(exc)))
    _log.error("internal error (trace_id=%s)", trace_id or "-", exc_info=exc)
    return errors.new_internal_error(exc)


def _generic_status(code: int, reason: str, message: str) -> metav1.Status:
    return metav1.Status(
        kind="Status",
        api_version="v1",
        metadata=metav1.ListMeta(),
        status="Failure",
        reason=reason or None,
        code=code,
        message=message,
    )


async def _read_body(request: Request, limit: int) -> None:
    """Read the body into ``request.body``, at most ``limit`` bytes (413 beyond).

    Routes are streaming, so nothing is read before the caller is authenticated and
    authorized, and a body that is too large is refused with a Status the client can read:
    Sanic then drains the rest of it (up to its own, larger cap) instead of resetting the
    connection under a client that is still sending.
    """
    if request.stream is None or request.method not in _BODY_METHODS:
        return
    declared = request.headers.get("content-length")
    too_large = errors.new_request_entity_too_large(f"limit is {limit}")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    # Sanic types request.stream as its Stream base class; over HTTP/1.1 it is the Http
    # object, which iterates the body chunk by chunk.
    body_stream: Any = request.stream
    async for chunk in body_stream:
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    request.body = b"".join(chunks)


async def _pipeline(
    request: Request,
    handler: Handler,
    kwargs: dict[str, Any],
    route: str,
    *,
    public: bool,
) -> HTTPResponse | None:
    """Steps 1-7 of the module docstring around one handler call."""
    state: config.State = request.app.ctx.porch
    started = time.monotonic()
    query = params.parse_query(request.query_string)
    request.ctx.query = query
    info = requestinfo.new_request_info(request.method, request.path, query)
    parent = propagate.extract(request.headers)
    span = state.tracer.start_span(
        f"{request.method} {route}",
        context=parent,
        kind=trace.SpanKind.SERVER,
        attributes={
            "http.request.method": request.method,
            "http.route": route,
            "url.path": request.path,
            "k8s.verb": info.verb,
        },
    )
    if info.is_resource_request:
        span.set_attributes(
            {
                "k8s.api_group": info.api_group,
                "k8s.resource": info.resource,
                "k8s.subresource": info.subresource,
                "k8s.namespace.name": info.namespace,
                "k8s.object.name": info.name,
            }
        )
    token = otel_context.attach(trace.set_span_in_context(span))
    code = 500
    user_name = ""
    try:
        try:
            user = await _authenticate(request, state)
            if user is None:
                if not public:
                    raise errors.new_unauthorized("Unauthorized")
                user = userinfo.ANONYMOUS_USER
            request.ctx.user = user
            user_name = user.name
            span.set_attribute("enduser.id", user.name)
            if not public:
                attributes = _attributes(user, info)
                decision = await state.config.authorizer.authorize(attributes)
                if not decision.allowed:
                    raise authorization.forbidden(attributes, decision.reason)
            await _read_body(request, state.config.max_request_body_size)
            result = await handler(request, **kwargs)
            code = result.status if result is not None else 200
            return result
        except asyncio.CancelledError:
            # The client went away: a started stream was a success; otherwise nginx's 499.
            code = 200 if request.responded else _CLIENT_CLOSED_REQUEST
            raise
        except Exception as exc:
            err = _status_of_exception(exc, _trace_id(span))
            code = err.code or 500
            if request.responded:
                # A stream already started (a watch): the status line is gone; log, end it.
                _log.warning("stream ended by an error (trace_id=%s): %s", _trace_id(span), err)
                return None
            span.set_attribute("k8s.status.reason", err.reason)
            return responses.status_response(err)
    finally:
        elapsed = time.monotonic() - started
        span.set_attribute("http.response.status_code", code)
        if code >= 500:
            span.set_status(trace.StatusCode.ERROR)
        trace_id = _trace_id(span)
        span.end()
        otel_context.detach(token)
        if info.verb != "watch":  # a watch lasts as long as the client wants
            state.request_duration.record(
                elapsed,
                {
                    "verb": info.verb,
                    "resource": info.resource if info.is_resource_request else "",
                    "subresource": info.subresource,
                    "code": str(code),
                },
            )
        _access_log.info(
            "%s %s %d %.1fms user=%s trace_id=%s",
            request.method,
            request.path + (f"?{request.query_string}" if request.query_string else ""),
            code,
            elapsed * 1000,
            user_name or "-",
            trace_id or "-",
        )


class _Routes:
    """Installs routes on one app, each wrapped in the pipeline."""

    def __init__(self, app: config.App) -> None:
        self._app = app
        self._count = 0

    def add(
        self, uri: str, methods: list[str], handler: Handler, *, public: bool = False, **bound: Any
    ) -> None:
        route = _route_label(uri)

        async def endpoint(request: Request, **kwargs: Any) -> HTTPResponse | None:
            return await _pipeline(request, handler, {**bound, **kwargs}, route, public=public)

        self._count += 1
        self._app.add_route(endpoint, uri, methods=methods, name=f"route{self._count}", stream=True)


# --- discovery, version, OpenAPI --------------------------------------------------------------


def _gvs(request: Request) -> list[groups.APIGroupVersion]:
    state: config.State = request.app.ctx.porch
    return list(state.config.groups)


async def _version(request: Request) -> HTTPResponse:
    state: config.State = request.app.ctx.porch
    return response.json(state.config.version.as_dict())


def _discovery_response(
    document: Any, serializer: negotiation.Serializer, aggregated: str | None
) -> HTTPResponse:
    resp = responses.respond(document, serializer)
    if aggregated is not None:
        resp.content_type = negotiation.discovery_content_type(aggregated)
    return resp


async def _api(request: Request) -> HTTPResponse:
    gvs = _gvs(request)
    serializer, aggregated = negotiation.negotiate_discovery(request.headers.get("accept"))
    if aggregated is not None:
        return _discovery_response(
            discovery.aggregated_discovery(gvs, aggregated, core=True), serializer, aggregated
        )
    return _discovery_response(discovery.api_versions(gvs, request.host), serializer, None)


async def _apis(request: Request) -> HTTPResponse:
    gvs = _gvs(request)
    serializer, aggregated = negotiation.negotiate_discovery(request.headers.get("accept"))
    if aggregated is not None:
        return _discovery_response(
            discovery.aggregated_discovery(gvs, aggregated, core=False), serializer, aggregated
        )
    return _discovery_response(discovery.api_group_list(gvs), serializer, None)


async def _api_group(request: Request, group: str) -> HTTPResponse:
    document = discovery.api_group(_gvs(request), group)
    if document is None:
        raise sanic_exceptions.NotFound()
    serializer, _ = negotiation.negotiate_discovery(request.headers.get("accept"))
    return responses.respond(document, serializer)


async def _api_resources(request: Request, gv: groups.APIGroupVersion) -> HTTPResponse:
    serializer, _ = negotiation.negotiate_discovery(request.headers.get("accept"))
    return responses.respond(discovery.api_resource_list(gv), serializer)


async def _openapi_root(request: Request) -> HTTPResponse:
    state: config.State = request.app.ctx.porch
    return response.raw(state.openapi.root, content_type=negotiation.JSON)


async def _openapi_document(request: Request, key: str) -> HTTPResponse:
    state: config.State = request.app.ctx.porch
    found = state.openapi.document(key)
    if found is None:
        raise sanic_exceptions.NotFound()
    body, etag = found
    if request.headers.get("if-none-match") == f'"{etag}"':
        return response.empty(status=304, headers={"ETag": f'"{etag}"'})
    return response.raw(body, content_type=negotiation.JSON, headers={"ETag": f'"{etag}"'})


async def _health(request: Request, endpoint: str, check: str | None = None) -> HTTPResponse:
    return await health.health(request, endpoint, check)


# --- resource routes ------------------------------------------------------------------------


def _collection_handler(scope: handlers.Scope, all_namespaces: bool) -> Handler:
    async def collection(request: Request, namespace: str | None = None) -> HTTPResponse | None:
        ns = None if all_namespaces else namespace
        if request.method == "GET":
            return await handlers.list_or_watch(request, scope, ns)
        if request.method == "POST":
            return await handlers.create(request, scope, ns)
        return await handlers.delete_collection(request, scope, ns)

    return collection


def _watch_handler(scope: handlers.Scope, all_namespaces: bool) -> Handler:
    async def watch_collection(request: Request, namespace: str | None = None) -> None:
        await handlers.serve_watch(request, scope, None if all_namespaces else namespace)

    return watch_collection


def _item_handler(scope: handlers.Scope) -> Handler:
    async def item(request: Request, name: str, namespace: str | None = None) -> HTTPResponse:
        if request.method == "GET":
            return await handlers.get(request, scope, namespace, name)
        if request.method == "PUT":
            return await handlers.update(request, scope, namespace, name)
        if request.method == "PATCH":
            return await handlers.patch_object(request, scope, namespace, name)
        return await handlers.delete(request, scope, namespace, name)

    return item


def _install_resources(routes: _Routes, gv: groups.APIGroupVersion) -> None:
    for resource in gv.top_level():
        storage = resource.storage
        info = resource.info
        scope = handlers.Scope(gv, resource)
        ns_prefix = f"{gv.prefix}/namespaces/<namespace:str>" if info.namespaced else gv.prefix
        collection_methods = []
        if isinstance(storage, (rest.Lister, rest.Watcher)):
            collection_methods.append("GET")
        if isinstance(storage, rest.Creater):
            collection_methods.append("POST")
        if isinstance(storage, rest.CollectionDeleter):
            collection_methods.append("DELETE")
        if collection_methods:
            routes.add(
                f"{ns_prefix}/{info.plural}", collection_methods, _collection_handler(scope, False)
            )
        if info.namespaced and isinstance(storage, (rest.Lister, rest.Watcher)):
            routes.add(f"{gv.prefix}/{info.plural}", ["GET"], _collection_handler(scope, True))
        if isinstance(storage, rest.Watcher):
            routes.add(f"{gv.prefix}/watch/{info.plural}", ["GET"], _watch_handler(scope, True))
            if info.namespaced:
                routes.add(
                    f"{gv.prefix}/watch/namespaces/<namespace:str>/{info.plural}",
                    ["GET"],
                    _watch_handler(scope, False),
                )
        item_methods = _item_methods(storage, delete=True)
        if item_methods:
            routes.add(f"{ns_prefix}/{info.plural}/<name:str>", item_methods, _item_handler(scope))
        for sub in gv.subresources_of(info.plural):
            sub_methods = _item_methods(sub.storage, delete=False)
            if sub_methods:
                routes.add(
                    f"{ns_prefix}/{info.plural}/<name:str>/{sub.subresource}",
                    sub_methods,
                    _item_handler(handlers.Scope(gv, sub)),
                )


def _item_methods(storage: rest.Storage, *, delete: bool) -> list[str]:
    methods = []
    if isinstance(storage, rest.Getter):
        methods.append("GET")
    if isinstance(storage, rest.Updater):
        methods.extend(("PUT", "PATCH"))
    if delete and isinstance(storage, rest.GracefulDeleter):
        methods.append("DELETE")
    return methods


# --- the app ----------------------------------------------------------------------------------


async def _error_handler(request: Request, exc: Exception) -> HTTPResponse:
    """Errors Sanic raises outside our pipeline (no route, wrong method, body too large)."""
    state: config.State | None = getattr(request.app.ctx, "porch", None)
    err = _status_of_exception(exc, "")
    if (
        state is not None
        and err.code in (404, 405)
        and request.path not in _HEALTH_PATHS
        and await _authenticate(request, state) is None
    ):
        # Do not tell anonymous callers which paths exist.
        err = errors.new_unauthorized("Unauthorized")
    _access_log.info("%s %s %d user=- trace_id=-", request.method, request.path, err.code)
    return responses.status_response(err)


def new_app(cfg: config.Config) -> config.App:
    """A Sanic app serving ``cfg.groups`` (module docstring). Serve it with
    :mod:`pkg.apiserver.serving`; each call makes an independent app."""
    # Sanic keeps a process-wide registry of app names; a unique suffix lets tests (and any
    # embedding program) build several apps in one process.
    name = f"{re.sub(r'[^A-Za-z0-9_]', '_', cfg.name)}_{uuid.uuid4().hex[:8]}"
    app = Sanic(name, configure_logging=False)
    # Our pipeline enforces max_request_body_size (routes stream their bodies); Sanic's own
    # cap only bounds how much of a refused body it drains before closing.
    app.config.REQUEST_MAX_SIZE = _DRAIN_FACTOR * cfg.max_request_body_size
    app.config.RESPONSE_TIMEOUT = int(2 * cfg.min_watch_timeout + _WATCH_SLACK_SECONDS)
    app.config.MOTD = False
    app.config.ACCESS_LOG = False
    app.config.NOISY_EXCEPTIONS = False
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.KEEP_ALIVE_TIMEOUT = 120
    # Touch-up rewrites Sanic's own classes in place on first start; a second app in the
    # same process (tests, embedding) then fails to start. It only trims signal dispatch.
    app.config.TOUCHUP = False

    tracer = trace.get_tracer(_INSTRUMENTATION, tracer_provider=cfg.tracer_provider)
    meter = (cfg.meter_provider or metrics.get_meter_provider()).get_meter(_INSTRUMENTATION)
    app.ctx.porch = config.State(
        config=cfg,
        openapi=openapi.OpenAPIV3(cfg.groups),
        tracer=tracer,
        request_duration=meter.create_histogram(
            "apiserver.request.duration",
            unit="s",
            description="Latency of API requests (not watches) by verb, resource and code.",
            explicit_bucket_boundaries_advisory=_LATENCY_BUCKETS,
        ),
        watchers=meter.create_up_down_counter(
            "apiserver.watchers",
            description="Watch streams currently open, by resource.",
        ),
    )

    routes = _Routes(app)
    for endpoint in ("healthz", "livez", "readyz"):
        routes.add(f"/{endpoint}", ["GET"], _health, public=True, endpoint=endpoint)
        routes.add(f"/{endpoint}/<check:str>", ["GET"], _health, public=True, endpoint=endpoint)
    routes.add("/version", ["GET"], _version)
    routes.add("/apis", ["GET"], _apis)
    core = [gv for gv in cfg.groups if not gv.group]
    if core:
        routes.add("/api", ["GET"], _api)
    for name_ in discovery.group_names(cfg.groups):
        routes.add(f"/apis/{name_}", ["GET"], _api_group, group=name_)
    routes.add("/openapi/v3", ["GET"], _openapi_root)
    for gv in cfg.groups:
        routes.add(gv.prefix, ["GET"], _api_resources, gv=gv)
        if gv.openapi_document is not None:
            routes.add(
                f"/openapi/v3{gv.prefix}", ["GET"], _openapi_document, key=gv.prefix.lstrip("/")
            )
        _install_resources(routes, gv)

    app.error_handler.add(Exception, _error_handler)
    return app
