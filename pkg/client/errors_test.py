"""The client's exception tree: which class a server Status becomes, and client-go's
generic messages for answers that are not a Status."""

from __future__ import annotations

import pytest

from api.meta import v1 as metav1
from pkg.apimachinery import errors as apierrors
from pkg.client import errors


def _status(code: int, reason: str | None, message: str = "m") -> metav1.Status:
    return metav1.Status(status="Failure", code=code, reason=reason, message=message)


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (400, "BadRequest", errors.BadRequestError),
        (401, "Unauthorized", errors.UnauthorizedError),
        (403, "Forbidden", errors.ForbiddenError),
        (404, "NotFound", errors.NotFoundError),
        (405, "MethodNotAllowed", errors.MethodNotAllowedError),
        (406, "NotAcceptable", errors.NotAcceptableError),
        (409, "AlreadyExists", errors.AlreadyExistsError),
        (409, "Conflict", errors.ConflictError),
        (410, "Expired", errors.GoneError),
        (410, "Gone", errors.GoneError),
        (413, "RequestEntityTooLarge", errors.RequestEntityTooLargeError),
        (415, "UnsupportedMediaType", errors.UnsupportedMediaTypeError),
        (422, "Invalid", errors.InvalidError),
        (429, "TooManyRequests", errors.TooManyRequestsError),
        (500, "InternalError", errors.InternalError),
        (500, "ServerTimeout", errors.ServerTimeoutError),
        (503, "ServiceUnavailable", errors.ServiceUnavailableError),
        (504, "Timeout", errors.ApiTimeoutError),
    ],
    ids=lambda v: str(v) if not isinstance(v, type) else v.__name__,
)
def test_status_reason_picks_the_class(code: int, reason: str, expected: type) -> None:
    err = errors.error_for_status(_status(code, reason, "the message"))
    assert type(err) is expected
    assert str(err) == "the message"
    assert err.code == code


@pytest.mark.parametrize(
    ("code", "expected"),
    [(404, errors.NotFoundError), (409, errors.ConflictError), (502, errors.ServerError)],
)
def test_code_picks_the_class_when_reason_is_missing(code: int, expected: type) -> None:
    assert type(errors.error_for_status(_status(code, None))) is expected


def test_unknown_4xx_is_a_plain_api_error() -> None:
    err = errors.error_for_status(_status(418, None))
    assert type(err) is errors.ApiError


def test_api_errors_are_apimachinery_status_errors() -> None:
    """Code written against apimachinery's predicates works on client errors too."""
    err = errors.error_for_status(_status(404, "NotFound"))
    assert isinstance(err, apierrors.StatusError)
    assert isinstance(err, errors.ClientError)
    assert apierrors.is_not_found(err)
    assert not apierrors.is_conflict(err)


def test_already_exists_is_not_a_conflict() -> None:
    """Retrying on Conflict must not retry a create that collided with an existing name."""
    assert not isinstance(
        errors.error_for_status(_status(409, "AlreadyExists")), errors.ConflictError
    )


def test_generic_404_names_verb_resource_and_name() -> None:
    status = errors.generic_status(404, "GET", "packagerevisions.porch.kpt.dev", "x.y.z")
    assert status.message == (
        "the server could not find the requested resource "
        "(get packagerevisions.porch.kpt.dev x.y.z)"
    )
    assert status.reason == "NotFound"
    assert status.details is not None
    assert status.details.group == "porch.kpt.dev"
    assert status.details.kind == "packagerevisions"


def test_generic_500_quotes_the_body() -> None:
    status = errors.generic_status(502, "POST", "", "", 'bad "gateway"')
    assert status.message == (
        'an error on the server ("bad \\"gateway\\"") has prevented the request from succeeding'
    )
    assert status.reason == "InternalError"


def test_generic_409_on_post_is_already_exists() -> None:
    assert errors.generic_status(409, "POST").reason == "AlreadyExists"
    assert errors.generic_status(409, "PUT").reason == "Conflict"


def test_generic_403_keeps_the_server_text() -> None:
    status = errors.generic_status(403, "GET", "secrets", "s", "you may not")
    assert status.message == "you may not (get secrets s)"
