"""Background sync of one repository: when to refresh it, and its status afterwards.

Where this sits: `pkg.cache.repositorycontroller.RepositoryController` runs one
`SyncManager` per registered Repository; each syncs through the cache
(`Cache.open_repository`, `CachedRepository.refresh`), so changes made in git behind the
server's back reach watchers as ADDED/MODIFIED/DELETED events, and writes the Repository's
status through a `RepositoryStatusWriter` (the controller's source: the server's own store
in standalone mode, the Kubernetes API in aggregated mode).

Schedule (porch.md §4.7): a sync when the manager starts (that one opens the repository),
then every `repo_sync_frequency` after the last sync, or at the next time of
`spec.sync.schedule` (5-field cron, croniter) when it is set, plus one whenever the
Repository's spec changes, plus a one-shot sync for each distinct `spec.sync.runOnceAt`.

runOnceAt, as Porch's v1alpha1 server does it: the value is never cleared; the first
successful sync that started at or after it records it in `status.observedRunOnceAt`, and a
value equal to the observed one fires nothing (so a restart does not fire it again). A value
never observed fires once: at once when it is past (at start-up the start-up sync is that
sync), at its time when it is in the future. A one-shot sync that fails is not fired again
at once; the error back-off retries it like any failed sync until one succeeds and records
the value. A change of runOnceAt alone (a new generation and nothing else in the spec) is
no spec change to reconcile: the new generation is recorded in `observedGeneration` without a
sync, as Porch's controller does. A random delay of up to `max_jitter` (at most
a tenth of the period) spreads periodic syncs of many repositories; at most
`max_concurrent_syncs` run at once server-wide (the others wait their turn; Porch refused
them). A failed sync is logged with its repository, shown in the Ready condition (False,
reason Error, the error text) and retried with exponential back-off from `retry_initial` up
to the period; it never affects other repositories.

Metrics (OpenTelemetry API, meter `pkg.cache`): `porch.repository.sync.duration`, a histogram
of the seconds each sync attempt spent fetching and listing (waiting for a slot not
included), with one attribute, `outcome` = `success` | `error` (no repository names: the
series count stays fixed however many repositories are registered).

Status: Ready True "Ready"/"Repository Ready" after a successful sync; False "Reconciling"
while the first sync (or the one after a spec change) runs - unlike Porch, periodic syncs of
a ready repository do not flap Ready to False; False "Error" on failure. Also
lastFullSyncTime, nextFullSyncTime, observedGeneration, observedRunOnceAt, packageCount
(package revisions) and gitCommitHash (the branch head, when known).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import random
import time
from typing import Final, Protocol

from croniter import croniter
from opentelemetry import metrics, trace

from api.meta import v1 as metav1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.cache import cachetypes, repocache
from pkg.repository import errors

__all__ = [
    "RepositoryStatusWriter",
    "SyncManager",
    "SyncOptions",
    "next_sync_time",
]

_log = logging.getLogger(__name__)
tracer = trace.get_tracer("cache")

_METER: Final = "pkg.cache"
# From a local no-op refresh (milliseconds) to a first clone of a big remote (minutes).
_SYNC_DURATION_BUCKETS: Final = (
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    20.0,
    30.0,
    60.0,
    120.0,
    300.0,
)

_MESSAGE_READY: Final = "Repository Ready"
_MESSAGE_RECONCILING: Final = "Repository reconciliation in progress"


class RepositoryStatusWriter(Protocol):
    """Where a Repository's status goes (implemented by the controller's source)."""

    async def update_repository_status(
        self, repo: configv1alpha1.Repository, status: configv1alpha1.RepositoryStatus
    ) -> None:
        """Replace the status of the Repository `repo` names (namespace/name). Raises any
        exception on failure; the sync logs it and carries on (the next write retries)."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class SyncOptions:
    """Sync tuning, from the server's flags (`--repo-sync-frequency`,
    `--max-concurrent-syncs`)."""

    repo_sync_frequency: float = 600.0
    max_concurrent_syncs: int = 50
    max_jitter: float = 30.0
    retry_initial: float = 5.0

    def __post_init__(self) -> None:
        if self.repo_sync_frequency <= 0:
            raise ValueError("repo_sync_frequency must be positive")
        if self.max_concurrent_syncs < 1:
            raise ValueError("max_concurrent_syncs must be at least 1")
        if self.max_jitter < 0 or self.retry_initial <= 0:
            raise ValueError("max_jitter must not be negative and retry_initial positive")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def next_sync_time(
    repo: configv1alpha1.Repository, last_sync: datetime.datetime, frequency: float
) -> datetime.datetime:
    """When the next periodic sync is due after `last_sync`: the next time of
    `spec.sync.schedule` (5-field cron, UTC) if set and valid, else `last_sync + frequency`.
    An invalid schedule is logged and falls back to the frequency."""
    spec = repo.spec
    schedule = spec.sync.schedule if spec is not None and spec.sync is not None else None
    if schedule:
        try:
            nxt = croniter(schedule, last_sync).get_next(datetime.datetime)
        except (ValueError, KeyError) as err:
            _log.warning("repository %s: invalid sync schedule %r: %s", _name(repo), schedule, err)
        else:
            assert isinstance(nxt, datetime.datetime)
            return nxt if nxt.tzinfo is not None else nxt.replace(tzinfo=datetime.UTC)
    return last_sync + datetime.timedelta(seconds=frequency)


