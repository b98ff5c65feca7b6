"""Figures of one benchmark run: latency summaries, plain values, and the targets they meet.

Where it sits: every workload of :mod:`test.bench` records its measurements in one
:class:`Results`; :mod:`test.bench.report` prints it as a table and writes it as
``_output/bench/results.json``. A latency figure is a :class:`Summary` (p50, p95, p99, max
in milliseconds and the number of samples); a throughput, a duration or a ratio is a
:class:`Value` with its unit. Percentiles interpolate linearly between the two nearest
samples (numpy's default, ``statistics.quantiles(method="inclusive")``), so a p99 of 200
samples sits between the 198th and 199th fastest, not on the slowest.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["Results", "Summary", "Value", "percentile", "summarize"]

T = TypeVar("T")


def percentile(samples: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0..100) of `samples`, linearly interpolated."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not within 0..100")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class Summary:
    """Latency of one operation over `n` samples, in milliseconds."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    n: int

    def as_json(self) -> dict[str, float | int]:
        return {
            "p50_ms": round(self.p50_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "n": self.n,
        }


@dataclass(frozen=True, slots=True)
class Value:
    """One number with its unit (``s``, ``MB``, ``ops/s``, ``x``)."""

    value: float
    unit: str

    def as_json(self) -> dict[str, float | str]:
        return {"value": round(self.value, 4), "unit": self.unit}


def summarize(samples_ms: Sequence[float]) -> Summary:
    """The summary of latencies in milliseconds; ValueError without samples."""
    if not samples_ms:
        raise ValueError("no samples")
    return Summary(
        p50_ms=statistics.median(samples_ms),
        p95_ms=percentile(samples_ms, 95),
        p99_ms=percentile(samples_ms, 99),
        max_ms=max(samples_ms),
        n=len(samples_ms),
    )


@dataclass
class Results:
    """Every figure of a run by name (``lifecycle.create``), and why a workload gave none.

    Workloads add samples with :meth:`timed` or :meth:`add_sample`; :meth:`figures` turns
    them into summaries. A name with samples and a value at once is a bug in the caller.
    """

    samples: dict[str, list[float]] = field(default_factory=dict)
    values: dict[str, Value] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def add_sample(self, name: str, ms: float) -> None:
        self.samples.setdefault(name, []).append(ms)

    def set_value(self, name: str, value: float, unit: str) -> None:
        self.values[name] = Value(value, unit)

    def timed(self, name: str, fn: Callable[[], T]) -> T:
        """Run `fn`, record its wall time under `name`, return its result."""
        started = time.perf_counter()
        result = fn()
        self.add_sample(name, (time.perf_counter() - started) * 1000)
        return result

    @contextmanager
    def timing(self, name: str) -> Iterator[None]:
        """Record the wall time of the block under `name` (not when it raises)."""
        started = time.perf_counter()
        yield
        self.add_sample(name, (time.perf_counter() - started) * 1000)

    def figures(self) -> dict[str, Summary | Value]:
        both = self.samples.keys() & self.values.keys()
        if both:
            raise ValueError(f"figures recorded both as samples and as values: {sorted(both)}")
        out: dict[str, Summary | Value] = {
            name: summarize(samples) for name, samples in self.samples.items() if samples
        }
        out.update(self.values)
        return out
