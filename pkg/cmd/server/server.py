"""Running porch-server: wire stores, engine and storages into the API server, serve, stop.

Where this sits: the last step of ``options -> complete -> validate -> config -> run``,
called by :mod:`pkg.cmd.server.main`. This module owns every long-lived object (the
databases, the stores, the engine stack, the Kubernetes clients, the app, the telemetry
providers) and the order of their teardown.

Standalone (``--standalone``): one SQLite database under ``--data-dir`` backs core ``v1``
``secrets`` and ``config.porch.kpt.dev/v1alpha1`` ``repositories`` (+ ``status``), served
over HTTP and read in process by the repository controller and the git credential
resolver (:mod:`pkg.cmd.server.standalone`); the standalone PKI authenticates the admin
kubeconfig written by ``--write-kubeconfig``.

Aggregated (no ``--standalone``): Repository custom resources and Secrets are the
cluster's, read through the ``kubernetes`` client (:mod:`pkg.cmd.server.cluster`,
``--kubeconfig`` or the pod's service account); authorization is delegated to the cluster
(``--authorization-mode=Webhook``).

Both: the engine stack (:mod:`pkg.cmd.server.enginestack`) serves
``porch.kpt.dev/v1alpha1`` through ``pkg.registry.porch``. ``/readyz`` fails until the
Repositories were listed and each had its first sync (or 30 s passed), so that a
restarted server answers with every revision it had.

Shutdown on SIGTERM/SIGINT (exit 0 within 10 s): stop the repository controller and its
syncs, stop serving (``/readyz`` fails, watches end, in-flight requests and writes drain),
then close the engine stack, the clients and the stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import socket
import ssl
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Final

from api.core.v1 import register as corev1register
from api.porch.v1alpha1 import register as porchregister
from api.porchconfig.v1alpha1 import register as configregister
from pkg.apiserver import authorization, groups, serving
from pkg.apiserver import config as apiconfig
from pkg.apiserver import server as apiserver
from pkg.cmd.server import (
    certs,
    cluster,
    delegation,
    enginestack,
    options,
    repositorysource,
    standalone,
    telemetry,
)
from pkg.cmd.server import config as serverconfig
from pkg.registry import porch as porchregistry
from pkg.registry.rest import rest

__all__ = ["StartupError", "follow_cluster_authentication", "group_versions", "run"]

_log = logging.getLogger("porch-server")
_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)
_INITIAL_SYNC_GRACE: Final = 30.0
"""Seconds after which /readyz stops waiting for the first sync of every Repository (a
remote that hangs must not keep the whole API unready)."""
_CONTROLLER_STOP_BUDGET: Final = 1.0
_WRITES_DRAIN_BUDGET: Final = 1.0


class StartupError(Exception):
    """The server cannot start; the message says why and what to change."""


def _server_url(opts: options.ServerOptions) -> str:
    host = opts.bind_address
    if host in ("0.0.0.0", "::"):  # noqa: S104 - reading the option, not binding
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"https://{host}:{opts.secure_port}"


def _bind(opts: options.ServerOptions) -> socket.socket:
    family = socket.AF_INET6 if ":" in opts.bind_address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((opts.bind_address, opts.secure_port or 0))
    except OSError as err:
        sock.close()
        raise StartupError(
            f"cannot listen on {opts.bind_address}:{opts.secure_port}: {err.strerror} "
            "(choose another --secure-port or --bind-address)"
        ) from None
    sock.listen(1024)
    sock.set_inheritable(False)
    return sock


def group_versions(
    standalone_stores: standalone.StandaloneStores | None,
    porch: Mapping[str, rest.Storage],
) -> list[groups.APIGroupVersion]:
    """Every group-version the server serves, in discovery preference order.

    ``porch.kpt.dev/v1alpha1`` (``porch``: the storages of ``pkg.registry.porch`` over the
    engine) always; standalone also core ``v1`` secrets and
    ``config.porch.kpt.dev/v1alpha1`` repositories (+ ``status``).
    """
    gvs = [
        groups.APIGroupVersion(
            porchregister.GROUP,
            porchregister.VERSION,
            dict(porch),
            serverconfig.openapi_document("porch", porchregister.VERSION),
        )
    ]
    if standalone_stores is not None:
        repositories = standalone_stores.repositories
        gvs += [
            groups.APIGroupVersion(
                configregister.GROUP,
                configregister.VERSION,
                {
                    configregister.REPOSITORIES.plural: repositories,
                    f"{configregister.REPOSITORIES.plural}/status": repositories.status(),
                },
                serverconfig.openapi_document("porchconfig", configregister.VERSION),
            ),
            groups.APIGroupVersion(
                corev1register.GROUP,
                corev1register.VERSION,
                {corev1register.SECRETS.plural: standalone_stores.secrets},
                serverconfig.openapi_document("core", corev1register.VERSION),
            ),
        ]
    return gvs


def _kubernetes_client(opts: options.ServerOptions) -> Any:
    """The server's own client of the cluster: ``--kubeconfig`` or in-cluster."""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    configuration = k8s_client.Configuration()
    try:
        if opts.kubeconfig is not None:
            k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(opts.kubeconfig), client_configuration=configuration
            )
        else:
            k8s_config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration
            )
    except k8s_config.ConfigException as err:
        raise StartupError(
            f"aggregated mode needs a cluster: pass --kubeconfig or run in a pod ({err}); "
            "use --standalone to run without Kubernetes"
        ) from None
    return k8s_client.ApiClient(configuration)


