"""Field and label selectors of list and watch requests, as cache filters (porch.md §2.5).

Where this sits: the list and watch calls of the packagerevisions and
packagerevisionresources storages pass their :class:`~pkg.registry.rest.rest.ListOptions`
to :func:`package_revision_filter`, the packages storage to :func:`package_filter`. The
result goes to the engine, which pushes it down to the cache: a list filtered by repository
or name only touches that repository, and the watcher manager applies the same filter to
every live event.

Selectable fields of packagerevisions and packagerevisionresources (only ``=``/``==``):

===================================== =======================================================
``metadata.name``                     parsed into repository/path/package/workspace (§2.1)
``metadata.namespace``                must not conflict with the request's namespace
``spec.revision``                     integer, a leading ``v`` allowed; ``0`` means no filter;
                                      a value that is no number selects revision -1 (tags
                                      such as ``v2.0.0`` and placeholders), as in Porch
``spec.packageName``                  the package path (``path/to/package``)
``spec.repository``                   the repository name
``spec.workspaceName``                the workspace
``spec.lifecycle``                    ``Draft``, ``Proposed``, ``Published``, ``DeletionProposed``
``spec.packageMetadata.labels[<k>]``  the Kptfile label ``<k>`` has this value
===================================== =======================================================

Packages take ``metadata.name``, ``metadata.namespace``, ``spec.packageName`` and
``spec.repository``. Errors are 400 BadRequest with Porch's words ("unknown fieldSelector
field", "unsupported fieldSelector value", "unsupported fieldSelector operator",
"conflicting namespaces specified"). Unlike Porch, every term counts (Porch stopped at the
first ``spec.packageMetadata.labels`` term), and two terms that give one field different
values are refused rather than one silently winning.

Label selectors are evaluated by the cache against the labels as served, which include the
computed ``kpt.dev/latest-revision: "true"``, so ``-l kpt.dev/latest-revision=true`` lists
the latest revisions.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from pkg.apimachinery import errors, fields, selection, strconv
from pkg.cache import cachetypes
from pkg.engine import lifecycle
from pkg.registry.rest import rest
from pkg.repository import errors as repoerrors
from pkg.repository import repository as repo_api

__all__ = [
    "PACKAGE_FIELDS",
    "PACKAGE_REVISION_FIELDS",
    "package_filter",
    "package_revision_filter",
    "parse_revision",
]

NAME: Final = "metadata.name"
NAMESPACE: Final = "metadata.namespace"
REVISION: Final = "spec.revision"
PACKAGE_NAME: Final = "spec.packageName"
REPOSITORY: Final = "spec.repository"
WORKSPACE_NAME: Final = "spec.workspaceName"
LIFECYCLE: Final = "spec.lifecycle"
_KPTFILE_LABEL_PREFIX: Final = "spec.packageMetadata.labels["

PACKAGE_REVISION_FIELDS: Final = (
    NAME,
    NAMESPACE,
    REVISION,
    PACKAGE_NAME,
    REPOSITORY,
    WORKSPACE_NAME,
    LIFECYCLE,
)
"""The fixed selectable fields of packagerevisions (plus ``spec.packageMetadata.labels[k]``)."""

PACKAGE_FIELDS: Final = (NAME, NAMESPACE, PACKAGE_NAME, REPOSITORY)
"""The selectable fields of packages."""

_EQUALITY: Final = frozenset({selection.Operator.EQUALS, selection.Operator.DOUBLE_EQUALS})


def _q(text: str) -> str:
    return strconv.quote(text)


def _check_operator(requirement: fields.Requirement) -> None:
    if requirement.operator not in _EQUALITY:
        raise errors.new_bad_request(
            f"unsupported fieldSelector operator {_q(str(requirement.operator))} for field "
            f"{_q(requirement.field)}"
        )
    if requirement.value == "":
        raise errors.new_bad_request(
            f"unsupported fieldSelector value {_q(requirement.value)} for field "
            f"{_q(requirement.field)} with operator {_q(str(requirement.operator))}"
        )


def _unknown(field_name: str) -> errors.StatusError:
    return errors.new_bad_request(f"unknown fieldSelector field {_q(field_name)}")


def parse_revision(value: str) -> int | None:
    """``spec.revision`` as Porch reads it: ``v3`` and ``3`` are 3, ``0`` is no filter
    (None), anything that is not a number is -1."""
    digits = value.removeprefix("v")
    try:
        revision = int(digits)
    except ValueError:
        return repo_api.PLACEHOLDER_REVISION
    return revision or None


class _Values:
    """The value each field was given; a second, different value for a field is a 400."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def set(self, field_name: str, value: str) -> str:
        previous = self._values.setdefault(field_name, value)
        if previous != value:
            raise errors.new_bad_request(
                f"conflicting fieldSelector values {_q(previous)} and {_q(value)} for field "
                f"{_q(field_name)}"
            )
        return value


