"""Rules of config.porch.kpt.dev/v1alpha1 Repositories, as the CRD and Porch's webhook have them.

Where this sits: :mod:`.storage` hands :class:`RepositoryStrategy` (main resource),
:class:`RepositoryStatusStrategy` (``/status``) and :func:`conflicts` (the namespace-wide
rule) to the generic store. In a cluster, kube-apiserver applies the CRD's schema, defaults
and CEL rules and Porch's validating webhook; standalone porch-server applies the same
rules here, with the same messages:

* defaults: ``spec.content: Package``, ``spec.git.branch: main``;
* ``metadata.name`` is an RFC 1123 label (CEL: "metadata.name must conform to the RFC1123
  DNS label standard", "must be no more than 63 characters");
* ``spec.type`` is ``git`` or ``oci`` and needs its section (``spec.git.repo``,
  ``spec.oci.registry``); ``spec.git.branch`` is not empty; ``spec.content`` is only
  ``Package``; ``spec.sync.schedule`` is a cron expression (5 fields, or ``@hourly``-style);
* immutable after creation (CEL): ``spec.type``, ``spec.git.repo``, ``spec.git.branch``,
  ``spec.git.directory``, ``spec.oci.registry``, each with "<field> is immutable";
* porch-py's own policy: ``file://`` and local-path repositories only under the
  operator's local repository roots (``--local-repository-root``), a package directory
  may not climb out with ``..``;
* Porch's webhook: no two git Repositories of a namespace on the same repository and
  branch with overlapping directories.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from croniter import croniter
from pydantic import BaseModel

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import field, validation
from pkg.registry.generic import strategy as genericstrategy
from pkg.registry.porchconfig.repository import address
from pkg.registry.rest import objectmeta, rest

__all__ = [
    "CONDITION_STATUSES",
    "RepositoryStatusStrategy",
    "RepositoryStrategy",
    "conflicts",
    "validate_repository",
    "validate_repository_update",
    "validate_status",
]

CONDITION_STATUSES: Final = ("True", "False", "Unknown")

# The CRD's CEL rule, whose message users see (validation's own check words it otherwise).
_DNS_LABEL_RE: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_NAME_LABEL_MESSAGE: Final = "metadata.name must conform to the RFC1123 DNS label standard"
_NAME_LENGTH_MESSAGE: Final = "metadata.name must be no more than 63 characters"
_CONTENT_MESSAGE: Final = "The 'content' field is deprecated, its only valid value is 'Package'"
_CONDITION_TYPE_MAX: Final = 316
_CONDITION_REASON_MAX: Final = 1024
_CONDITION_MESSAGE_MAX: Final = 32768


def _repository(obj: BaseModel) -> configv1alpha1.Repository:
    if not isinstance(obj, configv1alpha1.Repository):
        raise TypeError(f"expected a Repository, got {type(obj).__name__}")
    return obj


def _set_defaults(repo: configv1alpha1.Repository) -> None:
    # The CRD's structural defaults, which kube-apiserver applies while decoding.
    spec = repo.spec
    if spec is None:
        return
    if spec.content is None:
        spec.content = configv1alpha1.CONTENT_PACKAGE
    if spec.git is not None and spec.git.branch is None:
        spec.git.branch = configv1alpha1.DEFAULT_BRANCH


def validate_repository(
    repo: configv1alpha1.Repository, local_roots: Sequence[Path]
) -> field.ErrorList:
    """Every problem of a Repository about to be stored (schema, CEL and local policy)."""
    meta = objectmeta.meta_of(repo)
    errs = objectmeta.validate_object_meta(
        meta, namespaced=True, name_validator=validation.is_dns1123_subdomain
    )
    name = meta.name or ""
    if name:
        name_path = field.new_path("metadata", "name")
        if not _DNS_LABEL_RE.fullmatch(name):
            errs.append(field.invalid(name_path, name, _NAME_LABEL_MESSAGE))
        if len(name) > validation.DNS1123_LABEL_MAX_LENGTH:
            errs.append(field.invalid(name_path, name, _NAME_LENGTH_MESSAGE))

    spec_path = field.new_path("spec")
    spec = repo.spec
    if spec is None:
        errs.append(field.required(spec_path))
        return errs
    if spec.type is None:
        errs.append(field.required(spec_path.child("type"), 'must be one of "git", "oci"'))
    if spec.content not in (None, "", configv1alpha1.CONTENT_PACKAGE):
        errs.append(field.invalid(spec_path.child("content"), spec.content, _CONTENT_MESSAGE))
    if spec.type == "git":
        errs.extend(_validate_git(spec.git, spec_path.child("git"), local_roots))
    elif spec.type == "oci":
        errs.extend(_validate_oci(spec.oci, spec_path.child("oci")))
    if spec.sync is not None and spec.sync.schedule is not None:
        errs.extend(_validate_schedule(spec.sync.schedule, spec_path.child("sync", "schedule")))
    return errs


def _validate_secret_ref(ref: configv1alpha1.SecretRef | None, path: field.Path) -> field.ErrorList:
    errs = field.ErrorList()
    if ref is None:
        return errs
    if not ref.name:
        errs.append(field.required(path.child("name")))
    else:
        errs.extend(
            field.invalid(path.child("name"), ref.name, msg)
            for msg in validation.is_dns1123_subdomain(ref.name)
        )
    return errs


def _validate_git(
    git: configv1alpha1.GitRepository | None, path: field.Path, local_roots: Sequence[Path]
) -> field.ErrorList:
    errs = field.ErrorList()
    if git is None:
        errs.append(field.required(path, 'required when spec.type is "git"'))
        return errs
    repo_path = path.child("repo")
    if not git.repo:
        errs.append(field.required(repo_path))
    else:
        errs.extend(_validate_git_address(git.repo, repo_path, local_roots))
    if git.branch is not None and not git.branch:
        errs.append(
            field.invalid(
                path.child("branch"),
                git.branch,
                "spec.git.branch in body should be at least 1 chars long",
            )
        )
    if git.directory and ".." in git.directory.split("/"):
        errs.append(
            field.invalid(
                path.child("directory"),
                git.directory,
                "must not contain '..': packages live inside the repository",
            )
        )
    errs.extend(_validate_secret_ref(git.secret_ref, path.child("secretRef")))
    return errs


def _validate_git_address(
    repo: str, path: field.Path, local_roots: Sequence[Path]
) -> field.ErrorList:
    try:
        parsed = address.parse(repo)
    except address.AddressError as err:
        return field.ErrorList([field.invalid(path, repo, str(err))])
    if parsed.kind == "local":
        assert parsed.local_path is not None
        if not local_roots:
            return field.ErrorList(
                [
                    field.invalid(
                        path,
                        repo,
                        "local repositories are not allowed on this server "
                        "(it has no --local-repository-root)",
                    )
                ]
            )
        if not address.under_roots(parsed.local_path, local_roots):
            roots = ", ".join(str(root) for root in local_roots)
            return field.ErrorList(
                [
                    field.invalid(
                        path,
                        repo,
                        "local repositories must be under a local repository root of this "
                        f"server (--local-repository-root): {roots}",
                    )
                ]
            )
    return field.ErrorList()


def _validate_oci(oci: configv1alpha1.OciRepository | None, path: field.Path) -> field.ErrorList:
    errs = field.ErrorList()
    if oci is None:
        errs.append(field.required(path, 'required when spec.type is "oci"'))
        return errs
    if not oci.registry:
        errs.append(field.required(path.child("registry")))
    errs.extend(_validate_secret_ref(oci.secret_ref, path.child("secretRef")))
    return errs


def _validate_schedule(schedule: str, path: field.Path) -> field.ErrorList:
    text = schedule.strip()
    if not text:
        return field.ErrorList()
    if croniter.is_valid(text) and (text.startswith("@") or len(text.split()) == 5):
        return field.ErrorList()
    return field.ErrorList(
        [
            field.invalid(
                path,
                schedule,
                "must be a cron expression with 5 fields (minute hour day-of-month month "
                'day-of-week), e.g. "*/10 * * * *", or one of @hourly, @daily, @weekly, '
                "@monthly, @yearly",
            )
        ]
    )


def validate_repository_update(
    new: configv1alpha1.Repository,
    old: configv1alpha1.Repository,
    local_roots: Sequence[Path],
) -> field.ErrorList:
    """The CRD's immutability rules, then everything :func:`validate_repository` checks."""
    errs = field.ErrorList()
    new_spec = new.spec or configv1alpha1.RepositorySpec()
    old_spec = old.spec or configv1alpha1.RepositorySpec()
    new_git, old_git = new_spec.git, old_spec.git
    new_oci, old_oci = new_spec.oci, old_spec.oci
    spec_path = field.new_path("spec")
    # Each rule reads like its CEL: once the old object has the field, the new one must
    # have the same value (dropping the whole section counts as a change).
    checks: list[tuple[field.Path, object, object]] = [
        (spec_path.child("type"), old_spec.type, new_spec.type),
    ]
    if old_git is not None:
        for name in ("repo", "branch", "directory"):
            checks.append(
                (
                    spec_path.child("git", name),
                    getattr(old_git, name),
                    getattr(new_git, name) if new_git is not None else None,
                )
            )
    if old_oci is not None:
        checks.append(
            (
                spec_path.child("oci", "registry"),
                old_oci.registry,
                new_oci.registry if new_oci is not None else None,
            )
        )
    for path, old_value, new_value in checks:
        if old_value is not None and new_value != old_value:
            errs.append(field.invalid(path, new_value, f"{path} is immutable"))
    errs.extend(validate_repository(new, local_roots))
    return errs


