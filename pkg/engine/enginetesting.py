"""Test support for the engine and the layers above it: an engine over fake repositories.

Used by `pkg/engine/*_test.py` and by the registry's tests. `new_fake_engine` wires a
`CaDEngine` over `pkg.cache.cachetesting`'s cache of in-memory fake repositories and the
builtin function runtime; `package_revision` builds the objects clients send.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import metrics

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import user as apiuser
from pkg.cache import cachetesting, repocache
from pkg.engine import engine
from pkg.kpt.fn import runtime as fnruntime
from pkg.meta import metatypes
from pkg.task import clone

__all__ = [
    "USER",
    "FakeEngine",
    "context",
    "init_task",
    "managed_fields_entry",
    "new_fake_engine",
    "package_revision",
]

USER = apiuser.UserInfo(name="alice", groups=("system:authenticated",))


def context(namespace: str = "default", *, dry_run: bool = False) -> engine.EngineContext:
    """The context of a request by an authenticated user in `namespace`."""
    return engine.EngineContext(user=USER, namespace=namespace, dry_run=dry_run)


@dataclasses.dataclass(slots=True)
class FakeEngine:
    """An engine and what it stands on, for tests to inspect."""

    engine: engine.CaDEngine
    cache: repocache.RepositoryCache
    backends: cachetesting.FakeBackends


def new_fake_engine(
    *,
    metadata: metatypes.MetadataStore | None = None,
    git_fetcher: clone.GitPackageFetcher | None = None,
    resolver: engine.RepositoryResolver | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> FakeEngine:
    """An engine over an empty cache of fake repositories (open some with
    `engine.open_repository(cachetesting.repository_object(...))`); its metrics go to
    `meter_provider` (default: the global one)."""
    backends = cachetesting.FakeBackends()
    cache = cachetesting.new_fake_cache(backends, metadata=metadata)
    cad = engine.CaDEngine(
        cache,
        runtime=fnruntime.BuiltinRuntime(),
        git_fetcher=git_fetcher,
        repository_resolver=resolver,
        meter_provider=meter_provider,
    )
    return FakeEngine(engine=cad, cache=cache, backends=backends)


def init_task(description: str = "") -> porchv1alpha1.Task:
    return porchv1alpha1.Task(
        type="init", init=porchv1alpha1.PackageInitTaskSpec(description=description or None)
    )


def managed_fields_entry(
    manager: str,
    *,
    subresource: str | None = None,
    fields: Mapping[str, Any] | None = None,
    time: datetime.datetime | None = None,
) -> metav1.ManagedFieldsEntry:
    """A `metadata.managedFields` entry as the API server records one for a write by
    `manager` (an `Update` of porch.kpt.dev/v1alpha1; `fields` is its FieldsV1 set)."""
    return metav1.ManagedFieldsEntry(
        manager=manager,
        operation="Update",
        api_version=porchv1alpha1.API_VERSION,
        time=time or datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        fields_type="FieldsV1",
        fields_v1=metav1.FieldsV1.model_validate(dict(fields or {})),
        subresource=subresource,
    )


def package_revision(
    package: str,
    workspace: str,
    *,
    repository: str = "repo",
    namespace: str | None = None,
    tasks: Sequence[porchv1alpha1.Task] | None = None,
    lifecycle: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    finalizers: Sequence[str] | None = None,
    package_metadata: porchv1alpha1.PackageMetadata | None = None,
    readiness_gates: Sequence[str] | None = None,
    managed_fields: Sequence[metav1.ManagedFieldsEntry] | None = None,
) -> porchv1alpha1.PackageRevision:
    """A PackageRevision as a client sends it to create a revision (`managed_fields` as the
    API server hands them over, having recorded the request's field manager)."""
    return porchv1alpha1.PackageRevision(
        api_version=porchv1alpha1.API_VERSION,
        kind="PackageRevision",
        metadata=metav1.ObjectMeta(
            namespace=namespace,
            labels=dict(labels) if labels is not None else None,
            annotations=dict(annotations) if annotations is not None else None,
            finalizers=list(finalizers) if finalizers is not None else None,
            managed_fields=list(managed_fields) if managed_fields is not None else None,
        ),
        spec=porchv1alpha1.PackageRevisionSpec(
            package_name=package,
            workspace_name=workspace,
            repository=repository,
            lifecycle=lifecycle,  # type: ignore[arg-type]
            tasks=list(tasks) if tasks is not None else None,
            package_metadata=package_metadata,
            readiness_gates=(
                [porchv1alpha1.ReadinessGate(condition_type=g) for g in readiness_gates]
                if readiness_gates is not None
                else None
            ),
        ),
    )
