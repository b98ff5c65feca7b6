"""Domain errors to Status: the right code and reason, Porch's message, for every class."""

from __future__ import annotations

from typing import Any

import pytest

from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import codec, field
from pkg.cache import cachetypes
from pkg.engine import errors as engineerrors
from pkg.registry.porch import interpret
from pkg.repository import errors as repoerrors
from pkg.task import taskerrors

PR = porchv1alpha1.PACKAGE_REVISIONS
PRR = porchv1alpha1.PACKAGE_REVISION_RESOURCES
NAME = "git.init-package.ws"
P = "Internal error occurred: "

CASES: list[Any] = [
    pytest.param(
        engineerrors.BadRequestError("spec.repositoryName is required"),
        PR,
        400,
        "BadRequest",
        "spec.repositoryName is required",
        None,
        id="bad-request",
    ),
    pytest.param(
        engineerrors.RepositoryGoneError("repository git is managed by v1alpha2"),
        PR,
        410,
        "Gone",
        "repository git is managed by v1alpha2",
        None,
        id="v1alpha2",
    ),
    pytest.param(
        cachetypes.ExpiredError("too old resource version: 3 (10)"),
        PR,
        410,
        "Expired",
        "too old resource version: 3 (10)",
        None,
        id="expired",
    ),
    pytest.param(
        engineerrors.ObjectNotFoundError("packagerevisions", NAME),
        PR,
        404,
        "NotFound",
        f'packagerevisions.porch.kpt.dev "{NAME}" not found',
        {"group": "porch.kpt.dev", "kind": "packagerevisions", "name": NAME},
        id="revision-not-found",
    ),
    pytest.param(
        engineerrors.ObjectNotFoundError(
            "repositories", "git", 'repositories.config.porch.kpt.dev "git" not found'
        ),
        PR,
        404,
        "NotFound",
        'repositories.config.porch.kpt.dev "git" not found',
        {"group": "config.porch.kpt.dev", "kind": "repositories", "name": "git"},
        id="repository-not-found",
    ),
    pytest.param(
        engineerrors.ValidationError(
            field.ErrorList(
                [field.invalid(field.new_path("spec", "workspaceName"), "A", "bad label")]
            )
        ),
        PR,
        422,
        "Invalid",
        f'PackageRevision.porch.kpt.dev "{NAME}" is invalid: spec.workspaceName: Invalid value: '
        '"A": bad label',
        {
            "group": "porch.kpt.dev",
            "kind": "PackageRevision",
            "name": NAME,
            "causes": [
                {
                    "reason": "FieldValueInvalid",
                    "message": 'Invalid value: "A": bad label',
                    "field": "spec.workspaceName",
                }
            ],
        },
        id="validation",
    ),
    pytest.param(
        engineerrors.InProgressError(
            f'another request is already in progress on package revision "ns/{NAME}"'
        ),
        PRR,
        409,
        "Conflict",
        f'Operation cannot be fulfilled on packagerevisions.porch.kpt.dev "{NAME}": another '
        f'request is already in progress on package revision "ns/{NAME}"',
        {"group": "porch.kpt.dev", "kind": "packagerevisions", "name": NAME},
        id="in-progress",
    ),
    pytest.param(
        engineerrors.DeleteForbiddenError(
            NAME, "cannot delete package revision, it is referenced as upstream by: x"
        ),
        PR,
        403,
        "Forbidden",
        f'packagerevisions.porch.kpt.dev "{NAME}" is forbidden: cannot delete package revision, '
        "it is referenced as upstream by: x",
        {"group": "porch.kpt.dev", "kind": "packagerevisions", "name": NAME},
        id="delete-forbidden",
    ),
    pytest.param(
        engineerrors.StaleObjectError("packagerevisionresources", "git.test-package.push"),
        PRR,
        409,
        "Conflict",
        P + "Operation cannot be fulfilled on packagerevisionresources.porch.kpt.dev "
        '"git.test-package.push": the object has been modified; please apply your changes to '
        "the latest version and try again",
        {
            "group": "porch.kpt.dev",
            "kind": "packagerevisionresources",
            "name": "git.test-package.push",
        },
        id="stale",
    ),
    pytest.param(
        engineerrors.PackageExistsError(
            'package "init-package" already exists in repository "git"'
        ),
        PR,
        409,
        "AlreadyExists",
        P + 'package "init-package" already exists in repository "git"',
        {"group": "porch.kpt.dev", "kind": "packagerevisions", "name": NAME},
        id="package-exists",
    ),
    pytest.param(
        repoerrors.AlreadyExistsError("ref drafts/p/ws already exists"),
        PR,
        409,
        "AlreadyExists",
        P + "ref drafts/p/ws already exists",
        {"group": "porch.kpt.dev", "kind": "packagerevisions", "name": NAME},
        id="already-exists",
    ),
    pytest.param(
        taskerrors.InvalidFieldError(
            "metadata.resourceVersion", "", "resourceVersion must be specified for an update"
        ),
        PR,
        422,
        "Invalid",
        P + "resourceVersion must be specified for an update",
        {
            "group": "porch.kpt.dev",
            "kind": "PackageRevision",
            "name": NAME,
            "causes": [
                {
                    "reason": "FieldValueInvalid",
                    "message": "resourceVersion must be specified for an update",
                    "field": "metadata.resourceVersion",
                }
            ],
        },
        id="invalid-field",
    ),
    pytest.param(
        engineerrors.RenderFailedError(
            "error rendering package in kpt function pipeline. Package NOT pushed to remote. "
            "Fix locally (until 'kpt fn render' succeeds) and retry. Details: boom",
            render_error="boom",
            render_status=None,
            pushed=False,
        ),
        PRR,
        422,
        "Invalid",
        P + "error rendering package in kpt function pipeline. Package NOT pushed to remote. "
        "Fix locally (until 'kpt fn render' succeeds) and retry. Details: boom",
        {
            "group": "porch.kpt.dev",
            "kind": "PackageRevisionResources",
            "name": NAME,
            "causes": [{"message": "boom"}],
        },
        id="render-failed",
    ),
    pytest.param(
        repoerrors.ConflictError(
            "Precondition failed: UID in precondition: x, UID in object meta: y"
        ),
        PR,
        409,
        "Conflict",
        f'Operation cannot be fulfilled on packagerevisions.porch.kpt.dev "{NAME}": '
        "Precondition failed: UID in precondition: x, UID in object meta: y",
        {"group": "porch.kpt.dev", "kind": "packagerevisions", "name": NAME},
        id="conflict",
    ),
    pytest.param(
        repoerrors.ForbiddenError("the remote declined the push: pre-receive hook declined"),
        PR,
        403,
        "Forbidden",
        P + "the remote declined the push: pre-receive hook declined",
        {"group": "porch.kpt.dev", "kind": "packagerevisions", "name": NAME},
        id="forbidden",
    ),
    pytest.param(
        repoerrors.NotFoundError("branch main not found"),
        PR,
        404,
        "NotFound",
        P + "branch main not found",
        {"group": "porch.kpt.dev", "kind": "packagerevisions", "name": NAME},
        id="not-found",
    ),
    pytest.param(
        repoerrors.InvalidPackageError("package must contain Kptfile at root"),
        PRR,
        422,
        "Invalid",
        P + "package must contain Kptfile at root",
        {
            "group": "porch.kpt.dev",
            "kind": "PackageRevisionResources",
            "name": NAME,
            "causes": [{"message": "package must contain Kptfile at root"}],
        },
        id="invalid-package",
    ),
    pytest.param(
        repoerrors.InvalidRepositoryError("unsupported repository type oci"),
        PR,
        422,
        "Invalid",
        P + "unsupported repository type oci",
        {
            "group": "porch.kpt.dev",
            "kind": "PackageRevision",
            "name": NAME,
            "causes": [
                {
                    "reason": "FieldValueInvalid",
                    "message": "unsupported repository type oci",
                    "field": "spec.repository",
                }
            ],
        },
        id="invalid-repository",
    ),
    pytest.param(
        repoerrors.BackendUnavailableError("git fetch failed: connection refused"),
        PR,
        503,
        "ServiceUnavailable",
        P + "git fetch failed: connection refused",
        {"group": "porch.kpt.dev", "kind": "packagerevisions", "name": NAME},
        id="backend-unavailable",
    ),
    pytest.param(
        repoerrors.RepositoryError("something new"),
        PR,
        500,
        "InternalError",
        P + "something new",
        {"causes": [{"message": "something new"}]},
        id="other",
    ),
]


