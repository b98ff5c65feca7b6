"""Integration tests of the engine over real git repositories (local bare remotes, the git
backend, SQLite metadata): clone/copy/upgrade/render, rollback, concurrency, restart."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from api.porch import v1alpha1 as porchv1alpha1
from pkg.cache import cachetesting
from pkg.engine import engine, enginetesting, gitsetup
from pkg.engine import errors as engineerrors
from pkg.repository import errors
from pkg.task import tasktesting

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
BUNDLE = SHARED / "testdata" / "test-blueprints.bundle"
PORCHCTL = SHARED / "conformance" / "porchctl"
GOLDEN_BLUEPRINTS = "http://gitea.gitea.svc.cluster.local:3000/nephio/test-blueprints.git"

CTX = enginetesting.context("rpkg-clone")
pr = enginetesting.package_revision


class World:
    """The remotes of a test and a running engine over them."""

    def __init__(self, setup: gitsetup.GitWorld, cad: engine.CaDEngine) -> None:
        self.setup = setup
        self.engine = cad
        self.porch_test = setup.remotes / "porch-test.git"
        self.blueprints = setup.remotes / "test-blueprints.git"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    setup = gitsetup.GitWorld(tmp_path)
    setup.empty_remote("porch-test")
    setup.bundle_remote("test-blueprints", BUNDLE)
    cad = await setup.start()
    await setup.register("git", setup.remotes / "porch-test.git", namespace="rpkg-clone")
    await setup.register(
        "test-blueprints", setup.remotes / "test-blueprints.git", namespace="rpkg-clone"
    )
    yield World(setup, cad)
    await setup.stop()


def _git_clone(remote: Path, ref: str, directory: str) -> porchv1alpha1.Task:
    return porchv1alpha1.Task(
        type="clone",
        clone=porchv1alpha1.PackageCloneTaskSpec(
            upstream_ref=porchv1alpha1.UpstreamPackage(
                type="git",
                git=porchv1alpha1.GitPackage(repo=str(remote), ref=ref, directory=directory),
            )
        ),
    )


def _ref_clone(name: str) -> porchv1alpha1.Task:
    return porchv1alpha1.Task(
        type="clone",
        clone=porchv1alpha1.PackageCloneTaskSpec(
            upstream_ref=porchv1alpha1.UpstreamPackage(
                upstream_ref=porchv1alpha1.PackageRevisionRef(name=name)
            )
        ),
    )


def _name(obj: porchv1alpha1.PackageRevision) -> str:
    assert obj.metadata is not None and obj.metadata.name is not None
    return obj.metadata.name


def _lifecycle(obj: porchv1alpha1.PackageRevision, value: str) -> porchv1alpha1.PackageRevision:
    new = obj.model_copy(deep=True)
    assert new.spec is not None
    new.spec.lifecycle = value  # type: ignore[assignment]
    return new


async def _publish(
    cad: engine.CaDEngine, obj: porchv1alpha1.PackageRevision, ctx: engine.EngineContext = CTX
) -> porchv1alpha1.PackageRevision:
    proposed = await cad.update_package_revision(ctx, _name(obj), _lifecycle(obj, "Proposed"))
    return await cad.update_package_revision_approval(
        ctx, _name(obj), _lifecycle(proposed, "Published")
    )


async def _files(
    cad: engine.CaDEngine, name: str, ctx: engine.EngineContext = CTX
) -> dict[str, str]:
    prr = await cad.get_package_revision_resources(ctx, name)
    assert prr.spec is not None and prr.spec.resources is not None
    return prr.spec.resources


async def _push(
    cad: engine.CaDEngine, name: str, files: dict[str, str], ctx: engine.EngineContext = CTX
) -> porchv1alpha1.PackageRevisionResources:
    current = await cad.get_package_revision_resources(ctx, name)
    new = current.model_copy(deep=True)
    assert new.spec is not None
    new.spec.resources = files
    return await cad.update_package_resources(ctx, name, new)


# --- clone (porchctl rpkg-clone) -----------------------------------------------------------


async def test_rpkg_clone_golden(world: World) -> None:
    cad = world.engine
    created = await cad.create_package_revision(
        CTX,
        pr(
            "basens-clone",
            "clone-2",
            repository="git",
            tasks=[_git_clone(world.blueprints, "basens/v1", "basens")],
        ),
    )
    assert _name(created) == "git.basens-clone.clone-2"
    refs = world.setup.refs(world.porch_test)
    assert "refs/heads/drafts/basens-clone/clone-2" in refs

    with pytest.raises(engineerrors.PackageExistsError) as err:
        await cad.create_package_revision(
            CTX,
            pr(
                "basens-clone",
                "clone-3",
                repository="git",
                tasks=[_git_clone(world.blueprints, "basens/v1", "basens")],
            ),
        )
    assert str(err.value) == (
        '`clone` cannot create a new revision for package "basens-clone" that already exists '
        'in repo "git"; make subsequent revisions using `copy`'
    )

    empty = await cad.create_package_revision(
        CTX,
        pr(
            "empty-clone",
            "clone-1",
            repository="git",
            tasks=[_ref_clone("test-blueprints.empty.v1")],
        ),
    )
    case = PORCHCTL / "rpkg-clone" / "config.yaml"
    for obj, pulled in ((created, "git.basens-clone.clone-2"), (empty, "git.empty-clone.clone-1")):
        expected = tasktesting.replace_strings(
            tasktesting.pulled_items(case, pulled), GOLDEN_BLUEPRINTS, str(world.blueprints)
        )
        assert tasktesting.package_items(await _files(cad, _name(obj))) == expected, pulled


# --- lifecycle in git ----------------------------------------------------------------------


async def test_propose_approve_copy_and_delete_in_git(world: World) -> None:
    cad = world.engine
    draft = await cad.create_package_revision(CTX, pr("app", "v1", repository="git"))
    proposed = await cad.update_package_revision(CTX, _name(draft), _lifecycle(draft, "Proposed"))
    refs = world.setup.refs(world.porch_test)
    assert "refs/heads/proposed/app/v1" in refs
    assert "refs/heads/drafts/app/v1" not in refs
    published = await cad.update_package_revision_approval(
        CTX, _name(draft), _lifecycle(proposed, "Published")
    )
    assert published.spec is not None and published.spec.revision == 1
    refs = world.setup.refs(world.porch_test)
    assert "refs/tags/app/v1" in refs and "refs/heads/proposed/app/v1" not in refs
    tree = gitsetup.git_cli("ls-tree", "-r", "--name-only", "main", cwd=world.porch_test)
    assert "app/Kptfile" in tree.splitlines()

    copy = await cad.create_package_revision(
        CTX,
        pr(
            "app",
            "v2",
            repository="git",
            tasks=[
                porchv1alpha1.Task(
                    type="edit",
                    edit=porchv1alpha1.PackageEditTaskSpec(
                        source_ref=porchv1alpha1.PackageRevisionRef(name=_name(published))
                    ),
                )
            ],
        ),
    )
    assert await _files(cad, _name(copy)) == await _files(cad, _name(published))
    names = {_name(o) for o in (await cad.list_package_revisions(CTX)).items}
    assert {"git.app.main", "git.app.v1", "git.app.v2"} <= names

    _, deleted = await cad.delete_package_revision(CTX, _name(copy))
    assert deleted
    assert "refs/heads/drafts/app/v2" not in world.setup.refs(world.porch_test)


async def test_render_through_resources_update(world: World) -> None:
    cad = world.engine
    obj = await cad.create_package_revision(CTX, pr("app", "ws", repository="git"))
    files = await _files(cad, _name(obj))
    files["Kptfile"] += (
        "pipeline:\n  mutators:\n  - image: set-namespace:v0.4\n    configMap:\n"
        "      namespace: prod\n"
    )
    files["cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
    result = await _push(cad, _name(obj), files)
    assert result.spec is not None and result.spec.resources is not None
    assert yaml.safe_load(result.spec.resources["cm.yaml"])["metadata"]["namespace"] == "prod"
    head = gitsetup.git_cli("log", "-1", "--format=%B", "drafts/app/ws", cwd=world.porch_test)
    assert head.startswith("Rendering package")
    shown = gitsetup.git_cli("show", "drafts/app/ws:app/cm.yaml", cwd=world.porch_test)
    assert "namespace: prod" in shown


# --- upgrade (porchctl rpkg-upgrade, in one repository) ----------------------------------------


async def test_upgrade_merges_upstream_and_local_changes(world: World) -> None:
    cad = world.engine
    orig_v1 = await _publish(
        cad,
        await cad.create_package_revision(
            CTX,
            pr(
                "upgrade-orig",
                "v1",
                repository="git",
                tasks=[_git_clone(world.blueprints, "basens/v1", "basens")],
            ),
        ),
    )
    downstream = await cad.create_package_revision(
        CTX, pr("upgrade-downstream", "v1", repository="git", tasks=[_ref_clone(_name(orig_v1))])
    )
    files = await _files(cad, _name(downstream))
    files["cm1.yaml"] = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: configmap1\ndata:\n"
        '  foo: "bar" # kpt-set: ${foo}\n'
    )
    files["setters.yaml"] = (
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: setters\ndata:\n  foo: "baz"\n'
    )
    files["Kptfile"] += (
        "pipeline:\n  mutators:\n  - image: apply-setters:v0.2\n    configPath: setters.yaml\n"
    )
    pushed = await _push(cad, _name(downstream), files)
    assert pushed.spec is not None and pushed.spec.resources is not None
    assert yaml.safe_load(pushed.spec.resources["cm1.yaml"])["data"]["foo"] == "baz"
    downstream = await _publish(cad, await cad.get_package_revision(CTX, _name(downstream)))

    orig_v2 = await cad.create_package_revision(
        CTX,
        pr(
            "upgrade-orig",
            "v2",
            repository="git",
            tasks=[
                porchv1alpha1.Task(
                    type="edit",
                    edit=porchv1alpha1.PackageEditTaskSpec(
                        source_ref=porchv1alpha1.PackageRevisionRef(name=_name(orig_v1))
                    ),
                )
            ],
        ),
    )
    files = await _files(cad, _name(orig_v2))
    files["cm2.yaml"] = (
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: configmap2\ndata:\n  fruit: "apple"\n'
    )
    await _push(cad, _name(orig_v2), files)
    orig_v2 = await _publish(cad, await cad.get_package_revision(CTX, _name(orig_v2)))

    upgrade = porchv1alpha1.Task(
        type="upgrade",
        upgrade=porchv1alpha1.PackageUpgradeTaskSpec(
            old_upstream_ref=porchv1alpha1.PackageRevisionRef(name=_name(orig_v1)),
            new_upstream_ref=porchv1alpha1.PackageRevisionRef(name=_name(orig_v2)),
            local_package_revision_ref=porchv1alpha1.PackageRevisionRef(name=_name(downstream)),
        ),
    )
    upgraded = await cad.create_package_revision(
        CTX, pr("upgrade-downstream", "v2", repository="git", tasks=[upgrade])
    )
    assert upgraded.spec is not None and upgraded.spec.tasks is not None
    task = upgraded.spec.tasks[0]
    assert task.upgrade is not None and task.upgrade.new_upstream_ref is not None
    assert task.upgrade.new_upstream_ref.name == "git.upgrade-orig.v2"
    result = await _files(cad, _name(upgraded))
    assert {"cm1.yaml", "cm2.yaml", "setters.yaml", "namespace.yaml"} <= set(result)
    assert yaml.safe_load(result["cm1.yaml"])["data"]["foo"] == "baz"
    kptfile = yaml.safe_load(result["Kptfile"])
    assert kptfile["metadata"]["name"] == "upgrade-downstream"
    assert kptfile["upstreamLock"]["git"]["ref"] == "upgrade-orig/v2"
    assert (
        kptfile["upstreamLock"]["git"]["commit"]
        == world.setup.refs(world.porch_test)["refs/tags/upgrade-orig/v2"]
    )
    assert kptfile["pipeline"]["mutators"][0]["image"] == "apply-setters:v0.2"
    assert upgraded.status is not None and upgraded.status.upstream_lock is not None


# --- rollback ------------------------------------------------------------------------------------


async def test_create_whose_push_fails_leaves_nothing(world: World) -> None:
    # Another git client holds the lock of the draft's branch in the remote (a stuck
    # `git push` would): every push attempt fails with "failed to lock".
    lock = world.porch_test / "refs" / "heads" / "drafts" / "app" / "ws.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("", encoding="utf-8")
    before = world.setup.refs(world.porch_test)
    with pytest.raises(errors.RepositoryError):
        await world.engine.create_package_revision(CTX, pr("app", "ws", repository="git"))
    assert world.setup.refs(world.porch_test) == before
    assert world.setup.store is not None
    assert await world.setup.store.list("rpkg-clone", "git") == []
    with pytest.raises(engineerrors.ObjectNotFoundError):
        await world.engine.get_package_revision(CTX, "git.app.ws")
    # Once the lock is gone the same create succeeds.
    lock.unlink()
    created = await world.engine.create_package_revision(CTX, pr("app", "ws", repository="git"))
    assert _name(created) == "git.app.ws"


async def test_create_whose_metadata_cannot_be_stored_is_rolled_back(tmp_path: Path) -> None:
    setup = gitsetup.GitWorld(tmp_path)
    remote = setup.empty_remote("porch-test")
    store = cachetesting.DiskFullMetadataStore(failing=True)
    cad = await setup.start(metadata=store)
    try:
        await setup.register("git", remote, namespace="rpkg-clone")
        watcher = cad.watch_package_revisions(CTX)
        before = setup.refs(remote)
        with pytest.raises(errors.BackendUnavailableError, match="disk is full"):
            await cad.create_package_revision(CTX, pr("app", "ws", repository="git"))
        assert setup.refs(remote) == before
        listed = await cad.list_package_revisions(CTX)
        assert [_name(o) for o in listed.items] == []
        # A watcher saw the revision come and go: no ghost left on its side either.
        events = [await asyncio.wait_for(anext(watcher), timeout=5) for _ in range(2)]
        seen = [(e.type, _name(e.object)) for e in events]
        assert seen == [("ADDED", "git.app.ws"), ("DELETED", "git.app.ws")]
        await watcher.aclose()
        # Once the store works again the same create succeeds (nothing was left behind).
        store.failing = False
        created = await cad.create_package_revision(CTX, pr("app", "ws", repository="git"))
        assert _name(created) == "git.app.ws"
    finally:
        await setup.stop()


# --- concurrency and restart ---------------------------------------------------------------------


async def test_concurrent_updates_one_wins_in_git(world: World) -> None:
    cad = world.engine
    obj = await cad.create_package_revision(CTX, pr("app", "ws", repository="git"))
    results = await asyncio.gather(
        cad.update_package_revision(CTX, _name(obj), _lifecycle(obj, "Proposed")),
        cad.delete_package_revision(CTX, _name(obj)),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1 and isinstance(failures[0], engineerrors.InProgressError)
    assert str(failures[0]) == (
        'another request is already in progress on package revision "rpkg-clone/git.app.ws"'
    )


async def test_restart_loses_nothing(world: World) -> None:
    cad = world.engine
    obj = await cad.create_package_revision(
        CTX, pr("app", "v1", repository="git", labels={"team": "a"}, finalizers=["x.io/keep"])
    )
    published = await _publish(cad, obj)
    draft = await cad.create_package_revision(
        CTX, pr("other", "ws", repository="git", annotations={"note": "n"})
    )
    before = {
        _name(o): o.model_dump(by_alias=True, exclude_none=True)
        for o in (await cad.list_package_revisions(CTX)).items
    }
    assert _name(published) in before and _name(draft) in before

    cad = await _restart(world)
    after = {
        _name(o): o.model_dump(by_alias=True, exclude_none=True)
        for o in (await cad.list_package_revisions(CTX)).items
    }
    assert after == before
    restored = after[_name(published)]["metadata"]
    assert restored["labels"] == {"team": "a", "kpt.dev/latest-revision": "true"}
    assert restored["finalizers"] == ["x.io/keep"]


async def _restart(world: World) -> engine.CaDEngine:
    """Stop the engine and start it again on the same data dir and repositories."""
    await world.setup.stop()
    cad = await world.setup.start()
    world.engine = cad
    await world.setup.register("git", world.porch_test, namespace="rpkg-clone")
    await world.setup.register("test-blueprints", world.blueprints, namespace="rpkg-clone")
    return cad


async def test_resource_versions_after_metadata_changes_survive_a_restart(world: World) -> None:
    cad = world.engine
    published = await _publish(
        cad, await cad.create_package_revision(CTX, pr("app", "v1", repository="git"))
    )
    draft = await cad.create_package_revision(CTX, pr("other", "ws", repository="git"))
    stale = {}
    for obj in (published, draft):
        assert obj.metadata is not None
        stale[_name(obj)] = obj
        relabelled = obj.model_copy(deep=True)
        assert relabelled.metadata is not None
        relabelled.metadata.labels = {**(obj.metadata.labels or {}), "team": "a"}
        await cad.update_package_revision(CTX, _name(obj), relabelled)
    before = {
        _name(o): o.metadata.resource_version
        for o in (await cad.list_package_revisions(CTX)).items
        if o.metadata is not None
    }
    for name, obj in stale.items():
        assert obj.metadata is not None and before[name] != obj.metadata.resource_version

    cad = await _restart(world)
    after = {
        _name(o): o.metadata.resource_version
        for o in (await cad.list_package_revisions(CTX)).items
        if o.metadata is not None
    }
    assert after == before
    # A copy read before the label change is still stale after the restart.
    for name, obj in stale.items():
        with pytest.raises(engineerrors.StaleObjectError):
            await cad.update_package_revision(CTX, name, obj)
    prr = await cad.get_package_revision_resources(CTX, _name(draft))
    assert prr.metadata is not None and prr.metadata.resource_version == before[_name(draft)]


async def test_managed_fields_survive_a_restart(world: World) -> None:
    cad = world.engine
    created_by = enginetesting.managed_fields_entry(
        "kubectl-client-side-apply",
        fields={"f:spec": {"f:lifecycle": {}}},
        time=datetime.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.UTC),
    )
    edited_by = enginetesting.managed_fields_entry(
        "kubectl-edit", fields={"f:metadata": {"f:labels": {"f:team": {}}}}
    )
    approved_by = enginetesting.managed_fields_entry("porchctl", subresource="approval")
    # A draft whose managedFields alone changed through an update, and a revision approved.
    stale = await cad.create_package_revision(
        CTX, pr("app", "ws", repository="git", managed_fields=[created_by])
    )
    changed = stale.model_copy(deep=True)
    assert changed.metadata is not None
    changed.metadata.managed_fields = [created_by, edited_by]
    draft = await cad.update_package_revision(CTX, _name(stale), changed)
    other = await cad.create_package_revision(
        CTX, pr("other", "v1", repository="git", managed_fields=[created_by])
    )
    proposed = await cad.update_package_revision(CTX, _name(other), _lifecycle(other, "Proposed"))
    approval = _lifecycle(proposed, "Published")
    assert approval.metadata is not None
    approval.metadata.managed_fields = [created_by, approved_by]
    await cad.update_package_revision_approval(CTX, _name(other), approval)
    before = {
        _name(o): (o.metadata.resource_version, o.metadata.managed_fields)
        for o in (await cad.list_package_revisions(CTX)).items
        if o.metadata is not None and o.spec is not None and o.spec.repository == "git"
    }
    assert before[_name(draft)][1] == [created_by, edited_by]
    assert before[_name(other)][1] == [created_by, approved_by]
    assert before["git.other.main"][1] is None

    cad = await _restart(world)
    after = {
        _name(o): (o.metadata.resource_version, o.metadata.managed_fields)
        for o in (await cad.list_package_revisions(CTX)).items
        if o.metadata is not None and o.spec is not None and o.spec.repository == "git"
    }
    assert after == before
    # Times come back to the microsecond: the entries are equal, not just alike.
    restored = await cad.get_package_revision(CTX, _name(draft))
    assert restored.metadata is not None and restored.metadata.managed_fields is not None
    assert restored.metadata.managed_fields[0].time == created_by.time
    # A copy from before the managedFields change is still stale after the restart.
    with pytest.raises(engineerrors.StaleObjectError):
        await cad.update_package_revision(CTX, _name(stale), _lifecycle(stale, "Proposed"))


# --- porchctl rpkg-upgrade: directories, deployment repositories, one remote --------------------


def _upgrade_task(old: str, new: str, local: str) -> porchv1alpha1.Task:
    return porchv1alpha1.Task(
        type="upgrade",
        upgrade=porchv1alpha1.PackageUpgradeTaskSpec(
            old_upstream_ref=porchv1alpha1.PackageRevisionRef(name=old),
            new_upstream_ref=porchv1alpha1.PackageRevisionRef(name=new),
            local_package_revision_ref=porchv1alpha1.PackageRevisionRef(name=local),
        ),
    )


def _edit(name: str) -> porchv1alpha1.Task:
    return porchv1alpha1.Task(
        type="edit",
        edit=porchv1alpha1.PackageEditTaskSpec(
            source_ref=porchv1alpha1.PackageRevisionRef(name=name)
        ),
    )


async def test_rpkg_upgrade_flow(tmp_path: Path) -> None:
    ctx = enginetesting.context("rpkg-upgrade")
    setup = gitsetup.GitWorld(tmp_path)
    remote = setup.empty_remote("porch-test")
    blueprints = setup.bundle_remote("test-blueprints", BUNDLE)
    cad = await setup.start()
    try:
        await setup.register(
            "git", remote, namespace="rpkg-upgrade", deployment=True, directory="upstream"
        )
        orig_v1 = await _publish(
            cad,
            await cad.create_package_revision(
                ctx,
                pr(
                    "upgrade-orig",
                    "v1",
                    repository="git",
                    tasks=[_git_clone(blueprints, "basens/v1", "basens")],
                ),
            ),
            ctx,
        )
        downstream = await cad.create_package_revision(
            ctx,
            pr(
                "upgrade-downstream",
                "v1",
                repository="git",
                tasks=[_ref_clone("git.upgrade-orig.v1")],
            ),
        )
        await _publish(cad, downstream, ctx)
        orig_v2 = await cad.create_package_revision(
            ctx, pr("upgrade-orig", "v2", repository="git", tasks=[_edit(_name(orig_v1))])
        )
        files = await _files(cad, _name(orig_v2), ctx)
        files["cm2.yaml"] = (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: configmap2\n"
            'data:\n  fruit: "apple"\n'
        )
        await _push(cad, _name(orig_v2), files, ctx)
        await _publish(cad, await cad.get_package_revision(ctx, _name(orig_v2)), ctx)

        table = sorted(
            (
                _name(o),
                o.spec.package_name if o.spec else None,
                o.spec.workspace_name if o.spec else None,
                (o.spec.revision or 0) if o.spec else None,
                bool(o.metadata and (o.metadata.labels or {}).get("kpt.dev/latest-revision")),
                o.spec.lifecycle if o.spec else None,
            )
            for o in (await cad.list_package_revisions(ctx)).items
        )
        assert table == [
            ("git.upgrade-downstream.main", "upgrade-downstream", "main", -1, False, "Published"),
            ("git.upgrade-downstream.v1", "upgrade-downstream", "v1", 1, True, "Published"),
            ("git.upgrade-orig.main", "upgrade-orig", "main", -1, False, "Published"),
            ("git.upgrade-orig.v1", "upgrade-orig", "v1", 1, False, "Published"),
            ("git.upgrade-orig.v2", "upgrade-orig", "v2", 2, True, "Published"),
        ]
        upgraded = await cad.create_package_revision(
            ctx,
            pr(
                "upgrade-downstream",
                "v2",
                repository="git",
                tasks=[
                    _upgrade_task(
                        "git.upgrade-orig.v1", "git.upgrade-orig.v2", "git.upgrade-downstream.v1"
                    )
                ],
            ),
        )
        assert _name(upgraded) == "git.upgrade-downstream.v2"
        assert "cm2.yaml" in await _files(cad, _name(upgraded), ctx)

        # A second deployment repository on the same remote, another directory.
        await setup.register(
            "downstream1",
            remote,
            namespace="rpkg-upgrade",
            deployment=True,
            directory="downstream1",
        )
        local = await _publish(
            cad,
            await cad.create_package_revision(
                ctx,
                pr(
                    "upgrade-orig",
                    "v1",
                    repository="downstream1",
                    tasks=[_ref_clone("git.upgrade-orig.v1")],
                ),
            ),
            ctx,
        )
        local_files = await _files(cad, _name(local), ctx)
        lock = yaml.safe_load(local_files["Kptfile"])["upstreamLock"]["git"]
        assert (lock["directory"], lock["ref"]) == (
            "upstream/upgrade-orig",
            "upstream/upgrade-orig/v1",
        )
        assert yaml.safe_load(local_files["package-context.yaml"])["data"] == {
            "name": "upgrade-orig",
            "package-path": "upgrade-orig",
        }
        upgraded = await cad.create_package_revision(
            ctx,
            pr(
                "upgrade-orig",
                "v2",
                repository="downstream1",
                tasks=[_upgrade_task("git.upgrade-orig.v1", "git.upgrade-orig.v2", _name(local))],
            ),
        )
        assert upgraded.spec is not None and upgraded.spec.tasks is not None
        task = upgraded.spec.tasks[0]
        assert task.upgrade is not None and task.upgrade.new_upstream_ref is not None
        assert task.upgrade.new_upstream_ref.name == "git.upgrade-orig.v2"
        published = await _publish(cad, upgraded, ctx)
        assert published.spec is not None and published.spec.revision == 2
        refs = setup.refs(remote)
        assert {
            "refs/tags/upstream/upgrade-orig/v2",
            "refs/tags/downstream1/upgrade-orig/v2",
        } <= set(refs)
    finally:
        await setup.stop()
