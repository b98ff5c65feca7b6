"""Errors of the CaD engine, each carrying what the registry needs to choose the HTTP status.

Where it sits: raised by `pkg.engine.engine.CaDEngine` (and re-raised from the task handlers
and the cache); the registry (`pkg/registry/porch/interpret.py`) maps them to Kubernetes
`Status` objects. Porch flattens most engine failures into 500 InternalError; porch-py keeps
Porch's messages but tells the registry which status fits. Every class extends a domain error
of `pkg.repository.errors`, so a registry that only knows those still maps them sensibly:

    errors.RepositoryError
    ├── BadRequestError             400 BadRequest: no namespace, empty spec.repository
    ├── RepositoryGoneError         410 Gone: the repository is managed by v1alpha2
    ├── errors.NotFoundError
    │   └── ObjectNotFoundError     404 NotFound for `resource` "name" (NotFound Status)
    ├── errors.AlreadyExistsError
    │   └── PackageExistsError      409: the workspace or package already exists (Porch
    │                               answers 500 "Internal error occurred: ..."; porchctl's
    │                               goldens rpkg-init/rpkg-clone show that wording)
    ├── errors.ConflictError
    │   ├── InProgressError         409 Conflict: another request holds the object's lock
    │   └── StaleObjectError        409 Conflict: metadata.resourceVersion is not current
    │                               (`new_conflict(resource, name, message)`)
    ├── errors.ForbiddenError
    │   └── DeleteForbiddenError    403 Forbidden: published, or referenced as an upstream
    └── errors.InvalidPackageError
        ├── taskerrors.InvalidFieldError   422 Invalid with one cause (`field`, `value`)
        │   └── ValidationError            422 Invalid with all causes (`field_errors`)
        └── RenderFailedError       the kpt pipeline failed; `render_status` is the
                                    PackageRevisionResources status to show, `pushed`
                                    says whether the result was stored anyway
                                    (push-on-render-failure). Suggested: 422 Invalid.

Messages are Porch's (porch.md §3) where Porch has one.
"""

from __future__ import annotations

from typing import Final

from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import field
from pkg.repository import errors
from pkg.task import taskerrors

__all__ = [
    "OPTIMISTIC_LOCK_MESSAGE",
    "BadRequestError",
    "DeleteForbiddenError",
    "InProgressError",
    "InvalidFieldError",
    "ObjectNotFoundError",
    "PackageExistsError",
    "RenderFailedError",
    "RepositoryGoneError",
    "StaleObjectError",
    "ValidationError",
]

OPTIMISTIC_LOCK_MESSAGE: Final = (
    "the object has been modified; please apply your changes to the latest version and try again"
)

InvalidFieldError = taskerrors.InvalidFieldError


class BadRequestError(errors.RepositoryError):
    """The request is malformed in a way that is not a field of the object (400)."""


class RepositoryGoneError(errors.RepositoryError):
    """The repository's revisions are served by porch.kpt.dev/v1alpha2 (410 Gone)."""


class ObjectNotFoundError(errors.NotFoundError):
    """`resource` (e.g. `packagerevisions`) named `name` does not exist (404)."""

    def __init__(self, resource: str, name: str, message: str | None = None) -> None:
        super().__init__(message or f'{resource}.porch.kpt.dev "{name}" not found')
        self.resource = resource
        self.name = name


class PackageExistsError(errors.AlreadyExistsError):
    """A create would duplicate a workspace of the package, or the package itself."""


class InProgressError(errors.ConflictError):
    """Another request is writing the same object right now (409, fails at once)."""


class StaleObjectError(errors.ConflictError):
    """The request's resourceVersion is not the object's current one (409)."""

    def __init__(self, resource: str, name: str) -> None:
        super().__init__(OPTIMISTIC_LOCK_MESSAGE)
        self.resource = resource
        self.name = name


class DeleteForbiddenError(errors.ForbiddenError):
    """The revision may not be deleted (published, or another revision's upstream) (403)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class ValidationError(taskerrors.InvalidFieldError):
    """The object fails validation; `field_errors` lists every problem (422 Invalid).

    `field`/`value` are those of the first error, for callers that show only one.
    """

    def __init__(self, field_errors: field.ErrorList) -> None:
        first = field_errors[0]
        super().__init__(first.field, first.bad_value, field_errors.to_aggregate() or "")
        self.field_errors = field_errors


class RenderFailedError(errors.InvalidPackageError):
    """The kpt function pipeline failed; see `render_status` (what Porch returns in
    PackageRevisionResources `status.renderStatus`). With `pushed` the rendered (possibly
    partial) result was stored anyway because of `porch.kpt.dev/push-on-render-failure`."""

    def __init__(
        self,
        message: str,
        *,
        render_error: str,
        render_status: porchv1alpha1.RenderStatus | None,
        pushed: bool,
    ) -> None:
        super().__init__(message)
        self.render_error = render_error
        self.render_status = render_status
        self.pushed = pushed
