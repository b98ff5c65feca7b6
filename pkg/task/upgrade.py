"""The `upgrade` task: merge a new upstream revision into a local package revision.

Where it sits: the engine (`pkg.engine`) resolves the three revisions named by the task
(`oldUpstreamRef`, `newUpstreamRef`, `localPackageRevisionRef`) through the cache, checks that
they are published (porch.md §3.4) and calls `upgrade_package`; the result is then rendered.
What Porch's `upgradePackageMutation` does: kpt's package updater
(`pkg.kpt.update.update`, strategy `resource-merge` by default, or `fast-forward`,
`force-delete-replace`, `copy-merge`) with the old upstream as the common ancestor, then the
Kptfile gets the new upstream's `upstream`/`upstreamLock` (its name is kept) and every resource
its merge-key comment. Neither the new upstream nor the local revision may be a placeholder.
"""

from __future__ import annotations

import logging

from opentelemetry import trace

from pkg.kpt import update
from pkg.repository import errors
from pkg.repository import repository as repo_api
from pkg.task import clone, taskerrors

__all__ = ["upgrade_package"]

_log = logging.getLogger(__name__)
tracer = trace.get_tracer("task")

_FIELD = "spec.tasks[0].upgrade"


async def upgrade_package(
    old_upstream: repo_api.PackageRevision,
    new_upstream: repo_api.PackageRevision,
    local: repo_api.PackageRevision,
    *,
    strategy: str | None,
    package_name: str,
) -> dict[str, str]:
    """The local package upgraded from `old_upstream` to `new_upstream`.

    Raises `InvalidFieldError` for a placeholder new upstream or local revision and
    `InvalidPackageError` when the packages cannot be merged (e.g. fast-forward over local
    changes), with Porch's "error updating the package ..." message.
    """
    with tracer.start_as_current_span(
        "upgradePackageMutation::apply",
        attributes={"package": package_name, "upstream": str(new_upstream.name)},
    ):
        if new_upstream.key.is_placeholder:
            raise taskerrors.InvalidFieldError(
                f"{_FIELD}.newUpstreamRef.name",
                new_upstream.name,
                "target upstream revision may not be the placeholder package revision "
                f"{new_upstream.key.repo_key.name}/{new_upstream.name}",
            )
        if local.key.is_placeholder:
            raise taskerrors.InvalidFieldError(
                f"{_FIELD}.localPackageRevisionRef.name",
                local.name,
                "source revision may not be the placeholder package revision "
                f"{local.key.repo_key.name}/{local.name}",
            )
        original = await old_upstream.resources()
        upstream = await new_upstream.resources()
        local_files = await local.resources()
        _log.info(
            "performing pkg upgrade operation for pkg %s resource counts local[%d] "
            "original[%d] upstream[%d]",
            package_name,
            len(local_files),
            len(original),
            len(upstream),
        )
        try:
            merged = update.update(original, upstream, local_files, strategy=strategy or "")
        except update.UpdateError as err:
            raise errors.InvalidPackageError(
                f"error updating the package {package_name!r} to revision "
                f"{new_upstream.name!r}: {err}"
            ) from err
        lock = new_upstream.self_lock.git
        if lock is None:
            raise errors.InvalidPackageError(
                f"error fetching the resources for package revision {new_upstream.name!r}"
            )
        try:
            merged = clone.update_kptfile_upstream(merged, "", lock)
        except errors.InvalidPackageError as err:
            raise errors.InvalidPackageError(
                f"failed to apply upstream lock to package {package_name!r}: {err}"
            ) from err
        try:
            return update.add_merge_comments(merged)
        except Exception as err:  # Porch: best effort, logged and ignored.
            _log.info("failed to add merge key comments: %s", err)
            return merged
