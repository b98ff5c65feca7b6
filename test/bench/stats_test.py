from __future__ import annotations

import pytest

from test.bench import stats


@pytest.mark.parametrize(
    ("samples", "q", "expected"),
    [
        pytest.param([5.0], 99, 5.0, id="one-sample"),
        pytest.param([1.0, 2.0, 3.0, 4.0], 50, 2.5, id="median-between-two"),
        pytest.param([float(i) for i in range(1, 101)], 99, 99.01, id="p99-of-100"),
        pytest.param([3.0, 1.0, 2.0], 100, 3.0, id="unsorted-max"),
        pytest.param([3.0, 1.0, 2.0], 0, 1.0, id="unsorted-min"),
    ],
)
def test_percentiles_interpolate_between_the_nearest_samples(
    samples: list[float], q: float, expected: float
) -> None:
    assert stats.percentile(samples, q) == pytest.approx(expected)


def test_a_percentile_needs_samples_and_a_sane_rank() -> None:
    with pytest.raises(ValueError, match="no samples"):
        stats.percentile([], 50)
    with pytest.raises(ValueError, match=r"within 0\.\.100"):
        stats.percentile([1.0], 101)


def test_a_summary_has_every_figure_of_the_json_shape() -> None:
    summary = stats.summarize([float(i) for i in range(1, 201)])
    assert summary.as_json() == {
        "p50_ms": 100.5,
        "p95_ms": 190.05,
        "p99_ms": 198.01,
        "max_ms": 200.0,
        "n": 200,
    }


def test_results_time_calls_and_keep_values_apart_from_samples() -> None:
    results = stats.Results()
    assert results.timed("op", lambda: 42) == 42
    with results.timing("op"):
        pass
    results.set_value("seed.ready_s", 1.5, "s")
    figures = results.figures()
    summary = figures["op"]
    assert isinstance(summary, stats.Summary)
    assert summary.n == 2
    assert figures["seed.ready_s"] == stats.Value(1.5, "s")


def test_a_failed_block_records_no_sample() -> None:
    results = stats.Results()
    with pytest.raises(RuntimeError), results.timing("op"):
        raise RuntimeError("boom")
    assert results.figures() == {}


def test_one_name_as_samples_and_value_is_refused() -> None:
    results = stats.Results()
    results.add_sample("x", 1.0)
    results.set_value("x", 1.0, "s")
    with pytest.raises(ValueError, match="both"):
        results.figures()
