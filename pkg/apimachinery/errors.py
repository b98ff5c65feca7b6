"""API errors as Kubernetes ``Status`` objects (k8s.io/apimachinery/pkg/api/errors).

Every error the API returns is a ``metav1.Status`` with the HTTP code, a machine-readable
``reason`` and the message kubectl prints. The registry raises :class:`StatusError` (built
with one constructor per reason, texts identical to apimachinery's); the API server's one
error handler encodes ``err.status`` as the response body with ``err.code`` as the HTTP
status. Below the registry, layers raise their own domain errors, which the registry
translates (``pkg/registry/porch/interpret.py``).

The exception tree::

    Exception
     +-- StatusError                 .status (metav1.Status), .code, .reason, str() = message
          reasons: BadRequest 400, Unauthorized 401, Forbidden 403, NotFound 404,
                   MethodNotAllowed 405, NotAcceptable 406, AlreadyExists 409, Conflict 409,
                   Gone 410, Expired 410, RequestEntityTooLarge 413,
                   UnsupportedMediaType 415, Invalid 422, TooManyRequests 429,
                   InternalError 500, ServerTimeout 500, ServiceUnavailable 503, Timeout 504

One constructor per reason (``new_not_found``, ``new_invalid``, ...) and one predicate per
reason (``is_not_found``, ...); predicates look through ``raise ... from err`` chains like
Go's ``errors.As`` looks through wrapped errors.
"""

from __future__ import annotations

import enum
import http
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from api.meta import v1 as metav1
from pkg.apimachinery import field, strconv

__all__ = [
    "GroupKind",
    "GroupResource",
    "StatusError",
    "StatusReason",
    "from_status",
    "has_status_cause",
    "is_already_exists",
    "is_bad_request",
    "is_conflict",
    "is_forbidden",
    "is_gone",
    "is_internal_error",
    "is_invalid",
    "is_method_not_supported",
    "is_not_acceptable",
    "is_not_found",
    "is_request_entity_too_large",
    "is_resource_expired",
    "is_server_timeout",
    "is_service_unavailable",
    "is_timeout",
    "is_too_many_requests",
    "is_unauthorized",
    "is_unsupported_media_type",
    "new_already_exists",
    "new_apply_conflict",
    "new_bad_request",
    "new_conflict",
    "new_forbidden",
    "new_generate_name_conflict",
    "new_gone",
    "new_internal_error",
    "new_invalid",
    "new_method_not_supported",
    "new_not_acceptable",
    "new_not_found",
    "new_request_entity_too_large",
    "new_resource_expired",
    "new_server_timeout",
    "new_service_unavailable",
    "new_timeout",
    "new_too_many_requests",
    "new_unauthorized",
    "new_unsupported_media_type",
    "reason_for_error",
    "status_cause",
    "suggests_client_delay",
]

STATUS_FAILURE: Final = "Failure"
STATUS_SUCCESS: Final = "Success"


class StatusReason(enum.StrEnum):
    """The machine-readable ``Status.reason`` values (metav1.StatusReason)."""

    UNKNOWN = ""
    UNAUTHORIZED = "Unauthorized"
    FORBIDDEN = "Forbidden"
    NOT_FOUND = "NotFound"
    ALREADY_EXISTS = "AlreadyExists"
    CONFLICT = "Conflict"
    GONE = "Gone"
    INVALID = "Invalid"
    SERVER_TIMEOUT = "ServerTimeout"
    STORE_READ_ERROR = "StoreReadError"
    TIMEOUT = "Timeout"
    TOO_MANY_REQUESTS = "TooManyRequests"
    BAD_REQUEST = "BadRequest"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"
    NOT_ACCEPTABLE = "NotAcceptable"
    REQUEST_ENTITY_TOO_LARGE = "RequestEntityTooLarge"
    UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
    INTERNAL_ERROR = "InternalError"
    EXPIRED = "Expired"
    SERVICE_UNAVAILABLE = "ServiceUnavailable"


