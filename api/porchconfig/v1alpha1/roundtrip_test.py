"""Round trip of config.porch.kpt.dev/v1alpha1 Repository objects, and the CRD's defaults.

Each testdata document decodes and encodes back, by alias and without nulls, to exactly the
same JSON. Repository keeps the CRD's structural defaults (content Package, git.branch main)
and its minLength rule, so a manifest that omits them reads back as kube-apiserver stores it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pydantic
import pytest
from ruamel.yaml import YAML

from api.porchconfig import v1alpha1 as configv1alpha1

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
    model = configv1alpha1.KINDS[data["kind"]]

    obj = model.model_validate(data)

    assert encode(obj) == data


def test_snake_case_attributes_read_camel_case_fields() -> None:
    repo = configv1alpha1.Repository.model_validate(load("repository-git.yaml"))

    assert repo.spec is not None and repo.spec.git is not None
    assert repo.spec.git.create_branch is True
    assert repo.spec.git.secret_ref is not None
    assert repo.spec.git.secret_ref.name == "test-blueprints-auth"
    assert repo.spec.sync is not None
    assert repo.spec.sync.run_once_at == datetime(2026, 3, 2, 8, tzinfo=UTC)
    status = repo.status
    assert status is not None and status.conditions is not None
    ready = status.conditions[0]
    assert (ready.type, ready.status, ready.reason) == (
        configv1alpha1.CONDITION_READY,
        "True",
        configv1alpha1.REASON_READY,
    )
    assert ready.last_transition_time == datetime(2026, 3, 2, 8, 0, 3, tzinfo=UTC)
    assert status.package_count == 16
    assert status.git_commit_hash == "67f29546028f0a48c6bbb08614934d0e070cdd3a"


def test_omitted_content_and_branch_get_the_crd_defaults() -> None:
    repo = configv1alpha1.Repository.model_validate(
        {
            "apiVersion": "config.porch.kpt.dev/v1alpha1",
            "kind": "Repository",
            "metadata": {"name": "blueprints", "namespace": "default"},
            "spec": {"type": "git", "git": {"repo": "https://example.com/blueprints.git"}},
        }
    )

    assert encode(repo)["spec"] == {
        "type": "git",
        "content": "Package",
        "git": {"repo": "https://example.com/blueprints.git", "branch": "main"},
    }


def test_unknown_fields_are_ignored_on_decode() -> None:
    data = load("repository-oci.yaml")
    sent = {**data, "spec": {**data["spec"], "upstream": {"type": "git"}, "mutators": []}}

    repo = configv1alpha1.Repository.model_validate(sent)

    assert encode(repo) == data


@pytest.mark.parametrize(
    ("spec", "loc"),
    [
        (
            {"type": "git", "git": {"repo": "https://x/y.git", "branch": ""}},
            ("spec", "git", "branch"),
        ),
        ({"type": "git", "git": {"branch": "main"}}, ("spec", "git", "repo")),
        ({"type": "oci", "oci": {}}, ("spec", "oci", "registry")),
        ({"type": "svn"}, ("spec", "type")),
    ],
    ids=["empty-branch", "git-without-repo", "oci-without-registry", "unknown-type"],
)
def test_invalid_spec_is_rejected_naming_the_field(
    spec: dict[str, Any], loc: tuple[str, ...]
) -> None:
    with pytest.raises(pydantic.ValidationError) as excinfo:
        configv1alpha1.Repository.model_validate({"metadata": {"name": "r"}, "spec": spec})

    assert [error["loc"] for error in excinfo.value.errors()] == [loc]
