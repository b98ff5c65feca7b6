"""Well-known values of porch.kpt.dev/v1alpha1: enums as types, labels and annotations.

The generated models type enum fields as inline ``Literal``s; the aliases here name those
types so that the engine, the registry strategies and porchctl can annotate with them and
iterate over their values. ``constants_test.py`` checks that they match the generated fields.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

PackageRevisionLifecycle = Literal["Draft", "Proposed", "Published", "DeletionProposed"]
"""Lifecycle of a PackageRevision (``spec.lifecycle``); absent means Draft."""

LIFECYCLE_DRAFT: Final = "Draft"
LIFECYCLE_PROPOSED: Final = "Proposed"
LIFECYCLE_PUBLISHED: Final = "Published"
LIFECYCLE_DELETION_PROPOSED: Final = "DeletionProposed"
LIFECYCLES: Final[tuple[PackageRevisionLifecycle, ...]] = get_args(PackageRevisionLifecycle)

TaskType = Literal["init", "clone", "edit", "upgrade"]
"""Type of the creation task (``spec.tasks[].type``) a client may send or read."""

TASK_TYPES: Final[tuple[TaskType, ...]] = get_args(TaskType)

PackageMergeStrategy = Literal[
    "resource-merge", "fast-forward", "force-delete-replace", "copy-merge"
]
"""Strategy of the upgrade task (``spec.tasks[].upgrade.strategy``); absent means resource-merge."""

MERGE_STRATEGIES: Final[tuple[PackageMergeStrategy, ...]] = get_args(PackageMergeStrategy)

ConditionStatus = Literal["True", "False", "Unknown"]
"""Status of a package condition (``status.conditions[].status``)."""

LATEST_REVISION_LABEL: Final = "kpt.dev/latest-revision"
"""Label Porch sets (value ``"true"``) on the latest published revision of each package;
clients may neither set nor change it."""

LATEST_REVISION_VALUE: Final = "true"

PUSH_ON_RENDER_FAILURE_ANNOTATION: Final = "porch.kpt.dev/push-on-render-failure"
"""Annotation on a PackageRevision: with value ``"true"`` a failed render is still pushed."""

PUSH_ON_RENDER_FAILURE_VALUE: Final = "true"
