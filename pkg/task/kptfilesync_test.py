"""Tests of the spec -> Kptfile sync: Porch's rules, and the Kptfile's comments survive."""

from __future__ import annotations

import pytest
import yaml

from api.porch import v1alpha1 as porchv1alpha1
from pkg.repository import errors
from pkg.task import kptfilesync

KPTFILE = """\
# The package's Kptfile
apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: pkg # the name
  labels:
    keep: "yes"
    drop: me
  annotations:
    config.kubernetes.io/local-config: "true"
info:
  description: a package
  readinessGates:
    - conditionType: old-gate # stays when still wanted
    - conditionType: gone-gate
status:
  conditions:
    - type: Rendered
      status: "True"
      reason: RenderSuccess
    - type: ready
      status: "False"
      message: not yet
"""


def _meta(**maps: dict[str, str]) -> porchv1alpha1.PackageMetadata:
    return porchv1alpha1.PackageMetadata(**maps)


def _gates(*names: str) -> list[porchv1alpha1.ReadinessGate]:
    return [porchv1alpha1.ReadinessGate(condition_type=n) for n in names]


def test_create_merges_labels_and_annotations() -> None:
    files = kptfilesync.apply_package_metadata(
        {"Kptfile": KPTFILE}, _meta(labels={"new": "1", "drop": "changed"}), None
    )
    data = yaml.safe_load(files["Kptfile"])
    assert data["metadata"]["labels"] == {"keep": "yes", "drop": "changed", "new": "1"}
    assert data["metadata"]["annotations"] == {"config.kubernetes.io/local-config": "true"}
    assert "# The package's Kptfile\n" in files["Kptfile"]
    assert "name: pkg # the name\n" in files["Kptfile"]


def test_create_without_metadata_leaves_the_kptfile_alone() -> None:
    files = {"Kptfile": KPTFILE, "x.yaml": "a: b\n"}
    assert kptfilesync.apply_package_metadata(files, None, None) == files


def test_create_needs_a_kptfile() -> None:
    with pytest.raises(errors.InvalidPackageError, match="package must contain Kptfile at root"):
        kptfilesync.apply_package_metadata({}, _meta(labels={"a": "b"}), None)


def test_readiness_gates_are_synced_keeping_wanted_ones_in_place() -> None:
    files = kptfilesync.apply_package_metadata(
        {"Kptfile": KPTFILE}, None, _gates("new-gate", "old-gate")
    )
    text = files["Kptfile"]
    data = yaml.safe_load(text)
    assert data["info"]["readinessGates"] == [
        {"conditionType": "old-gate"},
        {"conditionType": "new-gate"},
    ]
    assert "- conditionType: old-gate # stays when still wanted\n" in text
    # The sequence indentation of the file is kept (wide here).
    assert "    - conditionType: new-gate\n" in text


def _obj(
    metadata: porchv1alpha1.PackageMetadata | None = None,
    gates: list[porchv1alpha1.ReadinessGate] | None = None,
    conditions: list[porchv1alpha1.Condition] | None = None,
) -> porchv1alpha1.PackageRevision:
    return porchv1alpha1.PackageRevision(
        spec=porchv1alpha1.PackageRevisionSpec(package_metadata=metadata, readiness_gates=gates),
        status=porchv1alpha1.PackageRevisionStatus(conditions=conditions),
    )


def test_update_replaces_maps() -> None:
    patched = kptfilesync.patch_kptfile(
        KPTFILE, _obj(_meta(labels={"keep": "yes"}, annotations={}))
    )
    assert patched is not None
    data = yaml.safe_load(patched)
    assert data["metadata"]["labels"] == {"keep": "yes"}
    assert "annotations" not in data["metadata"]


def test_update_with_nothing_to_change_gives_none() -> None:
    same = _obj(
        _meta(labels={"keep": "yes", "drop": "me"}),
        _gates("old-gate", "gone-gate"),
    )
    assert kptfilesync.patch_kptfile(KPTFILE, same) is None
    assert kptfilesync.patch_kptfile(KPTFILE, _obj()) is None


def test_update_writes_status_conditions() -> None:
    conditions = [
        porchv1alpha1.Condition(type="ready", status="True", reason="Done"),
        porchv1alpha1.Condition(type="extra", status="Unknown", message="m"),
    ]
    patched = kptfilesync.patch_kptfile(KPTFILE, _obj(conditions=conditions))
    assert patched is not None
    assert yaml.safe_load(patched)["status"]["conditions"] == [
        {"type": "ready", "status": "True", "reason": "Done"},
        {"type": "extra", "status": "Unknown", "message": "m"},
    ]
    # Comments elsewhere survive the edit.
    assert patched.startswith("# The package's Kptfile\n")


def test_unreadable_kptfile_is_an_invalid_package() -> None:
    with pytest.raises(errors.InvalidPackageError, match="failed to parse Kptfile"):
        kptfilesync.patch_kptfile("a: [\n", _obj(_meta(labels={})))
