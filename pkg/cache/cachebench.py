"""Benchmark of the cache's read path and event fan-out (`python -m pkg.cache.cachebench`).

Not imported by the server. Builds a fake repository of 1,000 packages x 10 published
revisions (10,000 revisions plus 1,000 placeholders) through the backend's own write path,
opens it in a cache and measures, printing one line per figure:

- listing every revision from the cache as API objects (`Cache.list_package_revisions` +
  `to_api()`; objects are memoised, built at open for the ADDED events), and the cost of
  building every object from scratch (what the first read after a change pays per object);
- filtered lists: one package, one name, the latest revisions (label selector), a Kptfile
  label;
- fanning events out to 100 watchers with assorted filters (`WatcherManager.notify`), and
  the time until 100 consuming tasks have received every event.

`make bench` should run it (the lead wires it into `test.bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from pkg.apimachinery import labels
from pkg.cache import cachetesting, cachetypes, packagerevision, watchermanager
from pkg.repository.fake import repository as fake


async def _populate(backend: fake.FakeRepository, packages: int, revisions: int) -> None:
    for p in range(packages):
        name = f"pkg{p:04d}"
        for r in range(revisions):
            files = {"Kptfile": cachetesting.kptfile(name, labels={"group": f"g{p % 10}"})}
            await cachetesting.publish(backend, name, f"v{r + 1}", files=files)


async def _timed(fn: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    return times


def _report(what: str, times: list[float], count: int) -> None:
    print(
        f"{what:<58} median {statistics.median(times) * 1000:8.2f} ms  "
        f"max {max(times) * 1000:8.2f} ms  ({count} objects)"
    )


async def bench(packages: int, revisions: int, watchers: int, events: int) -> None:
    backends = cachetesting.FakeBackends()
    started = time.perf_counter()
    await _populate(backends.fake("repo"), packages, revisions)
    print(f"populated the fake backend in {time.perf_counter() - started:.1f} s")
    manager = watchermanager.WatcherManager(history_size=64)
    cache = cachetesting.new_fake_cache(backends, watcher_manager=manager)
    started = time.perf_counter()
    await cache.open_repository(cachetesting.repository_object("repo"))
    elapsed = time.perf_counter() - started
    print(f"opened (listed, Kptfiles parsed, metadata created) in {elapsed:.2f} s")

    everything = await cache.list_package_revisions()
    total = len(everything)

    async def list_all() -> None:
        for revision in await cache.list_package_revisions():
            revision.to_api()

    async def build_cold() -> None:
        # Fresh copies have no memoised object: what a list costs right after a change.
        for revision in everything:
            assert isinstance(revision, packagerevision.CachedPackageRevision)
            revision.replace().to_api()

    _report("build every API object from scratch (cold)", await _timed(build_cold, 3), total)
    _report("list all revisions + to_api() (memoised objects)", await _timed(list_all, 20), total)

    filters = {
        "filtered list: one package": cachetypes.PackageRevisionFilter(package_path="pkg0500"),
        "filtered list: one name": cachetypes.PackageRevisionFilter(name="repo.pkg0500.v3"),
        "filtered list: latest (label selector)": cachetypes.PackageRevisionFilter(
            label_selector=labels.parse("kpt.dev/latest-revision=true")
        ),
        "filtered list: Kptfile label, one lifecycle": cachetypes.PackageRevisionFilter(
            kptfile_labels={"group": "g3"}, revision=10
        ),
    }
    for what, filter in filters.items():
        found = await cache.list_package_revisions(filter)

        async def filtered(filter: cachetypes.PackageRevisionFilter = filter) -> None:
            for revision in await cache.list_package_revisions(filter):
                revision.to_api()

        _report(what, await _timed(filtered, 50), len(found))

    # Fan-out: watchers with assorted filters, one consumer task each.
    objects = [r.to_api() for r in everything[:events]]
    registered = []
    for n in range(watchers):
        kind = n % 4
        if kind == 0:
            filter = cachetypes.PackageRevisionFilter(namespace="default")
        elif kind == 1:
            filter = cachetypes.PackageRevisionFilter(package_path=f"pkg{n:04d}")
        elif kind == 2:
            filter = cachetypes.PackageRevisionFilter(
                label_selector=labels.parse("kpt.dev/latest-revision=true")
            )
        else:
            filter = cachetypes.ANY
        registered.append(manager.watch(filter, queue_size=events + 1))
    started = time.perf_counter()
    for obj in objects:
        manager.notify("MODIFIED", obj, old=obj)
    notify_elapsed = time.perf_counter() - started
    print(
        f"{'notify to ' + str(watchers) + ' watchers (filters applied)':<58} "
        f"{notify_elapsed / len(objects) * 1e6:8.1f} us per event ({len(objects)} events)"
    )

    expected = [w.pending for w in registered]

    async def consume(watcher: watchermanager.Watcher, count: int) -> None:
        for _ in range(count):
            await anext(watcher)

    manager2 = watchermanager.WatcherManager(history_size=64)
    consumers = [manager2.watch(w.filter, queue_size=events + 1) for w in registered]
    tasks = [
        asyncio.create_task(consume(w, count)) for w, count in zip(consumers, expected, strict=True)
    ]
    await asyncio.sleep(0)
    started = time.perf_counter()
    for obj in objects:
        manager2.notify("MODIFIED", obj, old=obj)
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    delivered = sum(expected)
    print(
        f"{'fan-out + delivery to ' + str(watchers) + ' consuming tasks':<58} "
        f"{(time.perf_counter() - started) * 1000:8.2f} ms for {len(objects)} events "
        f"({delivered} deliveries)"
    )
    await cache.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--revisions", type=int, default=10)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(bench(args.packages, args.revisions, args.watchers, args.events))


if __name__ == "__main__":
    main()
