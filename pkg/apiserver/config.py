"""The API server's configuration and its per-app runtime state.

Where this sits: ``pkg.cmd.server`` fills a :class:`Config` (what to serve, how to
authenticate and authorize, limits, version, telemetry providers) and passes it to
:func:`pkg.apiserver.server.new_app`; the app keeps a :class:`State` in ``app.ctx.porch``
that the handlers read. There are no module-level singletons: two apps in one process
(as in tests) share nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Final, TypeAlias

from opentelemetry import metrics, trace
from sanic import Sanic
from sanic.config import Config as SanicConfig

from pkg.apimachinery import errors
from pkg.apiserver import authentication, authorization, groups, openapi
from pkg.registry.rest import rest

__all__ = [
    "DEFAULT_MAX_REQUEST_BODY_SIZE",
    "DEFAULT_MIN_WATCH_TIMEOUT_SECONDS",
    "App",
    "Config",
    "HealthCheck",
    "State",
    "VersionInfo",
]

DEFAULT_MAX_REQUEST_BODY_SIZE: Final = 6 * 1024 * 1024
"""Bytes; larger request bodies get 413 (Porch's ``--max-request-body-size`` default)."""
DEFAULT_MIN_WATCH_TIMEOUT_SECONDS: Final = 1800.0
"""A watch without ``timeoutSeconds`` lasts between this and twice this (kube's 30-60 min)."""

_log = logging.getLogger(__name__)

App: TypeAlias = Sanic[SanicConfig, SimpleNamespace]
"""The type of the apps :func:`pkg.apiserver.server.new_app` builds."""


@dataclass(frozen=True)
class VersionInfo:
    """What ``/version`` reports (``k8s.io/apimachinery/pkg/version.Info``).

    The minor version picks which kubectl the gcloud dispatcher runs against us
    (1.27-1.33 are bundled); 32 is a current one that asks for aggregated discovery v2.
    """

    major: str = "1"
    minor: str = "32"
    git_version: str = "v1.32.0"
    git_commit: str = "0" * 40
    git_tree_state: str = "clean"
    build_date: str = "2025-01-01T00:00:00Z"
    go_version: str = "go1.23.0"
    compiler: str = "gc"
    platform: str = "linux/amd64"

    def as_dict(self) -> dict[str, str]:
        return {
            "major": self.major,
            "minor": self.minor,
            "gitVersion": self.git_version,
            "gitCommit": self.git_commit,
            "gitTreeState": self.git_tree_state,
            "buildDate": self.build_date,
            "goVersion": self.go_version,
            "compiler": self.compiler,
            "platform": self.platform,
        }


@dataclass(frozen=True)
class HealthCheck:
    """A named check of ``/readyz`` (and ``/healthz``, ``/livez`` when ``liveness``).

    ``check`` returns None when healthy and raises (any exception) when not; its message is
    logged, never sent (kube's ``reason withheld``).
    """

    name: str
    check: Callable[[], Awaitable[None]]
    liveness: bool = False


@dataclass(frozen=True)
class Config:
    """Everything :func:`pkg.apiserver.server.new_app` needs (module docstring)."""

    groups: Sequence[groups.APIGroupVersion]
    authenticator: authentication.Authenticator
    authorizer: authorization.Authorizer = field(default_factory=authorization.AlwaysAllow)
    max_request_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE
    request_timeout: float = rest.DEFAULT_REQUEST_BUDGET_SECONDS
    min_watch_timeout: float = DEFAULT_MIN_WATCH_TIMEOUT_SECONDS
    version: VersionInfo = field(default_factory=VersionInfo)
    health_checks: Sequence[HealthCheck] = ()
    tracer_provider: trace.TracerProvider | None = None
    meter_provider: metrics.MeterProvider | None = None
    name: str = "porch-server"


@dataclass
class State:
    """Per-app runtime state (``app.ctx.porch``)."""

    config: Config
    openapi: openapi.OpenAPIV3
    tracer: trace.Tracer
    request_duration: metrics.Histogram
    watchers: metrics.UpDownCounter
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    authenticator: authentication.Authenticator | None = None
    """The chain in force: ``config.authenticator`` until :func:`pkg.apiserver.server.
    set_authenticator` replaces it (the cluster's published CAs changed)."""

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Let ``task`` finish in the background (a write that outlived its request's
        deadline); shutdown waits for these before the process exits."""
        self.background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.background.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        # A StatusError is an ordinary refusal nobody was left to hear; anything else is a bug.
        if isinstance(exc, errors.StatusError):
            _log.info("request work ended after its client left: %s", exc)
        else:
            _log.error("request work failed after its client left", exc_info=exc)

    async def drain_background(self, within: float) -> None:
        """Wait up to ``within`` seconds for background work (shutdown)."""
        if not self.background:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self.background, return_exceptions=True), within)
