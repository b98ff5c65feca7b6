"""``porchctl rpkg upgrade``: upgrade a downstream package, or discover available upgrades.

Where this sits: a click command over the client's PackageRevisions and Repositories.

Upgrading (Porch's rules): the local revision must be published; its current upstream is
named by its creation task (clone ``upstreamRef``, upgrade ``newUpstreamRef``, an ``edit``
chain back to one of those, or else its ``status.upstreamLock``); the new upstream is the
latest published revision of that upstream package, or ``--revision``; a new draft is
created with one ``upgrade`` task and porchctl prints ``<local> upgraded to <new>``.

``--discover=upstream`` lists, per package revision, the newer published revisions of its
upstream (from ``status.upstreamLock`` and the registered repositories);
``--discover=downstream`` lists, per upstream revision, the downstream revisions it could
update. Both print a table (PACKAGE REVISION, ...), as Porch's ``discover.go`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import click

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import fields
from pkg.client import client as porchclient
from pkg.client import errors as clienterrors
from pkg.cmd.porchctl import cmdutil, docs, flags, printers

__all__ = ["upgrade"]

_UPSTREAM = "upstream"
_DOWNSTREAM = "downstream"


@flags.command(
    "upgrade", short_help=docs.UPGRADE_SHORT, help=docs.UPGRADE, epilog=docs.UPGRADE_EXAMPLES
)
@click.argument("args", nargs=-1, metavar="SOURCE_PACKAGE_REVISION")
@flags.option(
    "--revision",
    type=int,
    default=0,
    help="Revision of the upstream package to upgrade to (0: the latest published).",
)
@flags.option("--workspace", default="", help="Workspace name of the upgrade package revision.")
@flags.option(
    "--strategy",
    default="resource-merge",
    show_default=True,
    help="Strategy to use for the upgrade. Options: "
    + ", ".join(porchv1alpha1.MERGE_STRATEGIES)
    + ".",
)
@flags.option(
    "--discover",
    default="",
    help="If set, search for available updates instead of performing an update. "
    "'upstream' discovers upstream updates of downstream packages; 'downstream' "
    "discovers downstream package revisions of upstream packages that need to be "
    "updated.",
)
@flags.kube_flags()
@flags.api_version_flag
def upgrade(
    *, args: Sequence[str], revision: int, workspace: str, strategy: str, discover: str
) -> None:
    """Upgrade a downstream package revision to a newer upstream revision."""
    rt = flags.runtime()
    rt.check_namespace_flag()
    if discover in (_UPSTREAM, _DOWNSTREAM):
        _discover(discover, args)
        return
    if discover:
        raise cmdutil.KptError("argument for 'discover' must be one of 'upstream' or 'downstream'")
    if not args:
        raise cmdutil.KptError("SOURCE_PACKAGE_REVISION is a required positional argument")
    if len(args) > 1:
        raise cmdutil.KptError(
            "too many arguments; SOURCE_PACKAGE_REVISION is the only accepted positional arguments"
        )
    if revision < 0:
        raise cmdutil.KptError("revision must be positive (and not main)")
    if not workspace:
        raise cmdutil.KptError("workspace is required")
    if strategy not in porchv1alpha1.MERGE_STRATEGIES:
        raise cmdutil.KptError(
            f'invalid strategy "{strategy}"; must be one of: '
            f"[{' '.join(porchv1alpha1.MERGE_STRATEGIES)}]"
        )
    porch = rt.client()
    namespace = rt.namespace()
    try:
        porch.package_revisions.get(args[0], namespace=namespace)
    except clienterrors.ClientError:
        raise cmdutil.KptError(f"could not find package revision {args[0]}") from None

    def attempt() -> porchv1alpha1.PackageRevision:
        local = porch.package_revisions.get(args[0], namespace=namespace)
        return _do_upgrade(
            porch,
            namespace=namespace,
            local=local,
            revision=revision,
            workspace=workspace,
            strategy=strategy,
        )

    created = porchclient.retry_on_conflict(attempt)
    new_name = created.metadata.name if created.metadata else ""
    cmdutil.write(cmdutil.stdout(), f"{args[0]} upgraded to {new_name}\n")


def _do_upgrade(
    porch: porchclient.Client,
    *,
    namespace: str,
    local: porchv1alpha1.PackageRevision,
    revision: int,
    workspace: str,
    strategy: str,
) -> porchv1alpha1.PackageRevision:
    spec = local.spec or porchv1alpha1.PackageRevisionSpec()
    if not porchclient.is_published(local):
        raise cmdutil.KptError(
            f'to upgrade a package, it must be in a published state, not "{spec.lifecycle or ""}"'
        )
    old_name = _upstream_name(porch, namespace, local)
    if not old_name:
        raise cmdutil.KptError(
            f'upstream source not found for package revision "{spec.package_name or ""}": no '
            "clone or upgrade type package revision was found in the history of the package"
        )
    try:
        old = porch.package_revisions.get(old_name, namespace=namespace)
    except clienterrors.NotFoundError:
        raise cmdutil.KptError(f"upstream package revision {old_name} no longer exists") from None
    if not porchclient.is_published(old):
        raise cmdutil.KptError(f"old upstream package revision {old_name} is not published")
    old_spec = old.spec or porchv1alpha1.PackageRevisionSpec()
    package, repository = old_spec.package_name or "", old_spec.repository or ""
    candidates = _published_revisions(porch, namespace, package, repository, revision)
    if revision == 0:
        new = max(candidates, key=_revision, default=None)
        if new is None:
            raise cmdutil.KptError(
                f"failed to find latest published revision for package {package} in repo "
                f"{repository} (--revision was {revision})"
            )
    else:
        new = next((c for c in candidates if _revision(c) == revision), None)
        if new is None:
            raise cmdutil.KptError(
                f"revision {revision} does not exist for package {package} in repo {repository}"
            )
    new_name = new.metadata.name if new.metadata else ""
    local_name = local.metadata.name if local.metadata else ""
    pr = porchv1alpha1.PackageRevision(
        api_version=porchv1alpha1.API_VERSION,
        kind="PackageRevision",
        metadata=metav1.ObjectMeta(namespace=namespace),
        spec=porchv1alpha1.PackageRevisionSpec(
            package_name=spec.package_name,
            repository=spec.repository,
            workspace_name=workspace,
            tasks=[
                porchv1alpha1.Task(
                    type="upgrade",
                    upgrade=porchv1alpha1.PackageUpgradeTaskSpec(
                        old_upstream_ref=porchv1alpha1.PackageRevisionRef(name=old_name),
                        new_upstream_ref=porchv1alpha1.PackageRevisionRef(name=new_name or ""),
                        local_package_revision_ref=porchv1alpha1.PackageRevisionRef(
                            name=local_name or ""
                        ),
                        strategy=strategy,  # type: ignore[arg-type]  # checked by the caller
                    ),
                )
            ],
        ),
    )
    return porch.package_revisions.create(pr)


def _published_revisions(
    porch: porchclient.Client, namespace: str, package: str, repository: str, revision: int
) -> list[porchv1alpha1.PackageRevision]:
    """Published revisions of ``package`` in ``repository`` (field-selected on the server,
    checked again here)."""
    terms = {"spec.packageName": package, "spec.repository": repository}
    if revision > 0:
        terms["spec.revision"] = str(revision)
    selector = str(fields.selector_from_set({k: v for k, v in terms.items() if v}))
    listed = porch.package_revisions.list(namespace=namespace, field_selector=selector or None)
    return [
        pr
        for pr in listed.items
        if pr.spec is not None
        and pr.spec.package_name == package
        and pr.spec.repository == repository
        and porchclient.is_published(pr)
    ]


def _revision(pr: porchv1alpha1.PackageRevision) -> int:
    return (pr.spec.revision if pr.spec else None) or 0


def _upstream_name(
    porch: porchclient.Client, namespace: str, pr: porchv1alpha1.PackageRevision
) -> str:
    """The current upstream of ``pr``: from its creation task, else from its upstreamLock."""
    seen: set[str] = set()
    current: porchv1alpha1.PackageRevision | None = pr
    while current is not None:
        tasks = (current.spec.tasks if current.spec else None) or []
        task = tasks[0] if tasks else None
        if task is None:
            break
        if task.type == "clone" and task.clone and task.clone.upstream_ref:
            ref = task.clone.upstream_ref.upstream_ref
            if ref is not None and ref.name:
                return ref.name
            break
        if task.type == "upgrade" and task.upgrade and task.upgrade.new_upstream_ref:
            return task.upgrade.new_upstream_ref.name
        if task.type == "edit" and task.edit and task.edit.source_ref:
            source = task.edit.source_ref.name
            if source in seen:
                break
            seen.add(source)
            try:
                current = porch.package_revisions.get(source, namespace=namespace)
            except clienterrors.NotFoundError:
                current = None
            continue
        break
    # A git clone (or a history that no longer exists): find the upstream by its lock.
    lock = pr.status.upstream_lock if pr.status else None
    if lock is None or lock.git is None:
        return ""
    index = _Index.load(porch, namespace)
    updates = index.upstream_of(lock)
    return updates.current_name


# -- discovery -------------------------------------------------------------------------


@dataclass
class _Upstream:
    """What a downstream's upstreamLock points at."""

    repository: str = ""  # name of the registered repository holding the upstream
    draft: str = ""  # workspace, when the upstream was a draft
    current_name: str = ""  # the locked upstream revision, when it is known to Porch
    newer: tuple[porchv1alpha1.PackageRevision, ...] = ()


