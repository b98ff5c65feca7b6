"""The `edit` task ("copy"): a new revision of a package from one of its published revisions.

Where it sits: the engine (`pkg.engine`) resolves `spec.tasks[0].edit.sourceRef.name` through
the cache and calls `edit_from_revision`; the copied files are then rendered like any new
revision. Porch's `editPackageMutation` rules (porch.md §3.4): the source must belong to the same
repository and package, must not be the placeholder revision, and must be published.
"""

from __future__ import annotations

from opentelemetry import trace

from pkg.repository import repository as repo_api
from pkg.task import taskerrors

__all__ = ["edit_from_revision"]

tracer = trace.get_tracer("task")

_SOURCE_FIELD = "spec.tasks[0].edit.sourceRef.name"


async def edit_from_revision(
    source: repo_api.PackageRevision, *, repository: str, package_path: str
) -> dict[str, str]:
    """The files of `source`, to become a new revision of `repository`/`package_path`.

    Raises `InvalidFieldError` (field `spec.tasks[0].edit.sourceRef.name`) with Porch's
    messages when the source is another package's, the placeholder, or not published.
    """
    with tracer.start_as_current_span(
        "editPackageMutation::apply",
        attributes={"package": package_path, "source": str(source.name)},
    ):
        key = source.key
        if key.repo_key.name != repository or key.pkg_key.package_path != package_path:
            raise taskerrors.InvalidFieldError(
                _SOURCE_FIELD,
                source.name,
                f"source revision must be from same package {repository}/{package_path}",
            )
        if key.is_placeholder:
            raise taskerrors.InvalidFieldError(
                _SOURCE_FIELD,
                source.name,
                "source revision may not be the placeholder package revision "
                f"{key.repo_key.name}/{source.name}",
            )
        if not source.lifecycle.is_published:
            raise taskerrors.InvalidFieldError(
                _SOURCE_FIELD, source.name, "source revision must be published"
            )
        return await source.resources()
