"""Running porch-server: wire storages into the API server, serve, shut down on SIGTERM.

Where this sits: the last step of ``options -> complete -> validate -> config -> run``,
called by :mod:`pkg.cmd.server.main`. This module owns every long-lived object (the
database, the storages, the app, the telemetry providers) and their order of teardown.

Standalone (``--standalone``): one SQLite database under ``--data-dir`` backs core ``v1``
``secrets`` and ``config.porch.kpt.dev/v1alpha1`` ``repositories`` (+ ``status``); the
standalone PKI authenticates the admin kubeconfig written by ``--write-kubeconfig``.

Aggregated (no ``--standalone``): the server's own Kubernetes client comes from
``--kubeconfig`` or the in-cluster service account; authorization is delegated to the
cluster (``--authorization-mode=Webhook``). Repositories and Secrets are the cluster's:
they are read through that client by the components that need them (repository
registration, credential resolution), which are wired here when they exist; until then
an aggregated server serves discovery, OpenAPI and health only.

The porch.kpt.dev group joins :func:`group_versions` once its storages and the engine
exist: each group-version is one :class:`pkg.apiserver.groups.APIGroupVersion`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final

from api.core import v1 as corev1
from api.core.v1 import register as corev1register
from api.porchconfig import v1alpha1 as configv1alpha1
from api.porchconfig.v1alpha1 import register as configregister
from pkg.apiserver import authorization, groups, serving
from pkg.apiserver import config as apiconfig
from pkg.apiserver import server as apiserver
from pkg.cmd.server import certs, options, telemetry
from pkg.cmd.server import config as serverconfig
from pkg.registry.core.secret import storage as secretstorage
from pkg.registry.generic import sqlite, store
from pkg.registry.porchconfig.repository import storage as repositorystorage

__all__ = ["StandaloneStores", "StartupError", "group_versions", "run"]

_log = logging.getLogger("porch-server")
_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)


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


@dataclass(frozen=True)
class StandaloneStores:
    """The embedded database of a standalone server and the stores it backs."""

    db: sqlite.Database
    secrets: store.Store[corev1.Secret]
    repositories: store.Store[configv1alpha1.Repository]


@contextlib.asynccontextmanager
async def _standalone_stores(opts: options.ServerOptions) -> AsyncIterator[StandaloneStores]:
    assert opts.data_dir is not None
    opts.data_dir.mkdir(parents=True, exist_ok=True)
    for root in opts.runtime.local_repository_roots:
        root.mkdir(parents=True, exist_ok=True)
    try:
        db = await sqlite.Database.open(opts.data_dir / sqlite.DEFAULT_FILE_NAME)
    except sqlite.DatabaseError as err:
        raise StartupError(f"--data-dir {opts.data_dir}: {err}") from None
    try:
        yield StandaloneStores(
            db=db,
            secrets=secretstorage.new_storage(db),
            repositories=repositorystorage.new_storage(db, opts.runtime.local_repository_roots),
        )
    finally:
        await db.close()


def group_versions(standalone: StandaloneStores | None) -> list[groups.APIGroupVersion]:
    """Every group-version the server serves, in discovery preference order.

    Standalone: core ``v1`` secrets and ``config.porch.kpt.dev/v1alpha1`` repositories.
    ``porch.kpt.dev/v1alpha1`` (package revisions, resources, packages over the engine,
    which reads ``ServerOptions.runtime``) is added here when its storages exist.
    """
    gvs: list[groups.APIGroupVersion] = []
    if standalone is not None:
        repositories = standalone.repositories
        gvs += [
            groups.APIGroupVersion(
                corev1register.GROUP,
                corev1register.VERSION,
                {corev1register.SECRETS.plural: standalone.secrets},
                serverconfig.openapi_document("core", corev1register.VERSION),
            ),
            groups.APIGroupVersion(
                configregister.GROUP,
                configregister.VERSION,
                {
                    configregister.REPOSITORIES.plural: repositories,
                    f"{configregister.REPOSITORIES.plural}/status": repositories.status(),
                },
                serverconfig.openapi_document("porchconfig", configregister.VERSION),
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
        ]
    print("\n".join(lines), flush=True)


async def _serve(cfg: serverconfig.Config, otel: telemetry.Telemetry) -> None:
    opts = cfg.options
    async with contextlib.AsyncExitStack() as stack:
        kube_client: Any | None = None
        standalone: StandaloneStores | None = None
        if opts.standalone:
            standalone = await stack.enter_async_context(_standalone_stores(opts))
        # Standalone servers need no cluster, but may delegate authorization to one.
        if not opts.standalone or opts.kubeconfig is not None:
            kube_client = _kubernetes_client(opts)
            stack.callback(kube_client.close)
        app = apiserver.new_app(
            apiconfig.Config(
                groups=group_versions(standalone),
                authenticator=cfg.authenticator,
                authorizer=_authorizer(opts, kube_client),
                max_request_body_size=opts.max_request_body_size,
                tracer_provider=otel.tracer_provider,
                meter_provider=otel.meter_provider,
            )
        )
        tls = serving.tls_context(
            cfg.serving.cert_file, cfg.serving.key_file, cfg.authenticator.trusted_cas
        )
        sock = _bind(opts)
        stack.callback(sock.close)
        server = await serving.start(app, sock, tls)
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
        _log.info("shutting down: draining requests and ending watches")
        await serving.shutdown(server, app, drain_timeout=opts.shutdown_timeout - 2.0)


def run(opts: options.ServerOptions) -> int:
    """Complete, validate, configure and serve until SIGTERM/SIGINT; the exit code."""
    completed = opts.complete()
    problems = completed.validate()
    if problems:
        for problem in problems:
            print(f"porch-server: {problem}", file=sys.stderr)
        return 2
    try:
        cfg = serverconfig.new_config(completed)
    except serverconfig.ConfigError as err:
        print(f"porch-server: {err}", file=sys.stderr)
        return 1
    try:
        otel = telemetry.setup()
    except telemetry.TelemetryError as err:
        print(f"porch-server: {err}", file=sys.stderr)
        return 2
    try:
        _run_loop(_serve(cfg, otel))
    except StartupError as err:
        print(f"porch-server: {err}", file=sys.stderr)
        return 1
    finally:
        otel.shutdown()
    return 0


def _run_loop(main: Any) -> None:
    import uvloop

    # uvloop is Sanic's default loop and what its timings were measured with.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)
