"""The benchmark's workloads against a running porch-server (issue 7's list, in run order).

Where it sits: :mod:`test.bench.run` starts the server, then calls these one after another
with one :class:`Context`; each records into ``ctx.results`` under the names of the issue
(``seed.ready_s``, ``lifecycle.create`` ...). A workload stops early when it has used its
time budget (the figure then says how many samples it got in ``n``), so the full scale stays
under ten minutes even when the server is slow; it never judges the figures.

Order matters: the lists run right after the seed, before the lifecycle workloads leave
their packages' placeholders in the repository, so "all revisions" is exactly the seed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from test.bench import client, packages, seed, stats
from test.bench import server as benchserver

__all__ = [
    "EMPTY",
    "LIFECYCLE_STEPS",
    "SCALES",
    "SEED",
    "Context",
    "Plan",
    "concurrency",
    "lifecycle",
    "lists",
    "register_seed",
    "render",
]

SEED: Final = "seed"
EMPTY: Final = "empty"
LIFECYCLE_STEPS: Final = (
    "create",
    "get",
    "update_resources",
    "propose",
    "approve",
    "propose_delete",
    "delete",
)
_POLL: Final = 0.02
_READY_TIMEOUT: Final = 300.0
_LIST_TIMEOUT: Final = 120.0


@dataclass(frozen=True, slots=True)
class Plan:
    """How much of each workload one scale runs, and the time each may take at most."""

    shape: seed.SeedShape
    lifecycle_iterations: int
    render_iterations: int
    list_all_repeats: int
    list_filtered_repeats: int
    concurrency_clients: int
    concurrency_iterations: int
    watchers: int
    watch_writes: int
    floor_iterations: int
    budget_s: dict[str, float] = field(default_factory=dict)

    def budget(self, workload: str) -> float:
        return self.budget_s.get(workload, 60.0)


SCALES: Final = {
    "small": Plan(
        shape=seed.SeedShape(packages=100, revisions=10),
        lifecycle_iterations=20,
        render_iterations=10,
        list_all_repeats=5,
        list_filtered_repeats=20,
        concurrency_clients=4,
        concurrency_iterations=5,
        watchers=100,
        watch_writes=20,
        floor_iterations=50,
        budget_s={
            "lifecycle": 20,
            "render": 10,
            "list": 10,
            "concurrency": 15,
            "watch": 20,
        },
    ),
    "full": Plan(
        shape=seed.SeedShape(packages=1000, revisions=10),
        lifecycle_iterations=200,
        render_iterations=50,
        list_all_repeats=10,
        list_filtered_repeats=100,
        concurrency_clients=4,
        concurrency_iterations=25,
        watchers=100,
        watch_writes=50,
        floor_iterations=200,
        budget_s={
            "lifecycle": 90,
            "render": 40,
            "list": 60,
            "concurrency": 60,
            "watch": 60,
        },
    ),
}


@dataclass
class Context:
    """What every workload needs: the plan, the server, a way to connect, the results."""

    plan: Plan
    server: benchserver.BenchServer
    connection: client.Connection
    results: stats.Results
    progress: Callable[[str], None]

    def client(self) -> client.Client:
        return client.Client(self.connection)


def _now() -> float:
    return time.perf_counter()


def _ready(repository: client.JSON) -> tuple[bool, str]:
    for condition in (repository.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True", str(condition.get("message", ""))
    return False, "no Ready condition yet"


def wait_ready(api: client.Client, name: str, timeout: float = _READY_TIMEOUT) -> None:
    deadline = _now() + timeout
    message = ""
    while _now() < deadline:
        ready, message = _ready(api.repository(name))
        if ready:
            return
        time.sleep(_POLL)
    raise TimeoutError(f"repository {name} not Ready after {timeout:.0f} s: {message}")


def register_seed(ctx: Context, path: Path, *, empty: Path | None = None) -> None:
    """Workload 1: register the seed repository at `path` (in the connection's namespace,
    where it must be the only one); time to Ready, to the first full list, and the
    server's memory then. Registers the `empty` repository too (not timed)."""
    shape = ctx.plan.shape
    expected = shape.objects
    with ctx.client() as api:
        started = _now()
        api.create_repository(SEED, path.as_uri())
        wait_ready(api, SEED)
        ctx.results.set_value("seed.ready_s", _now() - started, "s")
        deadline = _now() + _LIST_TIMEOUT
        while True:
            listed = len(api.list_package_revisions()["items"])
            if listed >= expected:
                break
            if _now() > deadline:
                raise TimeoutError(f"the list has {listed} of {expected} revisions")
            time.sleep(_POLL)
        ctx.results.set_value("seed.first_list_s", _now() - started, "s")
        ctx.results.set_value("seed.rss_mb", benchserver.rss_mb(ctx.server.pid), "MB")
        ctx.progress(
            f"seed: {listed} revisions listed, ready "
            f"{ctx.results.values['seed.ready_s'].value:.2f} s, first list "
            f"{ctx.results.values['seed.first_list_s'].value:.2f} s"
        )
        if empty is not None:
            api.create_repository(EMPTY, empty.as_uri())
            wait_ready(api, EMPTY)


