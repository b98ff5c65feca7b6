"""``porchctl repo``: register, list, unregister and sync repositories.

Where this sits: click commands over :class:`pkg.client.client.Client` (repositories and
secrets). Behaviour and texts follow Porch's ``pkg/cli/commands/repo`` (see
``porchctl-deployment-behaviours.md`` §5.1).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
from collections.abc import Sequence
from typing import Any, Final

import click
import croniter

from api.core import v1 as corev1
from api.meta import v1 as metav1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.client import errors as clienterrors
from pkg.cmd.porchctl import cmdutil, docs, flags, output, progress

__all__ = ["repo"]

_MIN_SYNC_DELAY: Final = datetime.timedelta(minutes=1)
_BASIC_AUTH: Final = "kubernetes.io/basic-auth"
_WORKLOAD_IDENTITY: Final = "kpt.dev/workload-identity-auth"


@click.group("repo", cls=flags.PorchGroup, aliases=("repository",), help=docs.REPO)
@flags.global_flags
def repo() -> None:
    """Manage package repositories."""
    flags.usage_without_subcommand()


@repo.command(
    "reg",
    cls=flags.PorchCommand,
    aliases=("register",),
    short_help=docs.REPO_REG_SHORT,
    help=docs.REPO_REG,
    epilog=docs.REPO_REG_EXAMPLES,
)
@click.argument("args", nargs=-1, metavar="REPOSITORY")
@flags.option(
    "--name",
    default="",
    help="Name of the package repository. If unspecified, "
    "will use the name portion (last segment) of the repository URL.",
)
@flags.option(
    "-d", "--description", "--desc", default="", help="Brief description of the package repository."
)
@flags.option(
    "--branch",
    default="main",
    help="Branch in the repository where finalized packages are committed.",
    show_default=True,
)
@flags.bool_flag("--create-branch", help="Create the package branch if it doesn't already exist.")
@flags.option(
    "--directory",
    "--dir",
    "--folder",
    default="/",
    help="Directory within the repository where to look for packages.",
    show_default=True,
)
@flags.bool_flag(
    "--deployment",
    "--deploy",
    help="Repository is a deployment repository; packages in a deployment "
    "repository are considered deployment-ready.",
)
@flags.option(
    "--repo-basic-username",
    "--user",
    "--username",
    default="",
    help="Username for repository authentication using basic auth.",
)
@flags.option(
    "--repo-basic-password",
    "--password",
    "--pw",
    "--pass",
    default="",
    help="Password for repository authentication using basic auth.",
)
@flags.bool_flag(
    "--repo-workload-identity", help="Use workload identity for authentication with the repo"
)
@flags.option(
    "--sync-schedule", default="", help="Cron schedule for reconciling packages in the repository."
)
@flags.bool_flag(
    "--v1alpha2", help="Enable v1alpha2 PackageRevision management for this repository."
)
@flags.kube_flags(with_user_flags=False)
@flags.global_flags
def reg(
    *,
    args: Sequence[str],
    name: str,
    description: str,
    branch: str,
    create_branch: bool,
    directory: str,
    deployment: bool,
    repo_basic_username: str,
    repo_basic_password: str,
    repo_workload_identity: bool,
    sync_schedule: str,
    v1alpha2: bool,
) -> None:
    """Register a package repository."""
    if not args:
        raise cmdutil.KptError("repository is required positional argument")
    address = args[0]
    # Porch's Go types drop false and empty values (omitempty); so do we.
    spec = configv1alpha1.RepositorySpec(
        description=description or None, deployment=deployment or None
    )
    if address.startswith("oci://"):
        spec.type = "oci"
        spec.oci = configv1alpha1.OciRepository(registry=address[len("oci://") :])
    else:
        spec.type = "git"
        spec.git = configv1alpha1.GitRepository(
            repo=address,
            branch=branch,
            create_branch=create_branch or None,
            directory=directory,
        )
    name = name or _last_segment(address)
    if sync_schedule:
        # Checked before anything is created, so a typo leaves nothing behind.
        problem = _cron_problem(sync_schedule)
        if problem:
            raise cmdutil.KptError(f"invalid sync-schedule cron expression: {problem}")
        spec.sync = configv1alpha1.RepositorySync(schedule=sync_schedule)
    basic = bool(repo_basic_username or repo_basic_password)
    if basic and repo_workload_identity:
        raise cmdutil.PlainError("both username/password and workload identity specified")

    rt = flags.runtime()
    porch = rt.client()
    namespace = rt.namespace()
    secret: corev1.Secret | None = None
    if basic:
        secret = corev1.Secret(
            api_version="v1",
            kind="Secret",
            metadata=metav1.ObjectMeta(name=f"{name}-auth", namespace=namespace),
            data={
                "username": _b64(repo_basic_username),
                "password": _b64(repo_basic_password),
            },
            type=_BASIC_AUTH,
        )
    elif repo_workload_identity:
        secret = corev1.Secret(
            api_version="v1",
            kind="Secret",
            metadata=metav1.ObjectMeta(name=f"{name}-auth", namespace=namespace),
            data={},
            type=_WORKLOAD_IDENTITY,
        )
    if secret is not None:
        porch.secrets.create(secret)
        ref = configv1alpha1.SecretRef(name=f"{name}-auth")
        if spec.git is not None:
            spec.git.secret_ref = ref
        if spec.oci is not None:
            spec.oci.secret_ref = ref
    annotations = (
        {configv1alpha1.V1ALPHA2_MIGRATION_ANNOTATION: configv1alpha1.V1ALPHA2_MIGRATION_VALUE}
        if v1alpha2
        else None
    )
    repository = configv1alpha1.Repository(
        api_version=configv1alpha1.API_VERSION,
        kind="Repository",
        metadata=metav1.ObjectMeta(name=name, namespace=namespace, annotations=annotations),
        spec=spec,
    )
    try:
        porch.repositories.create(repository)
    except clienterrors.ClientError:
        if secret is not None:
            # Porch leaves the Secret behind; a failed registration should leave nothing.
            _delete_quietly(porch.secrets.delete, f"{name}-auth", namespace)
        raise


@repo.command(
    "get",
    cls=flags.PorchCommand,
    aliases=("ls", "list"),
    short_help=docs.REPO_GET_SHORT,
    help=docs.REPO_GET,
    epilog=docs.REPO_GET_EXAMPLES,
)
@click.argument("names", nargs=-1, metavar="[REPOSITORY_NAME]")
@flags.print_flags
@flags.all_namespaces_flag
@flags.kube_flags()
@flags.global_flags
def get(*, names: Sequence[str]) -> None:
    """List registered repositories."""
    rt = flags.runtime()
    rt.print.with_namespace = rt.all_namespaces
    porch = rt.client()
    repositories = porch.repositories
    out = output.Output(rt.print, kind_of=lambda _obj: "repository.config.porch.kpt.dev")
    namespace = None if rt.all_namespaces else rt.namespace()
    if rt.print.wants_table:
        tables = (
            output.fetch_each(names, lambda n: repositories.get_table(n, namespace=namespace))
            if names
            else [
                repositories.list_table(
                    namespace=namespace,
                    all_namespaces=rt.all_namespaces,
                    include_object="Object" if rt.print.sort_by else None,
                )
            ]
        )
        out.tables(tables, kind="repository.config.porch.kpt.dev")
    else:
        if names:
            objects = output.fetch_each(
                names, lambda n: repositories.get_raw(n, namespace=namespace)
            )
        else:
            listed = repositories.list_raw(namespace=namespace, all_namespaces=rt.all_namespaces)
            objects = list(listed.get("items") or [])
        out.objects(objects)


@repo.command(
    "unreg",
    cls=flags.PorchCommand,
    aliases=("unregister",),
    short_help=docs.REPO_UNREG_SHORT,
    help=docs.REPO_UNREG,
    epilog=docs.REPO_UNREG_EXAMPLES,
)
@click.argument("args", nargs=-1, metavar="REPOSITORY")
@flags.bool_flag(
    "--keep-auth-secret",
    help="Keep the auth secret associated with the repository registration, if any",
)
@flags.kube_flags()
@flags.global_flags
def unreg(*, args: Sequence[str], keep_auth_secret: bool) -> None:
    """Unregister a repository."""
    if not args:
        raise cmdutil.KptError("REPOSITORY is a required positional argument")
    rt = flags.runtime()
    porch = rt.client()
    namespace = rt.namespace()
    repository = porch.repositories.get(args[0], namespace=namespace)
    porch.repositories.delete(args[0], namespace=namespace)
    if keep_auth_secret or repository.spec is None:
        return
    secret_ref = None
    if repository.spec.git is not None:
        secret_ref = repository.spec.git.secret_ref
    elif repository.spec.oci is not None:
        secret_ref = repository.spec.oci.secret_ref
    if secret_ref is None or not secret_ref.name:
        return
    try:
        porch.secrets.delete(secret_ref.name, namespace=namespace)
    except clienterrors.ClientError as err:
        raise cmdutil.KptError(f"failed to delete Secret {secret_ref.name}: {err}") from err


@repo.command(
    "sync",
    cls=flags.PorchCommand,
    aliases=("reconcile",),
    short_help=docs.REPO_SYNC_SHORT,
    help=docs.REPO_SYNC,
    epilog=docs.REPO_SYNC_EXAMPLES,
)
@click.argument("names", nargs=-1, metavar="[REPOSITORY_NAME...]")
@flags.bool_flag("--all", "all_repositories", help="Reconcile all repositories in the namespace")
@flags.option(
    "--run-once",
    default="",
    help="Schedule a one-time sync using a duration (e.g., 10m, 2h30m) or RFC3339 "
    "timestamp (e.g., 2025-09-16T12:00:00Z). Minimum allowed duration and default "
    "value is 1 minute from time of command invocation.",
)
@flags.print_flags
@flags.all_namespaces_flag
@flags.kube_flags()
@flags.global_flags
def sync(*, names: Sequence[str], all_repositories: bool, run_once: str) -> None:
    """Schedule a one-time sync of repositories."""
    rt = flags.runtime()
    porch = rt.client()
    stdout, stderr = cmdutil.stdout(), cmdutil.stderr()
    namespace = ""
    if rt.namespace_flag or porch.config.namespace_from_config:
        namespace = rt.namespace()
    elif not rt.all_namespaces:
        raise cmdutil.PlainError("namespace must be specified unless --all-namespaces is set")
    # metav1.Time has seconds precision; the printed and the stored time must agree.
    run_at, warning = _run_once_at(run_once, datetime.datetime.now().astimezone())
    run_at = run_at.replace(microsecond=0)
    if warning:
        cmdutil.write(stdout, warning + "\n")

    repositories: list[configv1alpha1.Repository] = []
    if all_repositories:
        listed = porch.repositories.list(
            namespace=namespace or None, all_namespaces=rt.all_namespaces
        )
        repositories = list(listed.items)
    else:
        if not names:
            raise cmdutil.PlainError("repository name(s) required unless --all is set")
        for repo_name in names:
            try:
                repositories.append(porch.repositories.get(repo_name, namespace=namespace))
            except clienterrors.ClientError as err:
                cmdutil.write(stderr, f'Error fetching repository "{repo_name}": {err}\n')
    if not repositories:
        if rt.all_namespaces:
            raise cmdutil.PlainError("no repositories found across all namespaces")
        raise cmdutil.PlainError(f'no repositories found in namespace "{namespace}"')

    stamp = _rfc3339(run_at)
    with progress.Bar(len(repositories), "Scheduling sync") as bar:
        for repository in repositories:
            assert repository.metadata is not None and repository.spec is not None
            if repository.spec.sync is None:
                repository.spec.sync = configv1alpha1.RepositorySync()
            repository.spec.sync.run_once_at = run_at
            try:
                porch.repositories.update(repository)
            except clienterrors.ClientError as err:
                bar.write(
                    stderr, f'Failed to update repository "{repository.metadata.name}": {err}\n'
                )
            else:
                bar.write(
                    stdout,
                    f'Scheduled one-time sync for "{repository.metadata.name}" at {stamp}\n',
                )
            bar.advance()


# -- helpers ---------------------------------------------------------------------------


def _last_segment(address: str) -> str:
    trimmed = address.rstrip("/")
    return trimmed[trimmed.rfind("/") + 1 :]


_DESCRIPTORS: Final = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)


def _cron_problem(expression: str) -> str:
    """Why robfig/cron's ParseStandard would reject ``expression`` ("" if it accepts it)."""
    if expression.startswith("@"):
        if expression in _DESCRIPTORS:
            return ""
        if expression.startswith("@every "):
            try:
                cmdutil.parse_go_duration(expression[len("@every ") :])
            except ValueError as err:
                return f"failed to parse duration {expression}: {err}"
            return ""
        return f"unrecognized descriptor: {expression}"
    fields = expression.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{expression}]"
    if not croniter.croniter.is_valid(expression):
        return f"invalid schedule: [{expression}]"
    return ""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _delete_quietly(delete: Any, name: str, namespace: str) -> None:
    with contextlib.suppress(clienterrors.ClientError):
        delete(name, namespace=namespace)


