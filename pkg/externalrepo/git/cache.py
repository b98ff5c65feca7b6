"""Bare cache clones, one per remote URL, shared by every repository that uses the URL.

Owned by the server's wiring (`pkg/cmd`): it creates one `GitCache` over its cache directory,
passes it to `open_repository` in `GitRepositoryOptions`, and closes it at shutdown. Each
`SharedClone` is ref-counted: two Repository objects on one URL (different directories or
branches) share the clone; the last `release` deletes it from disk (as Porch does).

Threading: every clone has its own single-thread executor and all pygit2 work on that clone
runs there (`SharedClone.run`). That serialises fetches, pushes and ref updates of one bare
repository without locks, keeps the pygit2 objects on one thread, and leaves the event loop
free. Different clones work in parallel.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import os
import re
import shutil
import threading
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


class SharedClone:
    """A bare clone of one remote URL plus the facts derived from its objects.

    Attributes other than `url`, `path` and `run` belong to the executor thread: touch them
    only from functions passed to `run`.
    """

    def __init__(self, url: str, path: Path) -> None:
        self.url = url
        self.path = path
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"git-{path.name[:40]}"
        )
        self.users = 0
        # Executor-thread state:
        self.repo: pygit2.Repository | None = None
        self.facts: discovery.Facts | None = None
        self.refs: tuple[tuple[str, pygit2.Oid], ...] = ()
        self.version = ""
        self.fetched = False

    async def run(self, fn: Callable[[], T]) -> T:
        """Run blocking `fn` on this clone's thread (with the caller's context, so trace
        spans started inside nest under the caller's span)."""
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, context.run, fn)

    def open(self) -> pygit2.Repository:
        """Open or create the bare repository with the `origin` remote (executor thread)."""
        if self.repo is not None:
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
    """All bare clones under `<root>/git`, keyed by remote URL."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._clones: dict[str, SharedClone] = {}
        # A thread lock (not asyncio): callers may run on different event loops (tests).
        self._lock = threading.Lock()

    def acquire(self, url: str) -> SharedClone:
        """The shared clone for `url`, with one more user."""
        with self._lock:
            clone = self._clones.get(url)
            if clone is None:
                clone = SharedClone(url, self.root / "git" / cache_dir_name(url))
                self._clones[url] = clone
            clone.users += 1
            return clone

    async def release(self, clone: SharedClone) -> None:
        """One user fewer; the last one removes the clone from disk."""
        retired: Path | None = None
        with self._lock:
            clone.users -= 1
            if clone.users > 0:
                return
            del self._clones[clone.url]
            if clone.path.exists():
                # Renamed at once so that a new user of the URL starts a fresh clone
                # while this one is being deleted.
                retired = clone.path.with_name(f"{clone.path.name}.removing-{uuid.uuid4().hex}")
                os.rename(clone.path, retired)
        _log.info("removing git cache %s", clone.path)
        await clone.shutdown(retired=retired)

    async def close(self) -> None:
        """Stop every clone's thread (keeping the clones on disk for the next start)."""
        with self._lock:
            clones = list(self._clones.values())
            self._clones.clear()
        for clone in clones:
            await clone.shutdown()
