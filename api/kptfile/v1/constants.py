"""Well-known values of kpt.dev/v1: Kptfile conditions, annotations and enum types.

Written by kpt's render (the ``Rendered`` condition) and read by the renderer and Porch's
package code (the annotations). The generated models type enum fields as inline
``Literal``s; the aliases here name those types (``constants_test.py`` checks they match).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

UpdateStrategy = Literal["resource-merge", "fast-forward", "force-delete-replace", "copy-merge"]
"""How a package is updated from upstream (Kptfile ``upstream.updateStrategy``)."""

UPDATE_STRATEGIES: Final[tuple[UpdateStrategy, ...]] = get_args(UpdateStrategy)

Severity = Literal["error", "warning", "info"]
"""Severity of a function result item; an absent severity is shown as info."""

SEVERITIES: Final[tuple[Severity, ...]] = get_args(Severity)

ConditionStatus = Literal["True", "False", "Unknown"]
"""Status of a Kptfile condition (``status.conditions[].status``)."""

ORIGIN_GIT: Final = "git"
"""``upstream.type`` / ``upstreamLock.type`` of a package fetched from git."""

CONDITION_RENDERED: Final = "Rendered"
"""Condition kpt writes into the root Kptfile after every in-place render."""

REASON_RENDER_SUCCESS: Final = "RenderSuccess"
REASON_RENDER_FAILED: Final = "RenderFailed"

SAVE_ON_RENDER_FAILURE_ANNOTATION: Final = "kpt.dev/save-on-render-failure"
"""With value ``"true"`` on the root Kptfile, a failed render still writes the resources as
they were after the last successful step."""

BFS_RENDER_ANNOTATION: Final = "kpt.dev/bfs-rendering"
"""With value ``"true"`` on the root Kptfile, packages render top-down (breadth first)."""

LOCAL_CONFIG_ANNOTATION: Final = "config.kubernetes.io/local-config"
"""With value ``"true"``, a resource is package configuration, not applied to a cluster."""
