"""packagerevisions storage: REST conformance and Porch's own behaviour, over fake repositories."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import codec, fields, labels
from pkg.cache import cachetesting
from pkg.engine import enginetesting
from pkg.registry.porch import packagerevision, porchtesting
from pkg.registry.rest import rest, resttest

HISTORY = 16

# resttest checks that do not apply to Porch, and why (each has a Porch-specific test here):
#   create, list, list_resource_version, update, watch_live_events: an object's
#     resourceVersion is its git commit, opaque and unordered, not an integer;
#   create_generate_name, create_without_name: Porch computes names from the spec.
# (update_conflict runs: a label-only update makes no commit, but it moves the metadata
# version, which is part of the resourceVersion, so the stale copy is refused.)
NOT_PORCH = {
    "create",
    "create_generate_name",
    "create_without_name",
    "list",
    "list_resource_version",
    "update",
    "watch_live_events",
}


def label_kptfile(obj: BaseModel) -> None:
    assert isinstance(obj, porchv1alpha1.PackageRevision) and obj.spec is not None
    labels = dict((obj.spec.package_metadata.labels if obj.spec.package_metadata else None) or {})
    labels["touched"] = str(len(labels))
    obj.spec.package_metadata = porchv1alpha1.PackageMetadata(labels=labels)


def publish_on_create(obj: BaseModel) -> None:
    assert isinstance(obj, porchv1alpha1.PackageRevision) and obj.spec is not None
    obj.spec.lifecycle = "Published"


@pytest.mark.parametrize(
    "check",
    [
        c
        for c in resttest.check_names(
            packagerevision.PackageRevisionStorage, update=True, invalid=True, history=True
        )
        if c not in NOT_PORCH
    ],
)
async def test_conformance(check: str) -> None:
    fake = porchtesting.new_engine(history_size=HISTORY)
    storage = packagerevision.PackageRevisionStorage(fake.engine)
    tester = resttest.Tester(
        porchtesting.ResttestAdapter(storage),
        new_object=porchtesting.conformance_revision,
        update=label_kptfile,
        invalid=publish_on_create,
        allow_unconditional_update=False,
        tracks_generation=False,
        history_window=HISTORY,
    )
    await tester.run(check)


# --- Porch's behaviour --------------------------------------------------------------------

NS = "default"
CTX = porchtesting.context(NS)


async def test_create_names_the_revision_from_its_spec_and_warns_about_a_given_name(
    porch: porchtesting.Porch,
) -> None:
    obj = enginetesting.package_revision("blue/app", "first")
    assert obj.metadata is not None
    obj.metadata.name = "my-own-name"
    ctx = porchtesting.context(NS)
    assert isinstance(porch.revisions, rest.Creater)
    created = await porch.revisions.create(ctx, obj, rest.CreateOptions())

    meta = porchtesting.meta_of(created)
    assert meta.name == "repo.blue.app.first"
    assert meta.namespace == NS
    assert meta.uid and meta.resource_version and meta.creation_timestamp is not None
    assert porchtesting.spec_of(created).lifecycle == "Draft"
    assert porchtesting.spec_of(created).package_name == "blue/app"
    assert ctx.warnings == [
        "metadata.name 'my-own-name' is ignored: package revisions are named "
        "<repository>.<package path>.<workspaceName> ('repo.blue.app.first')"
    ]
    assert codec.to_dict(await porch.get("repo.blue.app.first")) == codec.to_dict(created)


async def test_create_ignores_generate_name_with_a_warning(porch: porchtesting.Porch) -> None:
    obj = enginetesting.package_revision("app", "ws")
    assert obj.metadata is not None
    obj.metadata.generate_name = "app-"
    ctx = porchtesting.context(NS)
    assert isinstance(porch.revisions, rest.Creater)
    created = await porch.revisions.create(ctx, obj, rest.CreateOptions())
    assert porchtesting.meta_of(created).name == "repo.app.ws"
    assert ctx.warnings and "metadata.generateName 'app-' is ignored" in ctx.warnings[0]


@pytest.mark.parametrize(
    ("namespace", "repository", "code", "reason", "message"),
    [
        pytest.param(None, "repo", 400, "BadRequest", "namespace must be specified", id="no-ns"),
        pytest.param(NS, "", 400, "BadRequest", "spec.repositoryName is required", id="no-repo"),
        pytest.param(
            NS,
            "nosuch",
            404,
            "NotFound",
            'repositories.config.porch.kpt.dev "nosuch" not found',
            id="unknown-repo",
        ),
    ],
)
async def test_create_refuses_requests_without_a_place(
    porch: porchtesting.Porch,
    namespace: str | None,
    repository: str,
    code: int,
    reason: str,
    message: str,
) -> None:
    obj = enginetesting.package_revision("app", "ws", repository=repository)
    assert isinstance(porch.revisions, rest.Creater)
    err = await porchtesting.status_error(
        porch.revisions.create(porchtesting.context(namespace), obj, rest.CreateOptions())
    )
    assert (err.code, err.reason, err.message) == (code, reason, message)


async def test_create_refuses_the_latest_label_before_touching_the_repository(
    porch: porchtesting.Porch,
) -> None:
    obj = enginetesting.package_revision(
        "app", "Bad_WS", labels={porchv1alpha1.LATEST_REVISION_LABEL: "true"}
    )
    assert isinstance(porch.revisions, rest.Creater)
    err = await porchtesting.status_error(porch.revisions.create(CTX, obj, rest.CreateOptions()))
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.details is not None
    assert [c.field for c in err.details.causes or []] == [
        "metadata.labels[kpt.dev/latest-revision]",
        "spec.workspaceName",
    ]
    assert porch.fake.backends.opened == [], "an invalid create must not open the repository"


async def test_create_of_an_existing_workspace_is_already_exists_with_porchs_text(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("app", "ws")
    assert isinstance(porch.revisions, rest.Creater)
    err = await porchtesting.status_error(
        porch.revisions.create(
            CTX, enginetesting.package_revision("app", "ws"), rest.CreateOptions()
        )
    )
    assert (err.code, err.reason) == (409, "AlreadyExists")
    assert err.message == (
        "Internal error occurred: package revision workspaceNames must be unique; package "
        "revision with name app in repo repo with workspaceName ws already exists"
    )
    assert err.details is not None and err.details.name == "repo.app.ws"


async def test_clone_of_an_existing_package_keeps_porchs_text(porch: porchtesting.Porch) -> None:
    await porch.create("upstream", "v1")
    await porch.publish("repo.upstream.v1")
    await porch.create("basens-clone", "ws")
    clone = porchv1alpha1.Task.model_validate(
        {"type": "clone", "clone": {"upstreamRef": {"upstreamRef": {"name": "repo.upstream.v1"}}}}
    )
    assert isinstance(porch.revisions, rest.Creater)
    err = await porchtesting.status_error(
        porch.revisions.create(
            CTX,
            enginetesting.package_revision("basens-clone", "ws2", tasks=[clone]),
            rest.CreateOptions(),
        )
    )
    assert (err.code, err.reason) == (409, "AlreadyExists")
    assert err.message == (
        "Internal error occurred: `clone` cannot create a new revision for package "
        '"basens-clone" that already exists in repo "repo"; make subsequent revisions using '
        "`copy`"
    )


async def test_list_is_sorted_across_namespaces_and_reports_the_event_sequence(
    porch: porchtesting.Porch,
) -> None:
    before = await porch.list(namespace=None)
    await porch.create("b")
    await porch.create("a")
    await porch.create("a", namespace="another")
    everywhere = await porch.list(namespace=None)
    assert [
        (porchtesting.meta_of(o).namespace, porchtesting.meta_of(o).name) for o in everywhere.items
    ] == [
        ("another", "repo.a.ws"),
        ("default", "repo.a.ws"),
        ("default", "repo.b.ws"),
    ]
    assert int(everywhere.resource_version) > int(before.resource_version)
    assert everywhere.resource_version == str(
        porch.engine.watcher_manager.current_resource_version()
    )
    here = await porch.list()
    assert porchtesting.names(here) == ["repo.a.ws", "repo.b.ws"]


async def test_a_list_filtered_by_repository_or_name_reads_only_that_repository(
    porch: porchtesting.Porch,
) -> None:
    porch.fake.backends.wrap[(NS, "other")] = cachetesting.BlockingRepository
    await porch.create("app", repository="other")
    await porch.create("app")
    stuck = porch.fake.backends.wrapped[(NS, "other")]
    stuck.blocked = True  # any read of "other" now hangs

    by_repository = await porch.list(field_selector=_fields("spec.repository=repo"))
    assert porchtesting.names(by_repository) == ["repo.app.ws"]
    by_name = await porch.list(field_selector=_fields("metadata.name=repo.app.ws"))
    assert porchtesting.names(by_name) == ["repo.app.ws"]
    assert isinstance(porch.resources, rest.Lister)
    resources = await porch.list(
        porch.resources, field_selector=_fields("spec.repository=repo,spec.packageName=app")
    )
    assert porchtesting.names(resources) == ["repo.app.ws"]
    assert stuck.waiting == 0, "a filtered list asked the other repository"
    stuck.release()


async def test_the_latest_label_selects_the_latest_published_revision(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("app", "v1")
    await porch.publish("repo.app.v1")
    await porch.create("app", "v2", tasks=[_copy("repo.app.v1")])
    await porch.publish("repo.app.v2")
    await porch.create("app", "v3", tasks=[_copy("repo.app.v2")])

    latest = await porch.list(label_selector=labels.parse("kpt.dev/latest-revision=true"))
    assert porchtesting.names(latest) == ["repo.app.v2"]
    others = await porch.list(label_selector=labels.parse("kpt.dev/latest-revision!=true"))
    assert porchtesting.names(others) == ["repo.app.main", "repo.app.v1", "repo.app.v3"]


def _copy(source: str) -> porchv1alpha1.Task:
    return porchv1alpha1.Task.model_validate(
        {"type": "edit", "edit": {"sourceRef": {"name": source}}}
    )


def _fields(text: str) -> fields.Selector:
    return fields.parse(text)


async def test_list_pages_with_limit_and_continue(porch: porchtesting.Porch) -> None:
    for package in ("a", "b", "c"):
        await porch.create(package)
    first = await porch.list(limit=2)
    assert porchtesting.names(first) == ["repo.a.ws", "repo.b.ws"]
    assert first.remaining_item_count == 1 and first.continue_token
    await porch.create("d")
    second = await porch.list(limit=2, continue_token=first.continue_token)
    assert porchtesting.names(second) == ["repo.c.ws", "repo.d.ws"]
    assert second.resource_version == first.resource_version
    assert second.continue_token is None
    err = await porchtesting.status_error(porch.list(limit=2, continue_token="garbage"))
    assert (err.code, err.reason) == (400, "BadRequest")


async def test_managed_fields_of_a_create_are_returned_by_get_and_list(
    porch: porchtesting.Porch,
) -> None:
    entry = enginetesting.managed_fields_entry(
        "kubectl-client-side-apply", fields={"f:spec": {"f:lifecycle": {}}}
    )
    created = await porch.create("app", managed_fields=[entry])
    await porch.create("other")
    assert porchtesting.meta_of(created).managed_fields == [entry]
    assert porchtesting.meta_of(await porch.get("repo.app.ws")).managed_fields == [entry]
    listed = {
        porchtesting.meta_of(o).name: porchtesting.meta_of(o).managed_fields
        for o in (await porch.list()).items
    }
    assert listed == {"repo.app.ws": [entry], "repo.other.ws": None}
    # As the API shows them: the JSON a client reads.
    assert codec.to_dict(await porch.get("repo.app.ws"))["metadata"]["managedFields"] == [
        {
            "apiVersion": "porch.kpt.dev/v1alpha1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:lifecycle": {}}},
            "manager": "kubectl-client-side-apply",
            "operation": "Update",
            "time": "2026-01-02T03:04:05Z",
        }
    ]
    # The PackageRevisionResources object is another object: none of them.
    assert isinstance(porch.resources, rest.Getter)
    resources = await porch.resources.get(CTX, "repo.app.ws")
    assert porchtesting.meta_of(resources).managed_fields is None


async def test_a_put_without_managed_fields_keeps_them_and_an_empty_list_clears_them(
    porch: porchtesting.Porch,
) -> None:
    entry = enginetesting.managed_fields_entry("kubectl-client-side-apply")
    created = await porch.create("app", managed_fields=[entry])
    unset = created.model_copy(deep=True)
    porchtesting.meta_of(unset).managed_fields = None
    porchtesting.meta_of(unset).labels = {"team": "a"}
    kept = await porch.put(unset)
    assert porchtesting.meta_of(kept).managed_fields == [entry]
    cleared = kept.model_copy(deep=True)
    porchtesting.meta_of(cleared).managed_fields = []
    stored = await porch.put(cleared)
    assert porchtesting.meta_of(stored).managed_fields is None
    assert porchtesting.meta_of(stored).resource_version != (
        porchtesting.meta_of(kept).resource_version
    )
    assert porchtesting.meta_of(await porch.get("repo.app.ws")).managed_fields is None


async def test_update_of_a_stale_copy_is_a_conflict_with_porchs_text(
    porch: porchtesting.Porch,
) -> None:
    created = await porch.create("app")
    first = created.model_copy(deep=True)
    label_kptfile(first)
    stored = await porch.put(first)
    assert (
        porchtesting.meta_of(stored).resource_version
        != porchtesting.meta_of(created).resource_version
    )

    stale = created.model_copy(deep=True)
    porchtesting.spec_of(stale).readiness_gates = [
        porchv1alpha1.ReadinessGate(condition_type="stale")
    ]
    err = await porchtesting.status_error(porch.put(stale))
    assert (err.code, err.reason) == (409, "Conflict")
    assert err.message == (
        "Internal error occurred: Operation cannot be fulfilled on packagerevisions.porch.kpt.dev "
        '"repo.app.ws": the object has been modified; please apply your changes to the latest '
        "version and try again"
    )
    assert porchtesting.spec_of(await porch.get("repo.app.ws")).readiness_gates is None


async def test_label_updates_of_a_published_revision_from_one_copy_conflict(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("app")
    copy = await porch.publish("repo.app.ws")
    first = copy.model_copy(deep=True)
    porchtesting.meta_of(first).labels = {
        **(porchtesting.meta_of(copy).labels or {}),
        "owner": "alice",
    }
    stored = await porch.put(first)
    assert (
        porchtesting.meta_of(stored).resource_version != porchtesting.meta_of(copy).resource_version
    )

    second = copy.model_copy(deep=True)
    porchtesting.meta_of(second).labels = {
        **(porchtesting.meta_of(copy).labels or {}),
        "owner": "bob",
    }
    err = await porchtesting.status_error(porch.put(second))
    assert (err.code, err.reason) == (409, "Conflict")
    assert err.message == (
        "Internal error occurred: Operation cannot be fulfilled on packagerevisions.porch.kpt.dev "
        '"repo.app.ws": the object has been modified; please apply your changes to the latest '
        "version and try again"
    )
    assert (porchtesting.meta_of(await porch.get("repo.app.ws")).labels or {})["owner"] == "alice"


async def test_update_without_resource_version_is_invalid_with_porchs_text(
    porch: porchtesting.Porch,
) -> None:
    created = await porch.create("app")
    blind = created.model_copy(deep=True)
    porchtesting.meta_of(blind).resource_version = None
    err = await porchtesting.status_error(porch.put(blind))
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message == "Internal error occurred: resourceVersion must be specified for an update"
    assert err.details is not None and err.details.causes is not None
    assert err.details.causes[0].field == "metadata.resourceVersion"


async def test_update_keeps_package_metadata_the_client_left_out(porch: porchtesting.Porch) -> None:
    created = await porch.create(
        "app", package_metadata=porchv1alpha1.PackageMetadata(labels={"team": "blue"})
    )
    unaware = created.model_copy(deep=True)
    porchtesting.spec_of(unaware).package_metadata = None
    porchtesting.meta_of(unaware).labels = {"seen": "yes"}
    stored = await porch.put(unaware)
    metadata = porchtesting.spec_of(stored).package_metadata
    assert metadata is not None and metadata.labels == {"team": "blue"}
    assert porchtesting.meta_of(stored).labels == {"seen": "yes"}


@pytest.mark.parametrize(
    ("steps", "target", "field", "detail"),
    [
        pytest.param(
            [],
            "Published",
            "spec.lifecycle",
            "value can be only updated to Draft,Proposed",
            id="draft-to-published",
        ),
        pytest.param(
            [],
            "Final",
            "spec.lifecycle",
            "value can be only updated to Draft,Proposed,Published,DeletionProposed",
            id="unknown",
        ),
        pytest.param(
            ["publish"],
            "Draft",
            "spec",
            "spec can only update package with lifecycle value one of Draft,Proposed",
            id="published-to-draft",
        ),
    ],
)
async def test_main_update_refuses_transitions_outside_the_table(
    porch: porchtesting.Porch, steps: list[str], target: str, field: str, detail: str
) -> None:
    await porch.create("app")
    if "publish" in steps:
        await porch.publish("repo.app.ws")
    err = await porchtesting.status_error(porch.lifecycle("repo.app.ws", target))
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.details is not None and err.details.causes is not None
    assert (err.details.causes[0].field, detail in (err.details.causes[0].message or "")) == (
        field,
        True,
    )


async def test_a_published_revision_may_only_toggle_deletion_proposed(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("app")
    published = await porch.publish("repo.app.ws")
    assert porchtesting.spec_of(published).revision == 1
    changed = published.model_copy(deep=True)
    porchtesting.spec_of(changed).readiness_gates = [
        porchv1alpha1.ReadinessGate(condition_type="late")
    ]
    err = await porchtesting.status_error(porch.put(changed))
    assert err.code == 422
    proposed = await porch.lifecycle("repo.app.ws", "DeletionProposed")
    assert porchtesting.spec_of(proposed).lifecycle == "DeletionProposed"
    back = await porch.lifecycle("repo.app.ws", "Published")
    assert porchtesting.spec_of(back).lifecycle == "Published"


async def test_empty_lifecycle_on_update_is_stored_as_draft(porch: porchtesting.Porch) -> None:
    await porch.create("app")
    await porch.lifecycle("repo.app.ws", "Proposed")
    stored = await porch.lifecycle("repo.app.ws", "")
    assert porchtesting.spec_of(stored).lifecycle == "Draft"


async def test_put_of_a_missing_revision_is_not_found(porch: porchtesting.Porch) -> None:
    obj = enginetesting.package_revision("app", "ws")
    porchtesting.meta_of(obj).name = "repo.app.ws"
    err = await porchtesting.status_error(porch.put(obj))
    assert (err.code, err.reason, err.message) == (
        404,
        "NotFound",
        'packagerevisions.porch.kpt.dev "repo.app.ws" not found',
    )


async def test_server_side_apply_creates_a_missing_revision(porch: porchtesting.Porch) -> None:
    obj = enginetesting.package_revision("app", "ws")
    porchtesting.meta_of(obj).name = "repo.app.ws"
    assert isinstance(porch.revisions, rest.Updater)
    stored, created = await porch.revisions.update(
        CTX, "repo.app.ws", porchtesting.Replace(obj), rest.UpdateOptions(force_allow_create=True)
    )
    assert created and porchtesting.meta_of(stored).name == "repo.app.ws"
    await porch.get("repo.app.ws")


async def test_server_side_apply_refuses_a_name_the_spec_does_not_give(
    porch: porchtesting.Porch,
) -> None:
    obj = enginetesting.package_revision("app", "ws")
    porchtesting.meta_of(obj).name = "repo.other.ws"
    err = await porchtesting.status_error(porch.put(obj, force_allow_create=True))
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.details is not None and err.details.causes is not None
    assert err.details.causes[0].field == "metadata.name"
    assert (await porch.list()).items == []


async def test_dry_run_create_update_and_delete_store_nothing(porch: porchtesting.Porch) -> None:
    created = await porch.create("app")
    backend = porch.fake.backends.fake("repo", namespace=NS)
    before_version = await backend.version()
    before_rv = (await porch.list()).resource_version
    assert isinstance(porch.revisions, rest.Creater)
    assert isinstance(porch.revisions, rest.GracefulDeleter)

    dry = await porch.revisions.create(
        porchtesting.context(NS, dry_run=True),
        enginetesting.package_revision("new", "ws"),
        rest.CreateOptions(),
    )
    assert porchtesting.meta_of(dry).name == "repo.new.ws"
    changed = created.model_copy(deep=True)
    label_kptfile(changed)
    await porch.put(changed, dry_run=True)
    await porch.lifecycle("repo.app.ws", "Proposed")
    rv_after_propose = (await porch.list()).resource_version
    deleted, immediately = await porch.revisions.delete(
        porchtesting.context(NS, dry_run=True), "repo.app.ws", metav1.DeleteOptions()
    )
    assert immediately and porchtesting.meta_of(deleted).name == "repo.app.ws"

    assert porchtesting.names(await porch.list()) == ["repo.app.ws"]
    assert (
        porchtesting.spec_of(await porch.get("repo.app.ws")).package_metadata
        == porchtesting.spec_of(created).package_metadata
    )
    assert (await porch.list()).resource_version == rv_after_propose != before_rv
    assert await backend.version() != before_version  # only the real propose wrote


async def test_delete_of_a_published_revision_is_forbidden_with_porchs_text(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("app")
    await porch.publish("repo.app.ws")
    assert isinstance(porch.revisions, rest.GracefulDeleter)
    err = await porchtesting.status_error(
        porch.revisions.delete(CTX, "repo.app.ws", metav1.DeleteOptions())
    )
    assert (err.code, err.reason) == (403, "Forbidden")
    assert err.message == (
        'packagerevisions.porch.kpt.dev "repo.app.ws" is forbidden: published PackageRevisions '
        "must be proposed for deletion by setting spec.lifecycle to 'DeletionProposed' prior to "
        "deletion"
    )
    await porch.lifecycle("repo.app.ws", "DeletionProposed")
    _, immediately = await porch.revisions.delete(CTX, "repo.app.ws", metav1.DeleteOptions())
    assert immediately
    err = await porchtesting.status_error(
        porch.revisions.delete(CTX, "repo.app.ws", metav1.DeleteOptions())
    )
    assert err.code == 404


async def test_delete_without_namespace_is_a_bad_request(porch: porchtesting.Porch) -> None:
    assert isinstance(porch.revisions, rest.GracefulDeleter)
    err = await porchtesting.status_error(
        porch.revisions.delete(porchtesting.context(None), "repo.app.ws", metav1.DeleteOptions())
    )
    assert (err.code, err.message) == (400, "namespace must be specified")


async def test_a_second_create_while_one_is_in_flight_is_a_conflict(
    porch: porchtesting.Porch,
) -> None:
    porch.fake.backends.wrap[(NS, "repo")] = cachetesting.BlockingRepository
    await porch.create("first")
    stuck = porch.fake.backends.wrapped[(NS, "repo")]
    stuck.blocked = True
    in_flight = asyncio.ensure_future(porch.create("app"))
    for _ in range(200):
        if stuck.waiting:
            break
        await asyncio.sleep(0.01)
    assert stuck.waiting, "the first create never reached the repository"
    err = await porchtesting.status_error(asyncio.wait_for(porch.create("app"), 5))
    assert (err.code, err.reason) == (409, "Conflict")
    assert err.message == (
        'Operation cannot be fulfilled on packagerevisions.porch.kpt.dev "repo.app.ws": '
        "another request is already in progress to create package revision with details "
        "namespace=default, repository=repo, package=app,workspace=ws"
    )
    stuck.release()
    created = await in_flight
    assert porchtesting.meta_of(created).name == "repo.app.ws"


async def test_revisions_of_a_v1alpha2_repository_are_gone(porch: porchtesting.Porch) -> None:
    await porch.create("app")
    repo = cachetesting.repository_object("repo", namespace=NS)
    assert repo.metadata is not None
    repo.metadata.annotations = {"porch.kpt.dev/v1alpha2-migration": "true"}
    await porch.engine.close_repository(NS, "repo")
    await porch.engine.open_repository(repo)

    assert (await porch.list()).items == []
    err = await porchtesting.status_error(porch.get("repo.app.ws"))
    assert err.code == 404
    err = await porchtesting.status_error(porch.create("app", "ws2"))
    assert (err.code, err.reason, err.message) == (
        410,
        "Gone",
        "repository repo is managed by v1alpha2",
    )
