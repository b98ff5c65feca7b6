"""Pull/push file handling: ResourceLists, directories and ``.KptRevisionMetadata``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pkg.cmd.porchctl import cmdutil, resourceio

KPTFILE = """apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: basens # the package
  annotations:
    config.kubernetes.io/local-config: "true"
info:
  description: sample description
"""
NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: example\n"
MULTI = NAMESPACE + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"


def _metadata() -> str:
    return resourceio.revision_metadata(
        {"name": "git.basens.v1", "namespace": "ns", "uid": "u-1", "resourceVersion": "42"}
    )


def test_revision_metadata_document() -> None:
    assert yaml.safe_load(_metadata()) == {
        "apiVersion": "",
        "kind": "KptRevisionMetadata",
        "metadata": {
            "name": "git.basens.v1",
            "namespace": "ns",
            "uid": "u-1",
            "resourceVersion": "42",
        },
    }


def test_resource_list_annotates_sorts_and_keeps_only_krm_files() -> None:
    text = resourceio.to_resource_list(
        {
            "namespace.yaml": MULTI,
            "Kptfile": KPTFILE,
            "README.md": "# not KRM\n",
            "sub/x.yml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
            resourceio.REVISION_METADATA_FILE: _metadata(),
        }
    )
    document = yaml.safe_load(text)
    assert document["apiVersion"] == "config.kubernetes.io/v1"
    assert document["kind"] == "ResourceList"
    placed = [
        (
            i["kind"],
            i["metadata"]["annotations"]["config.kubernetes.io/path"],
            i["metadata"]["annotations"]["config.kubernetes.io/index"],
            i["metadata"]["annotations"]["internal.config.kubernetes.io/path"],
        )
        for i in document["items"]
    ]
    assert placed == [
        ("KptRevisionMetadata", ".KptRevisionMetadata", "0", ".KptRevisionMetadata"),
        ("Kptfile", "Kptfile", "0", "Kptfile"),
        ("Namespace", "namespace.yaml", "0", "namespace.yaml"),
        ("ConfigMap", "namespace.yaml", "1", "namespace.yaml"),
        ("Secret", "sub/x.yml", "0", "sub/x.yml"),
    ]
    # The user's annotations and comments survive.
    assert (
        document["items"][1]["metadata"]["annotations"]["config.kubernetes.io/local-config"]
        == "true"
    )
    assert "# the package" in text


def test_resource_list_round_trips_through_push() -> None:
    files = {
        "Kptfile": KPTFILE,
        "namespace.yaml": MULTI,
        resourceio.REVISION_METADATA_FILE: _metadata(),
    }
    back = resourceio.from_resource_list(resourceio.to_resource_list(files))
    assert set(back) == set(files)
    for path, content in files.items():
        assert list(yaml.safe_load_all(back[path])) == list(yaml.safe_load_all(content))
    assert "# the package" in back["Kptfile"]
    assert "config.kubernetes.io/path" not in back["namespace.yaml"]


def test_items_without_path_go_to_namespace_name_files() -> None:
    back = resourceio.from_resource_list(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: ns\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: example}\n"
    )
    assert sorted(back) == ["non-namespaced/example.yaml", "ns/cm.yaml"]


def test_take_resource_version() -> None:
    files = {"Kptfile": KPTFILE, resourceio.REVISION_METADATA_FILE: _metadata()}
    assert resourceio.take_resource_version(files, "ns", "git.basens.v1") == "42"
    assert resourceio.REVISION_METADATA_FILE not in files


def test_missing_revision_metadata_suggests_pull() -> None:
    with pytest.raises(cmdutil.KptError) as caught:
        resourceio.take_resource_version({"Kptfile": KPTFILE}, "ns", "p")
    assert str(caught.value) == (
        "\".KptRevisionMetadata\" not found in PackageRevisionResources 'ns/p'\n"
        'use "porchctl rpkg pull" to download the remote package metadata before pushing'
    )


def test_wrong_kind_in_revision_metadata() -> None:
    with pytest.raises(cmdutil.KptError, match='does not contain kind "KptRevisionMetadata"'):
        resourceio.take_resource_version({resourceio.REVISION_METADATA_FILE: NAMESPACE}, "ns", "p")


def test_missing_resource_version_is_empty() -> None:
    files = {resourceio.REVISION_METADATA_FILE: resourceio.revision_metadata({"name": "p"})}
    assert resourceio.take_resource_version(files, "ns", "p") == ""


def test_write_and_read_dir(tmp_path: Path) -> None:
    files = {"Kptfile": KPTFILE, "sub/dir/x.yaml": NAMESPACE, ".KptRevisionMetadata": _metadata()}
    target = tmp_path / "pkg"
    resourceio.write_dir(files, str(target))
    assert (target / "sub" / "dir" / "x.yaml").read_text() == NAMESPACE
    assert resourceio.read_dir(str(target)) == files


def test_write_dir_refuses_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(cmdutil.KptError, match="already exists, please delete the directory"):
        resourceio.write_dir({"Kptfile": KPTFILE}, str(tmp_path))


@pytest.mark.parametrize("path", ["../escape.yaml", "/etc/passwd", "a/../../b", "a\\..\\b"])
def test_write_dir_never_escapes(tmp_path: Path, path: str) -> None:
    target = tmp_path / "pkg"
    with pytest.raises(cmdutil.KptError, match="outside the package"):
        resourceio.write_dir({path: "x"}, str(target))
    assert not target.exists()


def test_read_dir_refuses_binary_files(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff")
    with pytest.raises(cmdutil.KptError, match="is not a valid UTF-8 text file"):
        resourceio.read_dir(str(tmp_path))


def test_read_dir_skips_symlinks(tmp_path: Path) -> None:
    (tmp_path / "Kptfile").write_text(KPTFILE)
    (tmp_path / "link.yaml").symlink_to(tmp_path / "Kptfile")
    assert resourceio.read_dir(str(tmp_path)) == {"Kptfile": KPTFILE}