@dataclass
class _Index:
    """Every package revision and repository of the namespace, for lookups by lock."""

    revisions: list[porchv1alpha1.PackageRevision]
    repositories: list[configv1alpha1.Repository]

    @classmethod
    def load(cls, porch: porchclient.Client, namespace: str) -> _Index:
        return cls(
            list(porch.package_revisions.list(namespace=namespace).items),
            list(porch.repositories.list(namespace=namespace).items),
        )

    def upstream_of(self, lock: porchv1alpha1.Locator) -> _Upstream:
        """Porch's ``availableUpdates``: the upstream repository and its newer revisions."""
        git = lock.git
        if git is None:
            return _Upstream()
        ref = git.ref or ""
        slash = ref.rfind("/")
        if slash < 0:
            raise cmdutil.KptError(f'malformed upstreamLock.Git.Ref "{ref}"')
        draft = ""
        if ref.startswith("drafts"):
            current = 0
            draft = ref[slash + 1 :]
        else:
            current = _revision_number(ref[slash + 1 :])
        package = ref[:slash].removeprefix("drafts").removeprefix("/")
        result = _Upstream(draft=draft)
        for repository in self.repositories:
            spec = repository.spec
            if spec is None or spec.type != "git" or spec.git is None:
                continue
            if _with_git_suffix(spec.git.repo) != _with_git_suffix(git.repo or ""):
                continue
            name = repository.metadata.name if repository.metadata else ""
            directory = (spec.git.directory or "").strip("/")
            wanted = package.removeprefix(directory + "/") if directory else package
            revisions = [
                pr
                for pr in self.revisions
                if porchclient.is_published(pr)
                and pr.spec is not None
                and pr.spec.repository == name
                and _package_in(pr.spec.package_name or "", directory) == wanted
            ]
            result.repository = name or ""
            result.newer = tuple(pr for pr in revisions if _revision(pr) > current)
            locked = next((pr for pr in revisions if _revision(pr) == current), None)
            if locked is not None and locked.metadata is not None:
                result.current_name = locked.metadata.name or ""
        return result


