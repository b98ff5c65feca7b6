"""The metadata rules every resource shares, with Kubernetes' messages."""

from __future__ import annotations

import pytest

from api.meta import v1 as metav1
from pkg.apimachinery import validation
from pkg.registry.rest import objectmeta


def _errors(meta: metav1.ObjectMeta, namespaced: bool = True) -> list[str]:
    return [
        str(err)
        for err in objectmeta.validate_object_meta(
            meta, namespaced=namespaced, name_validator=validation.is_dns1123_subdomain
        )
    ]


def test_valid_metadata() -> None:
    meta = metav1.ObjectMeta(
        name="a.b-c",
        namespace="ns",
        labels={"app.kubernetes.io/name": "x", "empty": ""},
        annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}"},
        finalizers=["example.com/cleanup"],
    )
    assert _errors(meta) == []


@pytest.mark.parametrize(
    ("meta", "want"),
    [
        pytest.param(
            metav1.ObjectMeta(namespace="ns"),
            "metadata.name: Required value: name or generateName is required",
            id="no-name",
        ),
        pytest.param(
            metav1.ObjectMeta(name="Upper", namespace="ns"),
            'metadata.name: Invalid value: "Upper": a lowercase RFC 1123 subdomain',
            id="bad-name",
        ),
        pytest.param(
            metav1.ObjectMeta(generate_name="Bad_", namespace="ns"),
            'metadata.generateName: Invalid value: "Bad_": a lowercase RFC 1123 subdomain',
            id="bad-generate-name",
        ),
        pytest.param(
            metav1.ObjectMeta(name="x"), "metadata.namespace: Required value", id="no-namespace"
        ),
        pytest.param(
            metav1.ObjectMeta(name="x", namespace="ns", labels={"k": "bad value"}),
            'metadata.labels: Invalid value: "bad value": a valid label must be',
            id="bad-label-value",
        ),
        pytest.param(
            metav1.ObjectMeta(name="x", namespace="ns", labels={"-k": "v"}),
            'metadata.labels: Invalid value: "-k": name part must consist of',
            id="bad-label-key",
        ),
        pytest.param(
            metav1.ObjectMeta(name="x", namespace="ns", annotations={"a": "x" * 262144}),
            "metadata.annotations: Too long: may not be more than 262144 bytes",
            id="annotations-too-big",
        ),
        pytest.param(
            metav1.ObjectMeta(name="x", namespace="ns", finalizers=["a/b/c"]),
            'metadata.finalizers[0]: Invalid value: "a/b/c": a valid label key',
            id="bad-finalizer",
        ),
    ],
)
def test_invalid_metadata(meta: metav1.ObjectMeta, want: str) -> None:
    errs = _errors(meta)
    assert any(e.startswith(want) for e in errs), errs


def test_cluster_scoped_objects_have_no_namespace() -> None:
    errs = _errors(metav1.ObjectMeta(name="x", namespace="ns"), namespaced=False)
    assert errs == ["metadata.namespace: Forbidden: not allowed on this type"]
