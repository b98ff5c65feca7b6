"""What a benchmark run was measured on, and how much else the machine was doing meanwhile.

Where it sits: :mod:`test.bench.run` takes :func:`describe` when a run starts and a
:class:`CpuMeter` reading around it; both go into the ``machine`` member of
``results.json``. Figures from a machine where other processes used the cores (other
tests, builds) are slower than the server is: ``others_cpu_share`` says how much of the
machine's CPU time, over the run, went to processes other than the benchmark, its children
and the server (0: none; 0.5: half of all cores).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

__all__ = ["CpuMeter", "describe", "process_cpu_s"]

_TICKS = os.sysconf("SC_CLK_TCK")


def describe() -> dict[str, Any]:
    """Cores, CPU model, memory, Python and git library versions, load right now."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu_model": model or platform.processor(),
        "memory_gb": round(memory_gb, 1),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "pygit2": importlib.metadata.version("pygit2"),
        "libgit2": pygit2.LIBGIT2_VERSION,
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
    }


def _busy_s() -> float:
    """CPU time all cores spent busy since boot (``/proc/stat``), in seconds."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICKS


def process_cpu_s(pid: int) -> float:
    """User + system CPU time of process `pid` so far, in seconds (``/proc/<pid>/stat``)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces: the fields of interest come after its ')'.
    after = text[text.rindex(")") + 2 :].split()
    return (int(after[11]) + int(after[12])) / _TICKS


def _own_cpu_s() -> float:
    """This process's CPU time and its waited-for children's (git, py-spy)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass
class CpuMeter:
    """CPU time of the whole machine vs. ours, from construction to :meth:`others_share`.

    The server's CPU time must be added with :meth:`add` while it still runs (its
    ``/proc`` entry goes with it).
    """

    started: float = field(default_factory=time.monotonic)
    busy_at_start: float = field(default_factory=_busy_s)
    ours_at_start: float = field(default_factory=_own_cpu_s)
    added: float = 0.0

    def add(self, cpu_s: float) -> None:
        self.added += cpu_s

    def others_share(self) -> float:
        """Fraction of all cores' time that other processes used since construction."""
        elapsed = time.monotonic() - self.started
        cores = len(os.sched_getaffinity(0))
        if elapsed <= 0:
            return 0.0
        busy = _busy_s() - self.busy_at_start
        ours = _own_cpu_s() - self.ours_at_start + self.added
        return round(max(0.0, busy - ours) / (elapsed * cores), 3)
