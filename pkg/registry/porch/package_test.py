"""packages storage: REST conformance for get and list, Porch's read-only package view."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import fields, labels
from pkg.registry.porch import package, packagerevision, porchtesting
from pkg.registry.rest import rest, resttest

NS = "default"

# packages are read-only (the adapter creates a revision through packagerevisions and shows
# its package), carry no labels and no resourceVersion: list, list_label_selector and
# list_resource_version do not apply, and neither do the create checks.
CHECKS = ["get_not_found", "list_field_selector", "list_paging"]


@pytest.mark.parametrize("check", CHECKS)
async def test_conformance(check: str) -> None:
    fake = porchtesting.new_engine()
    packages = package.PackageStorage(fake.engine)

    async def view(ctx: rest.RequestContext, created: BaseModel) -> BaseModel:
        assert isinstance(created, porchv1alpha1.PackageRevision) and created.spec is not None
        name = porchtesting.package_name(created.spec.package_name or "")
        return await packages.get(ctx, name)

    tester = resttest.Tester(
        porchtesting.ResttestAdapter(
            packages,
            to_porch=porchtesting.package_name,
            from_porch=porchtesting.package_of,
            creater=packagerevision.PackageRevisionStorage(fake.engine),
            view=view,
        ),
        new_object=porchtesting.conformance_revision,
    )
    await tester.run(check)


async def test_a_package_shows_its_latest_published_revision(porch: porchtesting.Porch) -> None:
    await porch.create("blue/app", "v1")
    assert isinstance(porch.packages, rest.Getter)
    draft_only = await porch.packages.get(porchtesting.context(NS), "repo.blue.app")
    assert isinstance(draft_only, porchv1alpha1.PorchPackage)
    assert draft_only.status is not None and draft_only.status.latest_revision == 0
    await porch.publish("repo.blue.app.v1")
    published = await porch.packages.get(porchtesting.context(NS), "repo.blue.app")
    assert isinstance(published, porchv1alpha1.PorchPackage)
    assert published.spec is not None
    assert (published.spec.package_name, published.spec.repository) == ("blue/app", "repo")
    assert published.status is not None and published.status.latest_revision == 1


async def test_list_filters_by_repository_package_and_labels(porch: porchtesting.Porch) -> None:
    await porch.create("app")
    await porch.create("web")
    await porch.create("app", repository="other")
    for selector, want in (
        ("spec.repository=repo", ["repo.app", "repo.web"]),
        ("spec.packageName=app", ["other.app", "repo.app"]),
        ("metadata.name=other.app", ["other.app"]),
    ):
        result = await porch.list(porch.packages, field_selector=fields.parse(selector))
        assert porchtesting.names(result) == want, selector
    assert (await porch.list(porch.packages, label_selector=labels.parse("x=y"))).items == []
    assert len((await porch.list(porch.packages, namespace=None)).items) == 3


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("spec.workspaceName=ws", 'unknown fieldSelector field "spec.workspaceName"'),
        (
            "spec.repository!=repo",
            'unsupported fieldSelector operator "!=" for field "spec.repository"',
        ),
        (
            "metadata.namespace=elsewhere",
            'conflicting namespaces specified: "default" and "elsewhere"',
        ),
    ],
)
async def test_list_refuses_selectors_it_cannot_serve(
    porch: porchtesting.Porch, selector: str, message: str
) -> None:
    err = await porchtesting.status_error(
        porch.list(porch.packages, field_selector=fields.parse(selector))
    )
    assert (err.code, err.reason, err.message) == (400, "BadRequest", message)


async def test_get_of_a_missing_package_is_not_found(porch: porchtesting.Porch) -> None:
    assert isinstance(porch.packages, rest.Getter)
    err = await porchtesting.status_error(
        porch.packages.get(porchtesting.context(NS), "repo.nosuch")
    )
    assert (err.code, err.message) == (404, 'packages.porch.kpt.dev "repo.nosuch" not found')


def test_packages_are_read_only(porch: porchtesting.Porch) -> None:
    # The API server installs routes from capabilities: without these, create, update,
    # patch, delete and watch of packages are 405 MethodNotAllowed.
    storage = porch.packages
    assert isinstance(storage, rest.Getter) and isinstance(storage, rest.Lister)
    for capability in (rest.Creater, rest.Updater, rest.GracefulDeleter, rest.Watcher):
        assert not isinstance(storage, capability), capability.__name__
