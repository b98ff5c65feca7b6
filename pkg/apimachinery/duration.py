"""Durations as Kubernetes prints them (k8s.io/apimachinery's ``pkg/util/duration``).

Where this sits: the ``Age`` column of server-side Tables
(:mod:`pkg.registry.rest.tableconvertor`) and of the tables the client builds itself
(:mod:`pkg.client.resources`) both print an object's age through :func:`human_duration`,
so ``kubectl get`` and ``porchctl`` show the same text for it.
"""

from __future__ import annotations

import datetime

__all__ = ["human_duration"]


def human_duration(d: datetime.timedelta) -> str:
    """A duration as Go's ``duration.HumanDuration`` writes it: ``45s``, ``5m``, ``3h25m``,
    ``2d5h``, ``3y``."""
    seconds = int(d.total_seconds())
    # Up to 2 seconds in the future is clock skew between machines: read it as now.
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"
