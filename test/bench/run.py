"""One benchmark run from start to end: seed, floor, server, workloads, report.

Where it sits: ``python -m test.bench`` (:mod:`test.bench.__main__`, called by
``make bench``) calls :func:`run`. It writes the seed and empty repositories under the
server's local repository root, measures the git floor in a copy of the seed while the
server is not yet running (nothing competes for the CPU), starts
``porch-server --standalone``, runs the workloads in the order of
:data:`WORKLOADS`, and writes ``results.json`` and the server's log into the output
folder. A workload that fails is recorded in ``errors`` and the run goes on (the seed
failing skips the others: they need it). With ``profile``, one workload is run again at the
end, with fresh packages and its figures discarded, while ``py-spy`` samples the server.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Final

from test.bench import client, floor, machine, report, seed, stats, watch, workloads
from test.bench import server as benchserver

__all__ = ["CACHE", "PROFILABLE", "WORKLOADS", "run", "worst_workload"]

WORKLOADS: Final = (
    "seed",
    "list",
    "lifecycle",
    "lifecycle_empty",
    "render",
    "concurrency",
    "watch",
)
PROFILABLE: Final = WORKLOADS
_REPO: Final = Path(__file__).resolve().parents[2]
_WATCH_TARGET: Final = f"{workloads.SEED}.{seed.package_name(0)}.v1"
_PROFILE_NAMESPACE: Final = "bench-profile"
CACHE: Final = _REPO / "_output" / "bench" / "cache"
"""Where built seed repositories are kept between runs (whatever the output folder)."""


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _workload(
    name: str, ctx: workloads.Context, seed_path: Path, empty_path: Path | None, tag: str
) -> Callable[[], None]:
    """The call that runs workload `name`; `tag` makes its new package names unique
    (``seed`` registers `empty_path` too, unless None)."""
    plan = ctx.plan
    if name == "seed":
        return lambda: workloads.register_seed(ctx, seed_path, empty=empty_path)
    if name == "list":
        return lambda: workloads.lists(ctx)
    if name == "lifecycle":
        return lambda: workloads.lifecycle(ctx, workloads.SEED, "lifecycle", f"{tag}bench")
    if name == "lifecycle_empty":
        return lambda: workloads.lifecycle(ctx, workloads.EMPTY, "lifecycle_empty", f"{tag}bench")
    if name == "render":
        return lambda: workloads.render(ctx, f"{tag}render-bench")
    if name == "concurrency":
        return lambda: workloads.concurrency(ctx, f"{tag}conc")

    def watch_workload() -> None:
        outcome = watch.run(
            ctx.connection,
            _WATCH_TARGET,
            plan.watchers,
            plan.watch_writes,
            ctx.results,
            plan.budget("watch"),
        )
        ctx.progress(
            f"watch: the stalled watcher left {outcome.stalled_unread_bytes / 1024:.0f} KiB "
            "unread in its socket"
        )
        if any(outcome.lost):
            ctx.progress(
                f"watch: events never received within 10 s: {outcome.lost[0]} without, "
                f"{outcome.lost[1]} with the stalled watcher"
            )

    if name == "watch":
        return watch_workload
    raise ValueError(f"unknown workload {name!r}")


def worst_workload(results: dict[str, dict[str, float]]) -> str | None:
    """The workload of the target missed by the largest factor (None: all met); `results`
    as in the JSON document."""
    worst: tuple[float, str] | None = None
    for target in report.TARGETS:
        body = results.get(target.name)
        if body is None:
            continue
        measured = float(body["value"] if "value" in body else body[target.field])
        factor = measured / target.bound
        if factor > 1 and (worst is None or factor > worst[0]):
            worst = (factor, target.name)
    if worst is None:
        return None
    section = worst[1].split(".", 1)[0]
    return "lifecycle" if section == "ratio" else section


def _profile(
    name: str,
    ctx: workloads.Context,
    srv: benchserver.BenchServer,
    output: Path,
    seed_copy: Path,
) -> None:
    executable = benchserver.py_spy()
    if executable is None:
        _progress("profile: py-spy not found (PATH or $PY_SPY); no profile taken")
        return
    # Figures of the profiled run are discarded: sampling slows the server.
    throwaway = dataclasses.replace(ctx, results=stats.Results())
    if name == "seed":
        # A second seed in a namespace of its own, so its list counts only itself.
        throwaway = dataclasses.replace(
            throwaway,
            connection=dataclasses.replace(ctx.connection, namespace=_PROFILE_NAMESPACE),
        )
    raw = output / f"profile-{name}.txt"
    _progress(f"profile: {name} again under py-spy -> {raw}")
    with srv.profile(raw, executable):
        _workload(name, throwaway, seed_copy, None, "prof")()
    summary = report.profile_summary(raw.read_text() if raw.exists() else "")
    (output / f"profile-{name}-summary.txt").write_text(summary + "\n")
    print(f"\nWhere porch-server's time goes in {name} (py-spy):\n{summary}")


def run(
    scale: str,
    output: Path,
    *,
    profile: str | None = None,
    keep: bool = False,
    only: Collection[str] = (),
    cache: Path = CACHE,
    plan: workloads.Plan | None = None,
) -> int:
    """Run every workload at `scale` (or the seed and those in `only`; `plan` instead of
    the scale's own sizes); 0 when every workload gave figures, else 1.

    Speed never fails a run: targets are printed as met or missed.
    """
    plan = plan or workloads.SCALES[scale]
    started = time.perf_counter()
    machine_info = machine.describe()
    meter = machine.CpuMeter()
    output.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="porch-bench-"))
    results = stats.Results()
    srv = benchserver.BenchServer(base)
    duration = 0.0
    try:
        srv.repositories.mkdir(parents=True)
        seed_path = srv.repositories / f"{workloads.SEED}.git"
        empty_path = srv.repositories / f"{workloads.EMPTY}.git"
        _progress(
            f"seed: {plan.shape.packages} packages x {plan.shape.revisions} revisions "
            f"({plan.shape.objects} PackageRevisions)"
        )
        built = seed.prepare(plan.shape, cache, seed_path)
        if built:
            _progress(f"seed: written and packed in {built:.1f} s (cached in {cache})")
        seed.write_empty_repository(empty_path)
        floor_path = base / "floor.git"
        seed.prepare(plan.shape, cache, floor_path)
        _progress(f"floor: {plan.floor_iterations} x create, propose, approve in raw pygit2")
        floor.measure(floor_path, plan.floor_iterations, results)
        shutil.rmtree(floor_path)
        try:
            srv.start()
        except RuntimeError as err:
            results.errors["server"] = str(err)
            _progress(f"server: FAILED to start: {err}")
        else:
            ctx = workloads.Context(
                plan=plan,
                server=srv,
                connection=client.load_connection(srv.kubeconfig),
                results=results,
                progress=_progress,
            )
            _run_workloads(ctx, seed_path, empty_path, only)
        report.add_ratios(results)
        duration = time.perf_counter() - started
        chosen = profile
        if profile == "auto":
            chosen = worst_workload(report.figures_json(results))
            _progress(f"profile: the worst missed target is in {chosen or 'none'}")
        if chosen is not None and srv.process is not None and "seed" not in results.errors:
            profile_seed = srv.repositories / "profile-seed.git"
            try:
                if chosen == "seed":
                    seed.prepare(plan.shape, cache, profile_seed)
                _profile(chosen, ctx, srv, output, profile_seed)
            except Exception as err:  # the figures are taken already: keep them
                results.errors["profile"] = f"{type(err).__name__}: {err}"
                _progress(f"profile: FAILED: {results.errors['profile']}")
    finally:
        if srv.process is not None:
            meter.add(machine.process_cpu_s(srv.pid))
        srv.stop()
        if srv.log_path.exists():
            shutil.copyfile(srv.log_path, output / "porch-server.log")
        if keep:
            _progress(f"kept the run's folder: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    document = report.document(
        scale,
        results,
        commit_id=report.commit(),
        machine_info={**machine_info, "others_cpu_share": meter.others_share()},
        duration_s=duration or time.perf_counter() - started,
    )
    (output / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    print(report.table(document))
    print(f"\nwritten: {output / 'results.json'}")
    return 1 if results.errors else 0


def _run_workloads(
    ctx: workloads.Context, seed_path: Path, empty_path: Path, only: Collection[str]
) -> None:
    results = ctx.results
    for name in WORKLOADS:
        if only and name not in only and name != "seed":
            continue
        if "seed" in results.errors:
            results.errors[name] = "skipped: the seed workload failed"
            continue
        _progress(f"{name}: running")
        workload_started = time.perf_counter()
        try:
            _workload(name, ctx, seed_path, empty_path, "")()
        except Exception as err:  # one workload's failure must not lose the others
            results.errors[name] = f"{type(err).__name__}: {err}"
            _progress(f"{name}: FAILED: {results.errors[name]}")
        else:
            _progress(f"{name}: done in {time.perf_counter() - workload_started:.1f} s")
    pid = ctx.server.pid
    _progress(
        f"server memory: {benchserver.rss_mb(pid):.0f} MB now, "
        f"{benchserver.rss_mb(pid, peak=True):.0f} MB at its peak"
    )
