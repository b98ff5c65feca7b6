"""Status errors: what the client receives for each reason, and how callers recognise them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from api.meta import v1 as metav1
from pkg.apimachinery import codec, errors, field

PR = errors.GroupResource("porch.kpt.dev", "packagerevisions")
SECRETS = errors.GroupResource("", "secrets")
PR_KIND = errors.GroupKind("porch.kpt.dev", "PackageRevision")

_BASE = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure"}


def _status(**fields: Any) -> dict[str, Any]:
    return {**_BASE, **fields}


@pytest.mark.parametrize(
    ("err", "want"),
    [
        pytest.param(
            errors.new_not_found(PR, "repo-abc"),
            _status(
                code=404,
                reason="NotFound",
                message='packagerevisions.porch.kpt.dev "repo-abc" not found',
                details={"group": "porch.kpt.dev", "kind": "packagerevisions", "name": "repo-abc"},
            ),
            id="not-found",
        ),
        pytest.param(
            errors.new_not_found(SECRETS, "s"),
            _status(
                code=404,
                reason="NotFound",
                message='secrets "s" not found',
                details={"kind": "secrets", "name": "s"},
            ),
            id="not-found-core-group",
        ),
        pytest.param(
            errors.new_already_exists(PR, "x"),
            _status(
                code=409,
                reason="AlreadyExists",
                message='packagerevisions.porch.kpt.dev "x" already exists',
                details={"group": "porch.kpt.dev", "kind": "packagerevisions", "name": "x"},
            ),
            id="already-exists",
        ),
        pytest.param(
            errors.new_generate_name_conflict(PR, "x-abcde", 1),
            _status(
                code=409,
                reason="AlreadyExists",
                message='packagerevisions.porch.kpt.dev "x-abcde" already exists, the server was '
                "not able to generate a unique name for the object",
                details={
                    "group": "porch.kpt.dev",
                    "kind": "packagerevisions",
                    "name": "x-abcde",
                    "retryAfterSeconds": 1,
                },
            ),
            id="generate-name-conflict",
        ),
        pytest.param(
            errors.new_conflict(
                PR,
                "x",
                "the object has been modified; please apply your changes to the latest version "
                "and try again",
            ),
            _status(
                code=409,
                reason="Conflict",
                message='Operation cannot be fulfilled on packagerevisions.porch.kpt.dev "x": the '
                "object has been modified; please apply your changes to the latest version and "
                "try again",
                details={"group": "porch.kpt.dev", "kind": "packagerevisions", "name": "x"},
            ),
            id="conflict",
        ),
        pytest.param(
            errors.new_apply_conflict(
                [metav1.StatusCause(reason="FieldManagerConflict", field=".spec.lifecycle")],
                'Apply failed with 1 conflict: conflict with "kubectl": .spec.lifecycle',
            ),
            _status(
                code=409,
                reason="Conflict",
                message='Apply failed with 1 conflict: conflict with "kubectl": .spec.lifecycle',
                details={
                    "causes": [{"reason": "FieldManagerConflict", "field": ".spec.lifecycle"}]
                },
            ),
            id="apply-conflict",
        ),
        pytest.param(
            errors.new_invalid(
                PR_KIND,
                "x",
                field.ErrorList(
                    [field.invalid(field.root("spec", "invalid"), True, "must not be set")]
                ),
            ),
            _status(
                code=422,
                reason="Invalid",
                message='PackageRevision.porch.kpt.dev "x" is invalid: spec.invalid: Invalid '
                "value: true: must not be set",
                details={
                    "group": "porch.kpt.dev",
                    "kind": "PackageRevision",
                    "name": "x",
                    "causes": [
                        {
                            "reason": "FieldValueInvalid",
                            "message": "Invalid value: true: must not be set",
                            "field": "spec.invalid",
                        }
                    ],
                },
            ),
            id="invalid-one-cause",
        ),
        pytest.param(
            errors.new_invalid(
                PR_KIND,
                "x",
                field.ErrorList(
                    [
                        field.required(field.root("spec", "packageName")),
                        field.not_supported(
                            field.root("spec", "lifecycle"), "Done", ["Draft", "Proposed"]
                        ),
                    ]
                ),
            ),
            _status(
                code=422,
                reason="Invalid",
                message='PackageRevision.porch.kpt.dev "x" is invalid: [spec.packageName: Required '
                'value, spec.lifecycle: Unsupported value: "Done": supported values: "Draft", '
                '"Proposed"]',
                details={
                    "group": "porch.kpt.dev",
                    "kind": "PackageRevision",
                    "name": "x",
                    "causes": [
                        {
                            "reason": "FieldValueRequired",
                            "message": "Required value",
                            "field": "spec.packageName",
                        },
                        {
                            "reason": "FieldValueNotSupported",
                            "message": 'Unsupported value: "Done": supported values: "Draft", '
                            '"Proposed"',
                            "field": "spec.lifecycle",
                        },
                    ],
                },
            ),
            id="invalid-two-causes",
        ),
        pytest.param(
            errors.new_invalid(PR_KIND, "x", field.ErrorList()),
            _status(
                code=422,
                reason="Invalid",
                message='PackageRevision.porch.kpt.dev "x" is invalid',
                details={"group": "porch.kpt.dev", "kind": "PackageRevision", "name": "x"},
            ),
            id="invalid-no-causes",
        ),
        pytest.param(
            errors.new_bad_request("unable to parse requirement: found '', expected: identifier"),
            _status(
                code=400,
                reason="BadRequest",
                message="unable to parse requirement: found '', expected: identifier",
            ),
            id="bad-request",
        ),
        pytest.param(
            errors.new_unauthorized("Unauthorized"),
            _status(code=401, reason="Unauthorized", message="Unauthorized"),
            id="unauthorized",
        ),
        pytest.param(
            errors.new_unauthorized(""),
            _status(code=401, reason="Unauthorized", message="not authorized"),
            id="unauthorized-default-text",
        ),
        pytest.param(
            errors.new_forbidden(
                PR,
                "x",
                'User "alice" cannot get resource "packagerevisions" in API group '
                '"porch.kpt.dev" in the namespace "default"',
            ),
            _status(
                code=403,
                reason="Forbidden",
                message='packagerevisions.porch.kpt.dev "x" is forbidden: User "alice" cannot get '
                'resource "packagerevisions" in API group "porch.kpt.dev" in the namespace '
                '"default"',
                details={"group": "porch.kpt.dev", "kind": "packagerevisions", "name": "x"},
            ),
            id="forbidden",
        ),
        pytest.param(
            errors.new_forbidden(PR, "", "no list"),
            _status(
                code=403,
                reason="Forbidden",
                message="packagerevisions.porch.kpt.dev is forbidden: no list",
                details={"group": "porch.kpt.dev", "kind": "packagerevisions"},
            ),
            id="forbidden-no-name",
        ),
        pytest.param(
            errors.new_forbidden(errors.GroupResource("", ""), "", "nope"),
            _status(code=403, reason="Forbidden", message="forbidden: nope", details={}),
            id="forbidden-no-resource",
        ),
        pytest.param(
            errors.new_method_not_supported(PR, "deletecollection"),
            _status(
                code=405,
                reason="MethodNotAllowed",
                message="deletecollection is not supported on resources of kind "
                '"packagerevisions.porch.kpt.dev"',
                details={"group": "porch.kpt.dev", "kind": "packagerevisions"},
            ),
            id="method-not-supported",
        ),
        pytest.param(
            errors.new_not_acceptable(
                "only the following media types are accepted: application/json"
            ),
            _status(
                code=406,
                reason="NotAcceptable",
                message="only the following media types are accepted: application/json",
            ),
            id="not-acceptable",
        ),
        pytest.param(
            errors.new_gone("too old resource version: 5 (1010)"),
            _status(code=410, reason="Gone", message="too old resource version: 5 (1010)"),
            id="gone",
        ),
        pytest.param(
            errors.new_resource_expired("too old resource version: 5 (1010)"),
            _status(code=410, reason="Expired", message="too old resource version: 5 (1010)"),
            id="expired",
        ),
        pytest.param(
            errors.new_request_entity_too_large("limit is 3145728"),
            _status(
                code=413,
                reason="RequestEntityTooLarge",
                message="Request entity too large: limit is 3145728",
            ),
            id="too-large",
        ),
        pytest.param(
            errors.new_unsupported_media_type(
                "the body of the request was in an unknown format - accepted media types "
                "include: application/json-patch+json, application/merge-patch+json"
            ),
            _status(
                code=415,
                reason="UnsupportedMediaType",
                message="the body of the request was in an unknown format - accepted media types "
                "include: application/json-patch+json, application/merge-patch+json",
            ),
            id="unsupported-media-type",
        ),
        pytest.param(
            errors.new_too_many_requests("slow down", 3),
            _status(
                code=429,
                reason="TooManyRequests",
                message="slow down",
                details={"retryAfterSeconds": 3},
            ),
            id="too-many-requests",
        ),
        pytest.param(
            errors.new_internal_error(RuntimeError("disk on fire")),
            _status(
                code=500,
                reason="InternalError",
                message="Internal error occurred: disk on fire",
                details={"causes": [{"message": "disk on fire"}]},
            ),
            id="internal",
        ),
        pytest.param(
            errors.new_server_timeout(PR, "update", 2),
            _status(
                code=500,
                reason="ServerTimeout",
                message="The update operation against packagerevisions.porch.kpt.dev could not be "
                "completed at this time, please try again.",
                details={
                    "group": "porch.kpt.dev",
                    "kind": "packagerevisions",
                    "name": "update",
                    "retryAfterSeconds": 2,
                },
            ),
            id="server-timeout",
        ),
        pytest.param(
            errors.new_service_unavailable("the server is currently unable to handle the request"),
            _status(
                code=503,
                reason="ServiceUnavailable",
                message="the server is currently unable to handle the request",
            ),
            id="service-unavailable",
        ),
        pytest.param(
            errors.new_timeout("request did not complete within the allotted timeout", 0),
            _status(
                code=504,
                reason="Timeout",
                message="Timeout: request did not complete within the allotted timeout",
                details={},
            ),
            id="timeout",
        ),
    ],
)
def test_constructor_builds_the_status_clients_receive(
    err: errors.StatusError, want: dict[str, Any]
) -> None:
    assert codec.to_dict(err.status) == want
    assert (err.code, err.reason, str(err)) == (want["code"], want["reason"], want["message"])


def test_status_error_is_raisable_and_keeps_its_status() -> None:
    with pytest.raises(errors.StatusError, match='"x" not found') as info:
        raise errors.new_not_found(PR, "x")
    assert info.value.details is not None
    assert info.value.details.name == "x"
    assert repr(info.value) == (
        "StatusError(code=404, reason='NotFound', "
        "message='packagerevisions.porch.kpt.dev \"x\" not found')"
    )


def test_names_are_go_quoted() -> None:
    assert str(errors.new_not_found(PR, 'we"ird\n')) == (
        'packagerevisions.porch.kpt.dev "we\\"ird\\n" not found'
    )


@pytest.mark.parametrize(
    ("value", "want"),
    [
        pytest.param(PR, "packagerevisions.porch.kpt.dev", id="resource-with-group"),
        pytest.param(SECRETS, "secrets", id="resource-core"),
        pytest.param(PR_KIND, "PackageRevision.porch.kpt.dev", id="kind-with-group"),
        pytest.param(errors.GroupKind("", "Secret"), "Secret", id="kind-core"),
    ],
)
def test_group_resource_and_kind_strings(
    value: errors.GroupResource | errors.GroupKind, want: str
) -> None:
    assert str(value) == want


Predicate = Callable[[BaseException | None], bool]

_PREDICATES: dict[str, Predicate] = {
    "not_found": errors.is_not_found,
    "already_exists": errors.is_already_exists,
    "conflict": errors.is_conflict,
    "invalid": errors.is_invalid,
    "gone": errors.is_gone,
    "resource_expired": errors.is_resource_expired,
    "not_acceptable": errors.is_not_acceptable,
    "unsupported_media_type": errors.is_unsupported_media_type,
    "method_not_supported": errors.is_method_not_supported,
    "service_unavailable": errors.is_service_unavailable,
    "bad_request": errors.is_bad_request,
    "unauthorized": errors.is_unauthorized,
    "forbidden": errors.is_forbidden,
    "timeout": errors.is_timeout,
    "server_timeout": errors.is_server_timeout,
    "internal_error": errors.is_internal_error,
    "too_many_requests": errors.is_too_many_requests,
    "request_entity_too_large": errors.is_request_entity_too_large,
}


@pytest.mark.parametrize(
    ("err", "true_for"),
    [
        pytest.param(errors.new_not_found(PR, "x"), {"not_found"}, id="not-found"),
        pytest.param(errors.new_already_exists(PR, "x"), {"already_exists"}, id="exists"),
        pytest.param(errors.new_conflict(PR, "x", "e"), {"conflict"}, id="conflict"),
        pytest.param(
            errors.new_invalid(PR_KIND, "x", field.ErrorList()), {"invalid"}, id="invalid"
        ),
        pytest.param(errors.new_gone("g"), {"gone"}, id="gone"),
        pytest.param(errors.new_resource_expired("e"), {"resource_expired"}, id="expired"),
        pytest.param(errors.new_not_acceptable("n"), {"not_acceptable"}, id="not-acceptable"),
        pytest.param(
            errors.new_unsupported_media_type("u"), {"unsupported_media_type"}, id="media-type"
        ),
        pytest.param(
            errors.new_method_not_supported(PR, "watch"), {"method_not_supported"}, id="method"
        ),
        pytest.param(
            errors.new_service_unavailable("s"), {"service_unavailable"}, id="unavailable"
        ),
        pytest.param(errors.new_bad_request("b"), {"bad_request"}, id="bad-request"),
        pytest.param(errors.new_unauthorized("u"), {"unauthorized"}, id="unauthorized"),
        pytest.param(errors.new_forbidden(PR, "x", "f"), {"forbidden"}, id="forbidden"),
        pytest.param(errors.new_timeout("t", 1), {"timeout"}, id="timeout"),
        pytest.param(
            errors.new_server_timeout(PR, "get", 1), {"server_timeout"}, id="server-timeout"
        ),
        pytest.param(errors.new_internal_error("boom"), {"internal_error"}, id="internal"),
        pytest.param(errors.new_too_many_requests("t", 1), {"too_many_requests"}, id="too-many"),
        pytest.param(
            errors.new_request_entity_too_large("l"), {"request_entity_too_large"}, id="large"
        ),
        pytest.param(ValueError("plain"), set(), id="not-a-status-error"),
        pytest.param(None, set(), id="none"),
    ],
)
def test_each_predicate_recognises_exactly_its_reason(
    err: BaseException | None, true_for: set[str]
) -> None:
    assert {name for name, pred in _PREDICATES.items() if pred(err)} == true_for


def test_predicates_look_through_raise_from_chains() -> None:
    class DomainError(Exception):
        pass

    try:
        try:
            raise errors.new_not_found(PR, "x")
        except errors.StatusError as inner:
            raise DomainError("wrapped") from inner
    except DomainError as outer:
        assert errors.is_not_found(outer)
        assert errors.reason_for_error(outer) == "NotFound"


def test_implicit_exception_context_is_not_a_wrap() -> None:
    try:
        try:
            raise errors.new_not_found(PR, "x")
        except errors.StatusError:
            raise ValueError("unrelated") from None
    except ValueError as err:
        assert not errors.is_not_found(err)
        assert errors.reason_for_error(err) == ""


@pytest.mark.parametrize(
    ("reason", "code", "predicate", "want"),
    [
        pytest.param("", 404, errors.is_not_found, True, id="unknown-reason-404-is-not-found"),
        pytest.param("SomethingNew", 409, errors.is_conflict, True, id="foreign-reason-409"),
        pytest.param("Forbidden", 404, errors.is_not_found, False, id="known-reason-wins"),
        pytest.param("Whatever", 429, errors.is_too_many_requests, True, id="429-always"),
        pytest.param("Forbidden", 429, errors.is_too_many_requests, True, id="429-even-known"),
        pytest.param("", 500, errors.is_server_timeout, False, id="server-timeout-needs-reason"),
    ],
)
def test_status_received_from_another_server(
    reason: str, code: int, predicate: Predicate, want: bool
) -> None:
    err = errors.from_status(metav1.Status(status="Failure", reason=reason, code=code))
    assert predicate(err) is want


@pytest.mark.parametrize(
    ("err", "want"),
    [
        pytest.param(errors.new_too_many_requests("t", 7), 7, id="retry-after"),
        pytest.param(errors.new_server_timeout(PR, "get", 0), 0, id="server-timeout-always"),
        pytest.param(errors.new_timeout("t", 0), None, id="zero-is-no-delay"),
        pytest.param(errors.new_not_found(PR, "x"), None, id="no-details-delay"),
        pytest.param(errors.new_bad_request("b"), None, id="no-details"),
        pytest.param(KeyError("k"), None, id="not-status"),
    ],
)
def test_suggests_client_delay(err: BaseException, want: int | None) -> None:
    assert errors.suggests_client_delay(err) == want


def test_status_cause_lookup() -> None:
    err = errors.new_invalid(
        PR_KIND, "x", field.ErrorList([field.required(field.root("spec", "packageName"))])
    )
    cause = errors.status_cause(err, "FieldValueRequired")
    assert cause is not None
    assert cause.field == "spec.packageName"
    assert errors.has_status_cause(err, "FieldValueRequired")
    assert not errors.has_status_cause(err, "FieldValueInvalid")
    assert not errors.has_status_cause(errors.new_bad_request("b"), "FieldValueRequired")
