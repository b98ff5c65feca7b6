"""The named enum types match the Literals the generator wrote from the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from api.kptfile import v1 as kptfilev1


@pytest.mark.parametrize(
    ("named", "model", "field"),
    [
        (kptfilev1.UpdateStrategy | None, kptfilev1.Upstream, "update_strategy"),
        (kptfilev1.Severity | None, kptfilev1.ResultItem, "severity"),
        (kptfilev1.ConditionStatus, kptfilev1.Condition, "status"),
    ],
    ids=["update-strategy", "severity", "condition-status"],
)
def test_named_enum_matches_generated_field(
    named: Any, model: type[pydantic.BaseModel], field: str
) -> None:
    assert model.model_fields[field].annotation == named


def test_value_tuples_list_the_enum_values() -> None:
    assert kptfilev1.SEVERITIES == ("error", "warning", "info")
    assert kptfilev1.UPDATE_STRATEGIES == (
        "resource-merge",
        "fast-forward",
        "force-delete-replace",
        "copy-merge",
    )
