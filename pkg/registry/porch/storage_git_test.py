"""The porch.kpt.dev storages over real git (local bare remotes, the git backend, SQLite
metadata): the lifecycle of porchctl's golden cases, their error texts, dry runs, watch."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import fields
from pkg.engine import enginetesting, gitsetup
from pkg.registry import porch as porchregistry
from pkg.registry.porch import porchtesting, watch
from pkg.registry.rest import rest

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
BUNDLE = SHARED / "testdata" / "test-blueprints.bundle"
NS = "rpkg-init"
COMMIT = re.compile(r"^[0-9a-f]{40}$")


class World:
    """Real git remotes, a running engine over them, and the storages."""

    def __init__(self, setup: gitsetup.GitWorld, storages: dict[str, rest.Storage]) -> None:
        self.setup = setup
        self.remote = setup.remotes / "porch-test.git"
        self.revisions = storages["packagerevisions"]
        self.approval = storages["packagerevisions/approval"]
        self.resources = storages["packagerevisionresources"]
        self.packages = storages["packages"]

    def ctx(self, *, dry_run: bool = False) -> rest.RequestContext:
        return porchtesting.context(NS, dry_run=dry_run)

    async def create(self, obj: porchv1alpha1.PackageRevision) -> porchv1alpha1.PackageRevision:
        assert isinstance(self.revisions, rest.Creater)
        created = await self.revisions.create(self.ctx(), obj, rest.CreateOptions())
        assert isinstance(created, porchv1alpha1.PackageRevision)
        return created

    async def get(self, name: str) -> porchv1alpha1.PackageRevision:
        assert isinstance(self.revisions, rest.Getter)
        obj = await self.revisions.get(self.ctx(), name)
        assert isinstance(obj, porchv1alpha1.PackageRevision)
        return obj.model_copy(deep=True)

    async def resources_of(self, name: str) -> porchv1alpha1.PackageRevisionResources:
        assert isinstance(self.resources, rest.Getter)
        obj = await self.resources.get(self.ctx(), name)
        assert isinstance(obj, porchv1alpha1.PackageRevisionResources)
        return obj.model_copy(deep=True)

    async def put(
        self,
        obj: porchv1alpha1.PackageRevision | porchv1alpha1.PackageRevisionResources,
        storage: rest.Storage,
        *,
        dry_run: bool = False,
    ) -> object:
        assert isinstance(storage, rest.Updater) and obj.metadata is not None
        stored, _ = await storage.update(
            self.ctx(dry_run=dry_run),
            obj.metadata.name or "",
            porchtesting.Replace(obj),
            rest.UpdateOptions(),
        )
        return stored

    async def set_lifecycle(
        self, name: str, value: str, storage: rest.Storage | None = None
    ) -> porchv1alpha1.PackageRevision:
        obj = await self.get(name)
        assert obj.spec is not None
        obj.spec.lifecycle = value  # type: ignore[assignment]
        stored = await self.put(obj, storage or self.revisions)
        assert isinstance(stored, porchv1alpha1.PackageRevision)
        return stored


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    setup = gitsetup.GitWorld(tmp_path)
    setup.empty_remote("porch-test")
    setup.bundle_remote("test-blueprints", BUNDLE)
    cad = await setup.start()
    await setup.register("git", setup.remotes / "porch-test.git", namespace=NS)
    await setup.register("test-blueprints", setup.remotes / "test-blueprints.git", namespace=NS)
    yield World(setup, porchregistry.new_storages(cad))
    await setup.stop()


def _init(workspace: str, package: str = "init-package") -> porchv1alpha1.PackageRevision:
    return enginetesting.package_revision(
        package,
        workspace,
        repository="git",
        tasks=[
            porchv1alpha1.Task(
                type="init",
                init=porchv1alpha1.PackageInitTaskSpec(description="Test Package Description"),
            )
        ],
    )


async def test_init_propose_approve_over_git(world: World) -> None:
    created = await world.create(_init("init-1"))
    assert created.metadata is not None and created.metadata.name == "git.init-package.init-1"
    assert COMMIT.match(created.metadata.resource_version or "")
    refs = world.setup.refs(world.remote)
    assert refs["refs/heads/drafts/init-package/init-1"] == created.metadata.resource_version

    await world.set_lifecycle("git.init-package.init-1", "Proposed")
    approved = await world.set_lifecycle(
        "git.init-package.init-1", "Published", storage=world.approval
    )
    assert approved.spec is not None and approved.spec.revision == 1
    assert "refs/tags/init-package/v1" in world.setup.refs(world.remote)
    assert isinstance(world.revisions, rest.Lister)
    latest = await world.revisions.list(
        world.ctx(), rest.ListOptions(field_selector=fields.parse("spec.repository=git"))
    )
    assert porchtesting.names(latest) == ["git.init-package.init-1", "git.init-package.main"]
    assert isinstance(world.packages, rest.Getter)
    package = await world.packages.get(world.ctx(), "git.init-package")
    assert isinstance(package, porchv1alpha1.PorchPackage) and package.status is not None
    assert package.status.latest_revision == 1


async def test_the_golden_error_texts_over_git(world: World) -> None:
    await world.create(_init("init-1"))
    # rpkg-init: a second init of the same package.
    err = await porchtesting.status_error(world.create(_init("init-2")))
    assert (err.code, err.reason, err.message) == (
        409,
        "AlreadyExists",
        'Internal error occurred: package "init-package" already exists in repository "git"',
    )
    # rpkg-push: a push without a resourceVersion, then a stale one.
    prr = await world.resources_of("git.init-package.init-1")
    blind = prr.model_copy(deep=True)
    assert blind.metadata is not None
    blind.metadata.resource_version = None
    err = await porchtesting.status_error(world.put(blind, world.resources))
    assert (err.code, err.message) == (
        422,
        "Internal error occurred: resourceVersion must be specified for an update",
    )
    fresh = prr.model_copy(deep=True)
    assert fresh.spec is not None and fresh.spec.resources is not None
    fresh.spec.resources["extra.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
    await world.put(fresh, world.resources)
    err = await porchtesting.status_error(world.put(prr, world.resources))
    assert (err.code, err.message) == (
        409,
        "Internal error occurred: Operation cannot be fulfilled on "
        'packagerevisionresources.porch.kpt.dev "git.init-package.init-1": the object has been '
        "modified; please apply your changes to the latest version and try again",
    )
    # rpkg-lifecycle: deleting a published revision.
    await world.set_lifecycle("git.init-package.init-1", "Proposed")
    await world.set_lifecycle("git.init-package.init-1", "Published", storage=world.approval)
    assert isinstance(world.revisions, rest.GracefulDeleter)
    err = await porchtesting.status_error(
        world.revisions.delete(world.ctx(), "git.init-package.init-1", metav1.DeleteOptions())
    )
    assert (err.code, err.message) == (
        403,
        'packagerevisions.porch.kpt.dev "git.init-package.init-1" is forbidden: published '
        "PackageRevisions must be proposed for deletion by setting spec.lifecycle to "
        "'DeletionProposed' prior to deletion",
    )


async def test_clone_of_an_existing_package_over_git(world: World) -> None:
    def clone(workspace: str) -> porchv1alpha1.PackageRevision:
        task = porchv1alpha1.Task(
            type="clone",
            clone=porchv1alpha1.PackageCloneTaskSpec(
                upstream_ref=porchv1alpha1.UpstreamPackage(
                    upstream_ref=porchv1alpha1.PackageRevisionRef(name="test-blueprints.basens.v1")
                )
            ),
        )
        return enginetesting.package_revision(
            "basens-clone", workspace, repository="git", tasks=[task]
        )

    created = await world.create(clone("clone-2"))
    assert created.status is not None and created.status.upstream_lock is not None
    err = await porchtesting.status_error(world.create(clone("clone-3")))
    assert (err.code, err.reason, err.message) == (
        409,
        "AlreadyExists",
        "Internal error occurred: `clone` cannot create a new revision for package "
        '"basens-clone" that already exists in repo "git"; make subsequent revisions using '
        "`copy`",
    )


async def test_dry_runs_leave_git_as_it_was(world: World) -> None:
    created = await world.create(_init("init-1"))
    before = world.setup.refs(world.remote)

    assert isinstance(world.revisions, rest.Creater)
    dry = await world.revisions.create(
        world.ctx(dry_run=True), _init("w2", "other-package"), rest.CreateOptions()
    )
    assert isinstance(dry, porchv1alpha1.PackageRevision) and dry.metadata is not None
    assert dry.metadata.name == "git.other-package.w2"
    proposed = created.model_copy(deep=True)
    assert proposed.spec is not None
    proposed.spec.lifecycle = "Proposed"
    await world.put(proposed, world.revisions, dry_run=True)
    prr = await world.resources_of("git.init-package.init-1")
    assert prr.spec is not None and prr.spec.resources is not None
    prr.spec.resources["dry.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n"
    rendered = await world.put(prr, world.resources, dry_run=True)
    assert isinstance(rendered, porchv1alpha1.PackageRevisionResources)
    assert rendered.spec is not None and "dry.yaml" in (rendered.spec.resources or {})
    assert isinstance(world.revisions, rest.GracefulDeleter)
    await world.revisions.delete(
        world.ctx(), "git.init-package.init-1", metav1.DeleteOptions(dry_run=["All"])
    )

    assert world.setup.refs(world.remote) == before
    current = await world.get("git.init-package.init-1")
    assert current.spec is not None and current.spec.lifecycle == "Draft"


async def test_watch_over_git_follows_a_revision_from_a_list(world: World) -> None:
    await world.create(_init("init-1"))
    assert isinstance(world.revisions, rest.Lister)
    listed = await world.revisions.list(world.ctx(), rest.ListOptions())
    stream = watch.watch_package_revisions(
        world.revisions._engine,  # type: ignore[attr-defined]
        world.ctx(),
        rest.ListOptions(
            resource_version=listed.resource_version,
            field_selector=fields.parse("spec.repository=git"),
        ),
    )
    try:
        pending = asyncio.ensure_future(anext(stream))
        await world.set_lifecycle("git.init-package.init-1", "Proposed")
        event = await asyncio.wait_for(pending, 10)
        assert event.type == "MODIFIED"
        assert isinstance(event.object, porchv1alpha1.PackageRevision)
        assert event.object.spec is not None and event.object.spec.lifecycle == "Proposed"
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