def validate_status(status: configv1alpha1.RepositoryStatus | None) -> field.ErrorList:
    """The CRD schema of ``status.conditions`` (what a status writer can get wrong)."""
    errs = field.ErrorList()
    if status is None:
        return errs
    path = field.new_path("status", "conditions")
    for i, condition in enumerate(status.conditions or []):
        item = path.index(i)
        if not condition.type:
            errs.append(field.required(item.child("type")))
        elif len(condition.type) > _CONDITION_TYPE_MAX:
            errs.append(field.too_long(item.child("type"), condition.type, _CONDITION_TYPE_MAX))
        if condition.status not in CONDITION_STATUSES:
            errs.append(
                field.not_supported(item.child("status"), condition.status, CONDITION_STATUSES)
            )
        if not condition.reason:
            errs.append(field.required(item.child("reason")))
        elif len(condition.reason) > _CONDITION_REASON_MAX:
            errs.append(
                field.too_long(item.child("reason"), condition.reason, _CONDITION_REASON_MAX)
            )
        if len(condition.message) > _CONDITION_MESSAGE_MAX:
            errs.append(
                field.too_long(item.child("message"), condition.message, _CONDITION_MESSAGE_MAX)
            )
    return errs


def conflicts(
    ctx: rest.RequestContext,
    new: BaseModel,
    old: BaseModel | None,
    peers: Sequence[BaseModel],
) -> field.ErrorList:
    """Porch's repository webhook: ``new`` may not overlap another git Repository.

    Two Repositories of a namespace conflict when they name the same git repository (see
    :class:`address.GitAddress`) and branch, and their directories are equal, nested, or
    one of them is the root. An admit function of the generic store (run under its write
    lock, so two conflicting creates cannot both pass).
    """
    del ctx, old  # the rule depends on the new object and its peers only
    repo = _repository(new)
    spec = repo.spec
    if spec is None or spec.type != "git" or spec.git is None or not spec.git.repo:
        return field.ErrorList()
    try:
        identity = address.parse(spec.git.repo).identity
    except address.AddressError:
        return field.ErrorList()  # validation has reported it already
    branch = spec.git.branch or configv1alpha1.DEFAULT_BRANCH
    directory = address.normalize_directory(spec.git.directory)
    for peer in peers:
        other = _repository(peer)
        other_spec = other.spec
        if (
            other_spec is None
            or other_spec.type != "git"
            or other_spec.git is None
            or not other_spec.git.repo
        ):
            continue
        try:
            other_identity = address.parse(other_spec.git.repo).identity
        except address.AddressError:
            continue
        other_branch = other_spec.git.branch or configv1alpha1.DEFAULT_BRANCH
        other_directory = address.normalize_directory(other_spec.git.directory)
        if (
            other_identity == identity
            and other_branch == branch
            and address.directories_overlap(directory, other_directory)
        ):
            shown = f'"{other_directory}"' if other_directory else "the root directory"
            mine = f'"{directory}"' if directory else "the root directory"
            other_name = objectmeta.meta_of(other).name
            return field.ErrorList(
                [
                    field.invalid(
                        field.new_path("spec", "git"),
                        spec.git.repo,
                        f'conflicts with Repository "{other_name}": same repository and '
                        f'branch "{branch}", and directory {mine} overlaps {shown}',
                    )
                ]
            )
    return field.ErrorList()