def _authorizer(opts: options.ServerOptions, kube_client: Any | None) -> authorization.Authorizer:
    if opts.authorization_mode == "Webhook":
        if kube_client is None:
            raise StartupError(
                "--authorization-mode=Webhook needs a cluster: pass --kubeconfig or run in a pod"
            )
        return authorization.WebhookAuthorizer(authorization.kubernetes_review(kube_client))
    return authorization.AlwaysAllow()


def _announce(cfg: serverconfig.Config, url: str) -> None:
    opts = cfg.options
    mode = f"standalone, data in {opts.data_dir}" if opts.standalone else "aggregated"
    lines = [f"porch-server is serving on {url} ({mode})"]
    if opts.write_kubeconfig is not None:
        lines += [
            "Point kubectl (or the kubernetes Python client) at it with:",
            f"  export KUBECONFIG={opts.write_kubeconfig}",
            "  kubectl api-resources --api-group=porch.kpt.dev",
        ]
    print("\n".join(lines), flush=True)


@contextlib.asynccontextmanager
async def _repository_apis(
    opts: options.ServerOptions,
) -> AsyncIterator[
    tuple[
        standalone.StandaloneStores | None,
        repositorysource.RepositoryAPI,
        repositorysource.SecretReader,
    ]
]:
    """The standalone stores (None aggregated), and where Repositories and Secrets are read."""
    if opts.standalone:
        assert opts.data_dir is not None
        try:
            async with standalone.open_stores(
                opts.data_dir, opts.runtime.local_repository_roots
            ) as stores:
                yield (
                    stores,
                    standalone.StoreRepositories(stores.repositories),
                    standalone.StoreSecrets(stores.secrets),
                )
        except standalone.StoreError as err:
            raise StartupError(str(err)) from None
        return
    try:
        api_client = await cluster.connect(opts.kubeconfig)
    except cluster.ClusterError as err:
        raise StartupError(str(err)) from None
    try:
        yield None, cluster.ClusterRepositories(api_client), cluster.ClusterSecrets(api_client)
    finally:
        await api_client.close()  # type: ignore[no-untyped-call]


def _initial_sync_check(
    stack: enginestack.EngineStack,
) -> tuple[apiconfig.HealthCheck, asyncio.Future[None]]:
    """The readiness check of the first sync (module doc) and the task to cancel at exit."""
    synced = asyncio.ensure_future(stack.controller.wait_until_synced())
    started = time.monotonic()

    async def check() -> None:
        if not synced.done() and time.monotonic() - started < _INITIAL_SYNC_GRACE:
            raise RuntimeError("repositories are being synced for the first time")

    return apiconfig.HealthCheck("repositories-synced", check), synced


def follow_cluster_authentication(
    cfg: serverconfig.Config,
    read: Callable[[], delegation.ClusterAuthentication],
    app: apiconfig.App,
    tls: ssl.SSLContext,
    *,
    interval: float = delegation.REFRESH_INTERVAL,
) -> asyncio.Task[None]:
    """Keep the CAs and front-proxy settings of ``app`` and its TLS context as the cluster
    publishes them (``read``: :func:`delegation.lookup`); a task, cancel it to stop."""

    def changed(found: delegation.ClusterAuthentication) -> None:
        authenticator = serverconfig.with_cluster_authentication(cfg, found)
        serving.trust_client_cas(tls, authenticator.trusted_cas)
        apiserver.set_authenticator(app, authenticator)

    return asyncio.get_running_loop().create_task(
        delegation.follow(read, cfg.cluster_authentication, changed, interval=interval),
        name="follow-cluster-authentication",
    )


