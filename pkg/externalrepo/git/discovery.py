"""Facts derived from git objects for package discovery (porch.md §4.3), memoised.

Called by `git.py` on a clone's executor thread when it (re)builds a listing. Git objects are
immutable, so everything computed from a commit or tree is cached by object id and never
recomputed: a listing after a change costs O(refs + packages) plus work proportional to what
changed, never a history walk per listing.

- `ref_revision`: what a tag, `drafts/…` or `proposed/…` branch holds (package tree, Kptfile,
  workspace, revision, creation task, commit author) — memoised per (ref, target).
- `branch_packages`: the packages on the registered branch (directories with a `Kptfile`
  under the Repository's directory, not descending into a package) and, per package, the
  latest commit whose `kpt:` annotation names it (publish information of the placeholder).
  Package trees are memoised per tree id; the history index is extended incrementally from
  the previous head (only commits not reachable from it are read). `branch_package` answers
  the same for one package path by looking it (and its parent directories) up, without
  walking the others.
- Creation tasks come from `kpt:` annotations: first along Porch's own commit shapes (the
  approval merge commit, then the draft's chain down to its creation commit), falling back
  to Porch's full time-ordered walk for foreign histories, which stops at the first matching
  creation task.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging

import pygit2
from pygit2 import enums as pygit2_enums

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import annotation, refs
from pkg.repository import paths

_log = logging.getLogger(__name__)

_FILE_MODES = frozenset({pygit2_enums.FileMode.BLOB, pygit2_enums.FileMode.BLOB_EXECUTABLE})
_PORCH_SHAPED_WALK_LIMIT = 1000  # commits followed along a draft chain before giving up


@dataclasses.dataclass(frozen=True, slots=True)
class CommitInfo:
    """Who and when of a commit."""

    id: pygit2.Oid
    author_name: str
    author_email: str
    author_time: datetime.datetime

    @classmethod
    def of(cls, commit: pygit2.Commit) -> CommitInfo:
        author = commit.author
        zone = datetime.timezone(datetime.timedelta(minutes=author.offset))
        return cls(
            id=commit.id,
            author_name=author.name,
            author_email=author.email,
            author_time=datetime.datetime.fromtimestamp(author.time, tz=zone),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class PackageAt:
    """A package directory in some commit: its tree and its Kptfile blob."""

    full_path: str
    tree: pygit2.Oid
    kptfile: pygit2.Oid


@dataclasses.dataclass(frozen=True, slots=True)
class RefRevision:
    """A tag, draft or proposed branch holding a package.

    `target` is the ref's own value (an annotated tag's tag object), needed for conditional
    deletes; `commit` is what it points to.
    """

    local_ref: str
    target: pygit2.Oid
    kind: refs.RefKind
    full_path: str
    suffix: str
    workspace: str
    revision: int
    commit: CommitInfo
    package: PackageAt
    tasks: tuple[porchv1alpha1.Task, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class BranchPackage:
    """A package on the registered branch, with the latest commit annotated for it."""

    package: PackageAt
    last_annotated: CommitInfo | None
    workspace: str


_TreeAt = tuple[str, pygit2.Oid]


@dataclasses.dataclass(slots=True)
class _History:
    head: pygit2.Oid
    latest: dict[str, tuple[CommitInfo, str]]


class Facts:
    """Memoised facts of one bare clone. Use only on the clone's executor thread."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self._repo = repo
        self._ref_memo: dict[tuple[str, pygit2.Oid], RefRevision | None] = {}
        self._tree_memo: dict[tuple[str, str], dict[_TreeAt, tuple[PackageAt, ...]]] = {}
        self._branch_memo: dict[tuple[str, str], tuple[pygit2.Oid, tuple[BranchPackage, ...]]] = {}
        self._histories: dict[str, _History] = {}

    def commit(self, commit_id: pygit2.Oid) -> pygit2.Commit:
        return self._repo[commit_id].peel(pygit2.Commit)

    # -- packages in trees ---------------------------------------------------------------
    def find_package(self, commit: pygit2.Commit, full_path: str) -> PackageAt | None:
        """The package at `full_path` in `commit` (a directory with a regular Kptfile)."""
        try:
            obj = commit.tree[full_path]
        except KeyError:
            return None
        if not isinstance(obj, pygit2.Tree):
            return None
        return _package_of(obj, full_path)

    def branch_packages(
        self, branch: str, head: pygit2.Commit, directory: str
    ) -> tuple[BranchPackage, ...]:
        """Packages on the registered branch under `directory`, with publish information."""
        memo_key = (branch, directory)
        cached = self._branch_memo.get(memo_key)
        if cached is not None and cached[0] == head.id:
            return cached[1]
        root: pygit2.Tree | pygit2.Blob | None = head.tree
        if directory:
            try:
                root = head.tree[directory]
            except KeyError:
                root = None
        found: tuple[PackageAt, ...] = ()
        if isinstance(root, pygit2.Tree):
            previous = self._tree_memo.get(memo_key, {})
            used: dict[_TreeAt, tuple[PackageAt, ...]] = {}
            found = self._packages_in_tree(root, directory, previous, used, top=True)
            self._tree_memo[memo_key] = used
        history = self._branch_history(branch, head)
        result = tuple(
            BranchPackage(
                package=package,
                last_annotated=history[package.full_path][0]
                if package.full_path in history
                else None,
                workspace=history[package.full_path][1] if package.full_path in history else "",
            )
            for package in found
        )
        self._branch_memo[memo_key] = (head.id, result)
        return result

    def branch_package(
        self, branch: str, head: pygit2.Commit, directory: str, full_path: str
    ) -> BranchPackage | None:
        """The one package at `full_path` on the registered branch, as `branch_packages`
        would report it, without walking the other packages: O(depth of the path).

        None when `full_path` is not a package there, lies outside `directory`, or sits
        inside another package (discovery does not descend into a package)."""
        if not refs.in_directory(full_path, directory):
            return None
        tree = head.tree
        # The ancestors strictly below `directory` must be plain directories.
        ancestor = directory
        for part in refs.relative_to(full_path, directory).split("/")[:-1]:
            ancestor = f"{ancestor}/{part}" if ancestor else part
            try:
                obj = tree[ancestor]
            except KeyError:
                return None
            if not isinstance(obj, pygit2.Tree) or _package_of(obj, ancestor) is not None:
                return None
        try:
            found = tree[full_path]
        except KeyError:
            return None
        package = _package_of(found, full_path) if isinstance(found, pygit2.Tree) else None
        if package is None:
            return None
        history = self._branch_history(branch, head)
        annotated = history.get(full_path)
        return BranchPackage(
            package=package,
            last_annotated=annotated[0] if annotated is not None else None,
            workspace=annotated[1] if annotated is not None else "",
        )

    def _packages_in_tree(
        self,
        tree: pygit2.Tree,
        path: str,
        previous: dict[_TreeAt, tuple[PackageAt, ...]],
        used: dict[_TreeAt, tuple[PackageAt, ...]],
        *,
        top: bool = False,
    ) -> tuple[PackageAt, ...]:
        # Keyed by path too: the same tree at another path holds other packages.
        memo_key = (path, tree.id)
        memo = previous.get(memo_key)
        if memo is not None:
            used[memo_key] = memo
            return memo
        package = None if top else _package_of(tree, path)
        if package is not None:
            result: tuple[PackageAt, ...] = (package,)
        else:
            collected: list[PackageAt] = []
            for entry in tree:
                if isinstance(entry, pygit2.Tree):
                    child = f"{path}/{entry.name}" if path else str(entry.name)
                    collected.extend(self._packages_in_tree(entry, child, previous, used))
            result = tuple(collected)
        used[memo_key] = result
        return result

    # -- history of the registered branch -------------------------------------------------
    def _branch_history(
        self, branch: str, head: pygit2.Commit
    ) -> dict[str, tuple[CommitInfo, str]]:
        """Per package path: the latest commit (time order) whose annotation names it."""
        previous = self._histories.get(branch)
        if previous is not None and previous.head == head.id:
            return previous.latest
        walker = self._repo.walk(head.id, pygit2_enums.SortMode.TIME)
        inherited: dict[str, tuple[CommitInfo, str]] = {}
        if previous is not None and self._repo.descendant_of(head.id, previous.head):
            # Only the commits the branch gained since the last look.
            walker.hide(previous.head)
            inherited = previous.latest
        newer: dict[str, tuple[CommitInfo, str]] = {}
        for commit in walker:
            if b"kpt:" not in commit.raw_message:
                continue
            for note in annotation.extract(commit.raw_message.decode("utf-8", "replace")):
                if note.package and note.package not in newer:
                    newer[note.package] = (CommitInfo.of(commit), note.workspace_name)
        latest = {**inherited, **newer}
        self._histories[branch] = _History(head=head.id, latest=latest)
        return latest

    # -- tags, drafts and proposed branches ---------------------------------------------
    def ref_revision(
        self, local_ref: str, target: pygit2.Oid, classified: refs.ClassifiedRef
    ) -> RefRevision | None:
        """The revision a TAG/DRAFT/PROPOSED ref holds, or None if it holds no package."""
        memo_key = (local_ref, target)
        if memo_key in self._ref_memo:
            return self._ref_memo[memo_key]
        result = self._compute_ref_revision(local_ref, target, classified)
        self._ref_memo[memo_key] = result
        return result

    def forget_refs_except(self, live: set[tuple[str, pygit2.Oid]]) -> None:
        """Drop memoised ref facts for refs that no longer exist (bounded memory)."""
        for memo_key in [k for k in self._ref_memo if k not in live]:
            del self._ref_memo[memo_key]

    def _compute_ref_revision(
        self, local_ref: str, target: pygit2.Oid, classified: refs.ClassifiedRef
    ) -> RefRevision | None:
        try:
            commit = self._repo[target].peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.InvalidSpecError):
            _log.warning("ref %s does not point to a commit; ignored", local_ref)
            return None
        package = self.find_package(commit, classified.full_path)
        if package is None:
            return None
        if classified.kind is refs.RefKind.TAG:
            revision = refs.tag_revision(classified.suffix)
            workspace = classified.suffix
            if revision != -1:
                workspace = self._annotated_workspace(commit, classified.full_path) or workspace
        else:
            revision, workspace = 0, classified.suffix
        return RefRevision(
            local_ref=local_ref,
            target=target,
            kind=classified.kind,
            full_path=classified.full_path,
            suffix=classified.suffix,
            workspace=workspace,
            revision=revision,
            commit=CommitInfo.of(commit),
            package=package,
            tasks=self._creation_task(commit, classified.full_path, workspace),
        )

    def _annotated_workspace(self, commit: pygit2.Commit, full_path: str) -> str:
        for note in _annotations(commit):
            if note.package == full_path and note.workspace_name:
                return note.workspace_name
        return ""

    # -- creation task --------------------------------------------------------------------
    def _creation_task(
        self, commit: pygit2.Commit, full_path: str, workspace: str
    ) -> tuple[porchv1alpha1.Task, ...]:
        found = self._walk_porch_shaped(commit, full_path, workspace)
        if found is None:
            found = self._walk_history(commit, full_path, workspace)
        if found is None:
            return ()
        task = annotation.parse_task(found)
        return (task,) if task is not None else ()

    def _walk_porch_shaped(
        self, commit: pygit2.Commit, full_path: str, workspace: str
    ) -> dict[str, object] | None:
        """Follow Porch's shapes: approval merge -> draft side -> draft chain -> creation.

        Returns the creation task's JSON; None when the history has another shape (a commit
        on the way is not annotated for this revision)."""
        current = commit
        for _ in range(_PORCH_SHAPED_WALK_LIMIT):
            notes = _matching(current, full_path, workspace)
            if not notes:
                return None
            for note in notes:
                if note.task_type in annotation.CREATION_TASK_TYPES and note.task is not None:
                    return note.task
            parents = current.parent_ids
            if not parents:
                return None
            if len(parents) > 1 and all(note.task is None for note in notes):
                current = self._repo[parents[1]].peel(pygit2.Commit)
            else:
                current = self._repo[parents[0]].peel(pygit2.Commit)
        return None

    def _walk_history(
        self, commit: pygit2.Commit, full_path: str, workspace: str
    ) -> dict[str, object] | None:
        """Porch's walk: newest first, stop at the first matching creation task."""
        for current in self._repo.walk(commit.id, pygit2_enums.SortMode.TIME):
            if b"kpt:" not in current.raw_message:
                continue
            for note in _matching(current, full_path, workspace):
                if note.task_type in annotation.CREATION_TASK_TYPES and note.task is not None:
                    return note.task
        return None

    # -- file contents ----------------------------------------------------------------------
    def read_tree(self, tree_id: pygit2.Oid) -> dict[str, str]:
        """All regular files under a tree, path -> text (invalid UTF-8 replaced)."""
        files: dict[str, str] = {}
        pending: list[tuple[str, pygit2.Tree]] = [("", self._repo[tree_id].peel(pygit2.Tree))]
        while pending:
            prefix, tree = pending.pop()
            for entry in tree:
                name = f"{prefix}{entry.name}"
                if isinstance(entry, pygit2.Tree):
                    pending.append((f"{name}/", entry))
                elif isinstance(entry, pygit2.Blob) and entry.filemode in _FILE_MODES:
                    files[name] = entry.data.decode("utf-8", "replace")
                # Symlinks and submodules are not package files.
        return files

    def read_blob(self, blob_id: pygit2.Oid) -> str:
        blob = self._repo[blob_id].peel(pygit2.Blob)
        return blob.data.decode("utf-8", "replace")


def _package_of(tree: pygit2.Tree, full_path: str) -> PackageAt | None:
    try:
        kptfile = tree[paths.KPTFILE]
    except KeyError:
        return None
    if not isinstance(kptfile, pygit2.Blob) or kptfile.filemode not in _FILE_MODES:
        return None
    return PackageAt(full_path=full_path, tree=tree.id, kptfile=kptfile.id)


def _annotations(commit: pygit2.Commit) -> list[annotation.Annotation]:
    raw = commit.raw_message
    if b"kpt:" not in raw:
        return []
    return annotation.extract(raw.decode("utf-8", "replace"))


def _matching(commit: pygit2.Commit, full_path: str, workspace: str) -> list[annotation.Annotation]:
    """Annotations of `commit` for this package revision. Old data (before workspaces)
    recorded the workspace as `revision`."""
    return [
        note
        for note in _annotations(commit)
        if note.package == full_path
        and (
            note.workspace_name == workspace
            or (not note.workspace_name and note.revision == workspace)
        )
    ]
