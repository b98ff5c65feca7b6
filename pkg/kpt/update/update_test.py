"""Tests of `update`: Porch's package update vector, and each strategy on small packages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pkg.kpt import update as kptupdate
from pkg.kpt import yamlutil

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
UPGRADE_MERGE = SHARED / "testdata" / "upgrade-merge"


def _read_tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_porch_update_vector_matches_byte_for_byte() -> None:
    """Porch's own test vector (pkg/repository/testdata/update): every file equal."""
    result = kptupdate.update(
        _read_tree(UPGRADE_MERGE / "original"),
        _read_tree(UPGRADE_MERGE / "upstream"),
        _read_tree(UPGRADE_MERGE / "local"),
    )
    assert result == _read_tree(UPGRADE_MERGE / "updated")


# ------------------------------------------------------------------------------ sample package


def kptfile(name: str, *, extra: str = "") -> str:
    return (
        f"apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {name}\n"
        '  annotations:\n    config.kubernetes.io/local-config: "true"\n' + extra
    )


def configmap(name: str, data: str, *, comment: str = "", namespace: str = "") -> str:
    ns = f"  namespace: {namespace}\n" if namespace else ""
    meta = f"metadata: # kpt-merge: {comment}\n" if comment else "metadata:\n"
    return f"apiVersion: v1\nkind: ConfigMap\n{meta}  name: {name}\n{ns}data:\n{data}"


ORIGINAL = {
    "Kptfile": kptfile("base"),
    "README.md": "# base\n",
    "cm.yaml": configmap("cm", "  a: '1'\n  b: '1'\n"),
    "gone.yaml": configmap("gone", "  a: '1'\n"),
    "kept.yaml": configmap("kept", "  a: '1'\n"),
    "notes.txt": "old notes\n",
}


def test_resource_merge_combines_both_sides() -> None:
    upstream = {
        "Kptfile": kptfile("base", extra="info:\n  description: new\n"),
        "README.md": "# base v2\n",
        "cm.yaml": configmap("cm", "  a: '1'\n  b: '2'\n"),
        "kept.yaml": configmap("kept", "  a: '1'\n"),
        "new.yaml": configmap("new", "  n: '1'\n"),
        "extra.md": "from upstream\n",
    }
    local = {
        "Kptfile": kptfile("mine"),
        "README.md": "# base\n",
        "cm.yaml": configmap("cm", "  a: local\n  b: '1'\n"),
        "gone.yaml": configmap("gone", "  a: '1'\n"),
        "kept.yaml": configmap("kept", "  a: '1'\n  mine: 'yes'\n"),
        "notes.txt": "old notes\n",
        "mine.yaml": configmap("mine", "  m: '1'\n"),
    }
    result = kptupdate.update(ORIGINAL, upstream, local)

    assert result["cm.yaml"] == configmap("cm", "  a: local\n  b: '2'\n"), "both changes kept"
    assert result["new.yaml"] == upstream["new.yaml"], "added upstream"
    assert result["mine.yaml"] == local["mine.yaml"], "added locally"
    assert "gone.yaml" not in result, "deleted upstream, unchanged locally"
    assert result["kept.yaml"] == local["kept.yaml"], "kept.yaml unchanged upstream"
    assert result["README.md"] == "# base v2\n", "non-KRM file follows upstream"
    assert result["extra.md"] == "from upstream\n"
    assert "notes.txt" not in result, "non-KRM file deleted upstream, unchanged locally"
    kf = yamlutil.load(result["Kptfile"])
    assert kf["metadata"]["name"] == "mine"
    assert kf["info"]["description"] == "new"


def test_resource_merge_keeps_local_deletions_and_changed_files() -> None:
    upstream = {
        **ORIGINAL,
        "cm.yaml": configmap("cm", "  a: '1'\n  b: '2'\n"),
        "README.md": "# upstream readme\n",
    }
    del upstream["gone.yaml"]
    del upstream["notes.txt"]
    local = {k: v for k, v in ORIGINAL.items() if k != "cm.yaml"}
    local["gone.yaml"] = configmap("gone", "  a: changed\n")
    local["README.md"] = "# my readme\n"
    local["notes.txt"] = "my notes\n"

    result = kptupdate.update(ORIGINAL, upstream, local)

    assert "cm.yaml" not in result, "deleted locally stays deleted"
    assert result["gone.yaml"] == local["gone.yaml"], "deleted upstream but changed locally"
    assert result["README.md"] == "# my readme\n", "non-KRM file changed locally"
    assert result["notes.txt"] == "my notes\n"


