"""Round trip of porch.kpt.dev/v1alpha1 objects in the shapes Porch emits.

Every document in testdata/ decodes into its model (picked by kind) and encodes back, by
alias and without nulls, to exactly the same JSON: no field renamed, dropped, defaulted or
nulled. The other tests pin the behaviours clients rely on: an absent revision stays absent,
unknown fields are ignored, enums are enforced, snake_case names work in Python.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pydantic
import pytest
from ruamel.yaml import YAML

from api.porch import v1alpha1 as porchv1alpha1

TESTDATA = Path(__file__).parent / "testdata"
CASES = sorted(TESTDATA.glob("*.yaml"))


def load(name: str | Path) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe", pure=True).load(TESTDATA / name)
    return data


def encode(obj: pydantic.BaseModel) -> dict[str, Any]:
    return obj.model_dump(mode="json", by_alias=True, exclude_none=True)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_round_trip_is_lossless(path: Path) -> None:
    data = load(path)
    model = porchv1alpha1.KINDS[data["kind"]]

    obj = model.model_validate(data)

    assert encode(obj) == data


def test_testdata_covers_every_kind_with_a_resource() -> None:
    kinds = {load(path)["kind"] for path in CASES}
    assert kinds >= {info.kind for info in porchv1alpha1.RESOURCES}


@pytest.mark.parametrize(
    "name",
    [
        "packagerevision-draft-init.yaml",
        "packagerevision-draft-clone-upstreamref.yaml",
        "packagerevision-draft-clone-git.yaml",
        "packagerevision-draft-edit.yaml",
        "packagerevision-draft-upgrade.yaml",
    ],
)
def test_draft_revision_stays_absent(name: str) -> None:
    pr = porchv1alpha1.PackageRevision.model_validate(load(name))

    assert pr.spec is not None
    assert pr.spec.lifecycle == porchv1alpha1.LIFECYCLE_DRAFT
    assert pr.spec.revision is None
    assert "revision" not in encode(pr)["spec"]


def test_new_draft_built_in_python_encodes_without_revision() -> None:
    pr = porchv1alpha1.PackageRevision(
        api_version=porchv1alpha1.API_VERSION,
        kind=porchv1alpha1.PACKAGE_REVISIONS.kind,
        spec=porchv1alpha1.PackageRevisionSpec(
            package_name="basens-clone",
            repository="deployments",
            workspace_name="clone-1",
            lifecycle="Draft",
            tasks=[
                porchv1alpha1.Task(
                    type="clone",
                    clone=porchv1alpha1.PackageCloneTaskSpec(
                        upstream_ref=porchv1alpha1.UpstreamPackage(
                            upstream_ref=porchv1alpha1.PackageRevisionRef(
                                name="blueprints.basens.v3"
                            )
                        )
                    ),
                )
            ],
        ),
    )

    assert encode(pr) == {
        "apiVersion": "porch.kpt.dev/v1alpha1",
        "kind": "PackageRevision",
        "spec": {
            "packageName": "basens-clone",
            "repository": "deployments",
            "workspaceName": "clone-1",
            "lifecycle": "Draft",
            "tasks": [
                {
                    "type": "clone",
                    "clone": {"upstreamRef": {"upstreamRef": {"name": "blueprints.basens.v3"}}},
                }
            ],
        },
    }


def test_snake_case_attributes_read_camel_case_fields() -> None:
    pr = porchv1alpha1.PackageRevision.model_validate(load("packagerevision-published.yaml"))

    assert pr.metadata is not None and pr.metadata.labels is not None
    assert pr.metadata.labels[porchv1alpha1.LATEST_REVISION_LABEL] == "true"
    assert pr.spec is not None
    assert pr.spec.package_name == "basens"
    assert pr.spec.workspace_name == "v3"
    assert pr.spec.revision == 3
    assert pr.spec.readiness_gates is not None
    assert pr.spec.readiness_gates[0].condition_type == "example.com/policy-checked"
    assert pr.spec.package_metadata is not None
    assert pr.spec.package_metadata.labels == {"tier": "base"}
    status = pr.status
    assert status is not None
    assert status.publish_timestamp == datetime(2026, 3, 1, 17, 5, 12, tzinfo=UTC)
    assert status.published_by == "alice@example.com"
    assert status.self_lock is not None and status.self_lock.git is not None
    assert status.self_lock.git.ref == "basens/v3"
    assert status.upstream_lock is not None and status.upstream_lock.git is not None
    assert status.upstream_lock.git.commit == "67f29546028f0a48c6bbb08614934d0e070cdd3a"
    assert status.conditions is not None
    assert [c.status for c in status.conditions] == ["True", "True"]


def test_render_results_are_typed() -> None:
    prr = porchv1alpha1.PackageRevisionResources.model_validate(
        load("packagerevisionresources-rendered.yaml")
    )

    assert prr.spec is not None and prr.spec.resources is not None
    assert sorted(prr.spec.resources) == [
        "Kptfile",
        "README.md",
        "namespace.yaml",
        "sub/dir/quota.yaml",
    ]
    assert prr.status is not None and prr.status.render_status is not None
    render = prr.status.render_status
    assert render.error == ""
    assert render.result is not None and render.result.items is not None
    step = render.result.items[0]
    assert step.exit_code == 0
    assert step.results is not None
    item = step.results[0]
    assert item.severity == "info"
    assert item.resource_ref is not None and item.resource_ref.kind == "Namespace"
    assert item.field is not None and item.field.proposed_value == "staging"
    assert item.file is not None and item.file.path == "namespace.yaml"


def test_unknown_fields_are_ignored_on_decode() -> None:
    data = load("packagerevision-draft-clone-git.yaml")
    sent = copy.deepcopy(data)
    sent["futureTopLevel"] = {"a": 1}
    sent["spec"]["futureField"] = "x"
    sent["spec"]["tasks"][0]["clone"]["upstreamRef"]["git"]["depth"] = 1
    sent["status"]["resourcesSizeBytes"] = 2048

    pr = porchv1alpha1.PackageRevision.model_validate(sent)

    assert encode(pr) == data


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "lifecycle"), "Approved"),
        # Internal task types recorded in git commit annotations are not API values.
        (("spec", "tasks", 0, "type"), "render"),
        (("spec", "tasks", 0, "type"), ""),
        (("status", "conditions", 0, "status"), "true"),
    ],
    ids=["lifecycle", "task-render", "task-none", "condition-status"],
)
def test_values_outside_an_enum_are_rejected(path: tuple[str | int, ...], value: str) -> None:
    data = load("packagerevision-draft-init.yaml")
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    with pytest.raises(pydantic.ValidationError) as excinfo:
        porchv1alpha1.PackageRevision.model_validate(data)

    assert excinfo.value.errors()[0]["loc"][: len(path)] == path


def test_git_upstream_requires_repo_ref_and_directory() -> None:
    data = load("packagerevision-draft-clone-git.yaml")
    del data["spec"]["tasks"][0]["clone"]["upstreamRef"]["git"]["directory"]

    with pytest.raises(pydantic.ValidationError) as excinfo:
        porchv1alpha1.PackageRevision.model_validate(data)

    assert excinfo.value.errors()[0]["type"] == "missing"