@pytest.mark.parametrize(("err", "info", "code", "reason", "message", "details"), CASES)
def test_to_status(
    err: repoerrors.RepositoryError,
    info: Any,
    code: int,
    reason: str,
    message: str,
    details: dict[str, Any] | None,
) -> None:
    status = interpret.to_status(err, info, NAME)
    assert (status.code, status.reason, status.message) == (code, reason, message)
    got = codec.to_dict(status.status)
    assert got.get("details") == details
    assert got["kind"] == "Status" and got["status"] == "Failure" and got["code"] == code


def test_every_domain_error_class_has_a_case() -> None:
    covered = {type(case.values[0]) for case in CASES}
    classes = {
        cls
        for module in (repoerrors, engineerrors, taskerrors)
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, repoerrors.RepositoryError)
    } | {cachetypes.ExpiredError}
    assert classes <= covered, classes - covered


def test_the_golden_texts_of_porchctl_survive() -> None:
    # rpkg-init, rpkg-clone, rpkg-push (Porch's porchctl golden cases).
    assert (
        interpret.to_status(
            engineerrors.PackageExistsError(
                'package "init-package" already exists in repository "git"'
            ),
            PR,
        ).message
        == 'Internal error occurred: package "init-package" already exists in repository "git"'
    )
    assert interpret.to_status(
        engineerrors.StaleObjectError("packagerevisionresources", "git.test-package.push"), PRR
    ).message == (
        "Internal error occurred: Operation cannot be fulfilled on "
        'packagerevisionresources.porch.kpt.dev "git.test-package.push": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )
