"""The client-side rules: readiness gates, published lifecycles and retry on conflict."""

from __future__ import annotations

from typing import Any

import pytest

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.client import client, errors


def _pr(
    gates: list[str], conditions: dict[str, str], lifecycle: str = "Draft"
) -> porchv1alpha1.PackageRevision:
    data: dict[str, Any] = {
        "spec": {
            "lifecycle": lifecycle,
            "readinessGates": [{"conditionType": g} for g in gates],
        },
        "status": {"conditions": [{"type": t, "status": s} for t, s in conditions.items()]},
    }
    return porchv1alpha1.PackageRevision.model_validate(data)


@pytest.mark.parametrize(
    ("gates", "conditions", "ready"),
    [
        ([], {}, True),
        (["nephio.org.Specializer.specialize"], {}, False),
        (
            ["nephio.org.Specializer.specialize"],
            {"nephio.org.Specializer.specialize": "False"},
            False,
        ),
        (
            ["nephio.org.Specializer.specialize"],
            {"nephio.org.Specializer.specialize": "True"},
            True,
        ),
        (["a", "b"], {"a": "True", "b": "Unknown"}, False),
        (["a"], {"a": "True", "other": "False"}, True),
    ],
    ids=["no-gates", "missing", "false", "true", "one-unknown", "unrelated-false"],
)
def test_readiness_gates(gates: list[str], conditions: dict[str, str], ready: bool) -> None:
    assert client.package_revision_is_ready(_pr(gates, conditions)) is ready


@pytest.mark.parametrize(
    ("lifecycle", "published"),
    [("Draft", False), ("Proposed", False), ("Published", True), ("DeletionProposed", True)],
)
def test_is_published(lifecycle: str, published: bool) -> None:
    assert client.is_published(_pr([], {}, lifecycle)) is published


def _conflict() -> errors.ConflictError:
    return errors.ConflictError(metav1.Status(code=409, reason="Conflict", message="modified"))


def test_retry_on_conflict_retries_until_success() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def fn() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _conflict()
        return "done"

    assert client.retry_on_conflict(fn, sleep=sleeps.append) == "done"
    assert len(calls) == 3
    assert len(sleeps) == 2 and all(0.01 <= s <= 0.011 for s in sleeps)


def test_retry_on_conflict_gives_up_after_five_tries() -> None:
    calls: list[int] = []

    def fn() -> None:
        calls.append(1)
        raise _conflict()

    with pytest.raises(errors.ConflictError):
        client.retry_on_conflict(fn, sleep=lambda _s: None)
    assert len(calls) == 5


def test_retry_on_conflict_does_not_retry_other_errors() -> None:
    calls: list[int] = []

    def fn() -> None:
        calls.append(1)
        raise errors.AlreadyExistsError(metav1.Status(code=409, reason="AlreadyExists"))

    with pytest.raises(errors.AlreadyExistsError):
        client.retry_on_conflict(fn, sleep=lambda _s: None)
    assert len(calls) == 1
