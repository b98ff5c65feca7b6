"""Errors the task handlers raise for requests they cannot carry out.

Where it sits: the task handlers (`init`, `clone`, `edit`, `upgrade`, `kptfilesync`) raise this
while the engine (`pkg.engine`) creates or updates a package revision; the engine lets it
through (adding its own errors in `pkg.engine.errors`) and the registry turns it into a
Kubernetes `Status`. It extends the domain errors of `pkg.repository.errors`, so a registry that
only knows those still picks a sensible code:

    errors.InvalidPackageError
    └── InvalidFieldError        a request field is unacceptable: 422 Invalid, `field` names
                                 it (`spec.tasks[0].edit.sourceRef.name`)

Other failures of a task are the repository's own errors: `NotFoundError` for a source
revision that does not exist, `BackendUnavailableError` for an upstream that cannot be read.
"""

from __future__ import annotations

from pkg.repository import errors

__all__ = ["InvalidFieldError"]


class InvalidFieldError(errors.InvalidPackageError):
    """A field of the request is invalid; `field` is its full path, `value` what was sent.

    The message is Porch's wording (what the user sees); `detail` is the same text, kept
    apart so the registry can build one `StatusCause` per field.
    """

    def __init__(self, field: str, value: object, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.detail = message
