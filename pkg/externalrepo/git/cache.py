"""Bare repositories the git backend works on, one per URL, shared by every user of the URL.

Owned by the server's wiring (`pkg/cmd`): it creates one `GitCache` over its cache directory,
passes it to `open_repository` in `GitRepositoryOptions`, and closes it at shutdown. Each
`SharedClone` is ref-counted: two Repository objects on one URL (different directories or
branches) share it.

Two kinds: for a remote URL, a bare cache clone under `<root>/git/<name>` that the last
`release` deletes from disk (as Porch does); for a local bare repository (`acquire(path,
local=True)`), the repository itself, opened in place and never deleted.

Threading: every clone has its own single-thread executor and all pygit2 work on that clone
runs there (`SharedClone.run`). That serialises fetches, pushes and ref updates of one bare
repository without locks, keeps the pygit2 objects on one thread, and leaves the event loop
free. Different clones work in parallel.

Journal: each clone remembers its latest writes (`Write`: versions before and after, the
package touched), recorded and read by `git.py` on the executor thread, so that every user
of the clone can tell which packages its writes and its co-users' writes changed.

Maintenance: writes leave loose objects behind (our commits, in a cache clone or in a local
repository). After a write the backend calls `GitCache.after_write(clone)`; at most once per
`gc_interval` seconds per repository, a single background thread of the cache runs
`git gc --auto` there (git decides whether anything needs packing; `gc.auto=0` in a
repository's config turns it off). After a cache clone's first big fetch it runs a full
`git gc` once (bitmaps and commit-graph, see `after_write`). Nothing of it runs on a
request's path: `after_write` only queues, and `close` stops a running gc (which git
tolerates: it works on lock files and temporary packs, and keeps unreachable objects younger
than two weeks, so objects of drafts not yet closed are safe).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextvars
import dataclasses
import logging
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pygit2

from pkg.externalrepo.git import discovery, refs, transport

_log = logging.getLogger(__name__)

T = TypeVar("T")

_UNSAFE = re.compile(r"[/:\\]")


def cache_dir_name(url: str) -> str:
    """Porch's directory name for a URL: `/` and `:` replaced by `-` (user info dropped, so
    credentials embedded in a URL never reach the file system)."""
    return _UNSAFE.sub("-", transport.redact(url))


JOURNAL_LENGTH = 256
"""Writes remembered per clone (`SharedClone.journal`): enough for every user's cache to
catch up after a burst of concurrent writes; older ones mean a full re-list."""


@dataclasses.dataclass(frozen=True, slots=True)
class Write:
    """One write through the backend that moved the clone from version `before` to `after`.

    `packages`: the full paths (from the git root) of the packages whose refs or branch
    entry it changed; None when that is not known (a new branch).
    """

    before: str
    after: str
    packages: frozenset[str] | None


class SharedClone:
    """A bare clone of one remote URL (or, `local`, a local bare repository used in place)
    plus the facts derived from its objects.

    Attributes other than `url`, `path`, `local` and `run` belong to the executor thread:
    touch them only from functions passed to `run`.
    """

    def __init__(self, url: str, path: Path, *, local: bool = False) -> None:
        self.url = url
        self.path = path
        self.local = local
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"git-{path.name[:40]}"
        )
        self.users = 0
        # Executor-thread state:
        self.repo: pygit2.Repository | None = None
        self.facts: discovery.Facts | None = None
        # Every ref by cache name, sorted, and the version computed from them (git.py).
        self.refs: list[tuple[str, pygit2.Oid]] = []
        self.version_sum = 0
        self.version = ""
        self.fetched = False
        # The latest writes, oldest first (git.py `_note_written_sync`, `changes_since`).
        self.journal: collections.deque[Write] = collections.deque(maxlen=JOURNAL_LENGTH)

    async def run(self, fn: Callable[[], T]) -> T:
        """Run blocking `fn` on this clone's thread (with the caller's context, so trace
        spans started inside nest under the caller's span)."""
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, context.run, fn)

    def open(self) -> pygit2.Repository:
        """Open or create the bare repository with the `origin` remote (executor thread).

        A local repository is only opened (`pygit2.GitError` when it is not one)."""
        if self.repo is not None:
            return self.repo
        if self.local:
            # NO_SEARCH: never a repository in a parent directory of the path.
            self.repo = pygit2.Repository(
                str(self.path), flags=pygit2.enums.RepositoryOpenFlag.NO_SEARCH
            )
            self.facts = discovery.Facts(self.repo)
            return self.repo
        repo: pygit2.Repository | None = None
        if self.path.exists():
            try:
                repo = pygit2.Repository(str(self.path))
            except pygit2.GitError as err:
                # A damaged cache is only a cache: start over rather than fail forever.
                _log.warning("discarding unreadable git cache %s: %s", self.path, err)
                shutil.rmtree(self.path, ignore_errors=True)
        if repo is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            repo = pygit2.init_repository(str(self.path), bare=True)
        if refs.ORIGIN in repo.remotes.names():
            if repo.remotes[refs.ORIGIN].url != self.url:
                repo.remotes.set_url(refs.ORIGIN, self.url)
        else:
            repo.remotes.create(refs.ORIGIN, self.url, refs.FETCH_REFSPECS[0])
            repo.remotes.add_fetch(refs.ORIGIN, refs.FETCH_REFSPECS[1])
        self.repo = repo
        self.facts = discovery.Facts(repo)
        return repo

    def _remove(self, retired: Path | None) -> None:
        """Delete the clone from disk (executor thread, last user gone)."""
        if self.repo is not None:
            self.repo.free()
            self.repo = None
        self.facts = None
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)

    async def shutdown(self, *, retired: Path | None = None) -> None:
        """Stop the thread; with `retired`, delete that (renamed) clone directory first."""
        if retired is not None:
            await self.run(lambda: self._remove(retired))
        self._executor.shutdown(wait=True)