_KNOWN_REASONS: Final = frozenset(StatusReason) - {StatusReason.UNKNOWN}


@dataclass(frozen=True, slots=True)
class GroupResource:
    """An API group and a resource (plural) in it; ``str()`` is ``plural.group``."""

    group: str
    resource: str

    def empty(self) -> bool:
        return not self.group and not self.resource

    def __str__(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


@dataclass(frozen=True, slots=True)
class GroupKind:
    """An API group and a kind in it; ``str()`` is ``Kind.group``."""

    group: str
    kind: str

    def empty(self) -> bool:
        return not self.group and not self.kind

    def __str__(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


class StatusError(Exception):
    """An error that is a Kubernetes ``Status``: raise it, and the API server renders it.

    ``status`` is ready to encode as the response body (``kind: Status``,
    ``apiVersion: v1``, ``status: Failure``, ``metadata: {}``); ``code`` is its HTTP status.
    """

    def __init__(self, status: metav1.Status) -> None:
        super().__init__(status.message or "")
        self.status = status

    @property
    def code(self) -> int:
        return self.status.code or 0

    @property
    def reason(self) -> str:
        return self.status.reason or ""

    @property
    def message(self) -> str:
        return self.status.message or ""

    @property
    def details(self) -> metav1.StatusDetails | None:
        return self.status.details

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"StatusError(code={self.code}, reason={self.reason!r}, message={self.message!r})"


def _status_error(
    code: http.HTTPStatus,
    reason: StatusReason,
    message: str,
    details: metav1.StatusDetails | None = None,
) -> StatusError:
    return StatusError(
        metav1.Status(
            kind="Status",
            api_version="v1",
            metadata=metav1.ListMeta(),
            status=STATUS_FAILURE,
            code=int(code),
            reason=str(reason),
            message=message,
            details=details,
        )
    )


def _details(
    group: str = "",
    kind: str = "",
    name: str = "",
    causes: Sequence[metav1.StatusCause] = (),
    retry_after_seconds: int = 0,
) -> metav1.StatusDetails:
    # Go marshals these with omitempty: empty strings, zero and empty lists are left out.
    return metav1.StatusDetails(
        group=group or None,
        kind=kind or None,
        name=name or None,
        causes=list(causes) or None,
        retry_after_seconds=retry_after_seconds or None,
    )


def from_status(status: metav1.Status) -> StatusError:
    """The error a received ``Status`` describes (Go's ``FromObject``), e.g. in a client."""
    return StatusError(status)


def new_not_found(qualified_resource: GroupResource, name: str) -> StatusError:
    """404: ``packagerevisions.porch.kpt.dev "x" not found``."""
    return _status_error(
        http.HTTPStatus.NOT_FOUND,
        StatusReason.NOT_FOUND,
        f"{qualified_resource} {strconv.quote(name)} not found",
        _details(qualified_resource.group, qualified_resource.resource, name),
    )


def new_already_exists(qualified_resource: GroupResource, name: str) -> StatusError:
    """409: ``packagerevisions.porch.kpt.dev "x" already exists``."""
    return _status_error(
        http.HTTPStatus.CONFLICT,
        StatusReason.ALREADY_EXISTS,
        f"{qualified_resource} {strconv.quote(name)} already exists",
        _details(qualified_resource.group, qualified_resource.resource, name),
    )


def new_generate_name_conflict(
    qualified_resource: GroupResource, name: str, retry_after_seconds: int
) -> StatusError:
    """409 AlreadyExists when ``generateName`` could not find a free name."""
    return _status_error(
        http.HTTPStatus.CONFLICT,
        StatusReason.ALREADY_EXISTS,
        f"{qualified_resource} {strconv.quote(name)} already exists, the server was not able to "
        "generate a unique name for the object",
        _details(
            qualified_resource.group,
            qualified_resource.resource,
            name,
            retry_after_seconds=retry_after_seconds,
        ),
    )


def new_unauthorized(reason: str) -> StatusError:
    """401; an empty reason reads ``not authorized``."""
    return _status_error(
        http.HTTPStatus.UNAUTHORIZED,
        StatusReason.UNAUTHORIZED,
        reason or "not authorized",
    )


def new_forbidden(qualified_resource: GroupResource, name: str, err: object) -> StatusError:
    """403: ``<res> "<name>" is forbidden: <err>`` (shorter forms without name or resource)."""
    if qualified_resource.empty():
        message = f"forbidden: {err}"
    elif not name:
        message = f"{qualified_resource} is forbidden: {err}"
    else:
        message = f"{qualified_resource} {strconv.quote(name)} is forbidden: {err}"
    return _status_error(
        http.HTTPStatus.FORBIDDEN,
        StatusReason.FORBIDDEN,
        message,
        _details(qualified_resource.group, qualified_resource.resource, name),
    )


def new_conflict(qualified_resource: GroupResource, name: str, err: object) -> StatusError:
    """409: ``Operation cannot be fulfilled on <res> "<name>": <err>``."""
    return _status_error(
        http.HTTPStatus.CONFLICT,
        StatusReason.CONFLICT,
        f"Operation cannot be fulfilled on {qualified_resource} {strconv.quote(name)}: {err}",
        _details(qualified_resource.group, qualified_resource.resource, name),
    )


def new_apply_conflict(causes: Sequence[metav1.StatusCause], message: str) -> StatusError:
    """409 Conflict from server-side apply, one cause per conflicting field manager."""
    return _status_error(
        http.HTTPStatus.CONFLICT,
        StatusReason.CONFLICT,
        message,
        metav1.StatusDetails(causes=list(causes)),
    )


def new_gone(message: str) -> StatusError:
    """410 Gone (Go deprecates it in favour of :func:`new_resource_expired`)."""
    return _status_error(http.HTTPStatus.GONE, StatusReason.GONE, message)


def new_resource_expired(message: str) -> StatusError:
    """410 Expired: a resourceVersion too old to list or watch from."""
    return _status_error(http.HTTPStatus.GONE, StatusReason.EXPIRED, message)


def new_invalid(
    qualified_kind: GroupKind, name: str, errs: Sequence[field.FieldError]
) -> StatusError:
    """422: ``<Kind>.<group> "<name>" is invalid: <errors>``, one cause per field error.

    ``details.kind`` is the Kind (not the resource), as the real apiserver sends it; kubectl
    builds ``The PackageRevision "x" is invalid: ...`` from it and the causes.
    """
    causes = [
        metav1.StatusCause(reason=str(err.type), message=err.body, field=err.field) for err in errs
    ]
    aggregated = field.ErrorList(errs).to_aggregate()
    message = f"{qualified_kind} {strconv.quote(name)} is invalid"
    if aggregated is not None:
        message += f": {aggregated}"
    return _status_error(
        http.HTTPStatus.UNPROCESSABLE_ENTITY,
        StatusReason.INVALID,
        message,
        _details(qualified_kind.group, qualified_kind.kind, name, causes),
    )


def new_bad_request(reason: str) -> StatusError:
    """400 with the given text as the message."""
    return _status_error(http.HTTPStatus.BAD_REQUEST, StatusReason.BAD_REQUEST, reason)


def new_too_many_requests(message: str, retry_after_seconds: int) -> StatusError:
    """429; the server should also send ``Retry-After``."""
    return _status_error(
        http.HTTPStatus.TOO_MANY_REQUESTS,
        StatusReason.TOO_MANY_REQUESTS,
        message,
        metav1.StatusDetails(retry_after_seconds=retry_after_seconds or None),
    )


def new_service_unavailable(reason: str) -> StatusError:
    """503 with the given text as the message."""
    return _status_error(
        http.HTTPStatus.SERVICE_UNAVAILABLE, StatusReason.SERVICE_UNAVAILABLE, reason
    )


def new_method_not_supported(qualified_resource: GroupResource, action: str) -> StatusError:
    """405: ``<action> is not supported on resources of kind "<res>"``."""
    return _status_error(
        http.HTTPStatus.METHOD_NOT_ALLOWED,
        StatusReason.METHOD_NOT_ALLOWED,
        f"{action} is not supported on resources of kind {strconv.quote(str(qualified_resource))}",
        _details(qualified_resource.group, qualified_resource.resource),
    )


def new_server_timeout(
    qualified_resource: GroupResource, operation: str, retry_after_seconds: int
) -> StatusError:
    """500 ServerTimeout: a transient failure the client should retry."""
    return _status_error(
        http.HTTPStatus.INTERNAL_SERVER_ERROR,
        StatusReason.SERVER_TIMEOUT,
        f"The {operation} operation against {qualified_resource} could not be completed at "
        "this time, please try again.",
        _details(
            qualified_resource.group,
            qualified_resource.resource,
            operation,
            retry_after_seconds=retry_after_seconds,
        ),
    )


def new_internal_error(err: BaseException | str) -> StatusError:
    """500: ``Internal error occurred: <err>``, the error text also as the one cause."""
    return _status_error(
        http.HTTPStatus.INTERNAL_SERVER_ERROR,
        StatusReason.INTERNAL_ERROR,
        f"Internal error occurred: {err}",
        metav1.StatusDetails(causes=[metav1.StatusCause(message=str(err))]),
    )


def new_timeout(message: str, retry_after_seconds: int) -> StatusError:
    """504: ``Timeout: <message>``."""
    return _status_error(
        http.HTTPStatus.GATEWAY_TIMEOUT,
        StatusReason.TIMEOUT,
        f"Timeout: {message}",
        metav1.StatusDetails(retry_after_seconds=retry_after_seconds or None),
    )


def new_request_entity_too_large(message: str) -> StatusError:
    """413: ``Request entity too large: <message>``."""
    return _status_error(
        http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        StatusReason.REQUEST_ENTITY_TOO_LARGE,
        f"Request entity too large: {message}",
    )


def new_not_acceptable(message: str) -> StatusError:
    """406: no representation the client accepts (content negotiation).

    The apiserver's negotiation says ``only the following media types are accepted: ...``.
    """
    return _status_error(http.HTTPStatus.NOT_ACCEPTABLE, StatusReason.NOT_ACCEPTABLE, message)


def new_unsupported_media_type(message: str) -> StatusError:
    """415: a request body in a format the endpoint does not take.

    The apiserver says ``the body of the request was in an unknown format - accepted media
    types include: ...``.
    """
    return _status_error(
        http.HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        StatusReason.UNSUPPORTED_MEDIA_TYPE,
        message,
    )


# --- predicates ---------------------------------------------------------------------------


def _find_status(err: BaseException | None) -> metav1.Status | None:
    """The Status of ``err`` or of the first StatusError it was raised from."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, StatusError):
            return err.status
        seen.add(id(err))
        err = err.__cause__
    return None


def reason_for_error(err: BaseException | None) -> str:
    """The Status reason of ``err`` (``""``, i.e. Unknown, when it carries no Status)."""
    status = _find_status(err)
    return (status.reason or "") if status is not None else str(StatusReason.UNKNOWN)


def _reason_and_code(err: BaseException | None) -> tuple[str, int]:
    status = _find_status(err)
    if status is None:
        return str(StatusReason.UNKNOWN), 0
    return status.reason or "", status.code or 0


def _is(err: BaseException | None, reason: StatusReason, code: int) -> bool:
    # As in Go: the reason decides; the code decides only when the reason is not one of the
    # known ones (a Status from an older or foreign server).
    got_reason, got_code = _reason_and_code(err)
    if got_reason == reason:
        return True
    return got_reason not in _KNOWN_REASONS and got_code == code


def is_not_found(err: BaseException | None) -> bool:
    return _is(err, StatusReason.NOT_FOUND, http.HTTPStatus.NOT_FOUND)


def is_already_exists(err: BaseException | None) -> bool:
    return reason_for_error(err) == StatusReason.ALREADY_EXISTS


def is_conflict(err: BaseException | None) -> bool:
    return _is(err, StatusReason.CONFLICT, http.HTTPStatus.CONFLICT)


def is_invalid(err: BaseException | None) -> bool:
    return _is(err, StatusReason.INVALID, http.HTTPStatus.UNPROCESSABLE_ENTITY)


def is_gone(err: BaseException | None) -> bool:
    return _is(err, StatusReason.GONE, http.HTTPStatus.GONE)


def is_resource_expired(err: BaseException | None) -> bool:
    return reason_for_error(err) == StatusReason.EXPIRED


def is_not_acceptable(err: BaseException | None) -> bool:
    return _is(err, StatusReason.NOT_ACCEPTABLE, http.HTTPStatus.NOT_ACCEPTABLE)


def is_unsupported_media_type(err: BaseException | None) -> bool:
    return _is(err, StatusReason.UNSUPPORTED_MEDIA_TYPE, http.HTTPStatus.UNSUPPORTED_MEDIA_TYPE)


def is_method_not_supported(err: BaseException | None) -> bool:
    return _is(err, StatusReason.METHOD_NOT_ALLOWED, http.HTTPStatus.METHOD_NOT_ALLOWED)


def is_service_unavailable(err: BaseException | None) -> bool:
    return _is(err, StatusReason.SERVICE_UNAVAILABLE, http.HTTPStatus.SERVICE_UNAVAILABLE)


def is_bad_request(err: BaseException | None) -> bool:
    return _is(err, StatusReason.BAD_REQUEST, http.HTTPStatus.BAD_REQUEST)


def is_unauthorized(err: BaseException | None) -> bool:
    return _is(err, StatusReason.UNAUTHORIZED, http.HTTPStatus.UNAUTHORIZED)


def is_forbidden(err: BaseException | None) -> bool:
    return _is(err, StatusReason.FORBIDDEN, http.HTTPStatus.FORBIDDEN)


def is_timeout(err: BaseException | None) -> bool:
    return _is(err, StatusReason.TIMEOUT, http.HTTPStatus.GATEWAY_TIMEOUT)


def is_server_timeout(err: BaseException | None) -> bool:
    # No HTTP code is specific to retryable server timeouts, so only the reason counts.
    return reason_for_error(err) == StatusReason.SERVER_TIMEOUT


def is_internal_error(err: BaseException | None) -> bool:
    return _is(err, StatusReason.INTERNAL_ERROR, http.HTTPStatus.INTERNAL_SERVER_ERROR)


def is_too_many_requests(err: BaseException | None) -> bool:
    # Go checks this code whatever the reason (the check predates the others).
    reason, code = _reason_and_code(err)
    return reason == StatusReason.TOO_MANY_REQUESTS or code == http.HTTPStatus.TOO_MANY_REQUESTS


def is_request_entity_too_large(err: BaseException | None) -> bool:
    reason, code = _reason_and_code(err)
    return (
        reason == StatusReason.REQUEST_ENTITY_TOO_LARGE
        or code == http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    )


def status_cause(err: BaseException | None, cause_type: str) -> metav1.StatusCause | None:
    """The first cause of ``err``'s Status whose reason is ``cause_type``, if any."""
    status = _find_status(err)
    if status is None or status.details is None:
        return None
    for cause in status.details.causes or ():
        if cause.reason == cause_type:
            return cause
    return None


def has_status_cause(err: BaseException | None, cause_type: str) -> bool:
    return status_cause(err, cause_type) is not None


def suggests_client_delay(err: BaseException | None) -> int | None:
    """Seconds the server asked the client to wait before retrying, or None.

    A ServerTimeout always suggests a delay (possibly 0); other errors only when they carry
    a positive ``retryAfterSeconds``.
    """
    status = _find_status(err)
    if status is None or status.details is None:
        return None
    seconds = status.details.retry_after_seconds or 0
    if status.reason == StatusReason.SERVER_TIMEOUT or seconds > 0:
        return seconds
    return None
