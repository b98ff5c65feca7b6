"""Durations as kubectl prints them: Go's own test table."""

from __future__ import annotations

import datetime

import pytest

from pkg.apimachinery import duration

HOUR = datetime.timedelta(hours=1)


@pytest.mark.parametrize(
    ("delta", "want"),
    [
        # Go's k8s.io/apimachinery/pkg/util/duration test table.
        (datetime.timedelta(seconds=1), "1s"),
        (datetime.timedelta(seconds=70), "70s"),
        (datetime.timedelta(seconds=190), "3m10s"),
        (datetime.timedelta(minutes=70), "70m"),
        (47 * HOUR, "47h"),
        (49 * HOUR, "2d1h"),
        ((8 * 24 + 2) * HOUR, "8d"),
        (367 * 24 * HOUR, "367d"),
        ((365 * 2 * 24 + 25) * HOUR, "2y1d"),
        ((365 * 8 * 24 + 2) * HOUR, "8y"),
        (datetime.timedelta(hours=7, minutes=59), "7h59m"),
        (datetime.timedelta(minutes=10), "10m"),
        (datetime.timedelta(seconds=-1), "0s"),
        (datetime.timedelta(seconds=-5), "<invalid>"),
    ],
    ids=str,
)
def test_human_duration(delta: datetime.timedelta, want: str) -> None:
    assert duration.human_duration(delta) == want
