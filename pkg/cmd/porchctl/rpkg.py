"""``porchctl rpkg``: the package-revision commands; ``get``, ``pull`` and ``push`` live here.

Where this sits: the ``rpkg`` click group, with the create commands
(:mod:`~pkg.cmd.porchctl.rpkgcreate`), lifecycle commands
(:mod:`~pkg.cmd.porchctl.rpkglifecycle`) and ``upgrade``
(:mod:`~pkg.cmd.porchctl.rpkgupgrade`) added to it. Behaviour and texts follow Porch's
``pkg/cli/commands/rpkg`` (``porchctl-deployment-behaviours.md`` §5.2).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, Final

import click

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import codec, fields
from pkg.client import errors as clienterrors
from pkg.client import resources
from pkg.cmd.porchctl import (
    cmdutil,
    docs,
    flags,
    output,
    resourceio,
    rpkgcreate,
    rpkglifecycle,
    rpkgupgrade,
)

__all__ = ["rpkg"]

_RESOURCE: Final = porchv1alpha1.PACKAGE_REVISIONS.group_resource
_KIND: Final = "packagerevision.porch.kpt.dev"
_ANY_REVISION: Final = -2


@click.group("rpkg", cls=flags.PorchGroup, aliases=("rpackage",), help=docs.RPKG)
@flags.global_flags
def rpkg() -> None:
    """Manage packages."""
    flags.usage_without_subcommand()


# -- get -------------------------------------------------------------------------------


@rpkg.command(
    "get",
    cls=flags.PorchCommand,
    aliases=("list",),
    short_help=docs.GET_SHORT,
    help=docs.GET,
    epilog=docs.GET_EXAMPLES,
)
@click.argument("names", nargs=-1, metavar="[PACKAGE_REVISION...]")
@flags.option(
    "--name",
    "package_name",
    default="",
    help="Name of the packages to get. Only revisions of this package are listed.",
)
@flags.option(
    "--revision",
    type=int,
    default=_ANY_REVISION,
    help="Revision of the packages to get. Only revisions with this revision number are listed.",
)
@flags.option(
    "--workspace",
    default="",
    help="WorkspaceName of the packages to get. Only revisions in this workspace are listed.",
)
@flags.bool_flag(
    "--show-kptfile",
    help="Display the root Kptfile of the specified package revision. Requires a "
    "single package revision name as an argument.",
)
@flags.print_flags
@flags.all_namespaces_flag
@flags.kube_flags()
@flags.api_version_flag
@flags.global_flags
def get(
    *, names: Sequence[str], package_name: str, revision: int, workspace: str, show_kptfile: bool
) -> None:
    """List package revisions in registered repositories."""
    rt = flags.runtime()
    rt.check_namespace_flag(plain=True)
    if show_kptfile:
        _show_kptfile(names, package_name, revision, workspace)
        return
    rt.print.with_namespace = rt.all_namespaces
    out = output.Output(rt.print, kind_of=lambda _obj: _KIND)
    porch = rt.client()
    revisions = porch.package_revisions
    namespace = None if rt.all_namespaces else rt.namespace()
    selector = ""
    if not names:
        # One field-selector term, the most specific flag winning, as Porch sends it.
        if package_name:
            selector = str(fields.one_term_equal_selector("spec.packageName", package_name))
        elif workspace:
            selector = str(fields.one_term_equal_selector("spec.workspaceName", workspace))
        elif revision != _ANY_REVISION:
            selector = str(fields.one_term_equal_selector("spec.revision", str(revision)))
    if rt.print.wants_table:
        include: resources.IncludeObject | None = "Object" if rt.print.sort_by else None
        tables: list[metav1.Table] = []
        if names:
            tables = output.fetch_each(
                names,
                lambda n: revisions.get_table(n, namespace=namespace, include_object=include),
                _table_error_message,
            )
        else:
            tables.append(
                revisions.list_table(
                    namespace=namespace,
                    all_namespaces=rt.all_namespaces,
                    field_selector=selector or None,
                    include_object=include,
                )
            )
        for table in tables:
            table.rows = [
                row
                for row in table.rows
                if _row_matches(table, row, package_name, revision, workspace)
            ]
        out.tables(tables, kind=_KIND)
        return
    objects: list[dict[str, Any]] = []
    if names:
        objects = output.fetch_each(names, lambda n: revisions.get_raw(n, namespace=namespace))
    else:
        listed = revisions.list_raw(
            namespace=namespace,
            all_namespaces=rt.all_namespaces,
            field_selector=selector or None,
        )
        objects = [item for item in listed.get("items") or [] if isinstance(item, dict)]
    out.objects(o for o in objects if _object_matches(o, package_name, revision, workspace))


def _show_kptfile(names: Sequence[str], package_name: str, revision: int, workspace: str) -> None:
    rt = flags.runtime()
    if len(names) != 1:
        raise cmdutil.PlainError(
            "--show-kptfile requires exactly one package revision name as an argument"
        )
    if package_name or revision != _ANY_REVISION or workspace:
        raise cmdutil.PlainError(
            "--show-kptfile cannot be combined with --name, --revision, or --workspace"
        )
    if rt.all_namespaces:
        raise cmdutil.PlainError("--show-kptfile cannot be combined with --all-namespaces")
    porch = rt.client()
    prr = porch.package_revision_resources.get(names[0], namespace=rt.namespace())
    resources = (prr.spec.resources if prr.spec else None) or {}
    kptfile = resources.get("Kptfile")
    if kptfile is None:
        raise cmdutil.KptError(f'package revision "{names[0]}" does not contain a root Kptfile')
    cmdutil.write(cmdutil.stdout(), kptfile)


def _table_error_message(err: clienterrors.ApiError, name: str) -> str:
    """What Porch prints for a failed GET in table mode.

    Its client asks for a Table with a scheme that cannot decode a Status, so client-go
    falls back to the generic text (``the server could not find the requested resource
    (get packagerevisions.porch.kpt.dev NAME)``); the server's message is lost.
    """
    status = clienterrors.generic_status(err.code, "GET", _RESOURCE, name, "unknown")
    return status.message or str(err)


def _column(table: metav1.Table, name: str) -> int:
    return next((i for i, c in enumerate(table.column_definitions) if c.name == name), -1)


def _row_matches(
    table: metav1.Table, row: metav1.TableRow, package: str, revision: int, workspace: str
) -> bool:
    """Porch's ``filterTableRows``: the filters that could not go to the server."""
    cells = row.cells

    def cell(name: str) -> Any:
        index = _column(table, name)
        return cells[index] if 0 <= index < len(cells) else None

    value = cell("Package")
    if package and isinstance(value, str) and value != package:
        return False
    value = cell("Revision")
    if revision != _ANY_REVISION and isinstance(value, int) and value != revision:
        return False
    value = cell("WorkspaceName")
    return not (workspace and isinstance(value, str) and value != workspace)


