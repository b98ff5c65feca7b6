"""Atomic compare-and-swap of several refs in a local repository (no push involved).

Called by `git.py` on the repository's executor thread when a Repository points at a local
bare repository (`file://` or a path under the allowed roots): there the backend writes objects
straight into the repository and applies the ref changes of one close/delete here, as one
libgit2 reference transaction, instead of pushing from a cache clone.

How it stays safe against other writers (other porch-py processes, a person running
`git push` or `git update-ref` into the same repository): every ref of the transaction is
locked first (`<ref>.lock`, the same lock files git uses, so git waits or fails while we hold
them and we fail while git holds one), then each ref's current value is compared with the
expected one while the locks are held, and only if all match are the new values committed.
A mismatch (`StaleRefError`) or a lock held by someone else (`TransportError` "failed to lock",
which the caller's retry list treats as transient) changes nothing: the transaction is freed,
which releases the locks. This is the guarantee `git push --atomic` gives on a files ref
backend (receive-pack locks all refs, verifies, then renames the lock files into place).
"""

from __future__ import annotations

from collections.abc import Sequence

import pygit2

from pkg.externalrepo.git import transport

__all__ = ["apply"]


def _current(repo: pygit2.Repository, name: str) -> pygit2.Oid | None:
    reference = repo.references.get(name)
    if reference is None:
        return None
    target = reference.resolve().target
    # A symbolic ref (never one Porch's layout writes) counts with the value it resolves to.
    return target if isinstance(target, pygit2.Oid) else None


def apply(
    repo: pygit2.Repository, updates: Sequence[transport.RefUpdate], message: str
) -> list[transport.RefUpdate]:
    """Apply all `updates` or none; return those that changed something.

    An update whose ref already holds its new value counts as done (as a push of an
    up-to-date ref does). Raises `StaleRefError` for the first ref whose value is neither
    the expected old nor the new one, `TransportError` when a ref is locked by another writer.
    """
    with repo.transaction() as txn:
        for update in updates:
            try:
                txn.lock_ref(update.remote_ref)
            except pygit2.GitError as err:
                # The message keeps libgit2's "failed to lock", one of the retryable errors.
                raise transport.TransportError(
                    f"failed to lock {update.remote_ref}: {err}"
                ) from err
        changing: list[transport.RefUpdate] = []
        for update in updates:
            actual = _current(repo, update.remote_ref)
            if actual == update.new:
                continue
            if actual != update.old:
                raise transport.StaleRefError(update.remote_ref, update.old, actual)
            changing.append(update)
        for update in changing:
            if update.new is None:
                txn.remove(update.remote_ref)
            else:
                # No reflog signature: pygit2 1.21 cannot pass one to libgit2 (it hands over
                # bytes where a pointer is due); libgit2 then uses the repository's identity,
                # or "unknown" (bare repositories keep no reflog unless configured to).
                txn.set_target(update.remote_ref, update.new, message=message)
        # Leaving the block without an exception commits; with one, frees (unlocks) only.
    return changing
