"""packagerevisions/approval storage: REST conformance and Porch's approval rules."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.engine import enginetesting
from pkg.registry.porch import packagerevision, packagerevisionapproval, porchtesting
from pkg.registry.rest import rest, resttest

NS = "default"

# What applies to a subresource that only updates (creation goes through packagerevisions,
# and the adapter proposes each new revision so that approval has something to decide):
# update_conflict changes only labels, which approval ignores; update needs ordered
# resourceVersions (Porch's are commits).
CHECKS = [
    "get_not_found",
    "update_without_resource_version",
    "update_missing_object",
    "update_name_mismatch",
    "update_dry_run",
    "update_invalid",
]


def _lifecycle(value: str) -> resttest.ObjectMutator:
    def mutate(obj: BaseModel) -> None:
        assert isinstance(obj, porchv1alpha1.PackageRevision) and obj.spec is not None
        obj.spec.lifecycle = value  # type: ignore[assignment]

    return mutate


@pytest.mark.parametrize("check", CHECKS)
async def test_conformance(check: str) -> None:
    porch = porchtesting.Porch(porchtesting.new_engine())
    approval = packagerevisionapproval.PackageRevisionApprovalStorage(porch.engine)
    revisions = packagerevision.PackageRevisionStorage(porch.engine)

    async def proposed(ctx: rest.RequestContext, created: BaseModel) -> BaseModel:
        name = created.metadata.name  # type: ignore[attr-defined]
        return await porch.lifecycle(name, "Proposed", namespace=ctx.namespace or NS)

    tester = resttest.Tester(
        porchtesting.ResttestAdapter(approval, creater=revisions, view=proposed),
        new_object=porchtesting.conformance_revision,
        update=_lifecycle("Draft"),  # reject
        invalid=_lifecycle("DeletionProposed"),
        allow_unconditional_update=False,
        tracks_generation=False,
    )
    assert set(CHECKS) <= set(tester.checks()) | {"get_not_found"}
    await tester.run(check)


async def test_approval_publishes_with_the_next_revision_and_the_latest_label(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("app", "v1")
    first = await porch.publish("repo.app.v1")
    assert (porchtesting.spec_of(first).lifecycle, porchtesting.spec_of(first).revision) == (
        "Published",
        1,
    )
    assert (porchtesting.meta_of(first).labels or {}).get("kpt.dev/latest-revision") == "true"
    await porch.create(
        "app",
        "v2",
        tasks=[
            porchv1alpha1.Task.model_validate(
                {"type": "edit", "edit": {"sourceRef": {"name": "repo.app.v1"}}}
            )
        ],
    )
    second = await porch.publish("repo.app.v2")
    assert porchtesting.spec_of(second).revision == 2
    assert "kpt.dev/latest-revision" not in (
        porchtesting.meta_of(await porch.get("repo.app.v1")).labels or {}
    )
    placeholder = await porch.get("repo.app.main")
    assert (
        porchtesting.spec_of(placeholder).lifecycle,
        porchtesting.spec_of(placeholder).revision,
    ) == ("Published", -1)


@pytest.mark.parametrize(
    ("before", "target", "message"),
    [
        pytest.param(
            [],
            "Published",
            "cannot approve package with Draft lifecycle value; only Proposed packages can be "
            "approved",
            id="draft",
        ),
        pytest.param(
            ["Proposed"],
            "DeletionProposed",
            "value for approval can be only one of Draft,Published",
            id="proposed-to-deletion",
        ),
        pytest.param(
            ["publish"],
            "Draft",
            "package with Published lifecycle value can only be updated to 'ProposeDeletion'",
            id="published-to-draft",
        ),
    ],
)
async def test_approval_refuses_changes_outside_its_table(
    porch: porchtesting.Porch, before: list[str], target: str, message: str
) -> None:
    await porch.create("app")
    if before == ["Proposed"]:
        await porch.lifecycle("repo.app.ws", "Proposed")
    elif before == ["publish"]:
        await porch.publish("repo.app.ws")
    err = await porchtesting.status_error(porch.lifecycle("repo.app.ws", target, approval=True))
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.details is not None and err.details.kind == "PackageRevision"
    assert any(message in (c.message or "") for c in err.details.causes or [])


async def test_approval_rejects_proposals_and_toggles_deletion(porch: porchtesting.Porch) -> None:
    await porch.create("app")
    await porch.lifecycle("repo.app.ws", "Proposed")
    rejected = await porch.lifecycle("repo.app.ws", "Draft", approval=True)
    assert porchtesting.spec_of(rejected).lifecycle == "Draft"
    await porch.publish("repo.app.ws")
    marked = await porch.lifecycle("repo.app.ws", "DeletionProposed", approval=True)
    assert porchtesting.spec_of(marked).lifecycle == "DeletionProposed"
    kept = await porch.lifecycle("repo.app.ws", "Published", approval=True)
    assert porchtesting.spec_of(kept).lifecycle == "Published"


async def test_approval_changes_only_the_lifecycle(porch: porchtesting.Porch) -> None:
    await porch.create("app", labels={"team": "blue"})
    proposed = await porch.lifecycle("repo.app.ws", "Proposed")
    body = proposed.model_copy(deep=True)
    porchtesting.spec_of(body).lifecycle = "Published"
    porchtesting.spec_of(body).readiness_gates = [
        porchv1alpha1.ReadinessGate(condition_type="sneaked")
    ]
    porchtesting.meta_of(body).labels = {"team": "red"}
    stored = await porch.put(body, storage=porch.approval)
    assert porchtesting.spec_of(stored).lifecycle == "Published"
    assert porchtesting.spec_of(stored).readiness_gates is None
    assert (porchtesting.meta_of(stored).labels or {}).get("team") == "blue"


class _RecordedReplace:
    """A PUT body as the API server hands it to the storage: managedFields the body leaves
    out are the stored ones, and the request's field manager has its entry."""

    def __init__(self, obj: BaseModel, entry: metav1.ManagedFieldsEntry) -> None:
        self._obj = obj
        self._entry = entry

    async def updated_object(self, ctx: rest.RequestContext, old: BaseModel | None) -> BaseModel:
        new = self._obj.model_copy(deep=True)
        meta = porchtesting.meta_of(new)
        if meta.managed_fields is None and old is not None:
            meta.managed_fields = porchtesting.meta_of(old).managed_fields
        meta.managed_fields = [*(meta.managed_fields or []), self._entry]
        return new


