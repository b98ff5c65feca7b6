"""Domain errors of the engine, cache and repositories as Kubernetes ``Status`` errors.

Where this sits: every storage of :mod:`pkg.registry.porch` runs its engine calls inside
:func:`pkg.registry.porch.packagecommon.operation`, which passes any
:class:`~pkg.repository.errors.RepositoryError` to :func:`to_status` and raises the result.
The API server renders the StatusError as the response (or as a watch ``ERROR`` event).

The choice: **the right code, Porch's text.** Porch's REST layer wraps nearly every engine
error in ``apierrors.NewInternalError``, so clients get HTTP 500 for a duplicate workspace,
a stale resourceVersion or a failed render (porch.md §3.3, §3.10). Controllers and kubectl
decide on the code and reason (retry on 409, give up on 422, relist on 410), so porch-py
answers with the code that fits. People and scripts read the message, and porchctl's golden
cases pin it, so the message stays exactly what Porch's users see, including the
``Internal error occurred: `` prefix wherever Porch wrapped an engine error::

    409 AlreadyExists  Internal error occurred: package "init-package" already exists in
                       repository "git"
    409 Conflict       Internal error occurred: Operation cannot be fulfilled on
                       packagerevisionresources.porch.kpt.dev "git.test-package.push": the
                       object has been modified; please apply your changes to the latest
                       version and try again
    422 Invalid        Internal error occurred: resourceVersion must be specified for an update

Errors Porch raises before it calls its engine (missing namespace, unknown repository or
revision, strategy validation, the per-object lock, delete rules, v1alpha2 repositories)
keep Porch's own Kubernetes form, without the prefix.

The mapping, most specific class first (``engine.errors`` extend ``repository.errors``)::

    engine.BadRequestError          400 BadRequest        message as is
    engine.RepositoryGoneError      410 Gone              message as is
    cache.ExpiredError              410 Expired           message as is ("too old resource
                                                          version: N (M)"), clients relist
    engine.ObjectNotFoundError      404 NotFound          `<resource>.<group> "<name>" not
                                                          found`, details name the resource
    engine.ValidationError          422 Invalid           `<Kind>.porch.kpt.dev "<name>" is
                                                          invalid: ...`, one cause per field
    engine.InProgressError          409 Conflict          `Operation cannot be fulfilled on
                                                          packagerevisions.porch.kpt.dev
                                                          "<name>": another request ...`
    engine.DeleteForbiddenError     403 Forbidden         `packagerevisions.porch.kpt.dev
                                                          "<name>" is forbidden: <why>`
    engine.StaleObjectError         409 Conflict          prefix + Operation cannot be ...
    engine.PackageExistsError       409 AlreadyExists     prefix + message
    task.InvalidFieldError          422 Invalid           prefix + message, cause on `field`
    engine.RenderFailedError        422 Invalid           prefix + message (lowercase
                                                          "error rendering package ...")
    repository.AlreadyExistsError   409 AlreadyExists     prefix + message
    repository.ConflictError        409 Conflict          `Operation cannot be fulfilled on
                                                          ... "<name>": <message>` (delete
                                                          preconditions, lost races)
    repository.ForbiddenError       403 Forbidden         prefix + message (not Draft, the
                                                          remote declined the push)
    repository.NotFoundError        404 NotFound          prefix + message
    repository.InvalidPackageError  422 Invalid           prefix + message
    repository.InvalidRepositoryError  422 Invalid        prefix + message, cause on
                                                          `spec.repository`
    repository.BackendUnavailableError 503 ServiceUnavailable  prefix + message
    any other RepositoryError       500 InternalError     prefix + message

Anything that is not a ``RepositoryError`` is not translated: it is a bug, and the API
server answers it with a 500 and logs it with its trace id.
"""

from __future__ import annotations

import http
from typing import Final

from api import resourceinfo
from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import errors, field, strconv
from pkg.cache import cachetypes
from pkg.engine import errors as engineerrors
from pkg.repository import errors as repoerrors
from pkg.task import taskerrors

__all__ = ["INTERNAL_PREFIX", "to_status"]

INTERNAL_PREFIX: Final = "Internal error occurred: "
"""What Porch's ``apierrors.NewInternalError`` put before every engine error's text."""


def _group_resource(info: resourceinfo.ResourceInfo) -> errors.GroupResource:
    return errors.GroupResource(info.group, info.plural)


def _named_resource(resource: str) -> errors.GroupResource:
    """A resource the engine names in a NotFound (its own or ``repositories``)."""
    if resource == configv1alpha1.REPOSITORIES.plural:
        return errors.GroupResource(configv1alpha1.GROUP, resource)
    return errors.GroupResource(porchv1alpha1.GROUP, resource)


def _status(
    code: http.HTTPStatus,
    reason: errors.StatusReason,
    message: str,
    details: metav1.StatusDetails | None = None,
) -> errors.StatusError:
    return errors.StatusError(
        metav1.Status(
            kind="Status",
            api_version="v1",
            metadata=metav1.ListMeta(),
            status="Failure",
            code=int(code),
            reason=str(reason),
            message=message,
            details=details,
        )
    )


