"""Fetch and conditional push over libgit2, with credentials, retries and error mapping.

Called only from `git.py`, always on the clone's executor thread (everything here blocks).

Conditional pushes: libgit2 sends, for every ref it updates, the value the remote advertised
when the push connected, and the server (receive-pack) applies the update only if the ref
still has that value. `PushCallbacks.push_negotiation` runs after the advertisement and before
anything is sent: it compares each advertised value with the value the caller expects and
aborts the whole push on any difference (`StaleRefError`). Together they make every ref
update a compare-and-swap. libgit2 has no atomic push, so a multi-ref push can be partially
applied when a concurrent writer slips in between advertisement and update; `push` detects
that from the per-ref report and raises `PartialPushError` so the caller can roll back.

Rejections by the remote (a hook, a lost race) do not raise in libgit2; they arrive through
`push_update_reference`, which is always installed here.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import urllib.parse
from collections.abc import Callable, Sequence
from typing import TypeVar

import pygit2
from pygit2 import enums as pygit2_enums

from pkg.externalrepo.git import refs
from pkg.repository import credentials, errors

_log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_RETRYABLE_ERRORS: tuple[str, ...] = (
    "remote ref",
    "failed to update ref",
    "pre-receive hook declined",
    "non-fast-forward update",
    "stale file handle",
    "unable to migrate objects to permanent storage",
    "failed to lock",
    "broken pipe",
    "status code: 500",
)
"""Porch's retryable push errors (porch.md §4.1); matched as substrings, case-insensitively."""

_HOOK_DECLINED = "pre-receive hook declined"
_ZERO = bytes(20)
_AUTH_MARKERS = ("status code: 401", "status code: 403", "authentication", "credentials")


@dataclasses.dataclass(frozen=True, slots=True)
class RefUpdate:
    """One conditional ref update of a push.

    `old` is the value the remote must have (None: the ref must not exist); `new` is the
    value to set (None: delete). `force` allows a non-fast-forward update (used only to
    roll back a partially applied push; the update stays conditional on `old`).
    """

    remote_ref: str
    old: pygit2.Oid | None
    new: pygit2.Oid | None
    force: bool = False

    def refspec(self) -> str:
        source = "" if self.new is None else str(self.new)
        return f"{'+' if self.force else ''}{source}:{self.remote_ref}"


class TransportError(Exception):
    """A fetch or push failed before the remote applied anything."""


class AuthenticationError(TransportError):
    """The remote refused our credentials (or asked for some we do not have)."""


class StaleRefError(TransportError):
    """A ref's value on the remote is not the expected one; nothing was pushed."""

    def __init__(self, remote_ref: str, expected: pygit2.Oid | None, actual: pygit2.Oid | None):
        self.remote_ref = remote_ref
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{remote_ref} is at {actual or 'nothing'}, expected {expected or 'nothing'}"
        )


class RejectedError(TransportError):
    """The remote rejected every ref update of a push (`messages`: ref -> reason)."""

    def __init__(self, messages: dict[str, str]):
        self.messages = messages
        super().__init__("; ".join(f"{ref}: {msg}" for ref, msg in sorted(messages.items())))


class PartialPushError(RejectedError):
    """The remote applied some ref updates (`accepted`) and rejected others."""

    def __init__(self, messages: dict[str, str], accepted: Sequence[RefUpdate]):
        self.accepted = tuple(accepted)
        super().__init__(messages)


