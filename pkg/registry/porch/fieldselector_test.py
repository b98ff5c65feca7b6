"""Field and label selectors of porch.kpt.dev lists as cache filters: every field, every error."""

from __future__ import annotations

import pytest

from pkg.apimachinery import errors, fields, labels
from pkg.cache import cachetypes
from pkg.registry.porch import fieldselector
from pkg.registry.rest import rest
from pkg.repository import repository as repo_api

Lifecycle = repo_api.Lifecycle


def _options(field_selector: str = "", label_selector: str = "") -> rest.ListOptions:
    return rest.ListOptions(
        field_selector=fields.parse(field_selector) if field_selector else None,
        label_selector=labels.parse(label_selector) if label_selector else None,
    )


def _revisions(selector: str, namespace: str | None = "ns") -> cachetypes.PackageRevisionFilter:
    return fieldselector.package_revision_filter(_options(selector), namespace)


@pytest.mark.parametrize(
    ("selector", "want"),
    [
        pytest.param("", cachetypes.PackageRevisionFilter(namespace="ns"), id="nothing"),
        pytest.param(
            "metadata.name=repo.path.to.pkg.ws",
            cachetypes.PackageRevisionFilter(
                namespace="ns", name="repo.path.to.pkg.ws", repository="repo"
            ),
            id="name-pushes-its-repository-down",
        ),
        pytest.param(
            "metadata.name==repo.pkg.v2.0.0",
            cachetypes.PackageRevisionFilter(
                namespace="ns", name="repo.pkg.v2.0.0", repository="repo"
            ),
            id="name-with-semver-workspace",
        ),
        pytest.param(
            "metadata.namespace=ns",
            cachetypes.PackageRevisionFilter(namespace="ns"),
            id="same-namespace",
        ),
        pytest.param(
            "spec.revision=3",
            cachetypes.PackageRevisionFilter(namespace="ns", revision=3),
            id="revision",
        ),
        pytest.param(
            "spec.revision=v3",
            cachetypes.PackageRevisionFilter(namespace="ns", revision=3),
            id="revision-with-v",
        ),
        pytest.param(
            "spec.revision=0",
            cachetypes.PackageRevisionFilter(namespace="ns"),
            id="revision-0-is-no-filter",
        ),
        pytest.param(
            "spec.revision=v2.0.0",
            cachetypes.PackageRevisionFilter(namespace="ns", revision=-1),
            id="non-numeric-revision-is-minus-1",
        ),
        pytest.param(
            "spec.packageName=path/to/pkg",
            cachetypes.PackageRevisionFilter(namespace="ns", package_path="path/to/pkg"),
            id="package-path",
        ),
        pytest.param(
            "spec.repository=blueprints",
            cachetypes.PackageRevisionFilter(namespace="ns", repository="blueprints"),
            id="repository",
        ),
        pytest.param(
            "spec.workspaceName=v1",
            cachetypes.PackageRevisionFilter(namespace="ns", workspace="v1"),
            id="workspace",
        ),
        pytest.param(
            "spec.lifecycle=DeletionProposed",
            cachetypes.PackageRevisionFilter(
                namespace="ns", lifecycles=frozenset({Lifecycle.DELETION_PROPOSED})
            ),
            id="lifecycle",
        ),
        pytest.param(
            "spec.packageMetadata.labels[app.kubernetes.io/name]=web,"
            "spec.packageMetadata.labels[team]=blue",
            cachetypes.PackageRevisionFilter(
                namespace="ns", kptfile_labels={"app.kubernetes.io/name": "web", "team": "blue"}
            ),
            id="every-kptfile-label-counts",
        ),
        pytest.param(
            "spec.repository=a,spec.lifecycle=Published,spec.packageName=p",
            cachetypes.PackageRevisionFilter(
                namespace="ns",
                repository="a",
                package_path="p",
                lifecycles=frozenset({Lifecycle.PUBLISHED}),
            ),
            id="several",
        ),
        pytest.param(
            "spec.repository=other,metadata.name=repo.pkg.ws",
            cachetypes.PackageRevisionFilter(
                namespace="ns", repository="other", name="repo.pkg.ws"
            ),
            id="name-in-another-repository-matches-nothing",
        ),
    ],
)
def test_package_revision_fields(selector: str, want: cachetypes.PackageRevisionFilter) -> None:
    assert _revisions(selector) == want


