"""The fake keeps the git backend's observable rules (lifecycle, numbering, conflicts)."""

from __future__ import annotations

import pytest

from api.porch import v1alpha1 as porchv1alpha1
from pkg.repository import errors
from pkg.repository import repository as repo_api
from pkg.repository.fake import repository as fake

KEY = repo_api.RepositoryKey("default", repo_api.RepositoryName("blueprints"))
KPTFILE = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n"
INIT = porchv1alpha1.Task.model_validate({"type": "init", "init": {"description": "d"}})
ALICE = repo_api.UserInfo("alice", frozenset({"system:authenticated"}))


def _key(workspace: str, package: str = "pkg") -> repo_api.PackageRevisionKey:
    return repo_api.PackageRevisionKey(
        pkg_key=repo_api.PackageKey.from_package_path(KEY, package),
        revision=0,
        workspace_name=repo_api.WorkspaceName(workspace),
    )


async def _created(repo: fake.FakeRepository, workspace: str) -> fake.FakePackageRevision:
    draft = await repo.create_package_revision_draft(_key(workspace), user=ALICE)
    await draft.update_resources({"Kptfile": KPTFILE}, INIT)
    return await repo.close_package_revision_draft(draft)


async def _approved(repo: fake.FakeRepository, workspace: str) -> fake.FakePackageRevision:
    draft = await repo.update_package_revision(await _created(repo, workspace), user=ALICE)
    await draft.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    return await repo.close_package_revision_draft(draft)


async def test_lifecycle_numbering_and_placeholder() -> None:
    repo = fake.FakeRepository(KEY)
    version = await repo.version()
    draft = await _created(repo, "ws1")
    assert (draft.name, draft.lifecycle, draft.key.revision) == (
        "blueprints.pkg.ws1",
        repo_api.Lifecycle.DRAFT,
        0,
    )
    assert await repo.version() != version
    assert [t.type for t in draft.tasks] == ["init"]

    proposing = await repo.update_package_revision(draft)
    await proposing.update_lifecycle(repo_api.Lifecycle.PROPOSED)
    proposed = await repo.close_package_revision_draft(proposing)
    approving = await repo.update_package_revision(proposed, user=ALICE)
    await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    v1 = await repo.close_package_revision_draft(approving)
    v2 = await _approved(repo, "ws2")
    assert (v1.key.revision, v2.key.revision) == (1, 2)
    assert v1.published_by == "alice"
    names: dict[str, fake.FakePackageRevision] = {
        r.name: r for r in await repo.list_package_revisions()
    }
    assert set(names) == {"blueprints.pkg.ws1", "blueprints.pkg.ws2", "blueprints.pkg.main"}
    assert names["blueprints.pkg.main"].key.is_placeholder
    assert (await repo.list_packages())[0].latest_revision == 2

    proposing = await repo.update_package_revision(v1)
    await proposing.update_lifecycle(repo_api.Lifecycle.DELETION_PROPOSED)
    doomed = await repo.close_package_revision_draft(proposing)
    assert doomed.lifecycle is repo_api.Lifecycle.DELETION_PROPOSED
    await repo.delete_package_revision(doomed)
    await repo.delete_package_revision(doomed)  # idempotent
    assert {r.name for r in await repo.list_package_revisions()} == {
        "blueprints.pkg.ws2",
        "blueprints.pkg.main",
    }


async def test_stale_writes_conflict_and_duplicates_exist() -> None:
    repo = fake.FakeRepository(KEY)
    snapshot = await _created(repo, "ws")
    first = await repo.update_package_revision(snapshot)
    second = await repo.update_package_revision(snapshot)
    await first.update_resources({"Kptfile": KPTFILE, "a.yaml": "a"}, None)
    await second.update_resources({"Kptfile": KPTFILE, "b.yaml": "b"}, None)
    winner = await repo.close_package_revision_draft(first)
    with pytest.raises(errors.ConflictError, match="has been modified"):
        await repo.close_package_revision_draft(second)
    with pytest.raises(errors.ConflictError):
        await repo.delete_package_revision(snapshot)
    assert sorted(await winner.resources()) == ["Kptfile", "a.yaml"]
    with pytest.raises(errors.AlreadyExistsError):
        await _created(repo, "ws")

    v1 = await _approved(repo, "a")
    late = await repo.update_package_revision(await _created(repo, "b"))
    await late.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    with pytest.raises(errors.AlreadyExistsError, match="pkg/v1 already exists"):
        await repo.close_package_revision_draft(late, revision=v1.key.revision)


async def test_rules_on_content_and_lifecycle() -> None:
    repo = fake.FakeRepository(KEY)
    draft = await repo.create_package_revision_draft(_key("ws"))
    with pytest.raises(errors.InvalidPackageError, match=r"'\.\.' segments"):
        await draft.update_resources({"Kptfile": KPTFILE, "../x": "x"}, INIT)
    with pytest.raises(errors.InvalidPackageError, match="Kptfile"):
        await repo.close_package_revision_draft(draft)
    with pytest.raises(errors.ForbiddenError):
        await draft.update_lifecycle(repo_api.Lifecycle.DELETION_PROPOSED)
    published = await _approved(repo, "v")
    editing = await repo.update_package_revision(published)
    with pytest.raises(errors.ForbiddenError, match="package must be Draft"):
        await editing.update_resources({"Kptfile": KPTFILE}, None)
    with pytest.raises(errors.InvalidPackageError, match="resource name invalid"):
        await repo.create_package_revision_draft(_key("Bad_WS"))
