"""The Porch client: one object per connection, one typed accessor per resource.

Where this sits: the entry point of the library. porchctl builds one :class:`Client` per
invocation from its kubeconfig flags; a controller builds one at start-up and shares it
(the underlying connection pool is thread-safe). Below it, :mod:`pkg.client.resources`
turns calls into requests and :mod:`pkg.client.rest` sends them.

    >>> from pkg.client import client, config
    >>> with client.Client(config.load(config.Overrides(namespace="blueprints"))) as porch:
    ...     for pr in porch.package_revisions.list(field_selector="spec.packageName=basens").items:
    ...         print(pr.metadata.name, pr.spec.lifecycle)

The helpers below it are the client-side rules porchctl applies and controllers need too:
readiness gates (:func:`package_revision_is_ready`) and retrying on optimistic-concurrency
conflicts (:func:`retry_on_conflict`, client-go's ``retry.RetryOnConflict``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from types import TracebackType
from typing import Final, TypeVar

from api.core import v1 as corev1
from api.porch import v1alpha1 as porchv1alpha1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.client import config, errors, resources, rest

__all__ = [
    "Client",
    "is_published",
    "package_revision_is_ready",
    "retry_on_conflict",
]

T = TypeVar("T")


class Client:
    """Typed access to porch.kpt.dev, config.porch.kpt.dev and core v1 Secrets."""

    def __init__(self, client_config: config.ClientConfig | None = None) -> None:
        self.config = client_config if client_config is not None else config.load()
        self.rest = rest.RESTClient(self.config)
        self.package_revisions = resources.PackageRevisions(
            self.rest,
            porchv1alpha1.PACKAGE_REVISIONS,
            porchv1alpha1.PackageRevision,
            porchv1alpha1.PackageRevisionList,
        )
        self.package_revision_resources: resources.UpdatableResource[
            porchv1alpha1.PackageRevisionResources, porchv1alpha1.PackageRevisionResourcesList
        ] = resources.UpdatableResource(
            self.rest,
            porchv1alpha1.PACKAGE_REVISION_RESOURCES,
            porchv1alpha1.PackageRevisionResources,
            porchv1alpha1.PackageRevisionResourcesList,
        )
        self.packages: resources.ReadOnlyResource[
            porchv1alpha1.PorchPackage, porchv1alpha1.PorchPackageList
        ] = resources.ReadOnlyResource(
            self.rest,
            porchv1alpha1.PACKAGES,
            porchv1alpha1.PorchPackage,
            porchv1alpha1.PorchPackageList,
        )
        self.repositories = resources.Repositories(
            self.rest,
            configv1alpha1.REPOSITORIES,
            configv1alpha1.Repository,
            configv1alpha1.RepositoryList,
        )
        self.secrets: resources.Resource[corev1.Secret, corev1.SecretList] = resources.Resource(
            self.rest, corev1.SECRETS, corev1.Secret, corev1.SecretList
        )

    @property
    def namespace(self) -> str:
        """The default namespace of namespaced calls that name none."""
        return self.config.namespace

    def close(self) -> None:
        """Release the connection pool."""
        self.rest.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def package_revision_is_ready(pr: porchv1alpha1.PackageRevision) -> bool:
    """True when every readiness gate has a condition of its type with status ``True``.

    Porch's ``PackageRevisionIsReady``: porchctl refuses to propose or approve a revision
    whose Kptfile readiness gates are not all met.
    """
    gates = (pr.spec.readiness_gates if pr.spec else None) or []
    conditions = (pr.status.conditions if pr.status else None) or []
    met = {c.type for c in conditions if c.status == "True"}
    return all(gate.condition_type in met for gate in gates if gate.condition_type)


def is_published(pr: porchv1alpha1.PackageRevision) -> bool:
    """Published or DeletionProposed (a revision that has a revision number)."""
    lifecycle = pr.spec.lifecycle if pr.spec else None
    return lifecycle in (
        porchv1alpha1.LIFECYCLE_PUBLISHED,
        porchv1alpha1.LIFECYCLE_DELETION_PROPOSED,
    )


_RETRY_STEPS: Final = 5
_RETRY_DELAY: Final = 0.01
_RETRY_JITTER: Final = 0.1


def retry_on_conflict(
    fn: Callable[[], T],
    *,
    steps: int = _RETRY_STEPS,
    delay: float = _RETRY_DELAY,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` until it does not raise ConflictError, at most ``steps`` times.

    client-go's ``retry.RetryOnConflict(retry.DefaultRetry, fn)``: five tries 10 ms apart
    with 10 % jitter; the last ConflictError is raised. ``fn`` must re-read the object each
    time, or it will only conflict again.
    """
    if steps < 1:
        raise ValueError("steps must be at least 1")
    attempt = 1
    while True:
        try:
            return fn()
        except errors.ConflictError:
            if attempt >= steps:
                raise
            attempt += 1
            sleep(delay * (1 + random.uniform(0, _RETRY_JITTER)))  # noqa: S311 - jitter
