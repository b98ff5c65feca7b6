"""Keys, names, UIDs and filters of the repository contracts (porch.md §2)."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from pkg.repository import errors
from pkg.repository import repository as repo_api

REPO = repo_api.RepositoryKey(
    namespace="default",
    name=repo_api.RepositoryName("catalog-main"),
    path="catalog",
    placeholder_ws_name=repo_api.WorkspaceName("main"),
)


def _key(package_path: str, workspace: str, revision: int = 0) -> repo_api.PackageRevisionKey:
    return repo_api.PackageRevisionKey(
        pkg_key=repo_api.PackageKey.from_package_path(REPO, package_path),
        revision=revision,
        workspace_name=repo_api.WorkspaceName(workspace),
    )


def test_keys_compose_porch_names_and_paths() -> None:
    key = _key("workloads/oai/oai-ran-operator", "v2.0.0", -1)
    assert key.pkg_key.path == "workloads/oai"
    assert key.pkg_key.package == "oai-ran-operator"
    assert key.pkg_key.package_path == "workloads/oai/oai-ran-operator"
    assert key.pkg_key.full_path == "catalog/workloads/oai/oai-ran-operator"
    assert key.pkg_key.k8s_name() == "catalog-main.workloads.oai.oai-ran-operator"
    assert key.k8s_name() == "catalog-main.workloads.oai.oai-ran-operator.v2.0.0"
    assert not key.is_placeholder
    assert _key("basens", "main", -1).is_placeholder
    assert not _key("basens", "main", 1).is_placeholder
    top = repo_api.PackageKey.from_package_path(repo_api.RepositoryKey("ns", REPO.name), "/x/")
    assert (top.path, top.package, top.full_path) == ("", "x", "x")


@pytest.mark.parametrize(
    ("name", "repository", "path", "package", "workspace"),
    [
        ("blueprints.abc123.firststab", "blueprints", "", "abc123", "firststab"),
        (
            "catalog-main.workloads.oai.oai-ran-operator.main",
            "catalog-main",
            "workloads/oai",
            "oai-ran-operator",
            "main",
        ),
        (
            "catalog-main.workloads.oai.oai-ran-operator.v2.0.0",
            "catalog-main",
            "workloads/oai",
            "oai-ran-operator",
            "v2.0.0",
        ),
        ("repo.pkg.v1", "repo", "", "pkg", "v1"),
        ("repo.a.b.c.pkg.ws-1", "repo", "a/b/c", "pkg", "ws-1"),
    ],
)
def test_parse_name_round_trips(
    name: str, repository: str, path: str, package: str, workspace: str
) -> None:
    key = repo_api.parse_package_revision_name("ns", name)
    assert (key.repo_key.namespace, key.repo_key.name) == ("ns", repository)
    assert (key.pkg_key.path, key.pkg_key.package, key.workspace_name) == (
        path,
        package,
        workspace,
    )
    assert key.k8s_name() == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("repo", "package name part ''"),
        ("repo.ws", "package name part ''"),
        ("Repo.pkg.ws", "repository part 'Repo'"),
        ("repo.Pkg.ws", "package name part 'Pkg'"),
        ("repo.pkg.Ws", "workspace name part 'Ws'"),
        ("repo.pa_th.pkg.ws", "package path part 'pa_th'"),
        ("repo.pkg." + "w" * 64, "must be no more than 63 characters"),
        (".".join(["x" * 63] * 4), "must be no more than 253 characters"),
        ("repo." + ".".join(["p" * 30] * 4) + ".ws", "must be no more than 63 characters"),
    ],
)
def test_parse_name_rejects_invalid_parts(name: str, message: str) -> None:
    with pytest.raises(errors.InvalidPackageError) as caught:
        repo_api.parse_package_revision_name("ns", name)
    assert str(caught.value).startswith("package revision kubernetes resource name invalid:")
    assert message in str(caught.value)


def test_parse_package_name() -> None:
    key = repo_api.parse_package_name("ns", "catalog-main.workloads.oai.oai-ran-operator")
    assert (key.repo_key.name, key.path, key.package) == (
        "catalog-main",
        "workloads/oai",
        "oai-ran-operator",
    )
    with pytest.raises(errors.InvalidPackageError, match="package kubernetes resource name"):
        repo_api.parse_package_name("ns", "repo.Bad")


def test_uid_is_porch_uuid5() -> None:
    uid = repo_api.package_revision_uid("Default", "Blueprints.Basens.V1")
    # Porch: RFC 4122 name-based (SHA-1) UUID in its namespace over the lowercased
    # "packagerevision:porch.kpt.dev/v1alpha1/<namespace>/<name>"; computed here by hand.
    namespace = uuid.UUID("aac71d91-5c67-456f-8fd2-902ef6da820e")
    text = b"packagerevision:porch.kpt.dev/v1alpha1/default/blueprints.basens.v1"
    digest = bytearray(hashlib.sha1(namespace.bytes + text).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    assert uid == str(uuid.UUID(bytes=bytes(digest)))
    assert uid != repo_api.package_revision_uid("other", "blueprints.basens.v1")


def test_filter_matches_each_field() -> None:
    draft = _key("a/pkg", "ws")
    published = _key("a/pkg", "v1", 1)
    Draft, Published = repo_api.Lifecycle.DRAFT, repo_api.Lifecycle.PUBLISHED
    assert repo_api.ANY_REVISION.matches(draft, Draft)
    by_path = repo_api.ListPackageRevisionFilter(package_path="a/pkg")
    assert by_path.matches(draft, Draft)
    assert not repo_api.ListPackageRevisionFilter(package_path="pkg").matches(draft, Draft)
    by_workspace = repo_api.ListPackageRevisionFilter(workspace_name=repo_api.WorkspaceName("v1"))
    assert by_workspace.matches(published, Published)
    assert not by_workspace.matches(draft, Draft)
    unpublished = repo_api.ListPackageRevisionFilter(revision=0)
    assert unpublished.matches(draft, Draft)
    assert not unpublished.matches(published, Published)
    published_only = repo_api.ListPackageRevisionFilter(
        lifecycles=frozenset({Published, repo_api.Lifecycle.DELETION_PROPOSED})
    )
    assert published_only.matches(published, Published)
    assert not published_only.matches(draft, Draft)


def test_lifecycle_and_user() -> None:
    assert repo_api.Lifecycle("DeletionProposed").is_published
    assert not repo_api.Lifecycle.PROPOSED.is_published
    assert repo_api.UserInfo("a", frozenset({"system:authenticated"})).is_authenticated
    assert not repo_api.UserInfo("system:anonymous").is_authenticated
