"""The packagerevisions strategy through the create/update drivers: every rule, table-driven."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import errors
from pkg.registry.porch import porchtesting, strategy
from pkg.registry.rest import create, update

KIND = errors.GroupKind("porch.kpt.dev", "PackageRevision")
LATEST = "kpt.dev/latest-revision"


def _obj(**changes: Any) -> porchv1alpha1.PackageRevision:
    data: dict[str, Any] = {
        "apiVersion": "porch.kpt.dev/v1alpha1",
        "kind": "PackageRevision",
        "metadata": {"namespace": "default"},
        "spec": {"packageName": "path/app", "workspaceName": "ws", "repository": "repo"},
    }
    lifecycle = changes.pop("spec__lifecycle", None)
    for key, value in changes.items():
        section, _, name = key.partition("__")
        data.setdefault(section, {})[name] = value
    obj = porchv1alpha1.PackageRevision.model_validate(data)
    assert obj.spec is not None
    # Assigned, not validated: the strategy must cope with values a decoder would refuse.
    obj.spec.lifecycle = lifecycle
    return obj


def _causes(action: Callable[[], None]) -> list[tuple[str, str]]:
    """(field, message) of every cause of the 422 ``action`` raises; [] when it passes."""
    try:
        action()
    except errors.StatusError as err:
        assert (err.code, err.reason) == (422, "Invalid"), err.message
        assert err.details is not None
        return [(c.field or "", c.message or "") for c in err.details.causes or []]
    return []


def _create(obj: porchv1alpha1.PackageRevision) -> list[tuple[str, str]]:
    ctx = porchtesting.context()
    return _causes(lambda: create.before_create(strategy.STRATEGY, ctx, obj, KIND))


@pytest.mark.parametrize(
    ("obj", "want"),
    [
        pytest.param(_obj(), [], id="valid"),
        pytest.param(_obj(spec__lifecycle="Draft"), [], id="draft"),
        pytest.param(_obj(spec__lifecycle=""), [], id="empty-lifecycle"),
        pytest.param(
            _obj(metadata__labels={LATEST: "true"}),
            [
                (
                    "metadata.labels[kpt.dev/latest-revision]",
                    "Forbidden: label is managed by porch and cannot be set by users",
                )
            ],
            id="latest-label",
        ),
        pytest.param(
            _obj(spec__packageName="path//app"),
            [
                (
                    "spec.packageName",
                    "Invalid value: \"path//app\": consecutive '/' characters are not allowed",
                )
            ],
            id="double-slash",
        ),
        pytest.param(
            _obj(spec__packageName="Path/App"),
            [("spec.packageName", "Invalid value")],
            id="package-not-dns",
        ),
        pytest.param(
            _obj(spec__workspaceName="my_ws"),
            [("spec.workspaceName", 'Invalid value: "my_ws"')],
            id="workspace-not-dns",
        ),
        pytest.param(
            _obj(spec__lifecycle="Proposed"),
            [("spec.lifecycle", 'Invalid value: "Proposed": value can be only created as Draft')],
            id="proposed",
        ),
        pytest.param(
            _obj(spec__lifecycle="Published"),
            [("spec.lifecycle", 'Invalid value: "Published": value can be only created as Draft')],
            id="published",
        ),
        pytest.param(
            _obj(metadata__labels={"bad key!": "x"}),
            [("metadata.labels", 'Invalid value: "bad key!"')],
            id="label-syntax",
        ),
        pytest.param(
            _obj(metadata__finalizers=["not a finalizer"]),
            [("metadata.finalizers[0]", 'Invalid value: "not a finalizer"')],
            id="finalizer-syntax",
        ),
    ],
)
def test_create_rules(obj: porchv1alpha1.PackageRevision, want: list[tuple[str, str]]) -> None:
    got = _create(obj)
    assert [f for f, _ in got] == [f for f, _ in want]
    for (_, message), (_, prefix) in zip(got, want, strict=True):
        assert message.startswith(prefix), message


def test_create_drops_status_and_stores_empty_lifecycle_as_draft() -> None:
    obj = _obj(status={"publishedBy": "mallory"})
    create.before_create(strategy.STRATEGY, porchtesting.context(), obj, KIND)
    assert obj.status is None
    assert obj.spec is not None and obj.spec.lifecycle == "Draft"


@pytest.mark.parametrize(
    ("metadata", "want"),
    [
        pytest.param({}, [], id="no-name"),
        pytest.param({"name": "repo.path.app.ws"}, [], id="the-computed-name"),
        pytest.param(
            {"name": "mine"},
            [
                "metadata.name 'mine' is ignored: package revisions are named "
                "<repository>.<package path>.<workspaceName> ('repo.path.app.ws')"
            ],
            id="another-name",
        ),
        pytest.param(
            {"generateName": "app-"},
            [
                "metadata.generateName 'app-' is ignored: package revisions are named "
                "<repository>.<package path>.<workspaceName> ('repo.path.app.ws')"
            ],
            id="generate-name",
        ),
    ],
)
def test_create_warns_that_client_names_are_ignored(
    metadata: dict[str, str], want: list[str]
) -> None:
    ctx = porchtesting.context()
    create.before_create(
        strategy.STRATEGY, ctx, _obj(metadata__name=metadata.get("name"), **_gen(metadata)), KIND
    )
    assert ctx.warnings == want


def _gen(metadata: dict[str, str]) -> dict[str, Any]:
    return (
        {"metadata__generateName": metadata["generateName"]} if "generateName" in metadata else {}
    )


def _stored(lifecycle: str, **changes: Any) -> porchv1alpha1.PackageRevision:
    old = _obj(spec__lifecycle=lifecycle, **changes)
    assert old.metadata is not None
    old.metadata.name = "repo.path.app.ws"
    old.metadata.uid = "uid-1"
    old.metadata.resource_version = "abc"
    return old


def _update(
    old: porchv1alpha1.PackageRevision, change: Callable[[porchv1alpha1.PackageRevision], None]
) -> tuple[porchv1alpha1.PackageRevision, list[tuple[str, str]]]:
    new = old.model_copy(deep=True)
    change(new)
    ctx = porchtesting.context()
    causes = _causes(lambda: update.before_update(strategy.STRATEGY, ctx, new, old, KIND))
    return new, causes


def _lifecycle(value: str) -> Callable[[porchv1alpha1.PackageRevision], None]:
    def change(obj: porchv1alpha1.PackageRevision) -> None:
        assert obj.spec is not None
        obj.spec.lifecycle = value  # type: ignore[assignment]

    return change


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("Draft", "Draft", None, None),
        ("Draft", "Proposed", None, None),
        ("Proposed", "Draft", None, None),
        ("Proposed", "Proposed", None, None),
        ("Published", "DeletionProposed", None, None),
        ("DeletionProposed", "Published", None, None),
        ("Draft", "Published", "spec.lifecycle", "value can be only updated to Draft,Proposed"),
        ("Proposed", "Published", "spec.lifecycle", "value can be only updated to Draft,Proposed"),
        (
            "Draft",
            "Final",
            "spec.lifecycle",
            "value can be only updated to Draft,Proposed,Published,DeletionProposed",
        ),
        (
            "Published",
            "Draft",
            "spec",
            "spec can only update package with lifecycle value one of Draft,Proposed",
        ),
        (
            "DeletionProposed",
            "Proposed",
            "spec",
            "spec can only update package with lifecycle value one of Draft,Proposed",
        ),
    ],
)
def test_main_update_lifecycle_table(
    old: str, new: str, field: str | None, message: str | None
) -> None:
    _, causes = _update(_stored(old), _lifecycle(new))
    if field is None:
        assert causes == []
    else:
        assert causes and causes[0][0] == field and message is not None
        assert message in causes[0][1]


def test_a_published_spec_cannot_change() -> None:
    def gate(obj: porchv1alpha1.PackageRevision) -> None:
        assert obj.spec is not None
        obj.spec.readiness_gates = [porchv1alpha1.ReadinessGate(condition_type="x")]

    _, causes = _update(_stored("Published"), gate)
    assert causes == [
        (
            "spec",
            'Invalid value: "Published": spec can only update package with lifecycle value one '
            "of Draft,Proposed",
        )
    ]


@pytest.mark.parametrize(
    ("old_labels", "new_labels", "message"),
    [
        ({}, {LATEST: "true"}, "label is managed by porch and cannot be modified by users"),
        ({LATEST: "true"}, {}, "label is managed by porch and cannot be modified by users"),
        ({LATEST: "true"}, {LATEST: "true", "x": "y"}, None),
    ],
)
def test_the_latest_label_cannot_change(
    old_labels: dict[str, str], new_labels: dict[str, str], message: str | None
) -> None:
    def relabel(obj: porchv1alpha1.PackageRevision) -> None:
        assert obj.metadata is not None
        obj.metadata.labels = new_labels

    _, causes = _update(_stored("Draft", metadata__labels=old_labels), relabel)
    assert [m for _, m in causes] == ([f"Forbidden: {message}"] if message else [])


def test_missing_package_metadata_is_taken_from_the_stored_object() -> None:
    old = _stored("Draft", spec__packageMetadata={"labels": {"team": "blue"}})

    def forget(obj: porchv1alpha1.PackageRevision) -> None:
        assert obj.spec is not None
        obj.spec.package_metadata = None

    new, causes = _update(old, forget)
    assert causes == []
    assert new.spec is not None and new.spec.package_metadata is not None
    assert new.spec.package_metadata.labels == {"team": "blue"}

    def replace(obj: porchv1alpha1.PackageRevision) -> None:
        assert obj.spec is not None
        obj.spec.package_metadata = porchv1alpha1.PackageMetadata(labels={"team": "red"})

    new, _ = _update(old, replace)
    assert new.spec is not None and new.spec.package_metadata is not None
    assert new.spec.package_metadata.labels == {"team": "red"}


def test_update_keeps_the_status_and_stores_empty_lifecycle_as_draft() -> None:
    old = _stored("Draft")

    def change(obj: porchv1alpha1.PackageRevision) -> None:
        assert obj.spec is not None
        obj.spec.lifecycle = None
        obj.status = porchv1alpha1.PackageRevisionStatus.model_validate(
            {"conditions": [{"type": "Ready", "status": "True"}]}
        )

    new, causes = _update(old, change)
    assert causes == []
    assert new.spec is not None and new.spec.lifecycle == "Draft"
    assert new.status is not None and new.status.conditions is not None


def test_update_never_creates() -> None:
    assert strategy.STRATEGY.allow_create_on_update() is False


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ({"repository": "r", "packageName": "a/b/c", "workspaceName": "w"}, "r.a.b.c.w"),
        ({"repository": "r", "packageName": "c", "workspaceName": "v1.2.3"}, "r.c.v1.2.3"),
        ({"repository": "r", "packageName": "c"}, None),
    ],
)
def test_computed_name(spec: dict[str, str], want: str | None) -> None:
    obj = porchv1alpha1.PackageRevision.model_validate({"spec": spec})
    assert strategy.computed_name(obj) == want