def _name(repo: configv1alpha1.Repository) -> str:
    namespace, name = repocache.repository_key_of(repo)
    return f"{namespace}/{name}"


def _run_once_at(repo: configv1alpha1.Repository) -> datetime.datetime | None:
    spec = repo.spec
    return spec.sync.run_once_at if spec is not None and spec.sync is not None else None


def _generation(repo: configv1alpha1.Repository) -> int | None:
    return repo.metadata.generation if repo.metadata is not None else None


def _reconciled_spec(repo: configv1alpha1.Repository) -> dict[str, object]:
    """The spec without `sync.runOnceAt` (which schedules a one-shot sync instead of asking
    for a sync at once)."""
    if repo.spec is None:
        return {}
    spec: dict[str, object] = repo.spec.model_dump(
        exclude_none=True, exclude={"sync": {"run_once_at"}}
    )
    if not spec.get("sync"):
        spec.pop("sync", None)
    return spec


def _location(repo: configv1alpha1.Repository) -> dict[str, object]:
    """The part of the spec that says where the packages are (type, git, oci)."""
    if repo.spec is None:
        return {}
    return repo.spec.model_dump(include={"type", "git", "oci"}, exclude_none=True)


def _sync_duration_histogram(
    meter_provider: metrics.MeterProvider | None = None,
) -> metrics.Histogram:
    """The `porch.repository.sync.duration` instrument (module doc) of `meter_provider`
    (default: the global one). Creating it again returns the same instrument."""
    return metrics.get_meter(_METER, meter_provider=meter_provider).create_histogram(
        "porch.repository.sync.duration",
        unit="s",
        description="Duration of repository sync attempts (fetch and list), by outcome.",
        explicit_bucket_boundaries_advisory=_SYNC_DURATION_BUCKETS,
    )


