"""Git ref names of Porch's repository layout (porch.md §4.1).

Used by the git backend (`git.py`, `discovery.py`) to name the refs it pushes and to classify
the refs it fetched. The local bare cache never has branches of its own: remote branches are
fetched to `refs/remotes/origin/*`, tags to `refs/tags/*` (the fetch refspecs below).

| lifecycle        | remote ref                                                  |
|------------------|-------------------------------------------------------------|
| Draft            | refs/heads/drafts/<full path>/<workspace>                   |
| Proposed         | refs/heads/proposed/<full path>/<workspace>                 |
| Published        | refs/tags/<full path>/v<revision> (+ merge commit on branch) |
| DeletionProposed | the tag, plus refs/heads/deletionProposed/<full path>/v<N>  |
| placeholder      | refs/heads/<registered branch>                              |

"Full path" is the package directory from the git root (the Repository's directory prefix
included).
"""

from __future__ import annotations

import dataclasses
import enum
import re

ORIGIN = "origin"
HEADS = "refs/heads/"
TAGS = "refs/tags/"
LOCAL_BRANCHES = f"refs/remotes/{ORIGIN}/"

FETCH_REFSPECS = (f"+{HEADS}*:{LOCAL_BRANCHES}*", f"+{TAGS}*:{TAGS}*")
"""Branches to remote-tracking refs, tags as they are; both forced (the remote is truth)."""

DRAFTS = "drafts/"
PROPOSED = "proposed/"
DELETION_PROPOSED = "deletionProposed/"

_INTEGER_SUFFIX = re.compile(r"v?([0-9]+)")


class RefKind(enum.Enum):
    """What a fetched ref means for package discovery."""

    BRANCH = "branch"  # the registered branch: placeholder revisions
    DRAFT = "draft"
    PROPOSED = "proposed"
    DELETION_PROPOSED = "deletionProposed"
    TAG = "tag"
    OTHER = "other"


@dataclasses.dataclass(frozen=True, slots=True)
class ClassifiedRef:
    """A local ref with its kind and the part after the kind's prefix.

    For DRAFT/PROPOSED/DELETION_PROPOSED/TAG, `full_path` is the package directory and
    `suffix` the last segment (workspace, or tag/deletion suffix); for BRANCH and OTHER both
    are empty.
    """

    kind: RefKind
    full_path: str = ""
    suffix: str = ""


def local_branch(branch: str) -> str:
    """`refs/remotes/origin/<branch>`: where a remote branch lives in the cache."""
    return LOCAL_BRANCHES + branch


def remote_branch(branch: str) -> str:
    """`refs/heads/<branch>`: the branch in the remote."""
    return HEADS + branch


def tag(name: str) -> str:
    """`refs/tags/<name>` (same name locally and remotely)."""
    return TAGS + name


def remote_to_local(remote_ref: str) -> str:
    """The cache's name for a remote ref (refs/heads/x -> refs/remotes/origin/x)."""
    if remote_ref.startswith(HEADS):
        return LOCAL_BRANCHES + remote_ref[len(HEADS) :]
    return remote_ref


def local_to_remote(local_ref: str) -> str:
    """The remote's name for a cached ref (refs/remotes/origin/x -> refs/heads/x)."""
    if local_ref.startswith(LOCAL_BRANCHES):
        return HEADS + local_ref[len(LOCAL_BRANCHES) :]
    return local_ref


def short(remote_ref: str) -> str:
    """Short form used in locks: `drafts/pkg/ws`, `pkg/v1`, `main`."""
    for prefix in (HEADS, TAGS):
        if remote_ref.startswith(prefix):
            return remote_ref[len(prefix) :]
    return remote_ref


def draft_branch(full_path: str, workspace: str) -> str:
    return f"{DRAFTS}{full_path}/{workspace}"


def proposed_branch(full_path: str, workspace: str) -> str:
    return f"{PROPOSED}{full_path}/{workspace}"


def deletion_proposed_branch(full_path: str, suffix: str) -> str:
    """`deletionProposed/<full path>/<suffix>`; suffix `v<N>`, or the branch/workspace name
    for the placeholder and non-integer tags."""
    return f"{DELETION_PROPOSED}{full_path}/{suffix}"


def published_tag(full_path: str, revision: int) -> str:
    """`<full path>/v<revision>` (tag name without `refs/tags/`)."""
    return f"{full_path}/v{revision}"


def tag_revision(suffix: str) -> int:
    """Revision of a tag suffix: `v3` or `3` -> 3; anything else (`v2.0.0`) -> -1."""
    match = _INTEGER_SUFFIX.fullmatch(suffix)
    return int(match.group(1)) if match else -1


def _split_last(rest: str) -> tuple[str, str]:
    path, _, last = rest.rpartition("/")
    return path, last


def classify(local_ref: str, registered_branch: str) -> ClassifiedRef:
    """Classify a cached ref for discovery (see the table in the module docstring)."""
    if local_ref.startswith(LOCAL_BRANCHES):
        branch = local_ref[len(LOCAL_BRANCHES) :]
        if branch == registered_branch:
            return ClassifiedRef(RefKind.BRANCH)
        for prefix, kind in (
            (DRAFTS, RefKind.DRAFT),
            (PROPOSED, RefKind.PROPOSED),
            (DELETION_PROPOSED, RefKind.DELETION_PROPOSED),
        ):
            if branch.startswith(prefix):
                path, last = _split_last(branch[len(prefix) :])
                if path and last:
                    return ClassifiedRef(kind, path, last)
                return ClassifiedRef(RefKind.OTHER)
        return ClassifiedRef(RefKind.OTHER)
    if local_ref.startswith(TAGS):
        path, last = _split_last(local_ref[len(TAGS) :])
        # Tags without a slash (release tags such as `v1.0`) name no package.
        if path and last:
            return ClassifiedRef(RefKind.TAG, path, last)
    return ClassifiedRef(RefKind.OTHER)


def in_directory(full_path: str, directory: str) -> bool:
    """Whether a package directory lies strictly under the Repository's directory."""
    if not directory:
        return bool(full_path)
    return full_path.startswith(directory + "/")


def relative_to(full_path: str, directory: str) -> str:
    """The package path relative to the Repository's directory."""
    return full_path[len(directory) + 1 :] if directory else full_path
