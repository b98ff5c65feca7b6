"""Spans of the REST layer: named as Porch's, with namespace and name, parents of the engine's."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.meta import v1 as metav1
from pkg.apimachinery import fields
from pkg.registry.porch import porchtesting, watch
from pkg.registry.rest import rest

NS = "default"


async def test_every_verb_has_porchs_span(span_exporter: InMemorySpanExporter) -> None:
    porch = porchtesting.Porch(porchtesting.new_engine())
    ctx = porchtesting.context(NS)
    await porch.create("app")
    await porch.list()
    await porch.get("repo.app.ws")
    await porch.lifecycle("repo.app.ws", "Proposed")
    await porch.lifecycle("repo.app.ws", "Published", approval=True)
    assert isinstance(porch.approval, rest.Getter)
    await porch.approval.get(ctx, "repo.app.ws")
    await porch.list(porch.resources)
    assert isinstance(porch.resources, rest.Getter) and isinstance(porch.packages, rest.Getter)
    await porch.resources.get(ctx, "repo.app.ws")
    await porch.list(porch.packages)
    await porch.packages.get(ctx, "repo.app")
    await porch.lifecycle("repo.app.ws", "DeletionProposed")
    assert isinstance(porch.revisions, rest.GracefulDeleter)
    await porch.revisions.delete(ctx, "repo.app.ws", metav1.DeleteOptions())
    stream = watch.watch_package_revisions(
        porch.engine, ctx, rest.ListOptions(field_selector=fields.parse("spec.packageName=app"))
    )
    assert (await anext(stream)).type == "ADDED"  # the placeholder repo.app.main
    await stream.aclose()  # type: ignore[attr-defined]

    spans = span_exporter.get_finished_spans()
    rest_spans = [s for s in spans if "::" in s.name and not s.name.startswith(("cad", "git"))]
    names = [s.name for s in rest_spans]
    for expected in (
        "[START]::packageRevisions::Create",
        "[START]::packageRevisions::List",
        "[START]::packageRevisions::Get",
        "[START]::packageRevisions::Update",
        "[START]::packageRevisionApproval::Update",
        "[START]::packageRevisionApproval::Get",
        "[START]::PackageRevisionResources::List",
        "[START]::PackageRevisionResources::Get",
        "packages::List",
        "packages::Get",
        "[START]::packageRevisions::Delete",
        "[START]::packageRevisions::Watch",
    ):
        assert expected in names, expected
    get = next(s for s in rest_spans if s.name == "[START]::packageRevisions::Get")
    assert dict(get.attributes or {}) == {"namespace": NS, "name": "repo.app.ws"}
    create = next(s for s in rest_spans if s.name == "[START]::packageRevisions::Create")
    engine_create = next(s for s in spans if s.name == "cadEngine::CreatePackageRevision")
    assert engine_create.parent is not None
    assert engine_create.parent.span_id == create.context.span_id
