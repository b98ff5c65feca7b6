"""kpt's package update (`kpt pkg update`) for Porch's `upgrade` task, and merge-key comments.

The `upgrade` task calls `update` with the old upstream, the new upstream and the local package
revision's files, then sets the Kptfile's new upstream and calls `add_merge_comments`; the
`clone` task calls `add_merge_comments` on the package it copied. See `update` for the
strategies, `resourcemerge` and `merge3` for the merge rules, `kptfilemerge` for the Kptfile.
"""

from pkg.kpt.update.errors import LocalChangesError, MergeError, UpdateError
from pkg.kpt.update.mergecomment import UPSTREAM_IDENTIFIER_ANNOTATION, add_merge_comments
from pkg.kpt.update.update import (
    COPY_MERGE,
    FAST_FORWARD,
    FORCE_DELETE_REPLACE,
    RESOURCE_MERGE,
    STRATEGIES,
    update,
)

__all__ = [
    "COPY_MERGE",
    "FAST_FORWARD",
    "FORCE_DELETE_REPLACE",
    "RESOURCE_MERGE",
    "STRATEGIES",
    "UPSTREAM_IDENTIFIER_ANNOTATION",
    "LocalChangesError",
    "MergeError",
    "UpdateError",
    "add_merge_comments",
    "update",
]
