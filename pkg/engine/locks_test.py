"""Tests of the try-lock table: fail fast, release always, never grow."""

from __future__ import annotations

import pytest

from pkg.engine import errors as engineerrors
from pkg.engine import locks


def test_second_holder_fails_at_once_with_the_message() -> None:
    table = locks.LockTable()
    with table.hold("ns/a", "busy a"):
        with (
            pytest.raises(engineerrors.InProgressError, match=r"^busy a$"),
            table.hold("ns/a", "busy a"),
        ):
            pass
        with table.hold("ns/b", "busy b"):
            assert len(table) == 2
    assert len(table) == 0


def test_lock_is_released_when_the_work_fails() -> None:
    table = locks.LockTable()
    with pytest.raises(RuntimeError), table.hold("ns/a", "busy"):
        raise RuntimeError("boom")
    with table.hold("ns/a", "busy"):
        assert len(table) == 1


def test_table_holds_only_locks_in_flight() -> None:
    table = locks.LockTable()
    for i in range(1000):
        with table.hold(f"ns/{i}", "busy"):
            pass
    assert len(table) == 0
