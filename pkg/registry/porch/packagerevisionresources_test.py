"""packagerevisionresources storage: REST conformance, push, render failures, Porch's texts."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import fields
from pkg.registry.porch import packagerevision, packagerevisionresources, porchtesting
from pkg.registry.rest import rest, resttest

NS = "default"
BROKEN_PIPELINE = "pipeline:\n  mutators:\n  - image: quay.io/invalid/nonexistent-fn:v0.0.1\n"

# packagerevisionresources has no create (the adapter creates through packagerevisions) and
# no delete or watch. Left out: every create check (creation is packagerevisions'); list and
# list_resource_version and update (resourceVersions are commits, not ordered integers);
# update_conflict (it changes labels, which are not this resource's to change).
CHECKS = [
    "get_not_found",
    "list_label_selector",
    "list_field_selector",
    "list_paging",
    "update_without_resource_version",
    "update_missing_object",
    "update_name_mismatch",
    "update_dry_run",
    "update_invalid",
]


def _files(obj: BaseModel) -> dict[str, str]:
    assert isinstance(obj, porchv1alpha1.PackageRevisionResources) and obj.spec is not None
    if obj.spec.resources is None:
        obj.spec.resources = {}
    return obj.spec.resources


def add_file(obj: BaseModel) -> None:
    _files(obj)[f"file-{len(_files(obj))}.yaml"] = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
    )


def drop_kptfile(obj: BaseModel) -> None:
    _files(obj).pop("Kptfile")


@pytest.mark.parametrize("check", CHECKS)
async def test_conformance(check: str) -> None:
    fake = porchtesting.new_engine()
    resources = packagerevisionresources.PackageRevisionResourcesStorage(fake.engine)

    async def view(ctx: rest.RequestContext, created: BaseModel) -> BaseModel:
        return await resources.get(ctx, created.metadata.name)  # type: ignore[attr-defined]

    tester = resttest.Tester(
        porchtesting.ResttestAdapter(
            resources, creater=packagerevision.PackageRevisionStorage(fake.engine), view=view
        ),
        new_object=porchtesting.conformance_revision,
        update=add_file,
        invalid=drop_kptfile,
        allow_unconditional_update=False,
        tracks_generation=False,
    )
    await tester.run(check)


async def _resources(
    porch: porchtesting.Porch, name: str
) -> porchv1alpha1.PackageRevisionResources:
    assert isinstance(porch.resources, rest.Getter)
    obj = await porch.resources.get(porchtesting.context(NS), name)
    assert isinstance(obj, porchv1alpha1.PackageRevisionResources)
    return obj.model_copy(deep=True)


async def test_push_replaces_the_files_renders_and_reports_results(
    porch: porchtesting.Porch,
) -> None:
    created = await porch.create("app")
    prr = await _resources(porch, "repo.app.ws")
    files = _files(prr)
    assert set(files) >= {"Kptfile", "README.md", "package-context.yaml"}
    files["Kptfile"] += (
        "pipeline:\n  mutators:\n  - image: set-namespace:v0.4\n    configMap:\n"
        "      namespace: prod\n"
    )
    files["cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
    del files["README.md"]
    stored = await porch.put(prr, storage=porch.resources)

    assert isinstance(stored, porchv1alpha1.PackageRevisionResources)
    assert stored.status is not None and stored.status.render_status is not None
    assert stored.status.render_status.error == ""
    assert "namespace: prod" in _files(stored)["cm.yaml"]
    again = await _resources(porch, "repo.app.ws")
    assert "README.md" not in _files(again)
    assert (
        porchtesting.meta_of(again).resource_version
        != porchtesting.meta_of(created).resource_version
    )
    assert (
        porchtesting.meta_of(await porch.get("repo.app.ws")).resource_version
        == porchtesting.meta_of(again).resource_version
    )


async def test_push_of_a_stale_copy_is_a_conflict_with_porchs_golden_text(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("test-package", "push")
    stale = await _resources(porch, "repo.test-package.push")
    fresh = stale.model_copy(deep=True)
    add_file(fresh)
    await porch.put(fresh, storage=porch.resources)
    add_file(stale)
    err = await porchtesting.status_error(porch.put(stale, storage=porch.resources))
    assert (err.code, err.reason) == (409, "Conflict")
    assert err.message == (
        "Internal error occurred: Operation cannot be fulfilled on "
        'packagerevisionresources.porch.kpt.dev "repo.test-package.push": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )


async def test_push_of_a_copy_read_before_a_label_change_is_a_conflict(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("app")
    stale = await _resources(porch, "repo.app.ws")
    labelled = await porch.get("repo.app.ws")
    porchtesting.meta_of(labelled).labels = {"team": "a"}
    await porch.put(labelled)
    add_file(stale)
    err = await porchtesting.status_error(porch.put(stale, storage=porch.resources))
    assert (err.code, err.reason) == (409, "Conflict")
    assert "the object has been modified" in err.message
    # The fresh copy shares the PackageRevision's new resourceVersion and goes through.
    fresh = await _resources(porch, "repo.app.ws")
    assert (
        porchtesting.meta_of(fresh).resource_version
        == porchtesting.meta_of(await porch.get("repo.app.ws")).resource_version
    )
    add_file(fresh)
    await porch.put(fresh, storage=porch.resources)


async def test_push_without_resource_version_keeps_porchs_golden_text(
    porch: porchtesting.Porch,
) -> None:
    await porch.create("app")
    prr = await _resources(porch, "repo.app.ws")
    porchtesting.meta_of(prr).resource_version = None
    err = await porchtesting.status_error(porch.put(prr, storage=porch.resources))
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message == "Internal error occurred: resourceVersion must be specified for an update"


async def test_a_failing_render_stores_nothing_and_says_so(porch: porchtesting.Porch) -> None:
    await porch.create("app")
    prr = await _resources(porch, "repo.app.ws")
    _files(prr)["Kptfile"] += BROKEN_PIPELINE
    err = await porchtesting.status_error(porch.put(prr, storage=porch.resources))
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message.startswith(
        "Internal error occurred: error rendering package in kpt function pipeline. Package NOT "
        "pushed to remote. Fix locally (until 'kpt fn render' succeeds) and retry. Details: "
    )
    assert "nonexistent-fn" not in _files(await _resources(porch, "repo.app.ws"))["Kptfile"]


async def test_push_on_render_failure_stores_and_still_fails(porch: porchtesting.Porch) -> None:
    await porch.create("app", annotations={"porch.kpt.dev/push-on-render-failure": "true"})
    prr = await _resources(porch, "repo.app.ws")
    _files(prr)["Kptfile"] += BROKEN_PIPELINE
    err = await porchtesting.status_error(porch.put(prr, storage=porch.resources))
    assert (err.code, err.reason) == (422, "Invalid")
    assert "Package pushed to remote despite render failure" in err.message
    assert "nonexistent-fn" in _files(await _resources(porch, "repo.app.ws"))["Kptfile"]


async def test_only_drafts_take_new_files(porch: porchtesting.Porch) -> None:
    await porch.create("app")
    await porch.lifecycle("repo.app.ws", "Proposed")
    prr = await _resources(porch, "repo.app.ws")
    add_file(prr)
    err = await porchtesting.status_error(porch.put(prr, storage=porch.resources))
    assert (err.code, err.reason, err.message) == (
        403,
        "Forbidden",
        "Internal error occurred: cannot update a package revision with lifecycle value "
        '"Proposed"; package must be Draft',
    )


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        pytest.param("../escape.yaml", "must not contain '.' or '..' segments", id="dotdot"),
        pytest.param("/etc/passwd", "must be relative to the package directory", id="absolute"),
    ],
)
async def test_file_names_must_stay_inside_the_package(
    porch: porchtesting.Porch, path: str, detail: str
) -> None:
    await porch.create("app")
    prr = await _resources(porch, "repo.app.ws")
    _files(prr)[path] = "x: 1\n"
    err = await porchtesting.status_error(porch.put(prr, storage=porch.resources))
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.details is not None and err.details.causes is not None
    assert err.details.causes[0].field == "spec.resources"
    assert detail in (err.details.causes[0].message or "")
    assert path not in _files(await _resources(porch, "repo.app.ws"))


async def test_the_body_changes_only_the_files(porch: porchtesting.Porch) -> None:
    await porch.create("app", labels={"team": "blue"})
    prr = await _resources(porch, "repo.app.ws")
    assert prr.spec is not None
    prr.spec.package_name = "elsewhere"
    porchtesting.meta_of(prr).labels = {"team": "red"}
    add_file(prr)
    stored = await porch.put(prr, storage=porch.resources)
    assert isinstance(stored, porchv1alpha1.PackageRevisionResources) and stored.spec is not None
    assert stored.spec.package_name == "app"
    assert (porchtesting.meta_of(stored).labels or {}).get("team") == "blue"


async def test_dry_run_push_renders_and_stores_nothing(porch: porchtesting.Porch) -> None:
    created = await porch.create("app")
    prr = await _resources(porch, "repo.app.ws")
    _files(prr)["cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
    stored = await porch.put(prr, storage=porch.resources, dry_run=True)
    assert "cm.yaml" in _files(stored)
    assert "cm.yaml" not in _files(await _resources(porch, "repo.app.ws"))
    assert (
        porchtesting.meta_of(await porch.get("repo.app.ws")).resource_version
        == porchtesting.meta_of(created).resource_version
    )


async def test_list_takes_the_packagerevision_field_selectors(porch: porchtesting.Porch) -> None:
    await porch.create("app", "v1")
    await porch.create("web", "v2")
    await porch.create("web", "v1", repository="other")
    for selector, want in (
        ("spec.workspaceName=v2", ["repo.web.v2"]),
        ("spec.repository=other", ["other.web.v1"]),
        ("spec.packageName=web,spec.lifecycle=Draft", ["other.web.v1", "repo.web.v2"]),
    ):
        result = await porch.list(porch.resources, field_selector=fields.parse(selector))
        assert porchtesting.names(result) == want, selector
    err = await porchtesting.status_error(
        porch.list(porch.resources, field_selector=fields.parse("spec.files=1"))
    )
    assert (err.code, err.message) == (400, 'unknown fieldSelector field "spec.files"')


def test_only_get_list_and_update_are_served(porch: porchtesting.Porch) -> None:
    storage = porch.resources
    assert isinstance(storage, rest.Getter) and isinstance(storage, rest.Lister)
    assert isinstance(storage, rest.Updater)
    for capability in (rest.Creater, rest.GracefulDeleter, rest.Watcher):
        assert not isinstance(storage, capability), capability.__name__
