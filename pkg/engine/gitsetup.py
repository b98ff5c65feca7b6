"""Test support: an engine over real git repositories and a SQLite metadata store.

Used by the engine's integration tests (`engine_git_test.py`) and its benchmark
(`enginebench.py`); never by production code. `GitWorld` holds local bare repositories (the
"remotes", made with the `git` CLI as a user would), the server's git cache and data
directory, and builds engines over them as the server wiring does: git backend through the
cache, SQLite metadata under the data dir, the builtin function runtime, and a `GitFetcher`
for clones from git URLs. `start`/`stop` can be called repeatedly to restart the "server"
on the same data.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.cache import backends, cachetesting, repocache, watchermanager
from pkg.engine import engine
from pkg.externalrepo.git import cache as gitcache
from pkg.externalrepo.git import git
from pkg.kpt.fn import runtime as fnruntime
from pkg.meta import metatypes, sqlite
from pkg.task import gitfetch

__all__ = ["GitWorld", "git_cli"]

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "tester",
    "GIT_AUTHOR_EMAIL": "tester@example.com",
    "GIT_COMMITTER_NAME": "tester",
    "GIT_COMMITTER_EMAIL": "tester@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git_cli(*args: str, cwd: Path | None = None) -> str:
    """Run the `git` CLI and return its stdout (raises on failure)."""
    env = {**os.environ, **_GIT_ENV, "HOME": str(cwd or Path.cwd())}
    out = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout


class GitWorld:
    """Remotes, caches and data of one test, under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.remotes = root / "remotes"
        self.remotes.mkdir(parents=True, exist_ok=True)
        self.git_cache: gitcache.GitCache | None = None
        self.store: metatypes.MetadataStore | None = None
        self.cache: repocache.RepositoryCache | None = None
        self.engine: engine.CaDEngine | None = None

    # -- remotes ----------------------------------------------------------------------------

    def empty_remote(self, name: str) -> Path:
        """A bare repository with one commit of README.md on main (Porch's porch-test)."""
        remote = self.remotes / f"{name}.git"
        git_cli("init", "--quiet", "--bare", "--initial-branch=main", str(remote))
        work = self.root / f"work-{name}"
        git_cli("clone", "--quiet", str(remote), str(work))
        (work / "README.md").write_text("# porch-test\n", encoding="utf-8")
        git_cli("add", "README.md", cwd=work)
        git_cli("commit", "--quiet", "-m", "Initial commit", cwd=work)
        git_cli("push", "--quiet", "origin", "HEAD:main", cwd=work)
        return remote

    def bundle_remote(self, name: str, bundle: Path) -> Path:
        """A bare clone of a git bundle (e.g. test-blueprints)."""
        remote = self.remotes / f"{name}.git"
        git_cli("clone", "--quiet", "--bare", str(bundle), str(remote))
        return remote

    def refs(self, remote: Path) -> dict[str, str]:
        """Every ref of a remote, name -> commit."""
        out = git_cli("for-each-ref", "--format=%(refname) %(objectname)", cwd=remote)
        pairs = (line.split(" ", 1) for line in out.splitlines() if line)
        return {pair[0]: pair[1] for pair in pairs}

    # -- the "server" ---------------------------------------------------------------------------

    async def start(self, *, metadata: metatypes.MetadataStore | None = None) -> engine.CaDEngine:
        """Build cache and engine over the data dir (as a server start does)."""
        self.git_cache = gitcache.GitCache(self.root / "cache")
        self.store = metadata or await sqlite.SqliteMetadataStore.open(
            self.root / "data" / "metadata.db"
        )
        options = git.GitRepositoryOptions(
            cache=self.git_cache,
            allow_local_repositories=True,
            local_repository_roots=[self.remotes],
        )
        self.cache = repocache.RepositoryCache(
            opener=backends.git_opener(options),
            metadata=self.store,
            watcher_manager=watchermanager.WatcherManager(),
        )
        fetcher = gitfetch.GitFetcher(
            gitfetch.GitFetcherOptions(
                work_dir=self.root,
                allow_local_repositories=True,
                local_repository_roots=[self.remotes],
            )
        )
        self.engine = engine.CaDEngine(
            self.cache, runtime=fnruntime.BuiltinRuntime(), git_fetcher=fetcher
        )
        return self.engine

    async def register(
        self,
        name: str,
        remote: Path,
        *,
        namespace: str = "default",
        deployment: bool | None = None,
        directory: str | None = None,
    ) -> configv1alpha1.Repository:
        """Open a Repository over `remote` in the running engine."""
        assert self.engine is not None
        repo = cachetesting.repository_object(
            name, namespace=namespace, url=str(remote), deployment=deployment, directory=directory
        )
        await self.engine.open_repository(repo)
        return repo

    async def stop(self) -> None:
        """Close everything the start built (metadata is kept on disk)."""
        if self.cache is not None:
            await self.cache.close()
        if self.store is not None:
            await self.store.close()
        if self.git_cache is not None:
            await self.git_cache.close()
        self.cache = None
        self.store = None
        self.git_cache = None
        self.engine = None
