"""Tests of the upgrade task: Porch's upgrade-merge vector end to end, strategies, sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pkg.kpt import update
from pkg.repository import errors
from pkg.task import taskerrors, tasktesting, upgrade

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
VECTOR = SHARED / "testdata" / "upgrade-merge"


def _tree(name: str) -> dict[str, str]:
    root = VECTOR / name
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _without_identifier(docs: list[Any]) -> list[Any]:
    for doc in docs:
        annotations = (doc.get("metadata") or {}).get("annotations") or {}
        annotations.pop(update.UPSTREAM_IDENTIFIER_ANNOTATION, None)
        if not annotations and "metadata" in doc:
            doc["metadata"].pop("annotations", None)
    return docs


async def test_upgrade_merge_vector() -> None:
    original = tasktesting.fake_revision("up", "basens", "v1", _tree("original"), revision=1)
    upstream = tasktesting.fake_revision(
        "up", "basens", "v2", _tree("upstream"), revision=2, commit="d" * 40
    )
    local = tasktesting.fake_revision("down", "backend", "v1", _tree("local"))
    result = await upgrade.upgrade_package(
        original, upstream, local, strategy=None, package_name="backend"
    )
    expected = _tree("updated")
    assert sorted(result) == sorted(expected)
    for path in expected:
        if path == "Kptfile":
            continue
        if path.endswith(".yaml"):
            got = _without_identifier(list(yaml.safe_load_all(result[path])))
            assert got == list(yaml.safe_load_all(expected[path])), path
            # merge-key comments of the vector are kept
            for line in expected[path].splitlines():
                if "# kpt-merge:" in line:
                    assert line in result[path]
        else:
            assert result[path] == expected[path], path
    kptfile = yaml.safe_load(result["Kptfile"])
    wanted = yaml.safe_load(expected["Kptfile"])
    lock = {"repo": "https://example.com/blueprints.git", "directory": "basens", "ref": "basens/v2"}
    assert kptfile["metadata"]["name"] == "backend"
    assert kptfile["upstream"] == {"type": "git", "git": lock}
    assert kptfile["upstreamLock"] == {"type": "git", "git": {**lock, "commit": "d" * 40}}
    assert kptfile["pipeline"] == wanted["pipeline"]
    assert kptfile["info"] == wanted["info"]


async def test_fast_forward_refuses_local_changes() -> None:
    original = tasktesting.fake_revision("up", "basens", "v1", _tree("original"))
    upstream = tasktesting.fake_revision("up", "basens", "v2", _tree("upstream"), revision=2)
    local = tasktesting.fake_revision("down", "backend", "v1", _tree("local"))
    with pytest.raises(errors.InvalidPackageError) as err:
        await upgrade.upgrade_package(
            original, upstream, local, strategy="fast-forward", package_name="backend"
        )
    assert str(err.value).startswith(
        "error updating the package 'backend' to revision 'up.basens.v2': "
    )


async def test_force_delete_replace_takes_upstream() -> None:
    original = tasktesting.fake_revision("up", "basens", "v1", _tree("original"))
    upstream = tasktesting.fake_revision("up", "basens", "v2", _tree("upstream"), revision=2)
    local = tasktesting.fake_revision("down", "backend", "v1", _tree("local"))
    result = await upgrade.upgrade_package(
        original, upstream, local, strategy="force-delete-replace", package_name="backend"
    )
    assert (
        yaml.safe_load(result["resourcequota.yaml"])["spec"]
        == yaml.safe_load(_tree("upstream")["resourcequota.yaml"])["spec"]
    )


@pytest.mark.parametrize(
    ("which", "field", "message"),
    [
        (
            "new",
            "spec.tasks[0].upgrade.newUpstreamRef.name",
            "target upstream revision may not be the placeholder package revision "
            "up/up.basens.main",
        ),
        (
            "local",
            "spec.tasks[0].upgrade.localPackageRevisionRef.name",
            "source revision may not be the placeholder package revision up/up.basens.main",
        ),
    ],
)
async def test_placeholders_are_refused(which: str, field: str, message: str) -> None:
    published = tasktesting.fake_revision("up", "basens", "v1", _tree("original"))
    placeholder = tasktesting.fake_revision("up", "basens", "main", _tree("original"), revision=-1)
    new = placeholder if which == "new" else published
    local = placeholder if which == "local" else published
    with pytest.raises(taskerrors.InvalidFieldError) as err:
        await upgrade.upgrade_package(published, new, local, strategy=None, package_name="p")
    assert (err.value.field, str(err.value)) == (field, message)