def test_resource_merge_pairs_renamed_resources_by_merge_comment() -> None:
    original = {"Kptfile": kptfile("base"), "cm.yaml": configmap("cm", "  a: '1'\n")}
    upstream = {"Kptfile": kptfile("base"), "cm.yaml": configmap("cm", "  a: '2'\n")}
    local = {
        "Kptfile": kptfile("mine"),
        "cm.yaml": configmap("mine-cm", "  a: '1'\n", comment="/cm", namespace="prod"),
    }
    result = kptupdate.update(original, upstream, local)
    assert result["cm.yaml"] == configmap("mine-cm", "  a: '2'\n", comment="/cm", namespace="prod")


def test_resource_merge_multi_document_file() -> None:
    original = {"all.yaml": configmap("a", "  v: '1'\n") + "---\n" + configmap("b", "  v: '1'\n")}
    upstream = {"all.yaml": configmap("a", "  v: '1'\n") + "---\n" + configmap("b", "  v: '2'\n")}
    local = {"all.yaml": configmap("a", "  v: mine\n") + "---\n" + configmap("b", "  v: '1'\n")}
    result = kptupdate.update(original, upstream, local)
    assert result == {
        "all.yaml": configmap("a", "  v: mine\n") + "---\n" + configmap("b", "  v: '2'\n")
    }


def test_resource_merge_duplicate_resources_are_an_error() -> None:
    twice = configmap("a", "  v: '1'\n") + "---\n" + configmap("a", "  v: '2'\n")
    with pytest.raises(
        kptupdate.MergeError, match=re.escape('duplicate "dest" resources in file "x.yaml"')
    ):
        kptupdate.update({}, {}, {"x.yaml": twice})


def test_resource_merge_unreadable_yaml_is_an_error() -> None:
    with pytest.raises(kptupdate.UpdateError, match=re.escape("cannot read local file 'x.yaml'")):
        kptupdate.update({}, {}, {"x.yaml": "a: [b\n"})


# -------------------------------------------------------------------------------- subpackages

SUB_ORIGINAL = {
    "Kptfile": kptfile("root"),
    "sub/Kptfile": kptfile("sub"),
    "sub/cm.yaml": configmap("sub", "  a: '1'\n"),
    "old/Kptfile": kptfile("old"),
    "old/cm.yaml": configmap("old", "  a: '1'\n"),
    "changed/Kptfile": kptfile("changed"),
    "changed/cm.yaml": configmap("changed", "  a: '1'\n"),
}


def test_resource_merge_subpackages() -> None:
    remote_kptfile = kptfile(
        "remote", extra="upstream:\n  type: git\n  git: {repo: r, directory: d, ref: v1}\n"
    )
    upstream = {
        "Kptfile": kptfile("root"),
        "sub/Kptfile": kptfile("sub"),
        "sub/cm.yaml": configmap("sub", "  a: '2'\n"),
        "added/Kptfile": kptfile("added"),
        "added/cm.yaml": configmap("added", "  a: '1'\n"),
        "added/nested/Kptfile": kptfile("nested"),
        "added/nested/cm.yaml": configmap("nested", "  a: '1'\n"),
        "remote/Kptfile": remote_kptfile,
        "remote/cm.yaml": configmap("remote", "  a: upstream\n"),
    }
    local = {
        **SUB_ORIGINAL,
        "changed/cm.yaml": configmap("changed", "  a: local\n"),
        "remote/Kptfile": remote_kptfile,
        "remote/cm.yaml": configmap("remote", "  a: local\n"),
    }
    result = kptupdate.update(SUB_ORIGINAL, upstream, local)

    assert result["sub/cm.yaml"] == configmap("sub", "  a: '2'\n"), "local subpackage merged"
    for path in ("added/Kptfile", "added/cm.yaml", "added/nested/Kptfile", "added/nested/cm.yaml"):
        assert result[path] == upstream[path], f"{path}: subpackage added upstream"
    assert not any(p.startswith("old/") for p in result), "deleted upstream, unchanged locally"
    assert result["changed/cm.yaml"] == local["changed/cm.yaml"], "deleted upstream, changed"
    assert result["remote/cm.yaml"] == local["remote/cm.yaml"], "remote subpackage untouched"


def test_subpackage_added_on_both_sides_is_an_error() -> None:
    both = {"Kptfile": kptfile("root"), "s/Kptfile": kptfile("s")}
    with pytest.raises(kptupdate.UpdateError, match="subpackage 's' added in both"):
        kptupdate.update({"Kptfile": kptfile("root")}, both, both)


# ----------------------------------------------------------------------- the other strategies


def _upstream_v2() -> dict[str, str]:
    upstream = dict(ORIGINAL)
    upstream["cm.yaml"] = configmap("cm", "  a: '2'\n  b: '2'\n")
    upstream["Kptfile"] = kptfile("base", extra="info:\n  description: v2\n")
    del upstream["gone.yaml"]
    upstream["new.yaml"] = configmap("new", "  n: '1'\n")
    return upstream