def _object_matches(obj: Mapping[str, Any], package: str, revision: int, workspace: str) -> bool:
    spec = obj.get("spec") or {}
    if package and spec.get("packageName", "") != package:
        return False
    if revision != _ANY_REVISION and spec.get("revision", 0) != revision:
        return False
    return not (workspace and spec.get("workspaceName", "") != workspace)


# -- pull / push -------------------------------------------------------------------------


@rpkg.command(
    "pull",
    cls=flags.PorchCommand,
    aliases=("source", "read"),
    short_help=docs.PULL_SHORT,
    help=docs.PULL,
    epilog=docs.PULL_EXAMPLES,
)
@click.argument("args", nargs=-1, metavar="PACKAGE [DIR]")
@flags.kube_flags()
@flags.api_version_flag
@flags.global_flags
def pull(*, args: Sequence[str]) -> None:
    """Pull the contents of a package revision."""
    rt = flags.runtime()
    rt.check_namespace_flag()
    if not args:
        raise cmdutil.KptError("PACKAGE is a required positional argument")
    porch = rt.client()
    raw = porch.package_revision_resources.get_raw(args[0], namespace=rt.namespace())
    spec = raw.get("spec")
    files = spec.get("resources") if isinstance(spec, dict) else None
    package_files = {str(k): v for k, v in (files or {}).items() if isinstance(v, str)}
    metadata = raw.get("metadata")
    package_files[resourceio.REVISION_METADATA_FILE] = resourceio.revision_metadata(
        metadata if isinstance(metadata, dict) else {}
    )
    if len(args) > 1:
        resourceio.write_dir(package_files, args[1])
    else:
        cmdutil.write(cmdutil.stdout(), resourceio.to_resource_list(package_files))