def _details(
    gr: errors.GroupResource | None = None,
    name: str = "",
    *,
    kind: str = "",
    causes: list[metav1.StatusCause] | None = None,
) -> metav1.StatusDetails:
    # Go marshals these with omitempty: empty values are left out.
    return metav1.StatusDetails(
        group=(gr.group if gr is not None else None) or None,
        kind=kind or (gr.resource if gr is not None else "") or None,
        name=name or None,
        causes=causes or None,
    )


def _invalid(
    info: resourceinfo.ResourceInfo, name: str, message: str, cause: metav1.StatusCause
) -> errors.StatusError:
    """422 with Porch's (prefixed) text as the message; ``details`` as Kubernetes builds
    them for Invalid (the Kind, not the resource), so kubectl can print the causes."""
    return _status(
        http.HTTPStatus.UNPROCESSABLE_ENTITY,
        errors.StatusReason.INVALID,
        message,
        metav1.StatusDetails(
            group=info.group or None, kind=info.kind, name=name or None, causes=[cause]
        ),
    )


def _conflict_message(resource: str, name: str, text: str) -> str:
    return f"Operation cannot be fulfilled on {resource} {strconv.quote(name)}: {text}"


def to_status(
    err: repoerrors.RepositoryError, info: resourceinfo.ResourceInfo, name: str = ""
) -> errors.StatusError:
    """The StatusError a client gets for ``err``, raised while serving ``info`` / ``name``
    (see the module docstring for the table). ``name`` may be empty (lists, creates)."""
    gr = _group_resource(info)
    text = str(err)
    wrapped = INTERNAL_PREFIX + text

    # Porch's REST layer and admission: their own Kubernetes form, no prefix.
    if isinstance(err, engineerrors.BadRequestError):
        return errors.new_bad_request(text)
    if isinstance(err, engineerrors.RepositoryGoneError):
        return errors.new_gone(text)
    if isinstance(err, cachetypes.ExpiredError):
        return errors.new_resource_expired(text)
    if isinstance(err, engineerrors.ObjectNotFoundError):
        target = _named_resource(err.resource)
        return _status(
            http.HTTPStatus.NOT_FOUND,
            errors.StatusReason.NOT_FOUND,
            text,
            _details(target, err.name),
        )
    if isinstance(err, engineerrors.ValidationError):
        return errors.new_invalid(errors.GroupKind(info.group, info.kind), name, err.field_errors)
    if isinstance(err, engineerrors.InProgressError):
        return errors.new_conflict(
            errors.GroupResource(porchv1alpha1.GROUP, porchv1alpha1.PACKAGE_REVISIONS.plural),
            name,
            text,
        )
    if isinstance(err, engineerrors.DeleteForbiddenError):
        return errors.new_forbidden(gr, err.name, text)

    # Errors of Porch's engine, which its REST layer wrapped in InternalError.
    if isinstance(err, engineerrors.StaleObjectError):
        resource = f"{err.resource}.{porchv1alpha1.GROUP}"
        return _status(
            http.HTTPStatus.CONFLICT,
            errors.StatusReason.CONFLICT,
            INTERNAL_PREFIX + _conflict_message(resource, err.name, text),
            _details(_named_resource(err.resource), err.name),
        )
    if isinstance(err, repoerrors.AlreadyExistsError):
        return _status(
            http.HTTPStatus.CONFLICT,
            errors.StatusReason.ALREADY_EXISTS,
            wrapped,
            _details(gr, name),
        )
    if isinstance(err, taskerrors.InvalidFieldError):
        cause = metav1.StatusCause(
            reason=str(field.ErrorType.INVALID), message=err.detail, field=err.field
        )
        return _invalid(info, name, wrapped, cause)
    if isinstance(err, engineerrors.RenderFailedError):
        return _invalid(info, name, wrapped, metav1.StatusCause(message=err.render_error))
    if isinstance(err, repoerrors.ConflictError):
        return errors.new_conflict(gr, name, text)
    if isinstance(err, repoerrors.ForbiddenError):
        return _status(
            http.HTTPStatus.FORBIDDEN, errors.StatusReason.FORBIDDEN, wrapped, _details(gr, name)
        )
    if isinstance(err, repoerrors.NotFoundError):
        return _status(
            http.HTTPStatus.NOT_FOUND, errors.StatusReason.NOT_FOUND, wrapped, _details(gr, name)
        )
    if isinstance(err, repoerrors.InvalidPackageError):
        return _invalid(info, name, wrapped, metav1.StatusCause(message=text))
    if isinstance(err, repoerrors.InvalidRepositoryError):
        cause = metav1.StatusCause(
            reason=str(field.ErrorType.INVALID), message=text, field="spec.repository"
        )
        return _invalid(info, name, wrapped, cause)
    if isinstance(err, repoerrors.BackendUnavailableError):
        return _status(
            http.HTTPStatus.SERVICE_UNAVAILABLE,
            errors.StatusReason.SERVICE_UNAVAILABLE,
            wrapped,
            _details(gr, name),
        )
    return errors.new_internal_error(err)
