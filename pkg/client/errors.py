"""The one exception tree of the Porch client library.

Where this sits: the client's transport (:mod:`pkg.client.rest`) turns every failed request
into one of these exceptions; the typed resources (:mod:`pkg.client.resources`) let them
through unchanged, and callers (porchctl, controllers) catch them by class. API errors carry
the server's ``metav1.Status`` exactly as it was sent, and are also apimachinery
:class:`~pkg.apimachinery.errors.StatusError` instances, so ``errors.is_not_found(err)`` and
friends work on them too.

The exception tree::

    Exception
     +-- ClientError                     anything pkg.client raises
          +-- ConfigError                no usable kubeconfig / in-cluster configuration
          +-- TransportError             no HTTP answer: refused, TLS failure, timeout
          +-- DecodeError                the answer is not the object that was asked for
          +-- ApiError                   the server answered with a failure Status
               |                         (.status, .code, .reason, .details; str() = message)
               +-- BadRequestError              400 BadRequest
               +-- UnauthorizedError            401 Unauthorized
               +-- ForbiddenError               403 Forbidden
               +-- NotFoundError                404 NotFound
               +-- MethodNotAllowedError        405 MethodNotAllowed
               +-- NotAcceptableError           406 NotAcceptable
               +-- AlreadyExistsError           409 AlreadyExists
               +-- ConflictError                409 Conflict
               +-- GoneError                    410 Gone, Expired
               +-- RequestEntityTooLargeError   413 RequestEntityTooLarge
               +-- UnsupportedMediaTypeError    415 UnsupportedMediaType
               +-- InvalidError                 422 Invalid
               +-- TooManyRequestsError         429 TooManyRequests
               +-- ServerError                  5xx
                    +-- InternalError           500 InternalError
                    +-- ServerTimeoutError      500 ServerTimeout
                    +-- ServiceUnavailableError 503 ServiceUnavailable
                    +-- ApiTimeoutError         504 Timeout

The class is chosen by the Status ``reason`` when the server gave one, else by the HTTP code
(as client-go's ``reasonForError`` and ``NewGenericServerResponse`` do). AlreadyExists and
Conflict share 409 but are siblings: only a Conflict is worth retrying with a fresh object.
"""

from __future__ import annotations

import http
from typing import Final

from api.meta import v1 as metav1
from pkg.apimachinery import errors as apierrors
from pkg.apimachinery import strconv

__all__ = [
    "AlreadyExistsError",
    "ApiError",
    "ApiTimeoutError",
    "BadRequestError",
    "ClientError",
    "ConfigError",
    "ConflictError",
    "DecodeError",
    "ForbiddenError",
    "GoneError",
    "InternalError",
    "InvalidError",
    "MethodNotAllowedError",
    "NotAcceptableError",
    "NotFoundError",
    "RequestEntityTooLargeError",
    "ServerError",
    "ServerTimeoutError",
    "ServiceUnavailableError",
    "TooManyRequestsError",
    "TransportError",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
    "error_for_status",
    "generic_status",
]


class ClientError(Exception):
    """Base of every exception the Porch client raises."""


class ConfigError(ClientError):
    """No usable configuration: missing or invalid kubeconfig, unknown context, no cluster."""


class TransportError(ClientError):
    """The request got no HTTP answer (connection refused, DNS, TLS, timeout)."""


class DecodeError(ClientError):
    """The server's answer could not be read as the object that was asked for."""


class ApiError(ClientError, apierrors.StatusError):
    """The server answered with a failure ``Status`` (kept verbatim in ``status``)."""

    def __init__(self, status: metav1.Status) -> None:
        apierrors.StatusError.__init__(self, status)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(code={self.code}, reason={self.reason!r}, message={self.message!r})"


class BadRequestError(ApiError):
    """400: the request was malformed (bad selector, unreadable body)."""


class UnauthorizedError(ApiError):
    """401: the server did not accept the credentials."""


class ForbiddenError(ApiError):
    """403: the user may not do this (or a lifecycle rule forbids it)."""


class NotFoundError(ApiError):
    """404: no such object (or no such resource on this server)."""


class MethodNotAllowedError(ApiError):
    """405: the resource does not support this verb."""


class NotAcceptableError(ApiError):
    """406: the server cannot produce the requested representation (e.g. Table)."""


class AlreadyExistsError(ApiError):
    """409 AlreadyExists: an object of that name exists already."""


class ConflictError(ApiError):
    """409 Conflict: the object changed since it was read; re-read and retry."""


class GoneError(ApiError):
    """410: the resourceVersion is too old to list or watch from; relist."""


class RequestEntityTooLargeError(ApiError):
    """413: the request body is too large."""


class UnsupportedMediaTypeError(ApiError):
    """415: the server does not accept the body's content type (e.g. a patch type)."""


class InvalidError(ApiError):
    """422: the object failed validation; ``details.causes`` names the fields."""


class TooManyRequestsError(ApiError):
    """429: the server is overloaded; ``details.retryAfterSeconds`` says when to retry."""


class ServerError(ApiError):
    """5xx: the server failed."""