class GitCache:
    """All bare clones under `<root>/git` (and local repositories in use), keyed by URL.

    `gc_interval`: the least time, in seconds, between two background `git gc --auto` runs
    in one repository."""

    def __init__(self, root: Path, *, gc_interval: float = 600.0) -> None:
        self.root = root
        self._clones: dict[str, SharedClone] = {}
        # A thread lock (not asyncio): callers may run on different event loops (tests).
        self._lock = threading.Lock()
        self._maintenance = _Maintenance(gc_interval)

    def acquire(self, url: str, *, local: bool = False) -> SharedClone:
        """The shared clone for `url`, with one more user. With `local`, `url` is the path
        of a local bare repository that is used in place."""
        with self._lock:
            clone = self._clones.get(url)
            if clone is None:
                path = Path(url) if local else self.root / "git" / cache_dir_name(url)
                clone = SharedClone(url, path, local=local)
                self._clones[url] = clone
            clone.users += 1
            return clone

    def after_write(self, clone: SharedClone, *, repack: bool = False) -> None:
        """Note that `clone` got new objects: queue a background `git gc --auto` unless one
        ran there less than `gc_interval` ago. Cheap; callable from any thread.

        `repack` (a cache clone that just fetched much, e.g. its first clone): a full
        `git gc` instead, once per clone and process. It writes what makes pushes cheap in
        a repository with many refs: `git push` walks back from every ref the remote
        advertises, and a reachability bitmap plus a commit-graph (written by gc in a bare
        repository) make that walk ~15 ms instead of ~200 ms for 10,000 refs."""
        self._maintenance.request(clone.path, full=repack and not clone.local)

    async def wait_for_maintenance(self) -> None:
        """Wait until no gc is queued or running (benchmarks and tests; bound it with
        `asyncio.timeout`)."""
        # Short waits in a thread, so that a cancelled caller leaves no thread waiting long.
        while not await asyncio.to_thread(self._maintenance.wait_idle, 0.2):
            pass

    async def release(self, clone: SharedClone) -> None:
        """One user fewer; the last one removes the clone from disk."""
        retired: Path | None = None
        with self._lock:
            clone.users -= 1
            if clone.users > 0:
                return
            del self._clones[clone.url]
            if not clone.local and clone.path.exists():
                # Renamed at once so that a new user of the URL starts a fresh clone
                # while this one is being deleted.
                retired = clone.path.with_name(f"{clone.path.name}.removing-{uuid.uuid4().hex}")
                os.rename(clone.path, retired)
        if not clone.local:
            _log.info("removing git cache %s", clone.path)
        await clone.shutdown(retired=retired)

    async def close(self) -> None:
        """Stop every clone's thread and the maintenance thread (keeping the clones on disk
        for the next start)."""
        with self._lock:
            clones = list(self._clones.values())
            self._clones.clear()
        for clone in clones:
            await clone.shutdown()
        await asyncio.to_thread(self._maintenance.close)


class _Maintenance:
    """One daemon thread that runs `git gc` in the repositories it is asked to, in order."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._queue: queue.SimpleQueue[tuple[Path, bool] | None] = queue.SimpleQueue()
        self._condition = threading.Condition()
        self._last: dict[Path, float] = {}
        self._full_done: set[Path] = set()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False

    def request(self, path: Path, *, full: bool) -> None:
        now = time.monotonic()
        with self._condition:
            if self._closed:
                return
            if full and path not in self._full_done:
                self._full_done.add(path)
            else:
                full = False
                last = self._last.get(path)
                if last is not None and now - last < self._interval:
                    return
            self._last[path] = now
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="git-maintenance", daemon=True
                )
                self._thread.start()
        self._queue.put((path, full))

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                self._gc(*job)
            finally:
                with self._condition:
                    self._pending -= 1
                    self._condition.notify_all()

    def _gc(self, path: Path, full: bool) -> None:
        # autoDetach off: gc would otherwise daemonise itself, beyond our sight and `close`.
        args = ["git", "--git-dir", str(path), "-c", "gc.autoDetach=false", "gc", "--quiet"]
        if not full:
            args.append("--auto")
        with transport.cli_environment(None) as env, self._condition:
            if self._closed:
                return
            try:
                process = self._process = subprocess.Popen(
                    args,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            except OSError as err:
                _log.warning("cannot run git gc in %s: %s", path, err)
                return
        _, stderr = process.communicate()
        with self._condition:
            self._process = None
            closed = self._closed
        # A clone removed meanwhile, or a gc stopped by `close`, is no failure.
        if process.returncode != 0 and not closed and path.exists():
            _log.warning(
                "%s in %s failed (%d): %s",
                " ".join(args[4:]),
                path,
                process.returncode,
                stderr.decode(errors="replace").strip(),
            )

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or running (False: `timeout` seconds passed)."""
        with self._condition:
            return self._condition.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Stop: terminate a running gc and wait for the thread (blocking)."""
        with self._condition:
            self._closed = True
            thread = self._thread
            if self._process is not None:
                self._process.terminate()
        self._queue.put(None)
        if thread is not None:
            thread.join(timeout=30)
