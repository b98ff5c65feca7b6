"""The repository cache over the in-memory fake repository: what a client of the API sees.

Every test goes through the cache as the engine does (open, list, write through, refresh)
and checks the API objects, the metadata records and the watch events that result.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Sequence

import pytest

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import labels
from pkg.cache import cachetesting, cachetypes, repocache, watchermanager
from pkg.meta import memory, metatypes
from pkg.repository import errors
from pkg.repository import repository as repo_api
from pkg.repository.fake import repository as fake

LATEST = porchv1alpha1.LATEST_REVISION_LABEL
Published = repo_api.Lifecycle.PUBLISHED
Draft = repo_api.Lifecycle.DRAFT

KPTFILE_FULL = """apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: app
  labels:
    tier: backend
  annotations:
    owner: team-a
upstream:
  type: git
  git:
    repo: https://example.com/blueprints.git
    directory: app
    ref: app/v3
upstreamLock:
  type: git
  git:
    repo: https://example.com/blueprints.git
    directory: app
    ref: app/v3
    commit: 0123456789abcdef0123456789abcdef01234567
info:
  readinessGates:
  - conditionType: example.com/ready
status:
  conditions:
  - type: example.com/ready
    status: "False"
    reason: Waiting
    message: not yet
"""


class Env:
    """A cache over fakes, its metadata store and a watcher recording every event."""

    def __init__(self, store: memory.MemoryMetadataStore | None = None) -> None:
        self.backends = cachetesting.FakeBackends()
        self.store = store if store is not None else memory.MemoryMetadataStore()
        self.watchers = watchermanager.WatcherManager()
        self.cache = cachetesting.new_fake_cache(
            self.backends,
            metadata=self.store,
            watcher_manager=self.watchers,
            options=repocache.CacheOptions(list_timeout_per_repository=0.5),
        )
        self.events = self.watchers.watch(cachetypes.ANY)

    def fake(self, name: str = "repo", namespace: str = "default") -> fake.FakeRepository:
        return self.backends.fake(name, namespace=namespace)

    async def open(self, name: str = "repo", **kwargs: object) -> repocache.CachedRepository:
        return await self.cache.open_repository(
            cachetesting.repository_object(name, **kwargs)  # type: ignore[arg-type]
        )

    def drain(self) -> list[tuple[str, str]]:
        """(type, name) of every event so far."""
        got: list[tuple[str, str]] = []
        while self.events.pending:
            event = self.events._queue.popleft()
            assert event.object.metadata is not None
            got.append((event.type, event.object.metadata.name or ""))
        return got


@pytest.fixture
def env() -> Env:
    return Env()


def _names(revisions: Sequence[cachetypes.CachedPackageRevision]) -> list[str]:
    return [r.name for r in revisions]


async def _backend_names(backend: fake.FakeRepository) -> list[str]:
    return [r.name for r in await backend.list_package_revisions()]


async def _new_draft(
    cached: repocache.CachedRepository, package: str, workspace: str, files: dict[str, str]
) -> repo_api.PackageRevisionDraft:
    draft = await cached.create_package_revision_draft(
        repo_api.PackageRevisionKey(
            pkg_key=repo_api.PackageKey.from_package_path(cached.key, package),
            revision=0,
            workspace_name=repo_api.WorkspaceName(workspace),
        )
    )
    await draft.update_resources(files, None)
    return draft


# --- open, assembly, latest ------------------------------------------------------------------


async def test_open_lists_revisions_creates_metadata_and_sends_added(env: Env) -> None:
    backend = env.fake()
    await cachetesting.publish(backend, "app", "v1")
    await cachetesting.publish(backend, "app", "v2")
    await cachetesting.draft(backend, "app", "wip")
    before = metatypes.now()

    cached = await env.open(deployment=True)

    revisions = await cached.list_package_revisions()
    assert _names(revisions) == ["repo.app.main", "repo.app.v1", "repo.app.v2", "repo.app.wip"]
    assert sorted(env.drain()) == [("ADDED", n) for n in _names(revisions)]
    records = await env.store.list("default", "repo")
    assert [m.name for m in records] == _names(revisions)
    assert all(m.creation_timestamp >= before for m in records)
    latest = {r.name: r.is_latest for r in revisions}
    # The highest published revision is latest; the placeholder (-1) never is.
    assert latest == {
        "repo.app.main": False,
        "repo.app.v1": False,
        "repo.app.v2": True,
        "repo.app.wip": False,
    }


async def test_api_object_carries_identity_spec_status_and_kptfile_facts(env: Env) -> None:
    backend = env.fake()
    published = await cachetesting.publish(
        backend, "apps/app", "v1", files={"Kptfile": KPTFILE_FULL}
    )
    cached = await env.open(deployment=True)

    revision = await cached.get_package_revision("repo.apps.app.v1")
    assert revision is not None
    obj = revision.to_api()
    record = revision.meta
    assert obj.api_version == "porch.kpt.dev/v1alpha1"
    assert obj.kind == "PackageRevision"
    assert obj.metadata == metav1.ObjectMeta(
        name="repo.apps.app.v1",
        namespace="default",
        uid=repo_api.package_revision_uid("default", "repo.apps.app.v1"),
        resource_version=published.resource_version,
        creation_timestamp=record.creation_timestamp,
        labels={LATEST: "true"},
    )
    spec = obj.spec
    assert spec is not None
    assert (spec.package_name, spec.repository, spec.workspace_name, spec.revision) == (
        "apps/app",
        "repo",
        "v1",
        1,
    )
    assert spec.lifecycle == "Published"
    assert spec.readiness_gates == [porchv1alpha1.ReadinessGate(condition_type="example.com/ready")]
    assert spec.package_metadata == porchv1alpha1.PackageMetadata(
        labels={"tier": "backend"}, annotations={"owner": "team-a"}
    )
    status = obj.status
    assert status is not None
    assert status.deployment is True
    assert status.published_by == "porch@kpt.dev"
    assert status.publish_timestamp is not None and status.publish_timestamp.microsecond == 0
    assert status.self_lock == porchv1alpha1.Locator(
        type="git",
        git=porchv1alpha1.GitLock(
            repo="fake://default/repo",
            directory="apps/app",
            ref="apps/app/v1",
            commit=published.resource_version,
        ),
    )
    assert status.upstream_lock is not None and status.upstream_lock.git is not None
    assert status.upstream_lock.git.commit == "0123456789abcdef0123456789abcdef01234567"
    assert status.conditions == [
        porchv1alpha1.Condition(
            type="example.com/ready", status="False", reason="Waiting", message="not yet"
        )
    ]
    # Built once, shared afterwards.
    assert revision.to_api() is obj


async def test_draft_has_no_revision_publisher_or_latest_label(env: Env) -> None:
    await cachetesting.draft(env.fake(), "app", "wip")
    cached = await env.open()

    (revision,) = await cached.list_package_revisions()
    obj = revision.to_api()
    assert obj.spec is not None and obj.status is not None and obj.metadata is not None
    assert obj.spec.revision is None
    assert obj.spec.lifecycle == "Draft"
    assert obj.status.published_by is None and obj.status.publish_timestamp is None
    assert obj.status.deployment is None
    assert obj.metadata.labels is None


async def test_resources_api_has_the_files(env: Env) -> None:
    files = {"Kptfile": cachetesting.kptfile("app"), "cm.yaml": "kind: ConfigMap\n"}
    await cachetesting.draft(env.fake(), "app", "wip", files=files)
    cached = await env.open()
    (revision,) = await cached.list_package_revisions()

    prr = await revision.to_resources_api()

    assert prr.kind == "PackageRevisionResources"
    assert prr.metadata is not None and prr.metadata.name == "repo.app.wip"
    assert prr.spec is not None
    assert prr.spec.resources == files
    assert (prr.spec.package_name, prr.spec.repository, prr.spec.revision) == ("app", "repo", None)


async def test_unparsable_kptfile_still_lists_the_revision(env: Env) -> None:
    await cachetesting.draft(env.fake(), "app", "wip", files={"Kptfile": "metadata: [unclosed\n"})
    cached = await env.open()
    (revision,) = await cached.list_package_revisions()
    assert revision.to_api().spec is not None


# --- writes through the cache ------------------------------------------------------------


async def test_close_draft_stores_given_metadata_and_sends_added(env: Env) -> None:
    cached = await env.open()
    env.drain()
    draft = await _new_draft(cached, "app", "wip", {"Kptfile": cachetesting.kptfile("app")})
    given = metatypes.PackageRevisionMeta.new(
        "default",
        "repo.app.wip",
        "repo",
        labels={"team": "a"},
        finalizers=["example.com/hold"],
    )

    revision = await cached.close_package_revision_draft(draft, meta=given)

    assert revision.name == "repo.app.wip"
    assert dict(revision.labels) == {"team": "a"}
    assert env.drain() == [("ADDED", "repo.app.wip")]
    stored = await env.store.get("default", "repo.app.wip")
    assert stored is not None and stored.finalizers == ("example.com/hold",)
    obj = revision.to_api()
    assert obj.metadata is not None and obj.metadata.finalizers == ["example.com/hold"]


async def test_approval_moves_latest_and_adds_placeholder(env: Env) -> None:
    backend = env.fake()
    await cachetesting.publish(backend, "app", "v1")
    await cachetesting.draft(backend, "app", "v2", lifecycle=repo_api.Lifecycle.PROPOSED)
    cached = await env.open()
    env.drain()
    proposed = await cached.get_package_revision("repo.app.v2")
    assert proposed is not None

    draft = await cached.update_package_revision(proposed)
    await draft.update_lifecycle(Published)
    approved = await cached.close_package_revision_draft(draft)

    assert approved.key.revision == 2 and approved.is_latest
    v1 = await cached.get_package_revision("repo.app.v1")
    assert v1 is not None and not v1.is_latest
    assert sorted(env.drain()) == [
        ("MODIFIED", "repo.app.main"),  # placeholder refreshed by the approval
        ("MODIFIED", "repo.app.v1"),  # lost the latest label
        ("MODIFIED", "repo.app.v2"),  # published, latest
    ]
    obj = approved.to_api()
    assert obj.metadata is not None and obj.metadata.labels == {LATEST: "true"}


async def test_metadata_update_sends_modified_only_when_something_changed(env: Env) -> None:
    await cachetesting.publish(env.fake(), "app", "v1")
    cached = await env.open()
    env.drain()
    revision = await cached.get_package_revision("repo.app.v1")
    assert revision is not None

    unchanged = await cached.update_package_revision_meta(revision.meta)
    assert env.drain() == []
    assert unchanged is revision

    changed = await cached.update_package_revision_meta(
        revision.meta.with_changes(labels={"x": "y"}, annotations={"a": "b"})
    )
    assert env.drain() == [("MODIFIED", "repo.app.v1")]
    assert dict(changed.labels) == {"x": "y", LATEST: "true"}
    # The creation time is set once.
    assert changed.meta.creation_timestamp == revision.meta.creation_timestamp
    # No commit, yet a new resourceVersion, in both views and in what the store keeps.
    assert changed.resource_version == revision.resource_version
    assert changed.api_resource_version != revision.api_resource_version
    obj = changed.to_api()
    assert obj.metadata is not None
    assert obj.metadata.resource_version == changed.api_resource_version
    prr = await changed.to_resources_api()
    assert prr.metadata is not None
    assert prr.metadata.resource_version == changed.api_resource_version
    stored = await env.store.get("default", "repo.app.v1")
    assert stored is not None and stored.version == changed.meta.version == 1
    with pytest.raises(errors.NotFoundError):
        await cached.update_package_revision_meta(
            metatypes.PackageRevisionMeta.new("default", "repo.app.nope", "repo")
        )


async def test_delete_of_latest_sends_deleted_and_modified_for_new_latest(env: Env) -> None:
    backend = env.fake()
    await cachetesting.publish(backend, "app", "v1")
    await cachetesting.publish(backend, "app", "v2")
    cached = await env.open()
    env.drain()
    v2 = await cached.get_package_revision("repo.app.v2")
    assert v2 is not None

    await cached.delete_package_revision(v2)

    assert env.drain() == [("DELETED", "repo.app.v2"), ("MODIFIED", "repo.app.v1")]
    v1 = await cached.get_package_revision("repo.app.v1")
    assert v1 is not None and v1.is_latest
    assert await env.store.get("default", "repo.app.v2") is None


async def test_write_from_stale_snapshot_conflicts_and_changes_nothing(env: Env) -> None:
    backend = env.fake()
    await cachetesting.draft(backend, "app", "wip")
    cached = await env.open()
    stale = await cached.get_package_revision("repo.app.wip")
    assert stale is not None
    # Someone else updates the draft behind the cache's back.
    other = await backend.update_package_revision(stale.snapshot)
    await other.update_resources({"Kptfile": cachetesting.kptfile("app", labels={"v": "2"})}, None)
    await backend.close_package_revision_draft(other)
    env.drain()

    draft = await cached.update_package_revision(stale)
    await draft.update_lifecycle(repo_api.Lifecycle.PROPOSED)
    with pytest.raises(errors.ConflictError):
        await cached.close_package_revision_draft(draft)

    current = await cached.get_package_revision("repo.app.wip")
    assert current is not None and current.lifecycle is Draft
    assert dict(current.kptfile_labels) == {"v": "2"}


async def test_discard_undoes_a_push_whose_metadata_could_not_be_stored() -> None:
    store = cachetesting.DiskFullMetadataStore()
    env = Env(store)
    backend = env.fake()
    await cachetesting.publish(backend, "app", "v1")
    cached = await env.open()
    env.drain()
    store.failing = True
    draft = await _new_draft(cached, "app", "ws", {"Kptfile": cachetesting.kptfile("app")})
    with pytest.raises(errors.BackendUnavailableError, match="disk is full"):
        await cached.close_package_revision_draft(
            draft, meta=metatypes.PackageRevisionMeta.new("default", "repo.app.ws", "repo")
        )
    assert "repo.app.ws" in await _backend_names(backend)

    # The store still fails: the discard must not need it.
    await cached.discard_package_revision("repo.app.ws")

    assert "repo.app.ws" not in await _backend_names(backend)
    assert _names(await cached.list_package_revisions()) == ["repo.app.main", "repo.app.v1"]
    assert env.drain() == [("ADDED", "repo.app.ws"), ("DELETED", "repo.app.ws")]
    assert [m.name for m in await store.list("default", "repo")] == [
        "repo.app.main",
        "repo.app.v1",
    ]


async def test_discard_by_snapshot_moves_latest_and_removes_metadata(env: Env) -> None:
    backend = env.fake()
    await cachetesting.publish(backend, "app", "v1")
    await cachetesting.publish(backend, "app", "v2")
    cached = await env.open()
    env.drain()
    v2 = await cached.get_package_revision("repo.app.v2")
    assert v2 is not None

    await cached.discard_package_revision(v2.snapshot)

    assert env.drain() == [("DELETED", "repo.app.v2"), ("MODIFIED", "repo.app.v1")]
    v1 = await cached.get_package_revision("repo.app.v1")
    assert v1 is not None and v1.is_latest
    assert await env.store.get("default", "repo.app.v2") is None
    assert "repo.app.v2" not in await _backend_names(backend)


async def test_discard_finds_revisions_the_cache_has_not_listed(env: Env) -> None:
    backend = env.fake()
    cached = await env.open()
    env.drain()
    # Pushed, but the cache never listed it (the write's re-list failed, say).
    await cachetesting.draft(backend, "app", "ws")

    await cached.discard_package_revision("repo.app.ws")
    await cached.discard_package_revision("repo.other.ws")  # nowhere at all: nothing to do

    assert await _backend_names(backend) == []
    assert _names(await cached.list_package_revisions()) == []
    assert env.drain() == []
    with pytest.raises(errors.InvalidPackageError):
        await cached.discard_package_revision("not-a-revision-name")


# --- changes behind the cache's back ------------------------------------------------------


async def test_refresh_reports_and_notifies_external_changes(env: Env) -> None:
    backend = env.fake()
    await cachetesting.publish(backend, "app", "v1")
    doomed = await cachetesting.draft(backend, "app", "doomed")
    cached = await env.open()
    env.drain()

    await cachetesting.publish(backend, "app", "v2")
    await backend.delete_package_revision(doomed)
    result = await cached.refresh()

    assert sorted(env.drain()) == [
        ("ADDED", "repo.app.v2"),
        ("DELETED", "repo.app.doomed"),
        ("MODIFIED", "repo.app.main"),
        ("MODIFIED", "repo.app.v1"),
    ]
    assert (result.added, result.modified, result.deleted) == (1, 2, 1)
    assert result.package_revision_count == 3
    names = [m.name for m in await env.store.list("default", "repo")]
    assert names == ["repo.app.main", "repo.app.v1", "repo.app.v2"]


async def test_list_relists_when_backend_version_changed(env: Env) -> None:
    backend = env.fake()
    cached = await env.open()
    await cachetesting.publish(backend, "app", "v1")
    assert _names(await cached.list_package_revisions()) == ["repo.app.main", "repo.app.v1"]


async def test_reopen_keeps_metadata_and_drops_records_of_vanished_revisions(env: Env) -> None:
    backend = env.fake()
    await cachetesting.publish(backend, "app", "v1")
    gone = await cachetesting.draft(backend, "app", "gone")
    cached = await env.open()
    v1 = await cached.get_package_revision("repo.app.v1")
    assert v1 is not None
    await cached.update_package_revision_meta(v1.meta.with_changes(labels={"keep": "me"}))
    # A second cache over the same store, after the draft vanished while "down".
    await backend.delete_package_revision(gone)
    second = cachetesting.new_fake_cache(env.backends, metadata=env.store)

    reopened = await second.open_repository(cachetesting.repository_object("repo"))

    again = await reopened.get_package_revision("repo.app.v1")
    assert again is not None
    assert dict(again.meta.labels) == {"keep": "me"}
    assert again.meta.creation_timestamp == v1.meta.creation_timestamp
    assert await env.store.get("default", "repo.app.gone") is None


# --- open / close ------------------------------------------------------------------------------


async def test_concurrent_opens_share_one_backend_open(env: Env) -> None:
    first, second = await asyncio.gather(env.open(), env.open())
    assert first is second
    assert env.backends.opened == [("default", "repo")]
    assert env.cache.get_repository("default", "repo") is first


async def test_unsupported_type_fails_and_leaves_nothing_open() -> None:
    from pkg.cache import backends

    factory = backends.BackendFactory({"git": cachetesting.FakeBackends()})
    cache = repocache.RepositoryCache(
        opener=factory,
        metadata=memory.MemoryMetadataStore(),
        watcher_manager=watchermanager.WatcherManager(),
    )
    with pytest.raises(errors.InvalidRepositoryError, match='type "oci" is not supported'):
        await cache.open_repository(cachetesting.repository_object("r", repo_type="oci"))
    assert cache.repositories() == []
    # A later good open works.
    assert await cache.open_repository(cachetesting.repository_object("r")) is not None


async def test_close_repository_sends_deleted_and_removes_metadata(env: Env) -> None:
    backend = env.fake()
    await cachetesting.publish(backend, "app", "v1")
    cached = await env.open()
    env.drain()

    await env.cache.close_repository("default", "repo")

    assert sorted(env.drain()) == [("DELETED", "repo.app.main"), ("DELETED", "repo.app.v1")]
    assert await env.store.list("default", "repo") == []
    assert backend.closed
    assert env.cache.get_repository("default", "repo") is None
    with pytest.raises(errors.NotFoundError):
        await cached.list_package_revisions()


# --- filters ---------------------------------------------------------------------------------


@pytest.fixture
async def populated(env: Env) -> Env:
    backend = env.fake()
    await cachetesting.publish(backend, "app", "v1")
    await cachetesting.publish(
        backend, "app", "v2", files={"Kptfile": cachetesting.kptfile("app", labels={"tier": "web"})}
    )
    await cachetesting.draft(backend, "app", "wip")
    await cachetesting.publish(backend, "db", "v1")
    other = env.fake("other", namespace="team-b")
    await cachetesting.publish(other, "app", "v1")
    await env.open()
    await env.open("other", namespace="team-b")
    cached = env.cache.get_repository("default", "repo")
    assert cached is not None
    record = await env.store.get("default", "repo.db.v1")
    assert record is not None
    await cached.update_package_revision_meta(record.with_changes(labels={"env": "prod"}))
    return env


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        pytest.param(
            cachetypes.PackageRevisionFilter(namespace="team-b"),
            ["other.app.main", "other.app.v1"],
            id="namespace",
        ),
        pytest.param(
            cachetypes.PackageRevisionFilter(repository="repo", package_path="db"),
            ["repo.db.main", "repo.db.v1"],
            id="package",
        ),
        pytest.param(
            cachetypes.PackageRevisionFilter(workspace="v1"),
            # Ordered by (namespace, name).
            ["repo.app.v1", "repo.db.v1", "other.app.v1"],
            id="workspace-all-namespaces",
        ),
        pytest.param(
            cachetypes.PackageRevisionFilter(revision=0), ["repo.app.wip"], id="revision-0"
        ),
        pytest.param(
            cachetypes.PackageRevisionFilter(namespace="default", lifecycles=frozenset({Draft})),
            ["repo.app.wip"],
            id="lifecycle",
        ),
        pytest.param(
            cachetypes.PackageRevisionFilter(name="repo.app.v2"), ["repo.app.v2"], id="name"
        ),
        pytest.param(
            cachetypes.PackageRevisionFilter(
                namespace="default", label_selector=labels.parse(f"{LATEST}=true")
            ),
            ["repo.app.v2", "repo.db.v1"],
            id="latest-label",
        ),
        pytest.param(
            cachetypes.PackageRevisionFilter(label_selector=labels.parse("env=prod")),
            ["repo.db.v1"],
            id="stored-label",
        ),
        pytest.param(
            cachetypes.PackageRevisionFilter(kptfile_labels={"tier": "web"}),
            # The placeholder shows the branch, i.e. the last approved content.
            ["repo.app.main", "repo.app.v2"],
            id="kptfile-label",
        ),
    ],
)
async def test_filters_select_the_same_on_cache_and_on_api_objects(
    populated: Env, filter: cachetypes.PackageRevisionFilter, expected: list[str]
) -> None:
    got = await populated.cache.list_package_revisions(filter)
    assert _names(got) == expected
    everything = await populated.cache.list_package_revisions()
    # The watch-side predicate agrees with the list-side one on every object.
    assert [r.name for r in everything if filter.matches_object(r.to_api())] == expected


async def test_list_packages_reports_latest_revision(populated: Env) -> None:
    packages = await populated.cache.list_packages(cachetypes.PackageFilter(namespace="default"))
    assert [(p.name, p.latest_revision) for p in packages] == [("repo.app", 2), ("repo.db", 1)]
    obj = packages[0].to_api()
    assert obj.spec is not None and obj.spec.package_name == "app"
    assert obj.status is not None and obj.status.latest_revision == 2


async def test_list_packages_follows_approvals_deletions_and_refreshes(env: Env) -> None:
    backend = env.fake()
    await cachetesting.publish(backend, "app", "v1")
    await cachetesting.draft(backend, "app", "v2", lifecycle=repo_api.Lifecycle.PROPOSED)
    only = await cachetesting.draft(backend, "tmp", "ws")
    cached = await env.open()

    def listed(packages: Sequence[cachetypes.CachedPackage]) -> list[tuple[str, int]]:
        return [(p.name, p.latest_revision) for p in packages]

    assert listed(await cached.list_packages()) == [("repo.app", 1), ("repo.tmp", 0)]
    proposed = await cached.get_package_revision("repo.app.v2")
    assert proposed is not None
    draft = await cached.update_package_revision(proposed)
    await draft.update_lifecycle(Published)
    await cached.close_package_revision_draft(draft)
    assert listed(await cached.list_packages()) == [("repo.app", 2), ("repo.tmp", 0)]
    tmp = await cached.get_package_revision(only.name)
    assert tmp is not None
    await cached.delete_package_revision(tmp)  # its only revision: the package goes
    assert listed(await cached.list_packages()) == [("repo.app", 2)]
    await cachetesting.publish(backend, "db", "v1")  # behind the cache's back
    assert listed(await cached.list_packages()) == [("repo.app", 2), ("repo.db", 1)]
    by_path = cachetypes.PackageFilter(package_path="db")
    assert listed(await cached.list_packages(by_path)) == [("repo.db", 1)]
    by_name = cachetypes.PackageFilter(name="repo.app")
    assert listed(await cached.list_packages(by_name)) == [("repo.app", 2)]
    assert await cached.list_packages(cachetypes.PackageFilter(package_path="tmp")) == []


# --- a hanging repository --------------------------------------------------------------------


async def test_hanging_repository_does_not_block_lists_that_do_not_need_it(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    await cachetesting.publish(env.fake("good"), "app", "v1")
    await cachetesting.publish(env.fake("stuck"), "app", "v1")
    env.backends.wrap[("default", "stuck")] = cachetesting.BlockingRepository
    await env.open("good")
    await env.open("stuck")
    stuck = env.backends.wrapped[("default", "stuck")]
    stuck.blocked = True
    # Make the stuck repository's memory look stale so that a list must ask its backend.
    await cachetesting.publish(env.fake("stuck"), "app", "v2")

    started = time.monotonic()
    only_good = await env.cache.list_package_revisions(
        cachetypes.PackageRevisionFilter(repository="good")
    )
    filtered_elapsed = time.monotonic() - started
    assert _names(only_good) == ["good.app.main", "good.app.v1"]
    assert stuck.waiting == 0  # never even asked
    assert filtered_elapsed < 0.5  # it did not wait out the per-repository timeout

    with caplog.at_level(logging.WARNING, logger="pkg.cache.repocache"):
        everything = await env.cache.list_package_revisions()
    assert _names(everything) == ["good.app.main", "good.app.v1"]
    assert "repository default/stuck did not answer" in caplog.text

    stuck.release()
    names = _names(await env.cache.list_package_revisions())
    assert "stuck.app.v2" in names


async def test_deadline_bounds_a_cross_repository_list(env: Env) -> None:
    env.backends.wrap[("default", "stuck")] = cachetesting.BlockingRepository
    await env.open("stuck")
    stuck = env.backends.wrapped[("default", "stuck")]
    stuck.blocked = True
    await cachetesting.publish(env.fake("stuck"), "app", "v1")

    started = time.monotonic()
    result = await env.cache.list_package_revisions(deadline=time.monotonic() + 0.1)
    assert result == []
    assert time.monotonic() - started < 0.5  # the deadline, not the 0.5 s timeout
    stuck.release()


def test_cache_implements_the_contract() -> None:
    cache: cachetypes.Cache = cachetesting.new_fake_cache()
    assert cache.repositories() == []


async def test_creation_timestamp_is_whole_seconds_utc(env: Env) -> None:
    await cachetesting.draft(env.fake(), "app", "wip")
    cached = await env.open()
    (revision,) = await cached.list_package_revisions()
    created = revision.to_api().metadata
    assert created is not None and created.creation_timestamp is not None
    assert created.creation_timestamp.tzinfo == datetime.UTC
    assert created.creation_timestamp.microsecond == 0


async def test_write_after_unseen_external_change_brings_everything_up_to_date(env: Env) -> None:
    backend = env.fake()
    cached = await env.open()
    # Written behind the cache's back, not yet seen (no list, no refresh since).
    await cachetesting.publish(backend, "other", "v1")
    draft = await _new_draft(cached, "app", "wip", {"Kptfile": cachetesting.kptfile("app")})
    given = metatypes.PackageRevisionMeta.new("default", "repo.app.wip", "repo", labels={"a": "b"})

    written = await cached.close_package_revision_draft(draft, meta=given)

    assert dict(written.labels) == {"a": "b"}
    assert sorted(env.drain()) == [
        ("ADDED", "repo.app.wip"),
        ("ADDED", "repo.other.main"),
        ("ADDED", "repo.other.v1"),
    ]
    assert _names(cached.select(cachetypes.ANY)) == [
        "repo.app.wip",
        "repo.other.main",
        "repo.other.v1",
    ]


async def test_deployment_toggle_is_shown_on_every_revision(env: Env) -> None:
    await cachetesting.publish(env.fake(), "app", "v1")
    cached = await env.open()
    env.drain()

    await cached.set_repository(cachetesting.repository_object("repo", deployment=True))

    assert sorted(env.drain()) == [("MODIFIED", "repo.app.main"), ("MODIFIED", "repo.app.v1")]
    revision = await cached.get_package_revision("repo.app.v1")
    assert revision is not None
    status = revision.to_api().status
    assert status is not None and status.deployment is True
