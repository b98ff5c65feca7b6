"""config.porch.kpt.dev/v1alpha1: Repository, generated from api/openapi/porchconfig/v1alpha1.yaml.

``register`` holds the group, version and resource facts, ``constants`` the condition reasons,
finalizer and annotations. Import this package, not its modules:
``from api.porchconfig import v1alpha1 as configv1alpha1``. Repository status conditions are
``metav1.Condition`` (``from api.meta import v1 as metav1``).
"""

from api.porchconfig.v1alpha1.constants import (
    CONDITION_READY,
    CONTENT_PACKAGE,
    DEFAULT_BRANCH,
    REASON_ERROR,
    REASON_READY,
    REASON_RECONCILING,
    REPOSITORY_FINALIZER,
    REPOSITORY_TYPES,
    V1ALPHA2_MIGRATION_ANNOTATION,
    V1ALPHA2_MIGRATION_VALUE,
    RepositoryType,
)
from api.porchconfig.v1alpha1.register import (
    API_VERSION,
    GROUP,
    KINDS,
    REPOSITORIES,
    RESOURCES,
    VERSION,
)
from api.porchconfig.v1alpha1.zz_generated_models import (
    GitRepository,
    OciRepository,
    Repository,
    RepositoryList,
    RepositorySpec,
    RepositoryStatus,
    RepositorySync,
    SecretRef,
)

__all__ = [
    "API_VERSION",
    "CONDITION_READY",
    "CONTENT_PACKAGE",
    "DEFAULT_BRANCH",
    "GROUP",
    "KINDS",
    "REASON_ERROR",
    "REASON_READY",
    "REASON_RECONCILING",
    "REPOSITORIES",
    "REPOSITORY_FINALIZER",
    "REPOSITORY_TYPES",
    "RESOURCES",
    "V1ALPHA2_MIGRATION_ANNOTATION",
    "V1ALPHA2_MIGRATION_VALUE",
    "VERSION",
    "GitRepository",
    "OciRepository",
    "Repository",
    "RepositoryList",
    "RepositorySpec",
    "RepositoryStatus",
    "RepositorySync",
    "RepositoryType",
    "SecretRef",
]
