"""Secure serving: the TLS context, starting the app on a socket, and graceful shutdown.

Where this sits: ``pkg.cmd.server`` calls :func:`tls_context`, binds the socket, then
:func:`start`, waits for SIGTERM/SIGINT and calls :func:`shutdown`; the tests do the same
through :func:`pkg.apiserver.apiservertesting.serve`. We drive Sanic's asyncio server
ourselves rather than ``app.run`` so shutdown has exactly the order porch-server
promises (exit within 10 s of SIGTERM):

1. ``/readyz`` starts failing and every watch stream ends cleanly (``State.stopping``);
2. the listening socket closes: no new connections;
3. in-flight requests (writes) get ``drain_timeout`` seconds to finish; idle keep-alive
   connections are closed as soon as they are idle, the rest aborted after the timeout;
4. storage work that outlived its request's deadline gets the remaining time.

TLS (kubernetes-api-contract.md §2, §8 pitfall 11): HTTP/1.1 only (no ``h2`` in ALPN), a
client certificate is *optional* (probes and bearer-token clients send none), and every
CA a client certificate may come from is loaded (client CA and front-proxy CA alike),
because Python's ``ssl`` aborts the handshake for a certificate it cannot verify;
:mod:`pkg.apiserver.authentication` then attributes the certificate to its CA.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sanic import Sanic

from pkg.apiserver import config

__all__ = ["shutdown", "start", "tls_context", "trust_client_cas"]


def tls_context(
    cert_file: Path, key_file: Path, client_cas: Sequence[x509.Certificate]
) -> ssl.SSLContext:
    """The server's TLS context: its own certificate; client certificates optional, from
    ``client_cas``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert_file), str(key_file))
    context.set_alpn_protocols(["http/1.1"])
    context.verify_mode = ssl.CERT_NONE
    trust_client_cas(context, client_cas)
    return context


def trust_client_cas(context: ssl.SSLContext, client_cas: Sequence[x509.Certificate]) -> None:
    """Let a live TLS context request and verify client certificates from ``client_cas`` too
    (new connections; Python cannot drop a CA from a context, so one that is no longer
    trusted still completes the handshake, and the authenticator, which checks the issuer
    itself, refuses its certificates)."""
    if not client_cas:
        return
    pem = b"".join(ca.public_bytes(serialization.Encoding.PEM) for ca in client_cas)
    context.load_verify_locations(cadata=pem.decode("ascii"))
    context.verify_mode = ssl.CERT_OPTIONAL


async def start(app: config.App, sock: socket.socket, ssl_context: ssl.SSLContext | None) -> Any:
    """Start serving ``app`` on the bound, listening ``sock``; returns Sanic's AsyncioServer."""
    # Sanic's AsyncioServer is untyped; it is handled as Any here and in shutdown().
    server: Any = await app.create_server(sock=sock, ssl=ssl_context, return_asyncio_server=True)
    if server is None:  # only without return_asyncio_server
        raise RuntimeError("sanic did not return a server")
    await server.startup()
    await server.before_start()
    await server.start_serving()
    await server.after_start()
    return server


async def shutdown(server: Any, app: config.App, drain_timeout: float) -> None:
    """Stop serving in the order of the module docstring, within about ``drain_timeout``."""
    state: config.State = app.ctx.porch
    deadline = time.monotonic() + drain_timeout
    state.stopping.set()
    await server.before_stop()
    if server.server is not None:
        server.server.close()
    connections = server.connections
    while connections and time.monotonic() < deadline:
        for conn in list(connections):
            conn.close_if_idle()
        if not connections:
            break
        await asyncio.sleep(0.05)
    for conn in list(connections):
        conn.abort()
    await state.drain_background(max(0.0, deadline - time.monotonic()))
    await server.after_stop()
    Sanic.unregister_app(app)
