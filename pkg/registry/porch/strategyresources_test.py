"""The packagerevisionresources strategy through the update driver: files only, safe paths."""

from __future__ import annotations

import pytest

from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import codec, errors
from pkg.registry.porch import porchtesting, strategyresources
from pkg.registry.rest import update

KIND = errors.GroupKind("porch.kpt.dev", "PackageRevisionResources")
KPTFILE = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\n"


def _stored() -> porchv1alpha1.PackageRevisionResources:
    return porchv1alpha1.PackageRevisionResources.model_validate(
        {
            "metadata": {
                "name": "repo.app.ws",
                "namespace": "default",
                "uid": "uid-1",
                "resourceVersion": "abc",
                "labels": {"team": "blue"},
            },
            "spec": {
                "packageName": "app",
                "workspaceName": "ws",
                "repository": "repo",
                "resources": {"Kptfile": KPTFILE},
            },
        }
    )


def _push(files: dict[str, str]) -> porchv1alpha1.PackageRevisionResources:
    old = _stored()
    new = old.model_copy(deep=True)
    assert new.spec is not None
    new.spec.resources = files
    update.before_update(strategyresources.STRATEGY, porchtesting.context(), new, old, KIND)
    return new


@pytest.mark.parametrize(
    ("files", "detail"),
    [
        pytest.param({"Kptfile": KPTFILE, "a/b.yaml": "x: 1\n"}, None, id="valid"),
        pytest.param({"README.md": "hi"}, "package must contain Kptfile at root", id="no-kptfile"),
        pytest.param(
            {"Kptfile": KPTFILE, "../x": "x"}, "must not contain '.' or '..' segments", id="dotdot"
        ),
        pytest.param(
            {"Kptfile": KPTFILE, "/x": "x"}, "must be relative to the package directory", id="abs"
        ),
        pytest.param(
            {"Kptfile": KPTFILE, ".git/config": "x"},
            "must not contain a '.git' segment",
            id="dot-git",
        ),
        pytest.param(
            {"Kptfile": KPTFILE, "a": "x", "a/b": "y"},
            "'a' is a file, not a directory",
            id="file-dir",
        ),
    ],
)
def test_file_names(files: dict[str, str], detail: str | None) -> None:
    if detail is None:
        pushed = _push(files)
        assert pushed.spec is not None and pushed.spec.resources == files
        return
    with pytest.raises(errors.StatusError) as info:
        _push(files)
    assert (info.value.code, info.value.reason) == (422, "Invalid")
    assert info.value.details is not None and info.value.details.causes is not None
    cause = info.value.details.causes[0]
    assert cause.field == "spec.resources"
    assert detail in (cause.message or "")


def test_only_the_files_come_from_the_body() -> None:
    old = _stored()
    new = old.model_copy(deep=True)
    assert new.spec is not None and new.metadata is not None
    new.spec.package_name = "elsewhere"
    new.spec.revision = 7
    new.spec.resources = {"Kptfile": KPTFILE, "new.yaml": "x: 1\n"}
    new.metadata.labels = {"team": "red"}
    new.status = porchv1alpha1.PackageRevisionResourcesStatus.model_validate(
        {"renderStatus": {"error": "made up"}}
    )
    update.before_update(strategyresources.STRATEGY, porchtesting.context(), new, old, KIND)
    prepared = codec.to_dict(new)  # what the engine will be given
    assert (prepared["spec"]["packageName"], prepared["spec"].get("revision")) == ("app", None)
    assert set(prepared["spec"]["resources"]) == {"Kptfile", "new.yaml"}
    assert prepared["metadata"]["labels"] == {"team": "blue"}
    assert "status" not in prepared


def test_resources_never_created_by_update() -> None:
    assert strategyresources.STRATEGY.allow_create_on_update() is False
