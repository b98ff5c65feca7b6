"""Benchmark: the engine's cost per create / propose / approve above the git backend's.

Run: `python -m pkg.engine.enginebench [iterations]` (about 10 s for 30 iterations). Not a
test: it prints medians and never fails on speed (targets live in benchmarks, DEVELOPERS.md).

Over a local bare repository (no network), each iteration creates a package (init task),
proposes and approves it three ways:

- `git`: the git backend alone (`GitRepository`: draft, one commit of pre-rendered files,
  lifecycle, close/push), i.e. the cost that no layer above git can avoid;
- `cache`: the same writes through the cache (metadata in SQLite, memory, events);
- `engine`: `CaDEngine` calls with API objects (validation, locks, task, Kptfile sync,
  render, cache).

The engine's overhead is `engine - git`; `cache - git` is the cache's share of it.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from api.porch import v1alpha1 as porchv1alpha1
from pkg.cache import cachetesting, cachetypes
from pkg.engine import engine, enginetesting, gitsetup
from pkg.externalrepo.git import git
from pkg.kpt.fn import runtime as fnruntime
from pkg.meta import metatypes
from pkg.repository import repository as repo_api
from pkg.task import init as inittask
from pkg.task import render

CTX = enginetesting.context()
T = TypeVar("T")
OPS = ("create", "propose", "approve")


async def _timed(results: dict[str, list[float]], op: str, work: Awaitable[T]) -> T:
    start = time.perf_counter()
    value = await work
    results[op].append((time.perf_counter() - start) * 1000)
    return value


async def _files(package: str) -> dict[str, str]:
    outcome = await render.render_package(
        inittask.init_package(
            package, porchv1alpha1.PackageInitTaskSpec(description=f"{package} description")
        ),
        runtime=fnruntime.BuiltinRuntime(),
    )
    return outcome.files


def _key(repo_key: repo_api.RepositoryKey, package: str) -> repo_api.PackageRevisionKey:
    return repo_api.PackageRevisionKey(
        pkg_key=repo_api.PackageKey.from_package_path(repo_key, package),
        revision=0,
        workspace_name=repo_api.WorkspaceName("ws"),
    )


async def _git_create(
    repo: git.GitRepository, package: str, files: dict[str, str]
) -> repo_api.PackageRevision:
    draft = await repo.create_package_revision_draft(_key(repo.key, package))
    await draft.update_resources(files, inittask.default_init_task(package))
    await draft.update_lifecycle(repo_api.Lifecycle.DRAFT)
    return await repo.close_package_revision_draft(draft)


async def _git_move(
    repo: git.GitRepository, old: repo_api.PackageRevision, to: repo_api.Lifecycle
) -> repo_api.PackageRevision:
    draft = await repo.update_package_revision(old)
    await draft.update_lifecycle(to)
    return await repo.close_package_revision_draft(draft)


async def _bench_git(repo: git.GitRepository, n: int, prefix: str = "g") -> dict[str, list[float]]:
    results: dict[str, list[float]] = {op: [] for op in OPS}
    for i in range(n):
        package = f"{prefix}{i}"
        files = await _files(package)
        created = await _timed(results, "create", _git_create(repo, package, files))
        proposed = await _timed(
            results, "propose", _git_move(repo, created, repo_api.Lifecycle.PROPOSED)
        )
        await _timed(results, "approve", _git_move(repo, proposed, repo_api.Lifecycle.PUBLISHED))
    return results


async def _cache_create(
    repo: cachetypes.CachedRepository, package: str, files: dict[str, str]
) -> cachetypes.CachedPackageRevision:
    key = _key(repo.key, package)
    draft = await repo.create_package_revision_draft(key)
    await draft.update_resources(files, inittask.default_init_task(package))
    await draft.update_lifecycle(repo_api.Lifecycle.DRAFT)
    meta = metatypes.PackageRevisionMeta.new(repo.key.namespace, key.k8s_name(), repo.key.name)
    return await repo.close_package_revision_draft(draft, meta=meta)


async def _cache_move(
    repo: cachetypes.CachedRepository,
    old: cachetypes.CachedPackageRevision,
    to: repo_api.Lifecycle,
) -> cachetypes.CachedPackageRevision:
    draft = await repo.update_package_revision(old)
    await draft.update_lifecycle(to)
    return await repo.close_package_revision_draft(draft, meta=old.meta)


async def _bench_cache(repo: cachetypes.CachedRepository, n: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {op: [] for op in OPS}
    for i in range(n):
        package = f"c{i}"
        files = await _files(package)
        created = await _timed(results, "create", _cache_create(repo, package, files))
        proposed = await _timed(
            results,
            "propose",
            _cache_move(repo, created, repo_api.Lifecycle.PROPOSED),
        )
        await _timed(
            results,
            "approve",
            _cache_move(repo, proposed, repo_api.Lifecycle.PUBLISHED),
        )
    return results


async def _bench_engine(cad: engine.CaDEngine, n: int, prefix: str = "e") -> dict[str, list[float]]:
    results: dict[str, list[float]] = {op: [] for op in OPS}

    def lifecycle(obj: porchv1alpha1.PackageRevision, value: str) -> porchv1alpha1.PackageRevision:
        new = obj.model_copy(deep=True)
        assert new.spec is not None
        new.spec.lifecycle = value  # type: ignore[assignment]
        return new

    for i in range(n):
        obj = enginetesting.package_revision(f"{prefix}{i}", "ws", repository="engine")
        created = await _timed(results, "create", cad.create_package_revision(CTX, obj))
        name = created.metadata.name if created.metadata else ""
        assert name
        update: Callable[..., Awaitable[porchv1alpha1.PackageRevision]]
        update = cad.update_package_revision
        proposed = await _timed(
            results, "propose", update(CTX, name, lifecycle(created, "Proposed"))
        )
        await _timed(
            results,
            "approve",
            cad.update_package_revision_approval(CTX, name, lifecycle(proposed, "Published")),
        )
    return results


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="enginebench-") as tmp:
        world = gitsetup.GitWorld(Path(tmp))
        cad = await world.start()
        for name in ("git", "cache", "engine"):
            await world.register(name, world.empty_remote(name))
        assert world.git_cache is not None and world.cache is not None
        options = git.GitRepositoryOptions(
            cache=world.git_cache,
            allow_local_repositories=True,
            local_repository_roots=[world.remotes],
        )
        raw = await git.open_repository(
            cachetesting.repository_object("raw", url=str(world.empty_remote("raw"))),
            options,
        )
        cached = world.cache.get_repository("default", "cache")
        assert cached is not None
        # Warm up every path once (imports, first git objects) before measuring.
        await _bench_git(raw, 1, "warm")
        await _bench_engine(cad, 1, "warm")
        git_ms = await _bench_git(raw, n)
        cache_ms = await _bench_cache(cached, n)
        engine_ms = await _bench_engine(cad, n)
        await raw.close()
        await world.stop()
    print(f"{n} iterations, medians in ms (local bare repository)")
    print(f"{'op':<8} {'git':>7} {'cache':>7} {'engine':>7} {'engine-git':>11} {'cache-git':>10}")
    for op in OPS:
        g, c, e = (statistics.median(r[op]) for r in (git_ms, cache_ms, engine_ms))
        print(f"{op:<8} {g:7.2f} {c:7.2f} {e:7.2f} {e - g:11.2f} {c - g:10.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
