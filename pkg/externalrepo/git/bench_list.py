"""Benchmark of the git backend: listing a large repository and approving in it.

Not a test (speed targets live in benchmarks): run it by hand or from `make bench`:

    .venv/bin/python -m pkg.externalrepo.git.bench_list [--packages 1000] [--revisions 10] [--http]

It writes, with `pkg.testing.seedrepo`, a bare repository in Porch's layout holding `packages`
packages with `revisions` published revisions each (draft commit with a `kpt:` init/edit
annotation, approval merge commit on `main`, tag `<pkg>/v<N>`), opens it through
`open_repository` (a `file://` URL, local repositories allowed, so the repository is used in
place; with `--http` through a loopback `git http-backend`, so through a cache clone and
`git push`), and reports:

- the first listing (cold: every ref's facts computed once),
- `refresh()` that fetches nothing, then the listing (target: < 50 ms),
- creating a draft (create + resources + close), proposing it, and approving it, in that
  repository vs. in an empty one (target for approve: within +-50 %).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import cache, git
from pkg.repository import repository as repo_api
from pkg.testing import gitserver, repositories, seedrepo

_KPTFILE = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {name}\n"
_INIT_DESCRIPTION = "benchmark package"
_INIT = {"type": "init", "init": {"description": _INIT_DESCRIPTION}}


def build_repository(path: Path, packages: int, revisions: int) -> None:
    """A bare repository with `packages` x `revisions` published revisions, Porch-shaped."""
    seedrepo.write_published_repository(
        path,
        repository="bench",
        packages=[f"pkg-{index:04d}" for index in range(packages)],
        revisions=revisions,
        files=lambda name, number: {
            "Kptfile": _KPTFILE.format(name=name),
            "config.yaml": f"revision: {number}\npackage: {name}\n",
        },
        description=lambda name: _INIT_DESCRIPTION,
    )


async def _timed(operation: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await operation()
    return (time.perf_counter() - started) * 1000


async def _lifecycle_once(repo: git.GitRepository, workspace: str) -> tuple[float, float, float]:
    """Time (create a draft, propose it, approve it) of one new package revision, in ms."""
    key = repo_api.PackageRevisionKey(
        pkg_key=repo_api.PackageKey.from_package_path(repo.key, f"new-{workspace}"),
        revision=0,
        workspace_name=repo_api.WorkspaceName(workspace),
    )
    created: list[git.GitPackageRevision] = []

    async def create() -> None:
        draft = await repo.create_package_revision_draft(key)
        await draft.update_resources(
            {"Kptfile": _KPTFILE.format(name=f"new-{workspace}")},
            porchv1alpha1.Task.model_validate(_INIT),
        )
        created.append(await repo.close_package_revision_draft(draft))

    async def propose() -> None:
        proposing = await repo.update_package_revision(created[-1])
        await proposing.update_lifecycle(repo_api.Lifecycle.PROPOSED)
        created.append(await repo.close_package_revision_draft(proposing))

    async def approve() -> None:
        approving = await repo.update_package_revision(created[-1])
        await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
        await repo.close_package_revision_draft(approving)

    return await _timed(create), await _timed(propose), await _timed(approve)


async def _open(
    git_cache: cache.GitCache, root: Path, remote: Path, server: gitserver.GitServer | None
) -> git.GitRepository:
    options = git.GitRepositoryOptions(
        cache=git_cache, allow_local_repositories=True, local_repository_roots=[root]
    )
    url = server.repo_url(remote.name) if server is not None else f"file://{remote}"
    name = remote.name.removesuffix(".git")
    repo = await git.open_repository(repositories.repository_object(name, url), options)
    # A cache clone is repacked (bitmap, commit-graph) in the background after its first
    # fetch; the figures below are for a server that has been up for a moment.
    async with asyncio.timeout(600):
        await git_cache.wait_for_maintenance()
    return repo


async def run(packages: int, revisions: int, rounds: int, http: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="porch-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        for name, size in (("big", packages), ("empty", 0)):
            remote = root / "served" / f"{name}.git"
            build_repository(remote, size, revisions if size else 0)
            # Packed, as a real repository is (pygit2 wrote loose objects).
            gitserver.git("--git-dir", remote, "repack", "-adq")
        server = gitserver.GitServer(root / "served") if http else None
        if server is not None:
            server.start()
        print(
            f"built {packages} packages x {revisions} revisions "
            f"in {time.perf_counter() - started:.1f} s"
        )

        started = time.perf_counter()
        git_cache = cache.GitCache(root / "cache")
        big = await _open(git_cache, root, root / "served" / "big.git", server)
        print(f"transport: {'http (loopback git http-backend)' if http else 'file://'}")
        print(f"open (+ background repack):      {(time.perf_counter() - started) * 1000:8.1f} ms")
        listed: list[object] = []

        async def list_all() -> None:
            listed[:] = list(await big.list_package_revisions())

        print(f"first list (cold):               {await _timed(list_all):8.1f} ms")
        print(f"  revisions listed:              {len(listed):8d}")
        fetches, lists = [], []
        for _ in range(rounds):
            fetches.append(await _timed(big.refresh))
            lists.append(await _timed(list_all))
        print(f"no-op refresh (median):          {statistics.median(fetches):8.1f} ms")
        print(f"list after no-op fetch (median): {statistics.median(lists):8.1f} ms  (< 50 ms)")

        empty = await _open(git_cache, root, root / "served" / "empty.git", server)
        in_big = [await _lifecycle_once(big, f"ws{i}") for i in range(rounds)]
        in_empty = [await _lifecycle_once(empty, f"ws{i}") for i in range(rounds)]
        print(f"medians (ms)    {packages * revisions:>6} revisions   empty repository")
        for index, step in enumerate(("create", "propose", "approve")):
            big_ms = statistics.median(t[index] for t in in_big)
            empty_ms = statistics.median(t[index] for t in in_empty)
            print(f"{step:<15} {big_ms:>16.1f}   {empty_ms:>16.1f}   ratio {big_ms / empty_ms:.2f}")
        print("target for approve: ratio 0.5 .. 1.5")
        relisted = await _timed(list_all)
        print(f"list after {rounds} approvals:            {relisted:8.1f} ms")
        await big.close()
        await empty.close()
        await git_cache.close()
        if server is not None:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--revisions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--http", action="store_true", help="serve over loopback HTTP")
    args = parser.parse_args()
    asyncio.run(run(args.packages, args.revisions, args.rounds, args.http))


if __name__ == "__main__":
    main()