class RemoteCallbacks(pygit2.RemoteCallbacks):
    """Credentials for one operation; counts the refs a fetch changed.

    libgit2 calls `credentials` again after a 401; a second call means the credential was
    refused, so it raises `AuthenticationError` instead of looping.
    """

    def __init__(self, credential: credentials.Credential | None) -> None:
        super().__init__()
        self._credential = credential
        self._credential_calls = 0
        self.tips_changed = 0

    def credentials(
        self,
        url: str,
        username_from_url: str | None,
        allowed_types: pygit2_enums.CredentialType,
    ) -> pygit2.Username | pygit2.UserPass | pygit2.Keypair:
        if allowed_types == pygit2_enums.CredentialType.USERNAME:
            # SSH asks for the user name first, then for a key: not an attempt yet.
            credential = self._credential
            username = (
                credential.username
                if isinstance(credential, credentials.BasicAuth | credentials.SshKey)
                else None
            )
            return pygit2.Username(username or username_from_url or "git")
        self._credential_calls += 1
        if self._credential_calls > 1:
            raise AuthenticationError(f"authentication to {url} failed")
        credential = self._credential
        if isinstance(credential, credentials.BasicAuth) and (
            allowed_types & pygit2_enums.CredentialType.USERPASS_PLAINTEXT
        ):
            return pygit2.UserPass(credential.username, credential.password)
        if allowed_types & pygit2_enums.CredentialType.SSH_KEY:
            if isinstance(credential, credentials.SshKey):
                return pygit2.KeypairFromMemory(
                    credential.username,
                    credential.public_key or None,
                    credential.private_key,
                    credential.passphrase,
                )
            if credential is None:
                return pygit2.KeypairFromAgent(username_from_url or "git")
        raise AuthenticationError(f"{url} requires credentials this repository does not have")

    def custom_headers(self) -> list[str] | None:
        # libgit2 has no bearer-token credential type; an extra header does the job.
        if isinstance(self._credential, credentials.BearerToken):
            return [f"Authorization: Bearer {self._credential.token}"]
        return None

    def update_tips(self, refname: str, old: pygit2.Oid, new: pygit2.Oid) -> None:
        self.tips_changed += 1


class PushCallbacks(RemoteCallbacks):
    """Makes every update conditional (`push_negotiation`) and records the remote's verdict
    per ref (`push_update_reference`)."""

    def __init__(
        self, credential: credentials.Credential | None, updates: Sequence[RefUpdate]
    ) -> None:
        super().__init__(credential)
        self._expected = {u.remote_ref: u for u in updates}
        self.statuses: dict[str, str | None] = {}

    def push_negotiation(self, updates: list[pygit2.remotes.PushUpdate]) -> None:
        advertised: dict[str, pygit2.Oid | None] = {
            u.dst_refname: None if u.src.raw == _ZERO else u.src for u in updates
        }
        for ref, update in self._expected.items():
            # libgit2 leaves out refs that are already at the target value.
            actual = advertised.get(ref, update.new)
            # Already at the target (e.g. a retried push that had landed) is success too.
            if actual not in (update.old, update.new):
                raise StaleRefError(ref, update.old, actual)

    def push_update_reference(self, refname: str, message: str | None) -> None:
        self.statuses[refname] = message


