"""Contracts between the engine/cache and package repository backends.

Where this sits: `pkg/engine` (the CaD engine) and `pkg/cache` call these protocols; the git
backend (`pkg/externalrepo/git`) and the in-memory fake (`pkg/repository/fake`) implement
them. Nothing here touches git, HTTP or Kubernetes objects beyond the generated `Task` model.

What lives here:
- identity: `RepositoryKey` -> `PackageKey` -> `PackageRevisionKey`, the Kubernetes names
  they compose (`<repo>.<path dotted>.<package>.<workspace>`, porch.md §2.1), parsing a name
  back to a key (`parse_package_revision_name`) and the stable UID (`package_revision_uid`);
- `Lifecycle`, `Locator`/`GitLock` (where a revision lives), `ListPackageRevisionFilter`,
  `UserInfo` (who asks, for commit authorship);
- the protocols: `PackageRevision` (an immutable snapshot), `PackageRevisionDraft` (a batch
  of changes to be written by `Repository.close_package_revision_draft`) and `Repository`.

Concurrency model: a `PackageRevision` is a snapshot; its `resource_version` is the version
the repository had when it was read. Writes that start from a snapshot (update, delete) are
conditional on that version: if the revision changed in between the write raises
`errors.ConflictError` and changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import NewType, Protocol

from api.porch import v1alpha1 as porchv1alpha1
from pkg.repository import errors

__all__ = [
    "ANY_REVISION",
    "PLACEHOLDER_REVISION",
    "GitLock",
    "Lifecycle",
    "ListPackageRevisionFilter",
    "Locator",
    "Package",
    "PackageKey",
    "PackageRevision",
    "PackageRevisionDraft",
    "PackageRevisionKey",
    "PackageRevisionName",
    "Repository",
    "RepositoryKey",
    "RepositoryName",
    "UserInfo",
    "WorkspaceName",
    "compose_package_name",
    "compose_package_revision_name",
    "not_draft_error",
    "package_revision_uid",
    "parse_package_name",
    "parse_package_revision_name",
    "validate_package_revision_name",
]

RepositoryName = NewType("RepositoryName", str)
"""Name of a Repository object (a DNS-1123 label)."""

WorkspaceName = NewType("WorkspaceName", str)
"""Workspace of a package revision (a DNS-1123 label, or `v1.2.3` for semver tags)."""

PackageRevisionName = NewType("PackageRevisionName", str)
"""`metadata.name` of a PackageRevision: `<repo>.<path dotted>.<package>.<workspace>`."""

PLACEHOLDER_REVISION = -1
"""Revision of the branch-tracking placeholder and of tags whose suffix is not an integer."""


class Lifecycle(enum.StrEnum):
    """`spec.lifecycle` of a PackageRevision (porch.md §3.2)."""

    DRAFT = "Draft"
    PROPOSED = "Proposed"
    PUBLISHED = "Published"
    DELETION_PROPOSED = "DeletionProposed"

    @property
    def is_published(self) -> bool:
        """Published and DeletionProposed revisions are immutable and carry a revision."""
        return self in (Lifecycle.PUBLISHED, Lifecycle.DELETION_PROPOSED)


def not_draft_error(lifecycle: Lifecycle) -> errors.ForbiddenError:
    """Porch's refusal to change the files of a revision that is not a Draft (its text, for
    the engine's check and the backends' own)."""
    return errors.ForbiddenError(
        f'cannot update a package revision with lifecycle value "{lifecycle.value}"; '
        "package must be Draft"
    )


# --- keys ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class RepositoryKey:
    """Identity of a registered repository.

    `path` is `spec.git.directory` with leading/trailing `/` trimmed ("" for the root);
    `placeholder_ws_name` is the registered branch (the placeholder revisions' workspace).
    """

    namespace: str
    name: RepositoryName
    path: str = ""
    placeholder_ws_name: WorkspaceName = WorkspaceName("")


@dataclasses.dataclass(frozen=True, slots=True)
class PackageKey:
    """Identity of a package: its directory inside the repository's directory.

    `path` holds the parent directories ("" at the top level), `package` the last segment;
    `spec.packageName` is `package_path` (`path/package`).
    """

    repo_key: RepositoryKey
    path: str
    package: str

    @classmethod
    def from_package_path(cls, repo_key: RepositoryKey, package_path: str) -> PackageKey:
        """Split `a/b/pkg` (relative to the repository directory) into path and package."""
        parent, _, package = package_path.strip("/").rpartition("/")
        return cls(repo_key=repo_key, path=parent, package=package)

    @property
    def package_path(self) -> str:
        """`spec.packageName`: the package directory relative to the repository directory."""
        return f"{self.path}/{self.package}" if self.path else self.package

    @property
    def full_path(self) -> str:
        """The package directory relative to the git repository root (used in refs)."""
        if self.repo_key.path:
            return f"{self.repo_key.path}/{self.package_path}"
        return self.package_path

    def k8s_name(self) -> str:
        """Name of the Package object: `<repo>.<path dotted>.<package>`."""
        return compose_package_name(self.repo_key.name, self.path, self.package)


@dataclasses.dataclass(frozen=True, slots=True)
class PackageRevisionKey:
    """Identity of one revision of a package.

    `revision` is 0 for Draft/Proposed, N >= 1 once published, -1 for the placeholder and
    for tags whose suffix is not an integer.
    """

    pkg_key: PackageKey
    revision: int
    workspace_name: WorkspaceName

    @property
    def repo_key(self) -> RepositoryKey:
        return self.pkg_key.repo_key

    @property
    def is_placeholder(self) -> bool:
        """True for the revision tracking the registered branch (`<repo>.<pkg>.<branch>`)."""
        return (
            self.revision == PLACEHOLDER_REVISION
            and self.workspace_name == self.pkg_key.repo_key.placeholder_ws_name
        )

    def k8s_name(self) -> PackageRevisionName:
        """`metadata.name`: `<repo>.<path dotted>.<package>.<workspace>`."""
        return compose_package_revision_name(
            self.pkg_key.repo_key.name, self.pkg_key.path, self.pkg_key.package, self.workspace_name
        )


# --- names (porch.md §2.1) --------------------------------------------------------------

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SEMVER_WORKSPACE = re.compile(r"\.v[0-9.]*[0-9]$")
_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    "regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def _dns1123_label_errors(value: str) -> list[str]:
    """Kubernetes' IsDNS1123Label, with its messages."""
    problems = []
    if len(value) > 63:
        problems.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.fullmatch(value):
        problems.append(_LABEL_MESSAGE)
    return problems


def _dns1123_subdomain_errors(value: str) -> list[str]:
    """Kubernetes' IsDNS1123Subdomain, with its messages."""
    problems = []
    if len(value) > 253:
        problems.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        problems.append(_SUBDOMAIN_MESSAGE)
    return problems


def _path_errors(path: str) -> list[str]:
    """Porch's ValidateDirectoryName(path, mandatory=false): a DNS label allowing `/`."""
    problems = []
    if "//" in path:
        problems.append("consecutive '/' characters are not allowed")
    without_slashes = path.replace("/", "")
    if without_slashes:
        problems.extend(_dns1123_label_errors(without_slashes))
    return problems


def compose_package_name(repository: str, path: str, package: str) -> str:
    """`<repo>.<path dotted>.<package>` (the Package object's name)."""
    dotted = ".".join(part for part in (*path.split("/"), package) if part)
    return f"{repository}.{dotted}"


def compose_package_revision_name(
    repository: str, path: str, package: str, workspace: str
) -> PackageRevisionName:
    """`<repo>.<path dotted>.<package>.<workspace>` (the PackageRevision's name)."""
    return PackageRevisionName(f"{compose_package_name(repository, path, package)}.{workspace}")


def _package_name_problems(repository: str, path: str, package: str) -> list[str]:
    """Problems with the repository, path and package parts of a name (Porch's wording)."""
    problems: list[str] = []
    if repository_errors := _dns1123_label_errors(repository):
        problems.append(f"repository part {repository!r} of object name invalid")
        problems.append(f"repository name {repository} invalid: {','.join(repository_errors)}")
    if path_errors := _path_errors(path):
        problems.append(f"package path part {path!r} of object name invalid")
        problems.append(f"path {path} invalid: {','.join(path_errors)}")
    if package_errors := _dns1123_label_errors(package):
        problems.append(f"package name part {package!r} of object name invalid")
        problems.append(f"package name {package} invalid: {','.join(package_errors)}")
    return problems


def validate_package_revision_name(
    repository: str, path: str, package: str, workspace: str
) -> None:
    """Check every part of a revision's name as Porch does; raise `InvalidPackageError`.

    The repository, each path segment, the package and the workspace must be DNS-1123 labels
    (a workspace may contain dots only as a `v1.2.3` semver suffix, which is checked with its
    dots replaced by `-`); the whole name must be a DNS-1123 subdomain.
    """
    problems = _package_name_problems(repository, path, package)
    checked_workspace = workspace
    if _SEMVER_WORKSPACE.search("." + workspace):
        checked_workspace = workspace.replace(".", "-")
    if workspace_errors := _dns1123_label_errors(checked_workspace):
        problems.append(f"workspace name part {workspace!r} of package revision name invalid")
        problems.append(f"workspace name {workspace} invalid: {','.join(workspace_errors)}")
    if not problems:
        name = compose_package_revision_name(repository, path, package, workspace)
        if name_errors := _dns1123_subdomain_errors(name):
            problems.append(f"package revision kubernetes name {name!r} invalid")
            problems.append(
                f"package revision kubernetes name {name} invalid: {''.join(name_errors)}"
            )
    if problems:
        raise errors.InvalidPackageError(
            "package revision kubernetes resource name invalid:\n" + "\n".join(problems)
        )


def _split_in_3(value: str) -> tuple[str, str, str]:
    """First segment, the dotted middle, last segment (Porch's SplitIn3OnDelimiter)."""
    parts = value.split(".")
    if len(parts) == 1:
        return parts[0], "", ""
    if len(parts) == 2:
        return parts[0], "", parts[1]
    return parts[0], ".".join(parts[1:-1]), parts[-1]


def _workspace_of(name: str) -> str:
    """The workspace part of a revision name (Porch's GetPRWorkspaceName)."""
    if "." not in name:
        return ""
    if _SEMVER_WORKSPACE.search(name):
        return name[name.rindex(".v") + 1 :]
    return name[name.rindex(".") + 1 :]


def parse_package_revision_name(namespace: str, name: str) -> PackageRevisionKey:
    """Parse `metadata.name` back into a key, exactly as Porch (porch.md §2.1).

    The workspace is the text after the last `.`, or the whole `v…` suffix when the name ends
    in `.v<digits and dots>`; the rest is `<repo>.<path…>.<package>`. The returned key has
    only `namespace` and `name` in its `RepositoryKey` and revision 0: match it against real
    keys by repository name, package path and workspace. Raises `InvalidPackageError` with
    "package revision kubernetes resource name invalid: …" when a part is invalid.
    """
    workspace = _workspace_of(name)
    conditioned = name
    if "." in workspace:
        # Porch validates a semver workspace with its dots turned into dashes.
        conditioned = name[: len(name) - len(workspace)] + workspace.replace(".", "-")
    repository, middle, checked_workspace = _split_in_3(conditioned)
    _, package_middle, package = _split_in_3(f"{repository}.{middle}")
    path = package_middle.replace(".", "/")
    validate_package_revision_name(repository, path, package, checked_workspace)
    return PackageRevisionKey(
        pkg_key=PackageKey(
            repo_key=RepositoryKey(namespace=namespace, name=RepositoryName(repository)),
            path=path,
            package=package,
        ),
        revision=0,
        workspace_name=WorkspaceName(workspace),
    )


def parse_package_name(namespace: str, name: str) -> PackageKey:
    """Parse a Package object's name (`<repo>.<path dotted>.<package>`) into a key.

    Raises `InvalidPackageError` ("package kubernetes resource name invalid: …")."""
    repository, middle, package = _split_in_3(name)
    path = middle.replace(".", "/")
    problems = _package_name_problems(repository, path, package)
    if not problems and (name_errors := _dns1123_subdomain_errors(name)):
        problems.append(f"package kubernetes name {name} invalid: {''.join(name_errors)}")
    if problems:
        raise errors.InvalidPackageError(
            "package kubernetes resource name invalid:\n" + "\n".join(problems)
        )
    return PackageKey(
        repo_key=RepositoryKey(namespace=namespace, name=RepositoryName(repository)),
        path=path,
        package=package,
    )


_UID_NAMESPACE = uuid.UUID("aac71d91-5c67-456f-8fd2-902ef6da820e")


def package_revision_uid(namespace: str, name: str) -> str:
    """Stable UID of a PackageRevision (porch.md §2.4): UUIDv5 of
    `packagerevision:porch.kpt.dev/v1alpha1/<namespace>/<name>` (lowercased)."""
    text = f"packagerevision:porch.kpt.dev/v1alpha1/{namespace.lower()}/{name.lower()}"
    return str(uuid.uuid5(_UID_NAMESPACE, text))


# --- value objects ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class GitLock:
    """Where a revision lives in git: repository URL, package directory, short ref, commit."""

    repo: str
    directory: str
    ref: str
    commit: str


@dataclasses.dataclass(frozen=True, slots=True)
class Locator:
    """`status.selfLock` / `status.upstreamLock`: origin type plus its lock."""

    type: str
    git: GitLock | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class UserInfo:
    """The user on whose behalf a write happens (from the API request's authentication)."""

    name: str
    groups: frozenset[str] = frozenset()

    @property
    def is_authenticated(self) -> bool:
        """Porch records a user as commit author only when authenticated."""
        return "system:authenticated" in self.groups


@dataclasses.dataclass(frozen=True, slots=True)
class ListPackageRevisionFilter:
    """Predicate for `Repository.list_package_revisions`; `None`/empty means "any".

    `package_path` is `spec.packageName` (`path/package`, relative to the repository
    directory); `revision` compares exactly (0 selects Draft/Proposed revisions);
    `lifecycles` keeps revisions whose lifecycle is in the set.
    """

    package_path: str | None = None
    workspace_name: WorkspaceName | None = None
    revision: int | None = None
    lifecycles: frozenset[Lifecycle] = frozenset()

    def matches(self, key: PackageRevisionKey, lifecycle: Lifecycle) -> bool:
        if self.package_path is not None and key.pkg_key.package_path != self.package_path:
            return False
        if self.workspace_name is not None and key.workspace_name != self.workspace_name:
            return False
        if self.revision is not None and key.revision != self.revision:
            return False
        return not self.lifecycles or lifecycle in self.lifecycles


ANY_REVISION = ListPackageRevisionFilter()
"""The filter that matches every revision."""


@dataclasses.dataclass(frozen=True, slots=True)
class Package:
    """A package and its latest published revision (0 when none is published)."""

    key: PackageKey
    latest_revision: int


# --- protocols -------------------------------------------------------------------------


class PackageRevision(Protocol):
    """An immutable snapshot of one package revision, as listed by a `Repository`.

    Cheap attributes are computed at listing time; file contents load lazily (`kptfile`,
    `resources`) and are cached on the snapshot. A snapshot never changes: re-list to see
    later changes.
    """

    @property
    def key(self) -> PackageRevisionKey: ...

    @property
    def name(self) -> PackageRevisionName:
        """`metadata.name` (`key.k8s_name()`)."""
        ...

    @property
    def uid(self) -> str:
        """`metadata.uid` (`package_revision_uid`)."""
        ...

    @property
    def lifecycle(self) -> Lifecycle: ...

    @property
    def resource_version(self) -> str:
        """`metadata.resourceVersion`: the commit id of the revision's ref (git)."""
        ...

    @property
    def tasks(self) -> Sequence[porchv1alpha1.Task]:
        """The creation task (at most one), recovered from commit annotations."""
        ...

    @property
    def published_by(self) -> str | None:
        """Author of the publishing commit; None unless Published/DeletionProposed."""
        ...

    @property
    def published_at(self) -> datetime.datetime | None:
        """Author time of the publishing commit; None unless Published/DeletionProposed."""
        ...

    @property
    def updated_at(self) -> datetime.datetime:
        """Author time of the revision's current commit (a stand-in for creation time)."""
        ...

    @property
    def self_lock(self) -> Locator:
        """Where this revision lives (URL, package directory, short ref, commit)."""
        ...

    async def kptfile(self) -> str | None:
        """Text of the `Kptfile` at the package root, None if absent. Cached."""
        ...

    async def resources(self) -> dict[str, str]:
        """All files of the package tree (subpackages included), path -> text. Cached.

        Paths are relative to the package directory with `/` separators. Raises
        `BackendUnavailableError` when the local cache cannot be read.
        """
        ...


class PackageRevisionDraft(Protocol):
    """Changes to one package revision, written by `Repository.close_package_revision_draft`.

    Obtained from `Repository.create_package_revision_draft` (a new revision, lifecycle
    Draft) or `Repository.update_package_revision` (starting from a snapshot). Resource
    updates are recorded locally (git: one local commit each) and become visible only when
    the draft is closed; a draft that is never closed leaves the repository unchanged.
    A draft is used by one task at a time.
    """

    @property
    def key(self) -> PackageRevisionKey: ...

    @property
    def lifecycle(self) -> Lifecycle:
        """The lifecycle the revision will have when the draft is closed."""
        ...

    async def update_resources(
        self,
        resources: Mapping[str, str],
        task: porchv1alpha1.Task | None,
        message: str | None = None,
    ) -> None:
        """Replace the package's whole tree with `resources` (path -> text), as one commit.

        `task` is the creation task (recorded in the commit annotation and shown as the
        revision's task); pass None for later edits, recorded as a `render` change with
        message "Rendering package". `message` overrides the human line of the message.
        Raises `InvalidPackageError` (nothing written) for unsafe paths (absolute, `..`,
        NUL, backslash, `.git`, a file that is also a directory) or a missing root
        `Kptfile`; `ForbiddenError` if the revision is not Draft/Proposed.
        """
        ...

    async def update_lifecycle(self, lifecycle: Lifecycle) -> None:
        """Set the lifecycle to apply on close.

        Allowed targets: Draft/Proposed/Published for new and unpublished revisions,
        Published/DeletionProposed for published ones; anything else raises
        `ForbiddenError`. Nothing is written until the draft is closed.
        """
        ...


class Repository(Protocol):
    """A registered package repository (one `Repository` object of the API).

    All methods are coroutines; backends do blocking work off the event loop. Listing
    never contacts the remote: call `refresh` to fetch, `version` to learn whether anything
    changed. Writes contact the remote and are conditional on the snapshot they start from.
    """

    @property
    def key(self) -> RepositoryKey: ...

    async def version(self) -> str:
        """A string that changes whenever any revision changes (git: SHA-256 of all refs)."""
        ...

    async def refresh(self) -> None:
        """Fetch from the remote (git: prune, branches and tags). Raises
        `BackendUnavailableError` when the remote cannot be reached after retries."""
        ...

    async def list_package_revisions(
        self, filter: ListPackageRevisionFilter = ANY_REVISION
    ) -> Sequence[PackageRevision]:
        """All revisions matching `filter` as of the last refresh/write (no network)."""
        ...

    async def list_packages(self, package_path: str | None = None) -> Sequence[Package]:
        """Packages with at least one revision (optionally only `package_path`)."""
        ...

    async def create_package_revision_draft(
        self, key: PackageRevisionKey, *, user: UserInfo | None = None
    ) -> PackageRevisionDraft:
        """Start a new revision (lifecycle Draft) of `key.pkg_key` in `key.workspace_name`.

        The draft starts from the registered branch's head. `user` becomes the commit
        author (unless the Repository names an author). Raises `InvalidPackageError` for an
        invalid name. Uniqueness is checked when the draft is closed.
        """
        ...

    async def update_package_revision(
        self, old: PackageRevision, *, user: UserInfo | None = None
    ) -> PackageRevisionDraft:
        """Start changing an existing revision: new resources (Draft/Proposed) or a
        lifecycle change. Closing the draft fails with `ConflictError` if `old` is stale."""
        ...

    async def close_package_revision_draft(
        self, draft: PackageRevisionDraft, revision: int = 0
    ) -> PackageRevision:
        """Write the draft to the remote and return the resulting snapshot.

        By the draft's lifecycle: Draft/Proposed pushes the `drafts/`/`proposed/` branch
        (removing the other); Published (approval) pushes, in one push, a merge commit on
        the registered branch, the tag `<path>/v<revision>` and the removal of the
        draft/proposed branch; DeletionProposed adds/removes the deletion-proposal branch.
        `revision` is the number to publish under; 0 lets the repository assign
        max(published) + 1. Raises `ConflictError` if the revision changed since the
        draft's snapshot, `AlreadyExistsError` if a ref to create exists,
        `ForbiddenError` if the remote declines, `BackendUnavailableError` on transport
        failure. On any error the remote is unchanged: a partially applied push is rolled
        back, and if even that fails `BackendUnavailableError` names the refs to repair.
        """
        ...

    async def delete_package_revision(
        self, old: PackageRevision, *, user: UserInfo | None = None
    ) -> None:
        """Delete a revision: its branch (Draft/Proposed), its tag and deletion-proposal
        branch (published), or its directory on the branch (placeholder; commit
        "Delete <path>"). Raises `ConflictError` if `old` is stale (the revision changed);
        a revision that is already gone is not an error (deletes are idempotent)."""
        ...

    async def close(self) -> None:
        """Release the repository (and its local cache when no one else uses it)."""
        ...