def _package_in(package: str, directory: str) -> str:
    return package.removeprefix(directory + "/") if directory else package


def _with_git_suffix(url: str) -> str:
    return url if url.endswith(".git") else url + ".git"


def _revision_number(text: str) -> int:
    """Porch's ``Revision2Int``: ``v3`` -> 3, anything unreadable -> -1."""
    try:
        return int(text.removeprefix("v"))
    except ValueError:
        return -1


def _discover(mode: str, args: Sequence[str]) -> None:
    rt = flags.runtime()
    porch = rt.client()
    try:
        index = _Index.load(porch, rt.namespace())
    except clienterrors.ClientError as err:
        raise cmdutil.KptError(str(err)) from err
    by_name = {pr.metadata.name: pr for pr in index.revisions if pr.metadata and pr.metadata.name}
    if not args or mode == _DOWNSTREAM:
        revisions = index.revisions
    else:
        missing = [
            f"could not find package revision {name}" for name in args if name not in by_name
        ]
        if missing:
            raise cmdutil.KptError(cmdutil.join_errors(missing))
        revisions = [by_name[name] for name in args]
    writer = printers.TabWriter(cmdutil.stdout())
    if mode == _UPSTREAM:
        writer.write_row(["PACKAGE REVISION", "UPSTREAM REPOSITORY", "UPSTREAM UPDATES"])
        for pr in revisions:
            upstream = _upstream_for(index, pr)
            updates = ", ".join(f"v{_revision(u)}" for u in upstream.newer)
            writer.write_row([_name(pr), upstream.repository, updates or "No update available"])
        writer.flush()
        return
    rows: list[list[str]] = []
    for pr in revisions:
        upstream = _upstream_for(index, pr)
        for update in upstream.newer:
            if upstream.draft:
                change = f'(draft "{upstream.draft}")->v{_revision(update)}'
            else:
                lock = pr.status.upstream_lock if pr.status else None
                ref = (lock.git.ref or "") if lock is not None and lock.git is not None else ""
                cut = ref.rfind("v")
                if cut < 0:
                    continue
                change = f"{ref[cut:]}->v{_revision(update)}"
            rows.append([_name(update), _name(pr), change])
    if args:
        rows = [row for name in args for row in rows if row[0] == name]
    if not rows:
        writer.write_row(["All downstream packages are up to date."])
    else:
        writer.write_row(["PACKAGE REVISION", "DOWNSTREAM PACKAGE", "DOWNSTREAM UPDATE"])
        for row in rows:
            writer.write_row(row)
    writer.flush()


def _upstream_for(index: _Index, pr: porchv1alpha1.PackageRevision) -> _Upstream:
    lock = pr.status.upstream_lock if pr.status else None
    if lock is None:
        return _Upstream()
    try:
        return index.upstream_of(lock)
    except cmdutil.KptError as err:
        raise cmdutil.KptError(
            f'could not parse upstreamLock in Kptfile of package "{_name(pr)}": {err}'
        ) from err


def _name(pr: porchv1alpha1.PackageRevision) -> str:
    return (pr.metadata.name if pr.metadata else None) or ""
