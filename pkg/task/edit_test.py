"""Tests of the edit (copy) task's source rules."""

from __future__ import annotations

import pytest

from pkg.task import edit, taskerrors, tasktesting

FILES = {
    "Kptfile": "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\n",
    "a.yaml": "x: 1\n",
}


async def test_copy_of_published_revision() -> None:
    source = tasktesting.fake_revision("repo", "team/app", "v1", FILES)
    assert (
        await edit.edit_from_revision(source, repository="repo", package_path="team/app") == FILES
    )


@pytest.mark.parametrize(
    ("repository", "package", "revision", "lifecycle", "message"),
    [
        (
            "other",
            "team/app",
            1,
            "Published",
            "source revision must be from same package other/team/app",
        ),
        ("repo", "app", 1, "Published", "source revision must be from same package repo/app"),
        ("repo", "team/app", 0, "Draft", "source revision must be published"),
        ("repo", "team/app", 0, "Proposed", "source revision must be published"),
        (
            "repo",
            "team/app",
            -1,
            "Published",
            "source revision may not be the placeholder package revision repo/repo.team.app.main",
        ),
    ],
)
async def test_source_rules(
    repository: str, package: str, revision: int, lifecycle: str, message: str
) -> None:
    workspace = "main" if revision < 0 else "ws"
    source = tasktesting.fake_revision(
        "repo", "team/app", workspace, FILES, revision=revision, lifecycle=lifecycle
    )
    with pytest.raises(taskerrors.InvalidFieldError) as err:
        await edit.edit_from_revision(source, repository=repository, package_path=package)
    assert str(err.value) == message
    assert err.value.field == "spec.tasks[0].edit.sourceRef.name"
