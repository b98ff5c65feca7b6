"""Render glue: run the package's kpt pipeline (`pkg.kpt.render`) for the engine.

Where it sits: the engine (`pkg.engine`) calls `render_package` on every create, every
PackageRevisionResources update and every update of a Draft (porch.md §3.6). Like Porch's
`renderPackageMutation`, the render runs on the top-most directory holding a Kptfile (the
package root for every package Porch writes); without any Kptfile it is skipped. Rendering is
CPU-bound and synchronous, so it runs on a worker thread (`asyncio.to_thread`) and never blocks
the event loop.

The outcome carries the rendered files (on failure: what kpt left, which is the input unless
the Kptfile says `kpt.dev/save-on-render-failure: "true"`, plus the root Kptfile's Rendered
condition), the error text ("" on success) and the `RenderStatus` Porch returns to clients:
set when the render failed or any function reported a result.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping

from opentelemetry import trace

from api.kptfile import v1 as kptfilev1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.kpt import pkgio
from pkg.kpt import render as kptrender
from pkg.kpt.fn import runtime as fnruntime

__all__ = ["RenderOutcome", "render_package"]

_log = logging.getLogger(__name__)
tracer = trace.get_tracer("task")


@dataclasses.dataclass(frozen=True, slots=True)
class RenderOutcome:
    """What a render produced; `error` is kpt's error text, "" when the render succeeded."""

    files: dict[str, str]
    error: str
    render_status: porchv1alpha1.RenderStatus | None

    @property
    def failed(self) -> bool:
        return bool(self.error)


def _top_package(files: Mapping[str, str]) -> str | None:
    dirs = pkgio.package_dirs(files)
    if not dirs:
        return None
    return min(dirs, key=lambda d: (0 if d == "" else d.count("/") + 1, d))


def _render_sync(
    files: Mapping[str, str], runtime: fnruntime.FunctionRuntime, default_image_prefix: str
) -> RenderOutcome:
    top = _top_package(files)
    if top is None:
        _log.warning("skipping render as no package was found")
        return RenderOutcome(files=dict(files), error="", render_status=None)
    prefix = f"{top}/" if top else ""
    inside = {p[len(prefix) :]: t for p, t in files.items() if p.startswith(prefix)}
    result = kptrender.render(inside, runtime=runtime, default_image_prefix=default_image_prefix)
    out = {p: t for p, t in files.items() if not p.startswith(prefix)}
    out.update({prefix + p: t for p, t in result.files.items()})
    status: porchv1alpha1.RenderStatus | None = None
    items = result.result_list.get("items") or []
    if result.error or items:
        status = porchv1alpha1.RenderStatus(
            result=kptfilev1.FunctionResultList.model_validate(result.result_list),
            error=result.error,
        )
    return RenderOutcome(files=out, error=result.error, render_status=status)


async def render_package(
    files: Mapping[str, str],
    *,
    runtime: fnruntime.FunctionRuntime,
    default_image_prefix: str = fnruntime.DEFAULT_IMAGE_PREFIX,
) -> RenderOutcome:
    """Render `files` (path -> text) off the event loop; never raises for a failing pipeline."""
    with tracer.start_as_current_span(
        "renderPackageMutation::apply", attributes={"files": len(files)}
    ):
        return await asyncio.to_thread(_render_sync, dict(files), runtime, default_image_prefix)