async def _serve(
    cfg: serverconfig.Config, otel: telemetry.Telemetry, kube_client: Any | None
) -> None:
    opts = cfg.options
    async with contextlib.AsyncExitStack() as exits:
        stores, repository_api, secret_reader = await exits.enter_async_context(
            _repository_apis(opts)
        )
        source = repositorysource.FinalizingRepositorySource(repository_api)
        # One reader of Secrets for credentials and (--use-user-cabundle) CA bundles.
        resolver = repositorysource.SecretCredentialResolver(secret_reader)
        try:
            stack = await exits.enter_async_context(
                enginestack.open_engine(
                    opts,
                    function_runtime=cfg.function_runtime,
                    source=source,
                    resolver=resolver,
                    ca_bundles=resolver,
                    drain_timeout=_WRITES_DRAIN_BUDGET,
                )
            )
        except enginestack.EngineStartError as err:
            raise StartupError(str(err)) from None
        synced_check, synced = _initial_sync_check(stack)
        exits.callback(synced.cancel)
        app = apiserver.new_app(
            apiconfig.Config(
                groups=group_versions(stores, porchregistry.new_storages(stack.engine)),
                authenticator=cfg.authenticator,
                authorizer=_authorizer(opts, kube_client),
                max_request_body_size=opts.max_request_body_size,
                health_checks=[synced_check],
                tracer_provider=otel.tracer_provider,
                meter_provider=otel.meter_provider,
            )
        )
        tls = serving.tls_context(
            cfg.serving.cert_file, cfg.serving.key_file, cfg.authenticator.trusted_cas
        )
        sock = _bind(opts)
        exits.callback(sock.close)
        server = await serving.start(app, sock, tls)
        if cfg.follows_cluster and kube_client is not None:
            read = functools.partial(delegation.lookup, kube_client)
            exits.callback(follow_cluster_authentication(cfg, read, app, tls).cancel)
        url = _server_url(opts)
        if opts.write_kubeconfig is not None and cfg.standalone_pki is not None:
            certs.write_kubeconfig(
                opts.write_kubeconfig, url, cfg.standalone_pki.ca.cert, cfg.standalone_pki.admin
            )
        _announce(cfg, url)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in _SIGNALS:
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            for signum in _SIGNALS:
                loop.remove_signal_handler(signum)
        _log.info("shutting down: stopping syncs, draining requests and ending watches")
        # Syncs first: nothing should start a fetch or write a status while we drain.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stack.controller.stop(), _CONTROLLER_STOP_BUDGET)
        if stores is not None:
            stores.close_watches()
        await serving.shutdown(
            server,
            app,
            drain_timeout=opts.shutdown_timeout - _CONTROLLER_STOP_BUDGET - _WRITES_DRAIN_BUDGET,
        )


def run(opts: options.ServerOptions) -> int:
    """Complete, validate, configure and serve until SIGTERM/SIGINT; the exit code."""
    completed = opts.complete()
    problems = completed.validate()
    if problems:
        for problem in problems:
            print(f"porch-server: {problem}", file=sys.stderr)
        return 2
    kube_client: Any | None = None
    try:
        # Standalone servers need no cluster, but may delegate authorization to one.
        if not completed.standalone or completed.kubeconfig is not None:
            kube_client = _kubernetes_client(completed)
        cfg = serverconfig.new_config(completed, kube_client)
    except (StartupError, serverconfig.ConfigError) as err:
        print(f"porch-server: {err}", file=sys.stderr)
        _close(kube_client)
        return 1
    try:
        otel = telemetry.setup()
    except telemetry.TelemetryError as err:
        print(f"porch-server: {err}", file=sys.stderr)
        _close(kube_client)
        return 2
    try:
        _run_loop(_serve(cfg, otel, kube_client))
    except StartupError as err:
        print(f"porch-server: {err}", file=sys.stderr)
        return 1
    finally:
        otel.shutdown()
        _close(kube_client)
    return 0


def _close(kube_client: Any | None) -> None:
    if kube_client is not None:
        kube_client.close()


def _run_loop(main: Any) -> None:
    import uvloop

    # uvloop is Sanic's default loop and what its timings were measured with.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)
