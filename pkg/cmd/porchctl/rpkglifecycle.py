"""``porchctl rpkg propose|approve|reject|propose-delete|del``: lifecycle changes.

Where this sits: click commands over the client's PackageRevisions. Each takes several
names and runs :func:`for_each_package`, Porch's ``RunForEachPackage``: GET the revision,
check its readiness gates where the command requires it, apply the change (retried on
conflicts), print ``<name> <result>`` on stdout, or ``<name> failed (<error>)`` on stderr
and, at the end, ``Error: errors:`` with every failure.

The transitions, as Porch's porchctl makes them: propose Draft -> Proposed and
propose-delete Published -> DeletionProposed by a plain update; approve through the
``approval`` subresource; reject Proposed -> Draft through ``approval`` and
DeletionProposed -> Published by a plain update.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import click

from api.porch import v1alpha1 as porchv1alpha1
from pkg.client import client as porchclient
from pkg.client import errors as clienterrors
from pkg.cmd.porchctl import cmdutil, docs, flags

__all__ = ["approve", "delete", "propose", "propose_delete", "reject"]

Action = Callable[[porchclient.Client, porchv1alpha1.PackageRevision], str]
"""Applies a change to one revision; returns the success line ("" prints nothing)."""

_DRAFT: Final[porchv1alpha1.PackageRevisionLifecycle] = "Draft"
_PROPOSED: Final[porchv1alpha1.PackageRevisionLifecycle] = "Proposed"
_PUBLISHED: Final[porchv1alpha1.PackageRevisionLifecycle] = "Published"
_DELETION_PROPOSED: Final[porchv1alpha1.PackageRevisionLifecycle] = "DeletionProposed"
_PACKAGE_REQUIRED: Final = "PACKAGE is a required positional argument"


def _for_each_name(
    names: Sequence[str],
    work: Callable[[porchclient.Client, str, str], str],
    *,
    missing_argument: str,
) -> None:
    """Run ``work(client, namespace, name)`` for every name: its line on stdout, each
    failure on stderr and, at the end, all of them in one error."""
    rt = flags.runtime()
    rt.check_namespace_flag()
    if not names:
        raise cmdutil.KptError(missing_argument)
    porch = rt.client()
    namespace = rt.namespace()
    failures = cmdutil.Failures(cmdutil.stderr())
    for name in names:
        try:
            message = work(porch, namespace, name)
        except (clienterrors.ClientError, cmdutil.KptError) as err:
            failures.add(name, err)
            continue
        if message:
            cmdutil.write(cmdutil.stdout(), message + "\n")
    failures.raise_if_any()


def for_each_package(
    names: Sequence[str],
    action: Action,
    *,
    check_readiness: bool,
    missing_argument: str = _PACKAGE_REQUIRED,
) -> None:
    """Porch's RunForEachPackage (see the module docstring)."""

    def work(porch: porchclient.Client, namespace: str, name: str) -> str:
        def attempt() -> str:
            pr = porch.package_revisions.get(name, namespace=namespace)
            if check_readiness and not porchclient.package_revision_is_ready(pr):
                raise cmdutil.KptError("readiness conditions not met")
            return action(porch, pr)

        return porchclient.retry_on_conflict(attempt)

    _for_each_name(names, work, missing_argument=missing_argument)


def _lifecycle(pr: porchv1alpha1.PackageRevision) -> str:
    return (pr.spec.lifecycle if pr.spec else None) or ""


def _name(pr: porchv1alpha1.PackageRevision) -> str:
    return (pr.metadata.name if pr.metadata else None) or ""


def _set_lifecycle(
    pr: porchv1alpha1.PackageRevision, lifecycle: porchv1alpha1.PackageRevisionLifecycle
) -> None:
    if pr.spec is None:
        pr.spec = porchv1alpha1.PackageRevisionSpec()
    pr.spec.lifecycle = lifecycle


def update_approval(
    porch: porchclient.Client,
    pr: porchv1alpha1.PackageRevision,
    new: porchv1alpha1.PackageRevisionLifecycle,
) -> None:
    """Porch's ``UpdatePackageRevisionApproval``: the approval transitions porchctl allows."""
    current = _lifecycle(pr)
    if current == _PROPOSED:
        allowed = new in (_PUBLISHED, _DRAFT)
    elif current == _DELETION_PROPOSED:
        allowed = new == _PUBLISHED
    elif current == new:
        return
    else:
        allowed = False
    if not allowed:
        raise cmdutil.KptError(f"cannot change approval from {current} to {new}")
    _set_lifecycle(pr, new)
    porch.package_revisions.update_approval(pr)


