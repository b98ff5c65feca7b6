"""Well-known values of config.porch.kpt.dev/v1alpha1 Repository objects.

The condition type and reasons the repository controller / sync loop writes into
``status.conditions``, the finalizer it adds, and the annotation that hands a repository's
revisions over to porch.kpt.dev/v1alpha2. The generated models type ``spec.type`` as an
inline ``Literal``; ``RepositoryType`` names it (``constants_test.py`` checks they match).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

RepositoryType = Literal["git", "oci"]
"""Type of a repository (``spec.type``)."""

REPOSITORY_TYPES: Final[tuple[RepositoryType, ...]] = get_args(RepositoryType)

CONTENT_PACKAGE: Final = "Package"
"""The only valid (and the default) value of the deprecated ``spec.content``."""

DEFAULT_BRANCH: Final = "main"
"""Default of ``spec.git.branch``."""

CONDITION_READY: Final = "Ready"
"""Type of the one condition Porch sets on a Repository."""

REASON_READY: Final = "Ready"
"""Reason of the Ready condition when it is True (message "Repository Ready")."""

REASON_RECONCILING: Final = "Reconciling"
"""Reason of the Ready condition (False) while a sync is in progress."""

REASON_ERROR: Final = "Error"
"""Reason of the Ready condition (False) when the sync failed; the message is the error."""

REPOSITORY_FINALIZER: Final = "config.porch.kpt.dev/repository"
"""Finalizer the repository controller adds, so that it can clean up before deletion."""

V1ALPHA2_MIGRATION_ANNOTATION: Final = "porch.kpt.dev/v1alpha2-migration"
"""With value ``"true"``, the repository's revisions are managed by porch.kpt.dev/v1alpha2 and
hidden from the v1alpha1 API."""

V1ALPHA2_MIGRATION_VALUE: Final = "true"
