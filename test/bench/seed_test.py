from __future__ import annotations

import json
import subprocess
from pathlib import Path

from pkg.externalrepo.git import cache, git
from pkg.repository import repository as repo_api
from pkg.testing import repositories
from test.bench import seed

SHAPE = seed.SeedShape(packages=3, revisions=2)


def _git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(path), *args], capture_output=True, text=True, check=True
    ).stdout


async def _listed(path: Path, root: Path) -> list[tuple[str, repo_api.Lifecycle]]:
    options = git.GitRepositoryOptions(
        cache=cache.GitCache(root / "cache"),
        allow_local_repositories=True,
        local_repository_roots=[root],
    )
    repo = await git.open_repository(repositories.repository_object("seed", path.as_uri()), options)
    try:
        return sorted((str(r.name), r.lifecycle) for r in await repo.list_package_revisions())
    finally:
        await repo.close()


async def test_the_seed_is_read_back_as_published_revisions_and_placeholders(
    tmp_path: Path,
) -> None:
    path = tmp_path / "seed.git"
    assert seed.prepare(SHAPE, tmp_path / "cache", path) > 0
    listed = await _listed(path, tmp_path)
    assert len(listed) == SHAPE.objects == 9
    published = {name for name, lifecycle in listed if lifecycle is repo_api.Lifecycle.PUBLISHED}
    assert {"seed.pkg-0001.v1", "seed.pkg-0001.v2", "seed.pkg-0002.main"} <= published


def test_each_revision_is_a_draft_commit_merged_on_main_and_tagged(tmp_path: Path) -> None:
    path = tmp_path / "seed.git"
    seed.write_seed_repository(path, SHAPE)
    tags = _git(path, "tag", "--list").split()
    assert tags == [f"pkg-000{p}/v{r}" for p in range(3) for r in (1, 2)]
    # The tag of the last revision written is main's head: a merge of the draft commit.
    assert _git(path, "rev-parse", "main") == _git(path, "rev-parse", "pkg-0002/v2^{commit}")
    approval = _git(path, "log", "-1", "--format=%P%n%B", "pkg-0002/v2").splitlines()
    parents = approval[0].split()
    assert len(parents) == 2
    assert approval[1] == "Approving package revision pkg-0002/2"
    approval_kpt = json.loads(approval[3].removeprefix("kpt:"))
    assert approval_kpt == {"package": "pkg-0002", "workspaceName": "v2", "revision": "2"}
    draft = _git(path, "log", "-1", "--format=%B", parents[1]).splitlines()
    draft_kpt = json.loads(draft[2].removeprefix("kpt:"))
    assert draft_kpt["revision"] == "0"
    assert draft_kpt["task"]["type"] == "edit"
    first = _git(path, "log", "-1", "--format=%B", "pkg-0000/v1^2").splitlines()
    assert json.loads(first[2].removeprefix("kpt:"))["task"]["type"] == "init"
    # Every package holds init's files plus a config that changes with each revision.
    files = _git(path, "ls-tree", "--name-only", "main", "pkg-0001/").split()
    assert files == [
        "pkg-0001/Kptfile",
        "pkg-0001/README.md",
        "pkg-0001/config.yaml",
        "pkg-0001/package-context.yaml",
    ]
    assert 'revision: "2"' in _git(path, "show", "main:pkg-0001/config.yaml")
    assert 'revision: "1"' in _git(path, "show", "pkg-0001/v1:pkg-0001/config.yaml")


def test_a_cached_seed_is_copied_not_rebuilt(tmp_path: Path) -> None:
    seed.prepare(SHAPE, tmp_path / "cache", tmp_path / "one.git")
    assert seed.prepare(SHAPE, tmp_path / "cache", tmp_path / "two.git") == 0
    assert _git(tmp_path / "two.git", "rev-parse", "main") == _git(
        tmp_path / "one.git", "rev-parse", "main"
    )
    # Packed, as a repository a git server hands out.
    assert not list((tmp_path / "two.git" / "objects").glob("??/*"))
    assert list((tmp_path / "two.git" / "objects" / "pack").glob("*.pack"))


def test_the_empty_repository_holds_porchs_initial_commit_only(tmp_path: Path) -> None:
    path = tmp_path / "empty.git"
    seed.write_empty_repository(path)
    assert _git(path, "log", "--format=%s", "main").strip() == (
        "Initial commit: Creating main branch"
    )
    assert _git(path, "ls-tree", "--name-only", "main").split() == ["README.md"]