def redact(url: str) -> str:
    """A URL safe to log: any user info (which may hold a password) removed."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def is_retryable(message: str, retryable: Sequence[str]) -> bool:
    lowered = message.lower()
    return any(marker.lower() in lowered for marker in retryable)


def _is_auth_failure(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in _AUTH_MARKERS)


def fetch(
    repo: pygit2.Repository,
    credential: credentials.Credential | None,
    refspecs: Sequence[str] | None = None,
    *,
    prune: bool = True,
) -> int:
    """Fetch from origin (default refspecs: all branches and tags); return #refs changed.

    Raises `AuthenticationError` or `TransportError`.
    """
    callbacks = RemoteCallbacks(credential)
    try:
        repo.remotes[refs.ORIGIN].fetch(
            list(refspecs) if refspecs is not None else None,
            callbacks=callbacks,
            prune=pygit2_enums.FetchPrune.PRUNE if prune else pygit2_enums.FetchPrune.NO_PRUNE,
        )
    except AuthenticationError:
        raise
    except (pygit2.GitError, OSError) as err:
        if _is_auth_failure(str(err)):
            raise AuthenticationError(str(err)) from err
        raise TransportError(str(err)) from err
    return callbacks.tips_changed


def push(
    repo: pygit2.Repository,
    credential: credentials.Credential | None,
    updates: Sequence[RefUpdate],
) -> None:
    """Push conditional ref updates in one push.

    Raises `StaleRefError` (nothing pushed), `RejectedError` (nothing applied),
    `PartialPushError` (some applied), `AuthenticationError`, `TransportError`.
    """
    callbacks = PushCallbacks(credential, updates)
    try:
        repo.remotes[refs.ORIGIN].push([u.refspec() for u in updates], callbacks=callbacks)
    except (StaleRefError, AuthenticationError):
        raise
    except (pygit2.GitError, OSError) as err:
        if _is_auth_failure(str(err)):
            raise AuthenticationError(str(err)) from err
        raise TransportError(str(err)) from err
    rejected: dict[str, str] = {}
    accepted: list[RefUpdate] = []
    for update in updates:
        if update.remote_ref not in callbacks.statuses:
            # Already at the target: libgit2 sent nothing for it.
            continue
        message = callbacks.statuses[update.remote_ref]
        if message is None:
            accepted.append(update)
        else:
            rejected[update.remote_ref] = message
    if rejected:
        if accepted:
            raise PartialPushError(rejected, accepted)
        raise RejectedError(rejected)


def retry(
    operation: Callable[[int], T],
    *,
    attempts: int,
    retryable: Sequence[str],
    delay: float,
) -> T:
    """Run `operation(attempt)` until it succeeds or fails with a non-retryable error.

    Retryable: `TransportError`s (not stale refs or authentication) whose message contains one
    of `retryable`. Delay before attempt n+1 is n x `delay`, five times that after a declining
    pre-receive hook (Porch's 200 ms / 1 s back-off with the default delay, porch.md §4.1).
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return operation(attempt)
        except (StaleRefError, AuthenticationError, PartialPushError):
            raise
        except TransportError as err:
            if attempt >= attempts or not is_retryable(str(err), retryable):
                raise
            pause = attempt * delay * (5 if _HOOK_DECLINED in str(err).lower() else 1)
            _log.info("git operation failed (attempt %d/%d), retrying: %s", attempt, attempts, err)
            time.sleep(pause)


def fetch_with_retry(
    repo: pygit2.Repository,
    credential: credentials.Credential | None,
    *,
    attempts: int,
    delay: float,
    refspecs: Sequence[str] | None = None,
    prune: bool = True,
) -> int:
    """`fetch`, retried on any transport error with delay (n+1) x `delay` (porch.md §4.1)."""
    attempt = 0
    while True:
        try:
            return fetch(repo, credential, refspecs, prune=prune)
        except AuthenticationError:
            raise
        except TransportError as err:
            attempt += 1
            if attempt >= attempts:
                raise
            _log.info("fetch failed (attempt %d/%d), retrying: %s", attempt, attempts, err)
            time.sleep((attempt + 1) * delay)


def to_repository_error(err: TransportError, what: str) -> errors.RepositoryError:
    """Map a transport failure to the domain error callers see."""
    if isinstance(err, AuthenticationError):
        return errors.BackendUnavailableError(f"{what}: {err}")
    if isinstance(err, StaleRefError):
        if err.expected is None:
            return errors.AlreadyExistsError(f"{what}: {refs.short(err.remote_ref)} already exists")
        if err.actual is None:
            return errors.NotFoundError(f"{what}: {refs.short(err.remote_ref)} no longer exists")
        return errors.ConflictError(
            f"{what}: the object has been modified; please apply your changes to the latest "
            f"version and try again ({refs.short(err.remote_ref)} changed)"
        )
    if isinstance(err, RejectedError):
        messages = "; ".join(f"{refs.short(r)}: {m}" for r, m in sorted(err.messages.items()))
        if any("hook declined" in m for m in err.messages.values()):
            return errors.ForbiddenError(f"{what}: the remote refused the update ({messages})")
        return errors.ConflictError(f"{what}: the remote rejected the update ({messages})")
    return errors.BackendUnavailableError(f"{what}: {err}")