def _run_once_at(value: str, now: datetime.datetime) -> tuple[datetime.datetime, str]:
    """When ``--run-once`` asks for the sync, and the warning if it had to move it."""
    earliest = now + _MIN_SYNC_DELAY
    if not value:
        return earliest, ""
    try:
        seconds = cmdutil.parse_go_duration(value)
    except ValueError:
        pass
    else:
        if datetime.timedelta(seconds=seconds) < _MIN_SYNC_DELAY:
            return earliest, (
                "Warning: Duration must be at least 1 minute. Sync time adjusted to comply "
                "with minimum delay."
            )
        return now + datetime.timedelta(seconds=seconds), ""
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise cmdutil.PlainError("invalid --run-once value") from None
    if when.tzinfo is None or "T" not in value.upper():
        raise cmdutil.PlainError("invalid --run-once value")
    if when - now < _MIN_SYNC_DELAY:
        return earliest, (
            "Warning: Scheduled time is within 1 minute or in the past. Sync time adjusted "
            "to comply with minimum delay."
        )
    return when, ""


def _rfc3339(when: datetime.datetime) -> str:
    # Go's time.RFC3339 in the time's own zone: seconds precision, "Z" for UTC.
    text = when.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if when.utcoffset() == datetime.timedelta(0) else text