def test_fast_forward_replaces_an_unchanged_package() -> None:
    local = dict(ORIGINAL)
    local["Kptfile"] = kptfile(
        "mine", extra="upstream:\n  type: git\n  git: {repo: r, directory: d, ref: v1}\n"
    )
    upstream = _upstream_v2()
    result = kptupdate.update(ORIGINAL, upstream, local, strategy=kptupdate.FAST_FORWARD)
    assert result == {**upstream, "Kptfile": local["Kptfile"]}


def test_fast_forward_refuses_local_changes() -> None:
    local = dict(ORIGINAL)
    local["cm.yaml"] = configmap("cm", "  a: local\n  b: '1'\n")
    local["added.yaml"] = configmap("added", "  a: '1'\n")
    local["Kptfile"] = kptfile("base", extra="info:\n  description: mine\n")
    local["README.md"] = "# my title\n"
    with pytest.raises(kptupdate.LocalChangesError) as raised:
        kptupdate.update(ORIGINAL, _upstream_v2(), local, strategy=kptupdate.FAST_FORWARD)
    assert str(raised.value) == (
        "local package files have been modified: [Kptfile README.md added.yaml cm.yaml].\n"
        "  use a different update --strategy."
    )


def test_fast_forward_ignores_formatting_of_yaml() -> None:
    local = dict(ORIGINAL)
    local["cm.yaml"] = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n    name: cm\ndata:\n    a: '1'\n    b: '1'\n"
    )
    result = kptupdate.update(ORIGINAL, _upstream_v2(), local, strategy=kptupdate.FAST_FORWARD)
    assert result["cm.yaml"] == _upstream_v2()["cm.yaml"]


def test_force_delete_replace_discards_local_changes() -> None:
    local = dict(ORIGINAL)
    local["Kptfile"] = kptfile("mine")
    local["cm.yaml"] = configmap("cm", "  a: local\n")
    local["mine.yaml"] = configmap("mine", "  m: '1'\n")
    local["sub/Kptfile"] = kptfile("sub")
    upstream = _upstream_v2()
    result = kptupdate.update(ORIGINAL, upstream, local, strategy=kptupdate.FORCE_DELETE_REPLACE)
    assert result == {**upstream, "Kptfile": local["Kptfile"]}


def test_copy_merge_copies_upstream_over_local() -> None:
    local = dict(ORIGINAL)
    local["Kptfile"] = kptfile("mine")
    local["cm.yaml"] = configmap("cm", "  a: local\n")
    local["mine.yaml"] = configmap("mine", "  m: '1'\n")
    upstream = _upstream_v2()
    upstream["Kptfile"] = kptfile(
        "base",
        extra="upstream:\n  type: git\n  git:\n    repo: r\n    directory: d\n    ref: v2\n"
        "info:\n  description: v2\n",
    )
    result = kptupdate.update(ORIGINAL, upstream, local, strategy=kptupdate.COPY_MERGE)

    assert result["cm.yaml"] == upstream["cm.yaml"], "upstream file wins"
    assert result["mine.yaml"] == local["mine.yaml"], "local-only file kept"
    assert "gone.yaml" not in result, "deleted upstream"
    assert result["new.yaml"] == upstream["new.yaml"]
    kf = yamlutil.load(result["Kptfile"])
    assert kf["metadata"]["name"] == "mine"
    assert kf["info"]["description"] == "v2"
    assert kf["upstream"]["git"]["ref"] == "v2"


# ------------------------------------------------------------------------------------- input


def test_empty_strategy_means_resource_merge() -> None:
    local = {"Kptfile": kptfile("mine"), "cm.yaml": configmap("cm", "  a: '1'\n  b: '1'\n")}
    upstream = {"Kptfile": kptfile("base"), "cm.yaml": configmap("cm", "  a: '1'\n  b: '2'\n")}
    original = {"Kptfile": kptfile("base"), "cm.yaml": configmap("cm", "  a: '1'\n  b: '1'\n")}
    assert kptupdate.update(original, upstream, local, strategy="") == kptupdate.update(
        original, upstream, local
    )


def test_unknown_strategy_is_rejected() -> None:
    with pytest.raises(kptupdate.UpdateError, match="unknown update strategy 'merge-all'"):
        kptupdate.update({}, {}, {}, strategy="merge-all")


@pytest.mark.parametrize("path", ["../escape.yaml", "/abs.yaml", "a//b.yaml", "./a.yaml"])
def test_paths_outside_the_package_are_rejected(path: str) -> None:
    with pytest.raises(kptupdate.UpdateError, match="invalid file path"):
        kptupdate.update({}, {path: "a: 1\n"}, {})


def test_inputs_are_not_changed() -> None:
    local = {"Kptfile": kptfile("mine"), "cm.yaml": configmap("cm", "  a: x\n")}
    snapshot = dict(local)
    kptupdate.update(ORIGINAL, _upstream_v2(), local)
    assert local == snapshot