def _propose(porch: porchclient.Client, pr: porchv1alpha1.PackageRevision) -> str:
    lifecycle = _lifecycle(pr)
    if lifecycle == _DRAFT:
        _set_lifecycle(pr, _PROPOSED)
        porch.package_revisions.update(pr)
        return f"{_name(pr)} proposed"
    if lifecycle == _PROPOSED:
        cmdutil.write(cmdutil.stderr(), f"{_name(pr)} is already proposed\n")
        return ""
    raise cmdutil.KptError(f"cannot propose {lifecycle} package")


def _approve(porch: porchclient.Client, pr: porchv1alpha1.PackageRevision) -> str:
    update_approval(porch, pr, _PUBLISHED)
    return f"{_name(pr)} approved"


def _reject(porch: porchclient.Client, pr: porchv1alpha1.PackageRevision) -> str:
    lifecycle = _lifecycle(pr)
    if lifecycle == _PROPOSED:
        update_approval(porch, pr, _DRAFT)
        return f"{_name(pr)} no longer proposed for approval"
    if lifecycle == _DELETION_PROPOSED:
        _set_lifecycle(pr, _PUBLISHED)
        porch.package_revisions.update(pr)
        return f"{_name(pr)} no longer proposed for deletion"
    raise cmdutil.KptError(f"cannot reject {_name(pr)} with lifecycle '{lifecycle}'")


def _propose_delete(porch: porchclient.Client, pr: porchv1alpha1.PackageRevision) -> str:
    lifecycle = _lifecycle(pr)
    if lifecycle == _PUBLISHED:
        _set_lifecycle(pr, _DELETION_PROPOSED)
        porch.package_revisions.update(pr)
        return f"{_name(pr)} proposed for deletion"
    if lifecycle == _DELETION_PROPOSED:
        cmdutil.write(cmdutil.stderr(), f"{_name(pr)} is already proposed for deletion\n")
        return ""
    raise cmdutil.KptError(
        f"can only propose published packages for deletion; package {_name(pr)} is not published"
    )


@flags.command(
    "propose",
    short_help=docs.PROPOSE_SHORT,
    help=docs.PROPOSE,
    epilog=docs.PROPOSE_EXAMPLES,
)
@click.argument("names", nargs=-1, metavar="[PACKAGE ...]")
@flags.kube_flags()
@flags.api_version_flag
def propose(*, names: Sequence[str]) -> None:
    """Propose that package revisions be published."""
    for_each_package(names, _propose, check_readiness=True)


@flags.command(
    "approve",
    short_help=docs.APPROVE_SHORT,
    help=docs.APPROVE,
    epilog=docs.APPROVE_EXAMPLES,
)
@click.argument("names", nargs=-1, metavar="PACKAGE...")
@flags.kube_flags()
@flags.api_version_flag
def approve(*, names: Sequence[str]) -> None:
    """Approve proposals to publish package revisions."""
    for_each_package(names, _approve, check_readiness=True)


@flags.command(
    "reject",
    short_help=docs.REJECT_SHORT,
    help=docs.REJECT,
    epilog=docs.REJECT_EXAMPLES,
)
@click.argument("names", nargs=-1, metavar="PACKAGE...")
@flags.kube_flags()
@flags.api_version_flag
def reject(*, names: Sequence[str]) -> None:
    """Reject a proposal to publish or delete package revisions."""
    for_each_package(
        names,
        _reject,
        check_readiness=False,
        missing_argument="PACKAGE_REVISION is a required positional argument",
    )


@flags.command(
    "propose-delete",
    aliases=("propose-del",),
    short_help=docs.PROPOSE_DELETE_SHORT,
    help=docs.PROPOSE_DELETE,
    epilog=docs.PROPOSE_DELETE_EXAMPLES,
)
@click.argument("names", nargs=-1, metavar="PACKAGE...")
@flags.kube_flags()
@flags.api_version_flag
def propose_delete(*, names: Sequence[str]) -> None:
    """Propose deletion of published package revisions."""
    for_each_package(names, _propose_delete, check_readiness=False)


@flags.command(
    "del",
    aliases=("delete",),
    short_help=docs.DEL_SHORT,
    help=docs.DEL,
    epilog=docs.DEL_EXAMPLES,
)
@click.argument("names", nargs=-1, metavar="PACKAGE...")
@flags.kube_flags()
@flags.api_version_flag
def delete(*, names: Sequence[str]) -> None:
    """Delete package revisions."""
    _for_each_name(names, _delete, missing_argument=_PACKAGE_REQUIRED)


def _delete(porch: porchclient.Client, namespace: str, name: str) -> str:
    porch.package_revisions.delete(name, namespace=namespace)
    return f"{name} deleted"