def _namespace(request_namespace: str | None, selected: str | None) -> str | None:
    """The namespace to list: the request's, unless a selector names another (400)."""
    if request_namespace and selected is not None and selected != request_namespace:
        raise errors.new_bad_request(
            f"conflicting namespaces specified: {_q(request_namespace)} and {_q(selected)}"
        )
    return request_namespace or selected


def package_revision_filter(
    options: rest.ListOptions, request_namespace: str | None
) -> cachetypes.PackageRevisionFilter:
    """The cache filter of a packagerevisions/packagerevisionresources list or watch in
    ``request_namespace`` (None: all namespaces). Raises 400 BadRequest StatusErrors."""
    values = _Values()
    selected_namespace: str | None = None
    filter = cachetypes.PackageRevisionFilter(label_selector=options.label_selector)
    kptfile_labels: dict[str, str] = {}
    selector = options.field_selector
    for requirement in selector.requirements() if selector is not None else ():
        _check_operator(requirement)
        name, value = requirement.field, requirement.value
        if name.startswith(_KPTFILE_LABEL_PREFIX) and name.endswith("]"):
            key = name[len(_KPTFILE_LABEL_PREFIX) : -1]
            if not key:
                raise errors.new_bad_request(
                    f"label key cannot be empty in field selector {_q(name)}"
                )
            kptfile_labels[key] = values.set(name, value)
            continue
        values.set(name, value)
        if name == NAME:
            try:
                key_of_name = repo_api.parse_package_revision_name("", value)
            except repoerrors.InvalidPackageError as err:
                raise errors.new_bad_request(str(err)) from err
            # Only the named revision's repository needs to be read. A spec.repository
            # term naming another one keeps its value: then nothing matches.
            repository = filter.repository or key_of_name.pkg_key.repo_key.name
            filter = dataclasses.replace(filter, name=value, repository=repository)
        elif name == NAMESPACE:
            selected_namespace = value
        elif name == REVISION:
            filter = dataclasses.replace(filter, revision=parse_revision(value))
        elif name == PACKAGE_NAME:
            filter = dataclasses.replace(filter, package_path=value)
        elif name == REPOSITORY:
            filter = dataclasses.replace(filter, repository=value)
        elif name == WORKSPACE_NAME:
            filter = dataclasses.replace(filter, workspace=value)
        elif name == LIFECYCLE:
            parsed = lifecycle.parse_lifecycle(value)
            if parsed is None:
                raise errors.new_bad_request(
                    f"unsupported fieldSelector value {_q(value)} for field {_q(name)}"
                )
            filter = dataclasses.replace(filter, lifecycles=frozenset({parsed}))
        else:
            raise _unknown(name)
    return dataclasses.replace(
        filter,
        namespace=_namespace(request_namespace, selected_namespace),
        kptfile_labels=kptfile_labels,
    )


def package_filter(
    options: rest.ListOptions, request_namespace: str | None
) -> cachetypes.PackageFilter:
    """The cache filter of a packages list in ``request_namespace`` (None: all)."""
    values = _Values()
    selected_namespace: str | None = None
    filter = cachetypes.PackageFilter()
    selector = options.field_selector
    for requirement in selector.requirements() if selector is not None else ():
        _check_operator(requirement)
        name, value = requirement.field, values.set(requirement.field, requirement.value)
        if name == NAME:
            try:
                key = repo_api.parse_package_name("", value)
            except repoerrors.InvalidPackageError as err:
                raise errors.new_bad_request(str(err)) from err
            repository = filter.repository or key.repo_key.name
            filter = dataclasses.replace(filter, name=value, repository=repository)
        elif name == NAMESPACE:
            selected_namespace = value
        elif name == PACKAGE_NAME:
            filter = dataclasses.replace(filter, package_path=value)
        elif name == REPOSITORY:
            filter = dataclasses.replace(filter, repository=value)
        else:
            raise _unknown(name)
    return dataclasses.replace(filter, namespace=_namespace(request_namespace, selected_namespace))
