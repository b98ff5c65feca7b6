from __future__ import annotations

import subprocess
from pathlib import Path

from test.bench import floor, seed, stats


def _git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(path), *args], capture_output=True, text=True, check=True
    ).stdout


def test_the_floor_does_porchs_git_writes_and_times_each(tmp_path: Path) -> None:
    path = tmp_path / "seed.git"
    seed.write_seed_repository(path, seed.SeedShape(packages=2, revisions=1))
    results = stats.Results()
    floor.measure(path, 3, results)
    figures = results.figures()
    for name in (floor.CREATE, floor.REF_UPDATE, floor.APPROVE):
        summary = figures[name]
        assert isinstance(summary, stats.Summary)
        assert summary.n == 3
        assert summary.p50_ms > 0
    # What approve leaves: the package on main, its tag on the approval merge, and no
    # draft or proposed branch.
    assert _git(path, "for-each-ref", "--format=%(refname)", "refs/heads").split() == [
        "refs/heads/main"
    ]
    assert "floor-0002/v1" in _git(path, "tag", "--list").split()
    assert _git(path, "rev-parse", "main") == _git(path, "rev-parse", "floor-0002/v1^{commit}")
    assert _git(path, "log", "-1", "--format=%s", "main").strip() == (
        "Approving package revision floor-0002/1"
    )
    parents = _git(path, "log", "-1", "--format=%P", "main").split()
    assert len(parents) == 2
    assert "init" in _git(path, "log", "-1", "--format=%B", parents[1])
    listed = _git(path, "ls-tree", "--name-only", "main").split()
    assert {"pkg-0000", "pkg-0001", "floor-0000", "floor-0001", "floor-0002"} <= set(listed)