def lists(ctx: Context) -> None:
    """Workload 4: all revisions as JSON and as a Table, filtered by package and by the
    latest-revision label, and pages of 500."""
    plan = ctx.plan
    expected = plan.shape.objects
    deadline = _now() + plan.budget("list")
    results = ctx.results
    with ctx.client() as api:
        for _ in range(plan.list_all_repeats):
            body = results.timed("list.all_json", api.list_package_revisions)
            _expect(len(body["items"]) >= expected, f"JSON list has {len(body['items'])} items")
            table = results.timed("list.all_table", lambda: api.list_package_revisions(table=True))
            _expect(table.get("kind") == "Table", f"asked for a Table, got {table.get('kind')}")
            _expect(len(table["rows"]) >= expected, f"Table has {len(table['rows'])} rows")
            if _now() > deadline:
                break
        for i in range(plan.list_filtered_repeats):
            package = seed.package_name(i * 7 % plan.shape.packages)
            selector = {"fieldSelector": f"spec.packageName={package}"}
            with results.timing("list.by_package"):
                body = api.list_package_revisions(selector)
            _expect(
                len(body["items"]) == plan.shape.revisions + 1,
                f"{package}: {len(body['items'])} revisions listed",
            )
            if _now() > deadline:
                break
        for _ in range(max(1, plan.list_filtered_repeats // 5)):
            body = results.timed(
                "list.latest_label",
                lambda: api.list_package_revisions(
                    {"labelSelector": "kpt.dev/latest-revision=true"}
                ),
            )
            _expect(
                len(body["items"]) == plan.shape.packages,
                f"latest-revision label selected {len(body['items'])} revisions",
            )
            if _now() > deadline:
                break
        # Walk the list in pages of 500, starting over at the end, as a paging client does.
        token = ""
        for _ in range(max(1, plan.list_filtered_repeats // 5)):
            params = {"limit": "500"}
            if token:
                params["continue"] = token
            with results.timing("list.page500"):
                body = api.list_package_revisions(params)
            _expect(len(body["items"]) <= 500, f"a page of 500 has {len(body['items'])} items")
            token = (body.get("metadata") or {}).get("continue") or ""
            if _now() > deadline:
                break


def _expect(condition: bool, message: str) -> None:
    """A wrong answer makes a figure meaningless: stop the workload and say what was wrong."""
    if not condition:
        raise AssertionError(message)


Record = Callable[[str, float], None]


def lifecycle_once(api: client.Client, repository: str, package: str, record: Record) -> None:
    """One package through create, get, update resources, propose, approve,
    propose-delete and delete; `record(step, ms)` after each timed request.

    The reads needed between steps for a fresh resourceVersion (the resources before the
    update, the revision before propose) are not timed: they are the client's business.
    """

    def timed(step: str, fn: Callable[[], client.JSON]) -> client.JSON:
        started = _now()
        body = fn()
        record(step, (_now() - started) * 1000)
        return body

    created = timed("create", lambda: api.create_package_revision(repository, package, "ws"))
    name = created["metadata"]["name"]
    timed("get", lambda: api.package_revision(name))
    resources = api.resources(name)
    files = dict(resources["spec"]["resources"])
    files["README.md"] = files.get("README.md", "") + "\nUpdated by the benchmark.\n"
    resources["spec"]["resources"] = files
    timed("update_resources", lambda: api.update_resources(resources))
    current = api.package_revision(name)
    proposed = timed("propose", lambda: api.set_lifecycle(current, "Proposed", approval=False))
    approved = timed("approve", lambda: api.set_lifecycle(proposed, "Published", approval=True))
    _expect(
        approved["spec"].get("lifecycle") == "Published",
        f"{name}: approve returned lifecycle {approved['spec'].get('lifecycle')}",
    )
    deletion = timed(
        "propose_delete",
        lambda: api.set_lifecycle(approved, "DeletionProposed", approval=True),
    )
    timed("delete", lambda: api.delete_package_revision(deletion["metadata"]["name"]))


def lifecycle(ctx: Context, repository: str, prefix: str, packages_prefix: str = "bench") -> None:
    """Workload 2: `lifecycle_iterations` new packages (`<packages_prefix>-<i>`) through
    the lifecycle, one client; the samples of step `s` go to `<prefix>.<s>`."""
    deadline = _now() + ctx.plan.budget("lifecycle")

    def record(step: str, ms: float) -> None:
        ctx.results.add_sample(f"{prefix}.{step}", ms)

    with ctx.client() as api:
        for i in range(ctx.plan.lifecycle_iterations):
            lifecycle_once(api, repository, f"{packages_prefix}-{i:04d}", record)
            if _now() > deadline:
                ctx.progress(f"{prefix}: time budget used after {i + 1} iterations")
                break


def render(ctx: Context, package: str = "render-bench") -> None:
    """Workload 3: update a 20-file package whose Kptfile runs three builtin mutators."""
    deadline = _now() + ctx.plan.budget("render")
    with ctx.client() as api:
        created = api.create_package_revision(SEED, package, "ws")
        name = created["metadata"]["name"]
        resources = api.resources(name)
        base = packages.render_package(package)
        resources["spec"]["resources"] = base
        resources = api.update_resources(resources)
        rendered = resources["spec"]["resources"]
        _expect(
            f"namespace: {packages.NAMESPACE}" in rendered["app-0/deployment.yaml"],
            "the pipeline did not set the namespace",
        )
        for i in range(ctx.plan.render_iterations):
            resources["spec"]["resources"] = packages.bump_replicas(
                resources["spec"]["resources"], i
            )
            with ctx.results.timing("render.update"):
                resources = api.update_resources(resources)
            if _now() > deadline:
                break


def concurrency(ctx: Context, packages_prefix: str = "conc") -> None:
    """Workload 5: several clients, each its own connection and packages, doing lifecycles
    at once; lifecycle steps (the seven timed requests of `lifecycle_once`) per second
    over the whole."""
    plan = ctx.plan
    deadline = _now() + plan.budget("concurrency")
    lock = threading.Lock()
    done = [0]
    failures: list[BaseException] = []

    def worker(number: int) -> None:
        def record(_step: str, _ms: float) -> None:
            with lock:
                done[0] += 1

        try:
            with ctx.client() as api:
                for i in range(plan.concurrency_iterations):
                    lifecycle_once(api, SEED, f"{packages_prefix}-{number}-{i:04d}", record)
                    if _now() > deadline:
                        return
        except BaseException as err:  # reported below, after the other clients finish
            failures.append(err)

    threads = [
        threading.Thread(target=worker, args=(n,), name=f"bench-client-{n}")
        for n in range(plan.concurrency_clients)
    ]
    started = _now()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = _now() - started
    if failures:
        raise failures[0]
    ctx.results.set_value("concurrency.ops_per_s", done[0] / elapsed, "ops/s")
    ctx.progress(
        f"concurrency: {done[0]} requests by {plan.concurrency_clients} clients in {elapsed:.1f} s"
    )