class RepositoryStrategy(genericstrategy.DefaultStrategy):
    """Create and update rules of Repositories (module docstring).

    ``local_roots`` are the directories under which ``file://`` and local-path
    repositories are allowed (``--local-repository-root``); empty refuses them all.
    """

    def __init__(self, local_roots: Sequence[Path]) -> None:
        self._local_roots = tuple(local_roots)

    def allow_unconditional_update(self) -> bool:
        # Custom resources require the resourceVersion on update (kube-apiserver's CRD
        # strategy); kubectl replace and apply always send it.
        return False

    def prepare_for_create(self, ctx: rest.RequestContext, obj: BaseModel) -> None:
        super().prepare_for_create(ctx, obj)
        _set_defaults(_repository(obj))

    def prepare_for_update(self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel) -> None:
        super().prepare_for_update(ctx, new, old)
        _set_defaults(_repository(new))

    def validate(self, ctx: rest.RequestContext, obj: BaseModel) -> field.ErrorList:
        return validate_repository(_repository(obj), self._local_roots)

    def validate_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> field.ErrorList:
        return validate_repository_update(_repository(new), _repository(old), self._local_roots)


class RepositoryStatusStrategy(genericstrategy.StatusStrategy):
    """``repositories/status``: only ``.status`` changes, and its conditions are checked."""

    def validate_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> field.ErrorList:
        return validate_status(_repository(new).status)
