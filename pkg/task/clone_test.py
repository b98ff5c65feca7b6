"""Tests of the clone task: Porch's rpkg-clone golden over a real git repository, clones of
registered revisions, deployment repositories."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from api.porch import v1alpha1 as porchv1alpha1
from pkg.kpt.fn import runtime as fnruntime
from pkg.task import clone, gitfetch, render, taskerrors, tasktesting

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
CLONE_CASE = SHARED / "conformance" / "porchctl" / "rpkg-clone" / "config.yaml"
GOLDEN_URL = "http://gitea.gitea.svc.cluster.local:3000/nephio/test-blueprints.git"

KPTFILE = (
    "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: upstream\ninfo:\n  description: d\n"
)


@pytest.mark.parametrize(
    ("directory", "ref", "package", "pulled"),
    [
        ("basens", "basens/v1", "basens-clone", "git.basens-clone.clone-2"),
        ("empty", "empty/v1", "empty-clone", "git.empty-clone.clone-1"),
    ],
)
async def test_clone_matches_porchctl_golden(
    blueprints_repo: Path, directory: str, ref: str, package: str, pulled: str
) -> None:
    fetcher = gitfetch.GitFetcher(
        gitfetch.GitFetcherOptions(
            allow_local_repositories=True, local_repository_roots=[blueprints_repo.parent]
        )
    )
    files = await clone.clone_from_git(
        fetcher,
        "rpkg-clone",
        porchv1alpha1.GitPackage(repo=str(blueprints_repo), ref=ref, directory=directory),
        package_name=package,
        deployment=False,
        package_path=package,
    )
    outcome = await render.render_package(files, runtime=fnruntime.BuiltinRuntime())
    assert not outcome.failed
    expected = tasktesting.replace_strings(
        tasktesting.pulled_items(CLONE_CASE, pulled), GOLDEN_URL, str(blueprints_repo)
    )
    assert tasktesting.package_items(outcome.files) == expected


async def test_clone_of_registered_revision_records_its_lock() -> None:
    source = tasktesting.fake_revision(
        "blueprints", "team/app", "v3", {"Kptfile": KPTFILE}, revision=3, commit="c" * 40
    )
    files = await clone.clone_from_revision(
        source, package_name="my-app", deployment=False, package_path="my-app"
    )
    kptfile = yaml.safe_load(files["Kptfile"])
    assert kptfile["metadata"]["name"] == "my-app"
    git = {
        "repo": "https://example.com/blueprints.git",
        "directory": "team/app",
        "ref": "team/app/v3",
    }
    assert kptfile["upstream"] == {"type": "git", "git": git}
    assert kptfile["upstreamLock"] == {"type": "git", "git": {**git, "commit": "c" * 40}}
    assert "package-context.yaml" not in files


async def test_clone_into_deployment_repository_generates_package_context() -> None:
    source = tasktesting.fake_revision("blueprints", "app", "v1", {"Kptfile": KPTFILE})
    files = await clone.clone_from_revision(
        source, package_name="my-app", deployment=True, package_path="my-app"
    )
    context = yaml.safe_load(files["package-context.yaml"])
    assert context["metadata"]["name"] == "kptfile.kpt.dev"
    assert context["data"] == {"name": "my-app", "package-path": "my-app"}
    assert "# kpt-merge: /kptfile.kpt.dev" in files["package-context.yaml"]


async def test_placeholder_may_not_be_cloned() -> None:
    source = tasktesting.fake_revision(
        "blueprints", "app", "main", {"Kptfile": KPTFILE}, revision=-1
    )
    with pytest.raises(taskerrors.InvalidFieldError) as err:
        await clone.clone_from_revision(
            source, package_name="x", deployment=False, package_path="x"
        )
    assert str(err.value) == (
        "upstream revision may not be the placeholder package revision "
        "blueprints/blueprints.app.main"
    )
    assert err.value.field == "spec.tasks[0].clone.upstreamRef.upstreamRef.name"
