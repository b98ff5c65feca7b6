"""Reading packages into annotated items and writing them back, as kpt's kyaml reader/writer do."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml.comments import CommentedMap

from pkg.kpt import pkgio, yamlutil

KPTFILE = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: {name}\n"


def _cm(kind: str, name: str) -> str:
    return f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n"


def _paths(items: list[CommentedMap]) -> list[tuple[str | None, str | None]]:
    return [
        (
            pkgio.get_annotation(i, pkgio.PATH_ANNOTATION),
            pkgio.get_annotation(i, pkgio.INDEX_ANNOTATION),
        )
        for i in items
    ]


def test_read_walks_like_filepath_walk_and_skips_subpackages_and_ignored() -> None:
    files = {
        "Kptfile": KPTFILE.format(name="root"),
        "a.yaml": _cm("ConfigMap", "a"),
        "a-b.yaml": _cm("ConfigMap", "ab"),
        "a/b.yaml": _cm("ConfigMap", "a-b-dir") + "---\n" + _cm("ConfigMap", "second"),
        "README.md": "# not yaml",
        "ignored.yaml": "not: krm",
        ".krmignore": "ignored.yaml\n",
        "sub/Kptfile": KPTFILE.format(name="sub"),
        "sub/x.yaml": _cm("ConfigMap", "x"),
        "plain/dir/y.yml": _cm("ConfigMap", "y"),
    }
    items = pkgio.read_resources(files, "", "/root")
    assert _paths(items) == [
        ("Kptfile", "0"),
        ("a/b.yaml", "0"),
        ("a/b.yaml", "1"),
        ("a-b.yaml", "0"),
        ("a.yaml", "0"),
        ("plain/dir/y.yml", "0"),
    ]
    assert pkgio.get_annotation(items[0], pkgio.PACKAGE_PATH_ANNOTATION) == "/root"
    sub_items = pkgio.read_resources(files, "sub", "/root/sub")
    assert _paths(sub_items) == [("Kptfile", "0"), ("x.yaml", "0")]


def test_seqindent_is_recorded_per_document() -> None:
    files = {"w.yaml": "a: 1\nl:\n  - x\n---\nb: 2\nl:\n- y\n"}
    items = pkgio.read_resources(files, "", "/p")
    assert [pkgio.get_annotation(i, pkgio.SEQ_INDENT_ANNOTATION) for i in items] == [
        "wide",
        "compact",
    ]


def test_direct_subpackages_see_through_plain_directories() -> None:
    files = {
        "Kptfile": "",
        "b/Kptfile": "",
        "b/c/Kptfile": "",
        "plain/a/Kptfile": "",
    }
    assert pkgio.direct_subpackages(files, "") == ["b", "plain/a"]
    assert pkgio.direct_subpackages(files, "b") == ["b/c"]


def test_write_restores_files_and_strips_reader_annotations() -> None:
    text = (
        "# head\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
        "  annotations:\n    keep: me\nl:\n  - x\n"
    )
    files = {"f.yaml": text + "---\n" + _cm("ConfigMap", "b")}
    items = pkgio.read_resources(files, "", "/p")
    written = pkgio.write_resources(list(reversed(items)))
    assert written == {"f.yaml": text + "---\n" + _cm("ConfigMap", "b")}


def test_new_items_get_kind_name_files_and_empty_annotations_vanish() -> None:
    new = yamlutil.load(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\n"
    )
    other = yamlutil.load("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n")
    pkgio.set_annotation(other, "internal.config.kubernetes.io/index", "0")
    pkgio.remove_annotation(other, "internal.config.kubernetes.io/index")
    written = pkgio.write_resources([new, other])
    assert sorted(written) == ["prod/deployment_web.yaml", "service_web.yaml"]
    assert written["service_web.yaml"] == _cm("Service", "web")


def test_split_documents_rejects_bad_separators() -> None:
    assert len(pkgio.split_documents("a: 1\n--- # ok\nb: 2\n")) == 2
    try:
        pkgio.split_documents("a: 1\n--- b\nc: 2\n")
    except pkgio.PackageReadError as err:
        assert str(err) == "invalid document separator: --- b"
    else:
        raise AssertionError("separator accepted")


def test_directory_round_trip(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "Kptfile").write_text(KPTFILE.format(name="x"))
    (tmp_path / "sub" / "gone.yaml").write_text(_cm("ConfigMap", "g"))
    (tmp_path / "link.yaml").symlink_to(tmp_path / "Kptfile")
    before = pkgio.read_directory(tmp_path)
    assert sorted(before) == ["Kptfile", "sub/gone.yaml"]
    after = {"Kptfile": before["Kptfile"], "new/n.yaml": _cm("ConfigMap", "n")}
    pkgio.write_directory(tmp_path, before, after)
    assert not (tmp_path / "sub").exists()
    assert (tmp_path / "new" / "n.yaml").read_text() == _cm("ConfigMap", "n")


KRMIGNORE_FILES = {
    "Kptfile": KPTFILE.format(name="root"),
    "keep.yaml": _cm("ConfigMap", "keep"),
    "skip.yaml": _cm("ConfigMap", "skip"),
    "deep/skip.yaml": _cm("ConfigMap", "deep-skip"),
    "out/a.yaml": _cm("ConfigMap", "out-a"),
    "out/wanted.yaml": _cm("ConfigMap", "out-wanted"),
    "top.yaml": _cm("ConfigMap", "top"),
    "deep/top.yaml": _cm("ConfigMap", "deep-top"),
    "gen/a/b/x.yaml": _cm("ConfigMap", "generated"),
    "gen/y.yaml": _cm("ConfigMap", "gen-y"),
    "#hash.yaml": _cm("ConfigMap", "hash"),
    ".expected/config.yaml": "exitCode: 1\n",
    "sub/Kptfile": KPTFILE.format(name="sub"),
    "sub/skip.yaml": _cm("ConfigMap", "sub-skip"),
}


# The root package's own KRM files when nothing is ignored.
ALL_ROOT_FILES = {
    "#hash.yaml",
    "Kptfile",
    "deep/skip.yaml",
    "deep/top.yaml",
    "gen/a/b/x.yaml",
    "gen/y.yaml",
    "keep.yaml",
    "out/a.yaml",
    "out/wanted.yaml",
    "skip.yaml",
    "top.yaml",
}


@pytest.mark.parametrize(
    ("krmignore", "ignored"),
    [
        pytest.param(".expected\n", set(), id="expectations-folder"),
        pytest.param(
            "# comment\n.expected\nskip.yaml\n",
            {"skip.yaml", "deep/skip.yaml"},
            id="name-at-any-depth",
        ),
        pytest.param(".expected\n/top.yaml\n", {"top.yaml"}, id="leading-slash-anchors"),
        pytest.param(
            ".expected\nout/\n!out/wanted.yaml\n",
            {"out/a.yaml", "out/wanted.yaml"},
            id="no-re-include-below-ignored-dir",
        ),
        pytest.param(
            ".expected\n*.yaml\n!keep.yaml\n",
            ALL_ROOT_FILES - {"Kptfile", "keep.yaml"},
            id="negation",
        ),
        pytest.param(
            ".expected\ngen/**/x.yaml\n\\#hash.yaml\n",
            {"gen/a/b/x.yaml", "#hash.yaml"},
            id="double-star-and-escaped-hash",
        ),
    ],
)
def test_krmignore_follows_gitignore(krmignore: str, ignored: set[str]) -> None:
    files = {**KRMIGNORE_FILES, ".krmignore": krmignore}
    assert set(pkgio.package_files(files, "")) == ALL_ROOT_FILES - ignored


def test_krmignore_of_a_package_does_not_reach_into_its_subpackage() -> None:
    files = {**KRMIGNORE_FILES, ".krmignore": "skip.yaml\n"}
    assert "skip.yaml" not in pkgio.package_files(files, "")
    assert pkgio.package_files(files, "sub") == ["sub/Kptfile", "sub/skip.yaml"]
