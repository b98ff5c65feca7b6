"""``porchctl rpkg clone|init|copy``: create package revisions.

Where this sits: click commands that build one PackageRevision with a single creation
task (``clone``, ``init`` or ``edit``) and POST it; the server names the revision
(``<repo>.<package>.<workspace>``) and porchctl prints ``<name> created``.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.cmd.porchctl import clonesource, cmdutil, docs, flags, progress

__all__ = ["clone", "copy", "init"]


def _create(spec: porchv1alpha1.PackageRevisionSpec, *, wait_message: str = "") -> None:
    rt = flags.runtime()
    porch = rt.client()
    pr = porchv1alpha1.PackageRevision(
        api_version=porchv1alpha1.API_VERSION,
        kind="PackageRevision",
        metadata=metav1.ObjectMeta(namespace=rt.namespace()),
        spec=spec,
    )
    with progress.Spinner(wait_message or "Creating package revision"):
        created = porch.package_revisions.create(pr)
    name = created.metadata.name if created.metadata else ""
    cmdutil.write(cmdutil.stdout(), f"{name} created\n")


@flags.command("clone", short_help=docs.CLONE_SHORT, help=docs.CLONE, epilog=docs.CLONE_EXAMPLES)
@click.argument("args", nargs=-1, metavar="SOURCE_PACKAGE NAME")
@flags.option(
    "--directory",
    default="",
    help="Directory within the repository where the upstream package is located.",
)
@flags.option(
    "--ref", default="", help="Branch in the repository where the upstream package is located."
)
@flags.option(
    "--repository",
    default="",
    help="Repository to which package will be cloned (downstream repository).",
)
@flags.option(
    "--workspace", default="v1", show_default=True, help="Workspace name of the downstream package."
)
@flags.option(
    "--secret-ref",
    default="",
    help="Name of the secret for basic authentication with upstream (git-only).",
)
@flags.kube_flags()
@flags.api_version_flag
def clone(
    *,
    args: Sequence[str],
    directory: str,
    ref: str,
    repository: str,
    workspace: str,
    secret_ref: str,
) -> None:
    """Create a package revision by cloning an upstream package."""
    flags.runtime().check_namespace_flag()
    if len(args) < 2:
        raise cmdutil.KptError(
            f"SOURCE_PACKAGE and NAME are required positional arguments; {len(args)} provided"
        )
    if not repository:
        raise cmdutil.KptError("--repository is required to specify downstream repository")
    if not workspace:
        raise cmdutil.KptError("--workspace is required to specify downstream workspace name")
    source, target = args[0], args[1]
    upstream = clonesource.parse(source, directory=directory, ref=ref, secret_ref=secret_ref)
    _create(
        porchv1alpha1.PackageRevisionSpec(
            package_name=target,
            workspace_name=workspace,
            repository=repository,
            tasks=[
                porchv1alpha1.Task(
                    type="clone",
                    clone=porchv1alpha1.PackageCloneTaskSpec(upstream_ref=upstream),
                )
            ],
        ),
        wait_message=f"Cloning {source}",
    )


@flags.command("init", short_help=docs.INIT_SHORT, help=docs.INIT, epilog=docs.INIT_EXAMPLES)
@click.argument("args", nargs=-1, metavar="PACKAGE_NAME")
@flags.option(
    "--description",
    default="sample description",
    show_default=True,
    help="short description of the package.",
)
@flags.option(
    "--keywords",
    multiple=True,
    help="list of keywords for the package (comma-separated, repeatable).",
)
@flags.option("--site", default="", help="link to page with information about the package.")
@flags.option("--repository", default="", help="Repository to which package will be created.")
@flags.option("--workspace", default="", help="Workspace name of the package.")
@flags.kube_flags()
@flags.api_version_flag
def init(
    *,
    args: Sequence[str],
    description: str,
    keywords: Sequence[str],
    site: str,
    repository: str,
    workspace: str,
) -> None:
    """Initialize a new package."""
    flags.runtime().check_namespace_flag()
    if not args:
        raise cmdutil.KptError("PACKAGE_NAME is a required positional argument")
    if not repository:
        raise cmdutil.KptError("--repository is required to specify target repository")
    if not workspace:
        raise cmdutil.KptError("--workspace is required to specify workspace name")
    _create(
        porchv1alpha1.PackageRevisionSpec(
            package_name=args[0],
            workspace_name=workspace,
            repository=repository,
            tasks=[
                porchv1alpha1.Task(
                    type="init",
                    init=porchv1alpha1.PackageInitTaskSpec(
                        description=description or None,
                        keywords=flags.string_slice(keywords) or None,
                        site=site or None,
                    ),
                )
            ],
        )
    )


@flags.command(
    "copy", aliases=("edit",), short_help=docs.COPY_SHORT, help=docs.COPY, epilog=docs.COPY_EXAMPLES
)
@click.argument("args", nargs=-1, metavar="SOURCE_PACKAGE")
@flags.option("--workspace", default="", help="Workspace name of the copy of the package.")
@flags.kube_flags()
@flags.api_version_flag
def copy(*, args: Sequence[str], workspace: str) -> None:
    """Create a new revision of a package from a published one."""
    rt = flags.runtime()
    rt.check_namespace_flag()
    if not args:
        raise cmdutil.KptError("SOURCE_PACKAGE is a required positional argument")
    if len(args) > 1:
        raise cmdutil.KptError(
            "too many arguments; SOURCE_PACKAGE is the only accepted positional arguments"
        )
    source = rt.client().package_revisions.get(args[0], namespace=rt.namespace())
    if not workspace:
        raise cmdutil.KptError("--workspace is required to specify workspace name")
    spec = source.spec or porchv1alpha1.PackageRevisionSpec()
    _create(
        porchv1alpha1.PackageRevisionSpec(
            package_name=spec.package_name,
            workspace_name=workspace,
            repository=spec.repository,
            tasks=[
                porchv1alpha1.Task(
                    type="edit",
                    edit=porchv1alpha1.PackageEditTaskSpec(
                        source_ref=porchv1alpha1.PackageRevisionRef(name=args[0])
                    ),
                )
            ],
        )
    )
