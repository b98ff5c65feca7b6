"""The named enum types match the Literals the generator wrote from the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from api.porch import v1alpha1 as porchv1alpha1


@pytest.mark.parametrize(
    ("named", "model", "field"),
    [
        (
            porchv1alpha1.PackageRevisionLifecycle | None,
            porchv1alpha1.PackageRevisionSpec,
            "lifecycle",
        ),
        (porchv1alpha1.TaskType, porchv1alpha1.Task, "type"),
        (
            porchv1alpha1.PackageMergeStrategy | None,
            porchv1alpha1.PackageUpgradeTaskSpec,
            "strategy",
        ),
        (porchv1alpha1.ConditionStatus, porchv1alpha1.Condition, "status"),
    ],
    ids=["lifecycle", "task-type", "merge-strategy", "condition-status"],
)
def test_named_enum_matches_generated_field(
    named: Any, model: type[pydantic.BaseModel], field: str
) -> None:
    assert model.model_fields[field].annotation == named


def test_value_tuples_list_the_enum_values() -> None:
    assert porchv1alpha1.LIFECYCLES == ("Draft", "Proposed", "Published", "DeletionProposed")
    assert porchv1alpha1.LIFECYCLES == (
        porchv1alpha1.LIFECYCLE_DRAFT,
        porchv1alpha1.LIFECYCLE_PROPOSED,
        porchv1alpha1.LIFECYCLE_PUBLISHED,
        porchv1alpha1.LIFECYCLE_DELETION_PROPOSED,
    )
    assert porchv1alpha1.TASK_TYPES == ("init", "clone", "edit", "upgrade")
    assert "resource-merge" in porchv1alpha1.MERGE_STRATEGIES
