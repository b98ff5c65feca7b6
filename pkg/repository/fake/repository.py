"""An in-memory `Repository` with the git backend's semantics, for upper layers' unit tests.

The engine's and cache's tests use `FakeRepository` instead of git when git itself is not
what they test. It keeps the observable rules of the git backend (porch.md §3-4):

- lifecycles as refs: a revision is Draft/Proposed until approved; approval assigns
  `revision` (given, or max published + 1), refreshes the package's placeholder revision
  (revision -1, workspace = the branch) and removes the draft; DeletionProposed toggles on
  published revisions; deleting the placeholder removes the package from the "branch";
- conditional writes: closing a draft or deleting a revision whose snapshot is stale raises
  `ConflictError`; creating a revision or tag that exists raises `AlreadyExistsError`;
- resources are validated with `pkg.repository.paths` (nothing stored on error);
- `version()` changes on every write; `resource_version` is a fresh opaque id per change.

It is a real implementation (no network, no git), not a mock: tests assert behaviour on it.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from api.porch import v1alpha1 as porchv1alpha1
from pkg.repository import errors, paths
from pkg.repository import repository as repo_api

_PORCH_EMAIL = "porch@kpt.dev"


@dataclasses.dataclass(frozen=True, slots=True)
class FakePackageRevision:
    """An immutable snapshot (implements `repository.PackageRevision`)."""

    key: repo_api.PackageRevisionKey
    lifecycle: repo_api.Lifecycle
    resource_version: str
    tasks: tuple[porchv1alpha1.Task, ...]
    published_by: str | None
    published_at: datetime.datetime | None
    updated_at: datetime.datetime
    self_lock: repo_api.Locator
    files: Mapping[str, str]

    @property
    def name(self) -> repo_api.PackageRevisionName:
        return self.key.k8s_name()

    @property
    def uid(self) -> str:
        return repo_api.package_revision_uid(self.key.repo_key.namespace, self.name)

    async def kptfile(self) -> str | None:
        return self.files.get(paths.KPTFILE)

    async def resources(self) -> dict[str, str]:
        return dict(self.files)


@dataclasses.dataclass(slots=True)
class FakePackageRevisionDraft:
    """Pending changes (implements `repository.PackageRevisionDraft`)."""

    repository: FakeRepository
    key: repo_api.PackageRevisionKey
    base: FakePackageRevision | None
    lifecycle: repo_api.Lifecycle
    files: dict[str, str] | None
    tasks: tuple[porchv1alpha1.Task, ...]
    author: str

    async def update_resources(
        self,
        resources: Mapping[str, str],
        task: porchv1alpha1.Task | None,
        message: str | None = None,
    ) -> None:
        if self.base is not None and self.base.lifecycle.is_published:
            raise repo_api.not_draft_error(self.base.lifecycle)
        paths.validate_resource_paths(resources)
        self.files = dict(resources)
        if task is not None:
            self.tasks = (task,)

    async def update_lifecycle(self, lifecycle: repo_api.Lifecycle) -> None:
        base = self.base.lifecycle if self.base is not None else None
        allowed = (
            {repo_api.Lifecycle.PUBLISHED, repo_api.Lifecycle.DELETION_PROPOSED}
            if base is not None and base.is_published
            else {
                repo_api.Lifecycle.DRAFT,
                repo_api.Lifecycle.PROPOSED,
                repo_api.Lifecycle.PUBLISHED,
            }
        )
        if lifecycle not in allowed:
            raise errors.ForbiddenError(
                f"cannot change the lifecycle of package revision {self.key.k8s_name()} "
                f"from {base or 'new'} to {lifecycle}"
            )
        self.lifecycle = lifecycle


class FakeRepository:
    """In-memory repository (implements `repository.Repository`)."""

    def __init__(self, key: repo_api.RepositoryKey, *, url: str = "") -> None:
        if not key.placeholder_ws_name:
            key = dataclasses.replace(key, placeholder_ws_name=repo_api.WorkspaceName("main"))
        self._key = key
        self._url = url or f"fake://{key.namespace}/{key.name}"
        self._revisions: dict[repo_api.PackageRevisionName, FakePackageRevision] = {}
        self._counter = itertools.count(1)
        self._version = 0
        self.closed = False

    @property
    def key(self) -> repo_api.RepositoryKey:
        return self._key

    # -- reads --------------------------------------------------------------------------------
    async def version(self) -> str:
        return str(self._version)

    async def refresh(self) -> None:
        """Nothing to fetch: the fake is its own remote."""

    async def list_package_revisions(
        self, filter: repo_api.ListPackageRevisionFilter = repo_api.ANY_REVISION
    ) -> Sequence[FakePackageRevision]:
        return [r for _, r in sorted(self._revisions.items()) if filter.matches(r.key, r.lifecycle)]

    async def list_packages(self, package_path: str | None = None) -> Sequence[repo_api.Package]:
        packages: dict[str, repo_api.Package] = {}
        for revision in self._revisions.values():
            path = revision.key.pkg_key.package_path
            if package_path is not None and path != package_path:
                continue
            latest = packages[path].latest_revision if path in packages else 0
            if revision.lifecycle.is_published and revision.key.revision > latest:
                latest = revision.key.revision
            packages[path] = repo_api.Package(key=revision.key.pkg_key, latest_revision=latest)
        return [packages[path] for path in sorted(packages)]

    # -- drafts -------------------------------------------------------------------------------
    async def create_package_revision_draft(
        self, key: repo_api.PackageRevisionKey, *, user: repo_api.UserInfo | None = None
    ) -> FakePackageRevisionDraft:
        key = dataclasses.replace(
            key, pkg_key=dataclasses.replace(key.pkg_key, repo_key=self._key), revision=0
        )
        repo_api.validate_package_revision_name(
            self._key.name, key.pkg_key.path, key.pkg_key.package, key.workspace_name
        )
        return FakePackageRevisionDraft(
            repository=self,
            key=key,
            base=None,
            lifecycle=repo_api.Lifecycle.DRAFT,
            files=None,
            tasks=(),
            author=_author(user),
        )

    async def update_package_revision(
        self, old: repo_api.PackageRevision, *, user: repo_api.UserInfo | None = None
    ) -> FakePackageRevisionDraft:
        if not isinstance(old, FakePackageRevision):
            raise TypeError(f"{old!r} was not listed by a FakeRepository")
        return FakePackageRevisionDraft(
            repository=self,
            key=old.key,
            base=old,
            lifecycle=old.lifecycle,
            files=dict(old.files),
            tasks=old.tasks,
            author=_author(user),
        )

    async def close_package_revision_draft(
        self, draft: repo_api.PackageRevisionDraft, revision: int = 0
    ) -> FakePackageRevision:
        if not isinstance(draft, FakePackageRevisionDraft) or draft.repository is not self:
            raise TypeError(f"{draft!r} was not created by this repository")
        base = draft.base
        if base is not None:
            self._check_current(base)
        if base is not None and base.lifecycle.is_published:
            result = self._store(
                dataclasses.replace(
                    base, lifecycle=draft.lifecycle, resource_version=self._next_version()
                )
            )
        elif draft.lifecycle is repo_api.Lifecycle.DELETION_PROPOSED:
            raise errors.ForbiddenError(
                f"package revision {draft.key.k8s_name()} is not published; it cannot be "
                "proposed for deletion"
            )
        elif draft.files is None:
            raise errors.InvalidPackageError("package must contain Kptfile at root")
        elif draft.lifecycle is repo_api.Lifecycle.PUBLISHED:
            result = self._approve(draft, draft.files, revision)
        else:
            if base is None and draft.key.k8s_name() in self._revisions:
                raise errors.AlreadyExistsError(
                    f"package revision {draft.key.k8s_name()} already exists"
                )
            result = self._store(self._snapshot(draft, draft.key, draft.files, published=False))
        self._version += 1
        return result

    def _approve(
        self, draft: FakePackageRevisionDraft, files: dict[str, str], revision: int
    ) -> FakePackageRevision:
        pkg_key = draft.key.pkg_key
        taken = {
            r.key.revision
            for r in self._revisions.values()
            if r.key.pkg_key == pkg_key and r.lifecycle.is_published and r.key.revision > 0
        }
        number = revision or max(taken, default=0) + 1
        if number in taken:
            raise errors.AlreadyExistsError(f"{pkg_key.full_path}/v{number} already exists")
        if draft.base is None and draft.key.k8s_name() in self._revisions:
            raise errors.AlreadyExistsError(
                f"package revision {draft.key.k8s_name()} already exists"
            )
        if draft.base is not None:
            del self._revisions[draft.base.name]
        published = self._store(
            self._snapshot(draft, dataclasses.replace(draft.key, revision=number), files, True)
        )
        placeholder_key = repo_api.PackageRevisionKey(
            pkg_key=pkg_key,
            revision=repo_api.PLACEHOLDER_REVISION,
            workspace_name=self._key.placeholder_ws_name,
        )
        self._store(self._snapshot(draft, placeholder_key, files, True))
        return published

    # -- deletes ------------------------------------------------------------------------------
    async def delete_package_revision(
        self, old: repo_api.PackageRevision, *, user: repo_api.UserInfo | None = None
    ) -> None:
        if not isinstance(old, FakePackageRevision):
            raise TypeError(f"{old!r} was not listed by a FakeRepository")
        if old.name not in self._revisions:
            return  # already gone: deletes are idempotent
        self._check_current(old)
        del self._revisions[old.name]
        self._version += 1

    async def close(self) -> None:
        self.closed = True

    # -- helpers ------------------------------------------------------------------------------
    def _check_current(self, snapshot: FakePackageRevision) -> None:
        current = self._revisions.get(snapshot.name)
        if current is None:
            raise errors.NotFoundError(f"package revision {snapshot.name} no longer exists")
        if current.resource_version != snapshot.resource_version:
            raise errors.ConflictError(
                f"package revision {snapshot.name}: the object has been modified; please "
                "apply your changes to the latest version and try again"
            )

    def _next_version(self) -> str:
        return f"fake-{next(self._counter)}"

    def _snapshot(
        self,
        draft: FakePackageRevisionDraft,
        key: repo_api.PackageRevisionKey,
        files: dict[str, str],
        published: bool,
    ) -> FakePackageRevision:
        now = datetime.datetime.now(datetime.UTC)
        version = self._next_version()
        if key.revision > 0:
            ref = f"{key.pkg_key.full_path}/v{key.revision}"
        elif key.is_placeholder:
            ref = self._key.placeholder_ws_name
        else:
            ref = f"drafts/{key.pkg_key.full_path}/{key.workspace_name}"
        return FakePackageRevision(
            key=key,
            lifecycle=repo_api.Lifecycle.PUBLISHED if published else draft.lifecycle,
            resource_version=version,
            tasks=draft.tasks,
            published_by=draft.author if published else None,
            published_at=now if published else None,
            updated_at=now,
            self_lock=repo_api.Locator(
                type="git",
                git=repo_api.GitLock(
                    repo=self._url, directory=key.pkg_key.full_path, ref=ref, commit=version
                ),
            ),
            files=dict(files),
        )

    def _store(self, snapshot: FakePackageRevision) -> FakePackageRevision:
        # A draft and its proposal share a name: storing one replaces the other.
        self._revisions[snapshot.name] = snapshot
        return snapshot


def _author(user: repo_api.UserInfo | None) -> str:
    return user.name if user is not None and user.is_authenticated else _PORCH_EMAIL


if TYPE_CHECKING:
    # mypy checks that the classes implement the contracts.
    _REPOSITORY: type[repo_api.Repository] = FakeRepository
    _REVISION: type[repo_api.PackageRevision] = FakePackageRevision
    _DRAFT: type[repo_api.PackageRevisionDraft] = FakePackageRevisionDraft