@rpkg.command(
    "push",
    cls=flags.PorchCommand,
    aliases=("sink", "write"),
    short_help=docs.PUSH_SHORT,
    help=docs.PUSH,
    epilog=docs.PUSH_EXAMPLES,
)
@click.argument("args", nargs=-1, metavar="PACKAGE [DIR]")
@flags.kube_flags()
@flags.api_version_flag
@flags.global_flags
def push(*, args: Sequence[str]) -> None:
    """Push local changes to a draft package revision."""
    rt = flags.runtime()
    rt.check_namespace_flag()
    if not args:
        raise cmdutil.KptError("PACKAGE name is a required positional argument")
    name = args[0]
    stderr = cmdutil.stderr()
    if len(args) > 1 and args[1] != "-":
        package_files = resourceio.read_dir(args[1])
    else:
        if len(args) == 1:
            cmdutil.write(
                stderr,
                "Warning: This way of using stdin will be deprecated in Porch release 5.x.x. "
                "Please use '-' to provide stdin.\n",
            )
        package_files = resourceio.from_resource_list(sys.stdin.read())
    porch = rt.client()
    namespace = rt.namespace()
    resource_version = resourceio.take_resource_version(package_files, namespace, name)
    prr = porchv1alpha1.PackageRevisionResources(
        api_version=porchv1alpha1.API_VERSION,
        kind="PackageRevisionResources",
        metadata=metav1.ObjectMeta(
            name=name, namespace=namespace, resource_version=resource_version or None
        ),
        spec=porchv1alpha1.PackageRevisionResourcesSpec(resources=package_files),
    )
    updated = porch.package_revision_resources.update(prr)
    _print_render_status(updated)
    cmdutil.write(cmdutil.stdout(), f"{name} pushed\n")


def _print_render_status(prr: porchv1alpha1.PackageRevisionResources) -> None:
    """The render's function results on stderr, as Porch's porchctl prints them."""
    stderr = cmdutil.stderr()
    status = prr.status.render_status if prr.status else None
    if status is None:
        return
    if status.error:
        cmdutil.write(stderr, "Package is updated, but failed to render the package.\n")
        cmdutil.write(stderr, f"Error: {status.error}\n")
    results = (status.result.items if status.result else None) or []
    for result in results:
        image = result.image or result.exec or ""
        cmdutil.write(stderr, f'[RUNNING] "{image}" \n')
        verdict = "FAIL" if result.exit_code else "PASS"
        cmdutil.write(stderr, f'[{verdict}] "{image}"\n')
        if result.results:
            # One line for all of a function's results, as Porch's SingleLineFormatter.
            lines = [_result_line(codec.to_dict(item)) for item in result.results]
            cmdutil.write(stderr, "[Results]: " + ", ".join(lines) + "\n")


def _result_line(item: Mapping[str, Any]) -> str:
    """Porch's ``str(ResultItem)``: ``[severity] apiVersion/Kind/ns/name field.path: msg``."""
    parts = [f"[{item.get('severity') or 'info'}]"]
    ref = item.get("resourceRef") or {}
    identifier = "/".join(
        str(ref[key]) for key in ("apiVersion", "kind", "namespace", "name") if ref.get(key)
    )
    if identifier:
        parts.append(identifier)
    field = item.get("field")
    if isinstance(field, Mapping):
        parts.append(str(field.get("path", "")))
    message = str(item.get("message", ""))
    return (" ".join(parts) + f": {message}").replace("\n", " ").strip()


for _command in (
    rpkgcreate.clone,
    rpkgcreate.init,
    rpkglifecycle.propose,
    rpkglifecycle.approve,
    rpkglifecycle.reject,
    rpkglifecycle.delete,
    rpkgcreate.copy,
    rpkgupgrade.upgrade,
    rpkglifecycle.propose_delete,
):
    rpkg.add_command(_command)