async def test_approval_records_the_approver_in_managed_fields(porch: porchtesting.Porch) -> None:
    author = enginetesting.managed_fields_entry("kubectl-client-side-apply")
    approver = enginetesting.managed_fields_entry("porchctl", subresource="approval")
    await porch.create("app", managed_fields=[author])
    proposed = await porch.lifecycle("repo.app.ws", "Proposed")
    body = proposed.model_copy(deep=True)
    porchtesting.spec_of(body).lifecycle = "Published"
    porchtesting.meta_of(body).managed_fields = None  # as kubectl leaves them out
    assert isinstance(porch.approval, rest.Updater)
    stored, _ = await porch.approval.update(
        porchtesting.context(NS),
        "repo.app.ws",
        _RecordedReplace(body, approver),
        rest.UpdateOptions(),
    )
    assert porchtesting.meta_of(stored).managed_fields == [author, approver]
    read = await porch.get("repo.app.ws")
    assert porchtesting.meta_of(read).managed_fields == [author, approver]


async def test_approval_of_a_stale_copy_is_a_conflict(porch: porchtesting.Porch) -> None:
    await porch.create("app")
    proposed = await porch.lifecycle("repo.app.ws", "Proposed")
    await porch.lifecycle("repo.app.ws", "Draft")
    stale = proposed.model_copy(deep=True)
    porchtesting.spec_of(stale).lifecycle = "Published"
    err = await porchtesting.status_error(porch.put(stale, storage=porch.approval))
    assert (err.code, err.reason) == (409, "Conflict")
    assert porchtesting.spec_of(await porch.get("repo.app.ws")).lifecycle == "Draft"


async def test_approval_never_creates(porch: porchtesting.Porch) -> None:
    obj = enginetesting.package_revision("app", "ws", lifecycle="Published")
    porchtesting.meta_of(obj).name = "repo.app.ws"
    err = await porchtesting.status_error(
        porch.put(obj, storage=porch.approval, force_allow_create=True)
    )
    assert (err.code, err.reason) == (404, "NotFound")
    assert (await porch.list()).items == []


async def test_approval_get_returns_the_revision_and_its_table(porch: porchtesting.Porch) -> None:
    created = await porch.create("app")
    assert isinstance(porch.approval, rest.Getter)
    assert isinstance(porch.approval, rest.TableConvertor)
    got = await porch.approval.get(porchtesting.context(NS), "repo.app.ws")
    assert got == created
    table = porch.approval.convert_to_table(porchtesting.context(NS), [got], "None")
    assert [c.name for c in table.column_definitions] == [
        "Name",
        "Package",
        "WorkspaceName",
        "Revision",
        "Latest",
        "Lifecycle",
        "Repository",
    ]
    assert table.rows[0].cells == ["repo.app.ws", "app", "ws", 0, False, "Draft", "repo"]