class SyncManager:
    """Periodic sync of one repository (see module doc). Create, `start`, later `stop`.

    `meter_provider` (default: the global one) receives the sync duration metric."""

    def __init__(
        self,
        cache: repocache.RepositoryCache,
        repo: configv1alpha1.Repository,
        *,
        status_writer: RepositoryStatusWriter,
        limiter: asyncio.Semaphore,
        options: SyncOptions | None = None,
        rng: random.Random | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._cache = cache
        self._duration = _sync_duration_histogram(meter_provider)
        self._repo = repo
        self._key = repocache.repository_key_of(repo)
        self._writer = status_writer
        self._limiter = limiter
        self._options = options or SyncOptions()
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._status = (
            repo.status.model_copy(deep=True)
            if repo.status is not None
            else configv1alpha1.RepositoryStatus()
        )
        self._sync_requested = True  # the start-up sync
        self._reopen = False
        # A generation to record without syncing (only runOnceAt changed).
        self._record_generation = False
        # The runOnceAt value a sync was started for; if that sync failed, the value is
        # retried by the error back-off rather than fired again at once.
        self._attempted_run_once: datetime.datetime | None = None
        self._failures = 0
        self._next_regular: datetime.datetime | None = None
        self.syncs = 0
        """Completed sync attempts (successful or not)."""
        self.last_error: BaseException | None = None
        self.synced = asyncio.Event()
        """Set after the first sync attempt (whatever its outcome)."""

    @property
    def repository(self) -> configv1alpha1.Repository:
        return self._repo

    @property
    def status(self) -> configv1alpha1.RepositoryStatus:
        return self._status

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"sync-{self._key[1]}")

    async def stop(self) -> None:
        """Stop syncing (waits for a sync in progress to be cancelled)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def update(self, repo: configv1alpha1.Repository) -> None:
        """A new version of the Repository object: sync at once when its spec changed (other
        than runOnceAt); reschedule for a changed schedule or runOnceAt."""
        old, self._repo = self._repo, repo
        new_generation = _generation(repo) != _generation(old)
        if _location(repo) != _location(old):
            # Where to read changed (the CRD forbids it; a standalone store may not): open
            # the repository afresh, as a new one.
            self._reopen = True
            self._sync_requested = True
        elif _reconciled_spec(repo) != _reconciled_spec(old) or (
            new_generation and _run_once_at(repo) == _run_once_at(old)
        ):
            self._sync_requested = True
        elif new_generation:
            # Only runOnceAt changed: its one-shot sync is scheduled by `_due`.
            self._record_generation = True
        self._wakeup.set()

    def request_sync(self) -> None:
        """Sync as soon as a slot is free."""
        self._sync_requested = True
        self._wakeup.set()

    # -- the loop -------------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            if self._record_generation and not self._sync_requested:
                await self._record_observed_generation()
            due = self._due()
            delay = (due - _now()).total_seconds() if due is not None else None
            if not self._sync_requested and (delay is None or delay > 0):
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), delay)
                continue
            self._sync_requested = False
            await self._sync()

    def _due(self) -> datetime.datetime | None:
        """The next time a sync is due (None: only on request)."""
        run_once_at = self._pending_run_once()
        if run_once_at is not None and run_once_at == self._attempted_run_once:
            run_once_at = None  # fired and failed: `_next_regular` holds the back-off retry
        candidates = [t for t in (self._next_regular, run_once_at) if t is not None]
        return min(candidates) if candidates else None

    def _pending_run_once(self) -> datetime.datetime | None:
        run_once_at = _run_once_at(self._repo)
        if run_once_at is None or run_once_at == self._status.observed_run_once_at:
            return None
        return run_once_at

    async def _sync(self) -> None:
        namespace, name = self._key
        async with self._limiter:
            with tracer.start_as_current_span(
                "Repository::sync", attributes={"repository": f"{namespace}/{name}"}
            ) as span:
                started = _now()
                # This sync records the generation if it succeeds (and must not if it fails).
                self._record_generation = False
                run_once_at = self._pending_run_once()
                if run_once_at is not None and run_once_at <= started:
                    self._attempted_run_once = run_once_at
                first = self._ready_condition() is None or self._reopen
                if first:
                    await self._write_status(
                        self._condition("False", "Reconciling", _MESSAGE_RECONCILING)
                    )
                clock = time.perf_counter()
                try:
                    result = await self._refresh()
                except (errors.RepositoryError, OSError) as err:
                    self._record_duration(clock, "error")
                    span.record_exception(err)
                    await self._failed(err)
                except Exception as err:
                    self._record_duration(clock, "error")
                    # A bug, not a remote problem: still never stop syncing the others.
                    _log.exception("sync of repository %s/%s crashed", namespace, name)
                    span.record_exception(err)
                    await self._failed(err)
                else:
                    self._record_duration(clock, "success")
                    await self._succeeded(result, started, run_once_at)
                finally:
                    self.syncs += 1
                    self.synced.set()

    def _record_duration(self, clock: float, outcome: str) -> None:
        self._duration.record(time.perf_counter() - clock, {"outcome": outcome})

    async def _refresh(self) -> cachetypes.RefreshResult:
        namespace, name = self._key
        if self._reopen:
            self._reopen = False
            await self._cache.close_repository(namespace, name)
        fresh = self._cache.get_repository(namespace, name) is None
        cached = await self._cache.open_repository(self._repo)
        # E.g. spec.deployment toggled: revisions show it at once (MODIFIED events).
        await cached.set_repository(self._repo)
        if fresh:
            # Opening just fetched and listed everything; no need to do it twice.
            return cached.facts()
        return await cached.refresh()

    async def _succeeded(
        self,
        result: cachetypes.RefreshResult,
        started: datetime.datetime,
        run_once_at: datetime.datetime | None,
    ) -> None:
        self._failures = 0
        self.last_error = None
        frequency = self._options.repo_sync_frequency
        jitter = self._rng.uniform(0, min(self._options.max_jitter, frequency / 10))
        self._next_regular = next_sync_time(self._repo, started, frequency) + datetime.timedelta(
            seconds=jitter
        )
        status = self._status.model_copy(
            update={
                "last_full_sync_time": started,
                "next_full_sync_time": self._next_regular.replace(microsecond=0),
                "observed_generation": _generation(self._repo),
                "package_count": result.package_revision_count,
                "git_commit_hash": result.branch_head,
            }
        )
        # Only a sync that started at or after runOnceAt honours it (it must see what was
        # pushed before that time).
        if run_once_at is not None and run_once_at <= started:
            status.observed_run_once_at = run_once_at
        self._status = status
        await self._write_status(self._condition("True", "Ready", _MESSAGE_READY))
        _log.debug(
            "synced repository %s/%s: +%d ~%d -%d",
            *self._key,
            result.added,
            result.modified,
            result.deleted,
        )

    async def _failed(self, err: BaseException) -> None:
        self.last_error = err
        self._failures += 1
        # The exponent is bounded: an outage of thousands of attempts must not overflow.
        delay = min(
            self._options.retry_initial * 2 ** min(self._failures - 1, 32),
            self._options.repo_sync_frequency,
        )
        self._next_regular = _now() + datetime.timedelta(seconds=delay)
        _log.warning(
            "sync of repository %s/%s failed (attempt %d, retry in %.0fs): %s",
            *self._key,
            self._failures,
            delay,
            err,
        )
        self._status = self._status.model_copy(
            update={"next_full_sync_time": self._next_regular.replace(microsecond=0)}
        )
        await self._write_status(self._condition("False", "Error", str(err) or type(err).__name__))

    # -- status ---------------------------------------------------------------------------------
    async def _record_observed_generation(self) -> None:
        """Record the current generation as observed without syncing (only runOnceAt
        changed, so the last sync's outcome still describes the spec)."""
        self._record_generation = False
        generation = _generation(self._repo)
        self._status = self._status.model_copy(update={"observed_generation": generation})
        ready = self._ready_condition()
        if ready is not None:
            await self._write_status(ready.model_copy(update={"observed_generation": generation}))

    def _ready_condition(self) -> metav1.Condition | None:
        for condition in self._status.conditions or ():
            if condition.type == configv1alpha1.CONDITION_READY:
                return condition
        return None

    def _condition(self, status: str, reason: str, message: str) -> metav1.Condition:
        previous = self._ready_condition()
        transition = (
            previous.last_transition_time
            if previous is not None and previous.status == status
            else _now()
        )
        return metav1.Condition(
            type=configv1alpha1.CONDITION_READY,
            status=status,
            reason=reason,
            message=message,
            last_transition_time=transition,
            observed_generation=_generation(self._repo),
        )

    async def _write_status(self, ready: metav1.Condition) -> None:
        others = [c for c in self._status.conditions or () if c.type != ready.type]
        self._status = self._status.model_copy(update={"conditions": [*others, ready]})
        try:
            await self._writer.update_repository_status(
                self._repo, self._status.model_copy(deep=True)
            )
        except Exception as err:
            _log.warning("cannot write status of repository %s/%s: %s", *self._key, err)
