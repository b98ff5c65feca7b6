"""``/healthz``, ``/livez`` and ``/readyz``: plain-text health for probes and operators.

Where this sits: :mod:`pkg.apiserver.server` routes the three endpoints here; they are
served to anonymous callers (kubelet probes send no credentials) and never authorized
(kube's ``AlwaysAllowPaths``). The output is kube-apiserver's
(kubernetes-api-contract.md §3.12): ``ok``; with ``?verbose`` one ``[+]<check> ok`` line
per check and ``<endpoint> check passed``; on failure HTTP 500 with the full list,
``[-]<check> failed: reason withheld`` (the reason goes to the log, not to the caller)
and ``<endpoint> check failed``. ``?exclude=<check>`` skips a check.

Checks: ``ping`` everywhere; ``/readyz`` also ``shutdown`` (failing from the moment the
server starts draining, so load balancers stop sending traffic) and every configured
:class:`~pkg.apiserver.config.HealthCheck`; ``/livez`` and ``/healthz`` the checks
marked ``liveness``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from sanic import Request, response
from sanic.response import HTTPResponse

from pkg.apiserver import config, params

__all__ = ["health"]

_log = logging.getLogger(__name__)

Check = tuple[str, Callable[[], Awaitable[None]]]


async def _ping() -> None:
    return None


def _checks(state: config.State, endpoint: str) -> list[Check]:
    checks: list[Check] = [("ping", _ping)]
    if endpoint == "readyz":

        async def shutdown() -> None:
            if state.stopping.is_set():
                raise RuntimeError("the server is shutting down")

        checks.append(("shutdown", shutdown))
    for check in state.config.health_checks:
        if endpoint == "readyz" or check.liveness:
            checks.append((check.name, check.check))
    return checks


async def health(request: Request, endpoint: str, only: str | None = None) -> HTTPResponse:
    """Run the checks of ``endpoint`` (or the one named ``only``) and render the result."""
    state: config.State = request.app.ctx.porch
    query: params.Query = request.ctx.query
    verbose = "verbose" in query  # kube: the parameter's presence, whatever its value
    excluded = set(query.get("exclude", ()))
    checks: Sequence[Check] = [
        c
        for c in _checks(state, endpoint)
        if c[0] not in excluded and (only is None or c[0] == only)
    ]
    if only is not None and not checks:
        return response.text("not found\n", status=404)
    lines: list[str] = []
    failed = False
    for name, check in checks:
        try:
            await check()
        except Exception as err:
            failed = True
            _log.warning("%s check %s failed: %s", endpoint, name, err)
            lines.append(f"[-]{name} failed: reason withheld")
        else:
            lines.append(f"[+]{name} ok")
    headers = {"X-Content-Type-Options": "nosniff"}
    content_type = "text/plain; charset=utf-8"
    if failed:
        body = "\n".join([*lines, f"{endpoint} check failed"]) + "\n"
        return response.text(body, status=500, headers=headers, content_type=content_type)
    if verbose:
        body = "\n".join([*lines, f"{endpoint} check passed"]) + "\n"
        return response.text(body, headers=headers, content_type=content_type)
    return response.text("ok", headers=headers, content_type=content_type)