def test_all_namespaces_take_the_namespace_from_the_selector() -> None:
    assert _revisions("metadata.namespace=team-a", None).namespace == "team-a"
    assert _revisions("", None).namespace is None


def test_the_label_selector_goes_into_the_filter() -> None:
    options = _options(label_selector="kpt.dev/latest-revision=true")
    got = fieldselector.package_revision_filter(options, "ns")
    assert got.label_selector == labels.parse("kpt.dev/latest-revision=true")


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        pytest.param("spec.foo=bar", 'unknown fieldSelector field "spec.foo"', id="unknown-field"),
        pytest.param(
            "spec.repository!=repo",
            'unsupported fieldSelector operator "!=" for field "spec.repository"',
            id="not-equals",
        ),
        pytest.param(
            "spec.repository=",
            'unsupported fieldSelector value "" for field "spec.repository" with operator "="',
            id="empty-value",
        ),
        pytest.param(
            "spec.lifecycle=Final",
            'unsupported fieldSelector value "Final" for field "spec.lifecycle"',
            id="bad-lifecycle",
        ),
        pytest.param(
            "metadata.namespace=other",
            'conflicting namespaces specified: "ns" and "other"',
            id="namespace-conflict",
        ),
        pytest.param(
            "spec.packageMetadata.labels[]=x",
            'label key cannot be empty in field selector "spec.packageMetadata.labels[]"',
            id="empty-label-key",
        ),
        pytest.param(
            "spec.repository=a,spec.repository=b",
            'conflicting fieldSelector values "a" and "b" for field "spec.repository"',
            id="two-values",
        ),
        pytest.param(
            "metadata.name=no_dots",
            "package revision kubernetes resource name invalid:",
            id="unparsable-name",
        ),
    ],
)
def test_package_revision_errors(selector: str, message: str) -> None:
    with pytest.raises(errors.StatusError) as info:
        _revisions(selector)
    assert (info.value.code, info.value.reason) == (400, "BadRequest")
    assert info.value.message.startswith(message)


@pytest.mark.parametrize(
    ("value", "want"),
    [("1", 1), ("v12", 12), ("0", None), ("v0", None), ("-1", -1), ("main", -1), ("v", -1)],
)
def test_parse_revision(value: str, want: int | None) -> None:
    assert fieldselector.parse_revision(value) == want


@pytest.mark.parametrize(
    ("selector", "want"),
    [
        pytest.param("", cachetypes.PackageFilter(namespace="ns"), id="nothing"),
        pytest.param(
            "metadata.name=repo.path.pkg",
            cachetypes.PackageFilter(namespace="ns", name="repo.path.pkg", repository="repo"),
            id="name",
        ),
        pytest.param(
            "metadata.namespace=ns", cachetypes.PackageFilter(namespace="ns"), id="namespace"
        ),
        pytest.param(
            "spec.packageName=path/pkg",
            cachetypes.PackageFilter(namespace="ns", package_path="path/pkg"),
            id="package",
        ),
        pytest.param(
            "spec.repository==repo",
            cachetypes.PackageFilter(namespace="ns", repository="repo"),
            id="repository",
        ),
    ],
)
def test_package_fields(selector: str, want: cachetypes.PackageFilter) -> None:
    assert fieldselector.package_filter(_options(selector), "ns") == want


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("spec.revision=1", 'unknown fieldSelector field "spec.revision"'),
        (
            "spec.packageName!=p",
            'unsupported fieldSelector operator "!=" for field "spec.packageName"',
        ),
        ("metadata.namespace=x", 'conflicting namespaces specified: "ns" and "x"'),
        ("metadata.name=repo", "package kubernetes resource name invalid:"),
    ],
)
def test_package_errors(selector: str, message: str) -> None:
    with pytest.raises(errors.StatusError) as info:
        fieldselector.package_filter(_options(selector), "ns")
    assert info.value.code == 400
    assert info.value.message.startswith(message)
