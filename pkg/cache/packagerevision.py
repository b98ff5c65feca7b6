"""Cached package revisions and packages, and how their API objects are assembled.

Where this sits: `pkg.cache.repocache` wraps every backend snapshot it lists in a
`CachedPackageRevision` (implementing `cachetypes.CachedPackageRevision`); the engine calls
`to_api()` / `to_resources_api()` on what the cache returns and hands those objects to the
registry. Assembly follows porch.md §3.8, §1.2 and §2.4:

- metadata: name, namespace, uid (name based, stable), resourceVersion (the backend's
  version of the revision, a git commit, plus the metadata record's change counter once
  metadata changed: `metatypes.api_resource_version`), creationTimestamp/labels/
  annotations/finalizers/ownerReferences/deletionTimestamp/managedFields from the metadata
  store, plus the computed label `kpt.dev/latest-revision: "true"` on the latest revision
  of each package. managedFields are the PackageRevision's only: the
  PackageRevisionResources object (another object of the API, with writes of its own) has
  none;
- spec: packageName, repository, workspaceName, revision (omitted when 0), lifecycle,
  tasks, and readinessGates + packageMetadata from the Kptfile;
- status: upstreamLock (when the Kptfile has upstream and a git upstreamLock), selfLock,
  publishedBy/publishTimestamp (Published and DeletionProposed only), deployment (the
  Repository's spec.deployment), conditions (the Kptfile's status.conditions).

The Kptfile is parsed once per snapshot with PyYAML's C loader (`KptfileInfo`), never
per read; API objects are built once per cached object and shared (the cache replaces the
object when metadata or the latest flag change, so a memo can never be stale).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

import yaml

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.meta import metatypes
from pkg.repository import repository as repo_api

__all__ = [
    "EMPTY_KPTFILE",
    "CachedPackage",
    "CachedPackageRevision",
    "KptfileInfo",
    "parse_kptfile",
    "upstream_names",
]

_log = logging.getLogger(__name__)

_EMPTY_MAP: Final[Mapping[str, str]] = MappingProxyType({})
_CONDITION_STATUSES: Final = frozenset({"True", "False", "Unknown"})


class KptfileInfo:
    """What the API object needs from a Kptfile, parsed once per snapshot."""

    __slots__ = ("annotations", "conditions", "labels", "readiness_gates", "upstream_lock")

    def __init__(
        self,
        *,
        labels: Mapping[str, str] = _EMPTY_MAP,
        annotations: Mapping[str, str] = _EMPTY_MAP,
        readiness_gates: tuple[str, ...] = (),
        conditions: tuple[porchv1alpha1.Condition, ...] = (),
        upstream_lock: porchv1alpha1.Locator | None = None,
    ) -> None:
        self.labels = labels
        self.annotations = annotations
        self.readiness_gates = readiness_gates
        self.conditions = conditions
        self.upstream_lock = upstream_lock


EMPTY_KPTFILE: Final = KptfileInfo()
"""The facts of a revision without a (readable) Kptfile."""


def _string_map(value: Any) -> Mapping[str, str]:
    if not isinstance(value, dict) or not value:
        return _EMPTY_MAP
    return MappingProxyType({str(k): "" if v is None else str(v) for k, v in value.items()})


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def parse_kptfile(text: str | None, *, where: str = "") -> KptfileInfo:
    """Extract labels, annotations, readiness gates, conditions and the upstream lock.

    A missing or unreadable Kptfile yields `EMPTY_KPTFILE` (logged at debug level: the
    revision is still listed, as Porch does, just without Kptfile-derived fields).
    """
    if not text:
        return EMPTY_KPTFILE
    try:
        document = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as err:
        _log.debug("cannot parse Kptfile of %s: %s", where, err)
        return EMPTY_KPTFILE
    if not isinstance(document, dict):
        return EMPTY_KPTFILE
    metadata = _mapping(document.get("metadata"))
    info = _mapping(document.get("info"))
    status = _mapping(document.get("status"))
    gates = tuple(
        str(gate["conditionType"])
        for gate in info.get("readinessGates") or ()
        if isinstance(gate, dict) and gate.get("conditionType")
    )
    conditions: list[porchv1alpha1.Condition] = []
    for condition in status.get("conditions") or ():
        if not isinstance(condition, dict) or not condition.get("type"):
            continue
        condition_status = str(condition.get("status") or "Unknown")
        conditions.append(
            porchv1alpha1.Condition(
                type=str(condition["type"]),
                status=condition_status if condition_status in _CONDITION_STATUSES else "Unknown",  # type: ignore[arg-type]
                reason=_text(condition.get("reason")),
                message=_text(condition.get("message")),
            )
        )
    upstream = _mapping(document.get("upstream"))
    lock = _mapping(document.get("upstreamLock"))
    lock_git = _mapping(lock.get("git"))
    upstream_lock = None
    # Porch reports the lock only for packages with a git upstream and a git lock.
    if upstream.get("git") and lock_git:
        upstream_lock = porchv1alpha1.Locator(
            type=_text(lock.get("type")),
            git=porchv1alpha1.GitLock(
                repo=_text(lock_git.get("repo")),
                directory=_text(lock_git.get("directory")),
                ref=_text(lock_git.get("ref")),
                commit=_text(lock_git.get("commit")),
            ),
        )
    return KptfileInfo(
        labels=_string_map(metadata.get("labels")),
        annotations=_string_map(metadata.get("annotations")),
        readiness_gates=gates,
        conditions=tuple(conditions),
        upstream_lock=upstream_lock,
    )


def upstream_names(tasks: Sequence[porchv1alpha1.Task]) -> tuple[str, ...]:
    """Names of the revisions `tasks` take as their upstream (porch.md §3.7: a revision
    cloned from (`clone.upstreamRef.upstreamRef`) or upgraded to (`upgrade.newUpstreamRef`)
    another cannot be deleted while they reference it)."""
    names: list[str] = []
    for task in tasks:
        clone = task.clone
        if clone is not None and clone.upstream_ref is not None:
            ref = clone.upstream_ref.upstream_ref
            if ref is not None and ref.name:
                names.append(ref.name)
        upgrade = task.upgrade
        new_upstream = upgrade.new_upstream_ref if upgrade is not None else None
        if new_upstream is not None and new_upstream.name:
            names.append(new_upstream.name)
    return tuple(names)


def _whole_seconds(value: datetime.datetime | None) -> datetime.datetime | None:
    """Kubernetes serialises metav1.Time with second precision; so do we."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.replace(microsecond=0)