class InternalError(ServerError):
    """500 InternalError."""


class ServerTimeoutError(ServerError):
    """500 ServerTimeout: a transient failure the client should retry."""


class ServiceUnavailableError(ServerError):
    """503 ServiceUnavailable."""


class ApiTimeoutError(ServerError):
    """504 Timeout: the request did not finish in time (it may still complete)."""


_BY_REASON: Final[dict[str, type[ApiError]]] = {
    "BadRequest": BadRequestError,
    "Unauthorized": UnauthorizedError,
    "Forbidden": ForbiddenError,
    "NotFound": NotFoundError,
    "MethodNotAllowed": MethodNotAllowedError,
    "NotAcceptable": NotAcceptableError,
    "AlreadyExists": AlreadyExistsError,
    "Conflict": ConflictError,
    "Gone": GoneError,
    "Expired": GoneError,
    "RequestEntityTooLarge": RequestEntityTooLargeError,
    "UnsupportedMediaType": UnsupportedMediaTypeError,
    "Invalid": InvalidError,
    "TooManyRequests": TooManyRequestsError,
    "InternalError": InternalError,
    "ServerTimeout": ServerTimeoutError,
    "ServiceUnavailable": ServiceUnavailableError,
    "Timeout": ApiTimeoutError,
}

_BY_CODE: Final[dict[int, type[ApiError]]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    406: NotAcceptableError,
    409: ConflictError,
    410: GoneError,
    413: RequestEntityTooLargeError,
    415: UnsupportedMediaTypeError,
    422: InvalidError,
    429: TooManyRequestsError,
    500: InternalError,
    503: ServiceUnavailableError,
    504: ApiTimeoutError,
}


def error_for_status(status: metav1.Status) -> ApiError:
    """The exception for a failure ``Status``: by reason, else by code, else ApiError."""
    cls = _BY_REASON.get(status.reason or "")
    if cls is None:
        code = status.code or 0
        cls = _BY_CODE.get(code) or (ServerError if code >= 500 else ApiError)
    return cls(status)


_UNEXPECTED_SERVER_RESPONSE: Final = "UnexpectedServerResponse"


def generic_status(
    code: int,
    verb: str,
    resource: str = "",
    name: str = "",
    server_message: str = "",
) -> metav1.Status:
    """The Status client-go makes up when a failed response is not a readable Status.

    The texts are apimachinery's ``NewGenericServerResponse``: ``the server could not find
    the requested resource (get packagerevisions.porch.kpt.dev x)``. ``resource`` is the
    qualified resource (``plural.group``); ``server_message`` is the body when it was text.
    """
    reason = ""
    message = (
        f"the server responded with the status code {code} but did not return more information"
    )
    match code:
        case http.HTTPStatus.CONFLICT:
            reason = "AlreadyExists" if verb.upper() == "POST" else "Conflict"
            message = "the server reported a conflict"
        case http.HTTPStatus.NOT_FOUND:
            reason, message = "NotFound", "the server could not find the requested resource"
        case http.HTTPStatus.BAD_REQUEST:
            reason, message = "BadRequest", "the server rejected our request for an unknown reason"
        case http.HTTPStatus.UNAUTHORIZED:
            reason = "Unauthorized"
            message = "the server has asked for the client to provide credentials"
        case http.HTTPStatus.FORBIDDEN:
            # The server's text says who may not do what: keep it.
            reason, message = "Forbidden", server_message
        case http.HTTPStatus.METHOD_NOT_ALLOWED:
            reason = "MethodNotAllowed"
            message = "the server does not allow this method on the requested resource"
        case http.HTTPStatus.UNPROCESSABLE_ENTITY:
            reason = "Invalid"
            message = "the server rejected our request due to an error in our request"
        case http.HTTPStatus.GATEWAY_TIMEOUT:
            reason = "Timeout"
            message = (
                "the server was unable to return a response in the time allotted, "
                "but may still be processing the request"
            )
        case http.HTTPStatus.TOO_MANY_REQUESTS:
            reason = "TooManyRequests"
            message = (
                "the server has received too many requests and has asked us to try again later"
            )
        case _ if code >= 500:
            reason = "InternalError"
            message = (
                f"an error on the server ({strconv.quote(server_message)}) has prevented the "
                "request from succeeding"
            )
    group, _, plural = _split_resource(resource)
    if resource and name:
        message = f"{message} ({verb.lower()} {resource} {name})"
    elif resource:
        message = f"{message} ({verb.lower()} {resource})"
    return metav1.Status(
        kind="Status",
        api_version="v1",
        metadata=metav1.ListMeta(),
        status="Failure",
        code=code,
        reason=reason or None,
        message=message,
        details=metav1.StatusDetails(
            group=group or None,
            kind=plural or None,
            name=name or None,
            causes=[metav1.StatusCause(reason=_UNEXPECTED_SERVER_RESPONSE, message=server_message)],
        ),
    )


def _split_resource(resource: str) -> tuple[str, str, str]:
    plural, dot, group = resource.partition(".")
    return group, dot, plural