def _locator(locator: repo_api.Locator) -> porchv1alpha1.Locator:
    git = locator.git
    return porchv1alpha1.Locator(
        type=locator.type,
        git=(
            porchv1alpha1.GitLock(
                repo=git.repo, directory=git.directory, ref=git.ref, commit=git.commit
            )
            if git is not None
            else None
        ),
    )


class CachedPackageRevision:
    """A backend snapshot with its metadata and latest flag (`cachetypes.CachedPackageRevision`).

    Immutable; the cache builds a new instance when metadata or the latest flag change.
    """

    __slots__ = (
        "_api",
        "_deployment",
        "_is_latest",
        "_kptfile",
        "_labels",
        "_meta",
        "_resources_api",
        "_snapshot",
    )

    def __init__(
        self,
        snapshot: repo_api.PackageRevision,
        meta: metatypes.PackageRevisionMeta,
        *,
        is_latest: bool,
        kptfile: KptfileInfo,
        deployment: bool,
    ) -> None:
        self._snapshot = snapshot
        self._meta = meta
        self._is_latest = is_latest
        self._kptfile = kptfile
        self._deployment = deployment
        self._labels: Mapping[str, str] | None = None
        self._api: porchv1alpha1.PackageRevision | None = None
        self._resources_api: porchv1alpha1.PackageRevisionResources | None = None

    def replace(
        self,
        *,
        meta: metatypes.PackageRevisionMeta | None = None,
        is_latest: bool | None = None,
    ) -> CachedPackageRevision:
        """A copy with new metadata and/or latest flag (same snapshot and Kptfile facts)."""
        return CachedPackageRevision(
            self._snapshot,
            self._meta if meta is None else meta,
            is_latest=self._is_latest if is_latest is None else is_latest,
            kptfile=self._kptfile,
            deployment=self._deployment,
        )

    # -- identity and cheap facts ---------------------------------------------------------------
    @property
    def snapshot(self) -> repo_api.PackageRevision:
        return self._snapshot

    @property
    def meta(self) -> metatypes.PackageRevisionMeta:
        return self._meta

    @property
    def is_latest(self) -> bool:
        return self._is_latest

    @property
    def kptfile(self) -> KptfileInfo:
        return self._kptfile

    @property
    def key(self) -> repo_api.PackageRevisionKey:
        return self._snapshot.key

    @property
    def name(self) -> repo_api.PackageRevisionName:
        return self._snapshot.name

    @property
    def namespace(self) -> str:
        return self._snapshot.key.pkg_key.repo_key.namespace

    @property
    def lifecycle(self) -> repo_api.Lifecycle:
        return self._snapshot.lifecycle

    @property
    def resource_version(self) -> str:
        return self._snapshot.resource_version

    @property
    def api_resource_version(self) -> str:
        return metatypes.api_resource_version(self._snapshot.resource_version, self._meta.version)

    @property
    def labels(self) -> Mapping[str, str]:
        if self._labels is None:
            stored = self._meta.labels
            if self._is_latest:
                labels = dict(stored)
                labels[porchv1alpha1.LATEST_REVISION_LABEL] = porchv1alpha1.LATEST_REVISION_VALUE
                self._labels = MappingProxyType(labels)
            elif porchv1alpha1.LATEST_REVISION_LABEL in stored:
                # The label is computed, never stored; ignore a stray stored copy.
                labels = dict(stored)
                del labels[porchv1alpha1.LATEST_REVISION_LABEL]
                self._labels = MappingProxyType(labels)
            else:
                self._labels = stored
        return self._labels

    @property
    def kptfile_labels(self) -> Mapping[str, str]:
        return self._kptfile.labels

    def same_backend_state(self, snapshot: repo_api.PackageRevision) -> bool:
        """Whether `snapshot` shows this revision exactly as our snapshot does.

        Called for every revision of every listing applied: the same object (a backend
        reusing its snapshot of an unchanged ref) answers at once, and the cheap fields
        are compared before those that build objects (the self lock) or compare models
        (the tasks)."""
        mine = self._snapshot
        if mine is snapshot:
            return True
        return (
            mine.resource_version == snapshot.resource_version
            and mine.lifecycle == snapshot.lifecycle
            and mine.published_by == snapshot.published_by
            and mine.published_at == snapshot.published_at
            and (mine.tasks is snapshot.tasks or list(mine.tasks) == list(snapshot.tasks))
            and mine.self_lock == snapshot.self_lock
        )

    # -- API objects ----------------------------------------------------------------------------
    def _object_meta(self, *, managed_fields: bool) -> metav1.ObjectMeta:
        meta = self._meta
        labels = self.labels
        return metav1.ObjectMeta(
            name=self.name,
            namespace=self.namespace,
            uid=self._snapshot.uid,
            resource_version=self.api_resource_version,
            creation_timestamp=_whole_seconds(meta.creation_timestamp),
            labels=dict(labels) if labels else None,
            annotations=dict(meta.annotations) if meta.annotations else None,
            finalizers=list(meta.finalizers) if meta.finalizers else None,
            owner_references=list(meta.owner_references) if meta.owner_references else None,
            deletion_timestamp=_whole_seconds(meta.deletion_timestamp),
            # The stored entries themselves (immutable by contract): no copy per object.
            managed_fields=(
                list(meta.managed_fields) if managed_fields and meta.managed_fields else None
            ),
        )

    def to_api(self) -> porchv1alpha1.PackageRevision:
        if self._api is None:
            self._api = self._build_api()
        return self._api

    def _build_api(self) -> porchv1alpha1.PackageRevision:
        snapshot = self._snapshot
        key = snapshot.key
        kptfile = self._kptfile
        published = snapshot.lifecycle.is_published
        package_metadata = None
        if kptfile.labels or kptfile.annotations:
            package_metadata = porchv1alpha1.PackageMetadata(
                labels=dict(kptfile.labels) if kptfile.labels else None,
                annotations=dict(kptfile.annotations) if kptfile.annotations else None,
            )
        return porchv1alpha1.PackageRevision(
            api_version=porchv1alpha1.API_VERSION,
            kind="PackageRevision",
            metadata=self._object_meta(managed_fields=True),
            spec=porchv1alpha1.PackageRevisionSpec(
                package_name=key.pkg_key.package_path,
                repository=key.pkg_key.repo_key.name,
                workspace_name=key.workspace_name,
                revision=key.revision or None,
                lifecycle=snapshot.lifecycle.value,
                tasks=list(snapshot.tasks) or None,
                readiness_gates=(
                    [
                        porchv1alpha1.ReadinessGate(condition_type=gate)
                        for gate in kptfile.readiness_gates
                    ]
                    or None
                ),
                package_metadata=package_metadata,
            ),
            status=porchv1alpha1.PackageRevisionStatus(
                upstream_lock=kptfile.upstream_lock,
                self_lock=_locator(snapshot.self_lock),
                published_by=snapshot.published_by if published else None,
                publish_timestamp=_whole_seconds(snapshot.published_at) if published else None,
                deployment=self._deployment or None,
                conditions=list(kptfile.conditions) or None,
            ),
        )

    async def resources(self) -> dict[str, str]:
        return await self._snapshot.resources()

    async def to_resources_api(self) -> porchv1alpha1.PackageRevisionResources:
        if self._resources_api is None:
            key = self._snapshot.key
            files = await self._snapshot.resources()
            self._resources_api = porchv1alpha1.PackageRevisionResources(
                api_version=porchv1alpha1.API_VERSION,
                kind="PackageRevisionResources",
                metadata=self._object_meta(managed_fields=False),
                spec=porchv1alpha1.PackageRevisionResourcesSpec(
                    package_name=key.pkg_key.package_path,
                    workspace_name=key.workspace_name,
                    revision=key.revision or None,
                    repository=key.pkg_key.repo_key.name,
                    resources=files,
                ),
            )
        return self._resources_api

    def __repr__(self) -> str:
        latest = ", latest" if self._is_latest else ""
        return (
            f"CachedPackageRevision({self.namespace}/{self.name}, {self.lifecycle}, "
            f"{self.api_resource_version}{latest})"
        )


class CachedPackage:
    """A package with at least one cached revision (`cachetypes.CachedPackage`)."""

    __slots__ = ("_key", "_latest_revision", "_name")

    def __init__(self, key: repo_api.PackageKey, latest_revision: int) -> None:
        self._key = key
        self._latest_revision = latest_revision
        self._name = key.k8s_name()

    @property
    def key(self) -> repo_api.PackageKey:
        return self._key

    @property
    def name(self) -> str:
        return self._name

    @property
    def latest_revision(self) -> int:
        return self._latest_revision

    def to_api(self) -> porchv1alpha1.PorchPackage:
        return porchv1alpha1.PorchPackage(
            api_version=porchv1alpha1.API_VERSION,
            kind="PorchPackage",
            metadata=metav1.ObjectMeta(name=self._name, namespace=self._key.repo_key.namespace),
            spec=porchv1alpha1.PorchPackageSpec(
                package_name=self._key.package_path, repository=self._key.repo_key.name
            ),
            status=porchv1alpha1.PorchPackageStatus(latest_revision=self._latest_revision),
        )

    def __repr__(self) -> str:
        return (
            f"CachedPackage({self._key.repo_key.namespace}/{self._name}, {self._latest_revision})"
        )
