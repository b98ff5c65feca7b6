"""The git floor: what the lifecycle's git writes cost in raw pygit2, with no server at all.

Where it sits: :mod:`test.bench.run` calls :func:`measure` on a copy of the seed repository
(same size as the one the server works in) in the same run as the lifecycle workloads;
:mod:`test.bench.report` prints each lifecycle step's ratio to its floor. No layer above
git can be cheaper than this, so the ratio says how much the server adds.

Per iteration, on a new package in the repository (porch.md §4.1-4.2):

- ``floor.create``: the package's tree (init's files, prepared beforehand: rendering is not
  git's work), the ``main`` head's tree with the package directory replaced, a commit with a
  ``kpt:`` init annotation on the head, and the draft branch created by a ref transaction;
- ``floor.ref_update``: propose, a transaction creating the proposed branch and deleting the
  draft branch (propose, propose-delete and delete are ref-only in git);
- ``floor.approve``: the ``main`` head's tree with the package replaced, the approval merge
  commit (parents: head, draft), and one transaction moving ``main``, creating the tag
  ``<pkg>/v1`` and deleting the proposed branch.

Every ref change goes through libgit2's reference transaction (locks, compare, commit), as
a local repository's writes do in the backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

import pygit2

from pkg.externalrepo.git import annotation, commit
from test.bench import seed, stats

__all__ = ["APPROVE", "CREATE", "REF_UPDATE", "measure"]

CREATE: Final = "floor.create"
REF_UPDATE: Final = "floor.ref_update"
APPROVE: Final = "floor.approve"
_MAIN: Final = f"refs/heads/{seed.BRANCH}"


def _transaction(
    repo: pygit2.Repository, sets: Mapping[str, pygit2.Oid], removes: tuple[str, ...] = ()
) -> None:
    with repo.transaction() as txn:
        for name in (*sets, *removes):
            txn.lock_ref(name)
        for name, target in sets.items():
            txn.set_target(name, target, message="floor")
        for name in removes:
            txn.remove(name)


def _head(repo: pygit2.Repository) -> tuple[pygit2.Oid, pygit2.Tree]:
    head = repo.references[_MAIN].resolve().target
    assert isinstance(head, pygit2.Oid)
    return head, repo[head].peel(pygit2.Commit).tree


def measure(repo_path: Path, iterations: int, results: stats.Results) -> None:
    """Record `iterations` samples of each floor (module docstring) into `results`."""
    repo = pygit2.Repository(str(repo_path))
    try:
        for i in range(iterations):
            name = f"floor-{i:04d}"
            files = seed.package_files(name, 1)
            draft_ref = f"refs/heads/drafts/{name}/ws"
            proposed_ref = f"refs/heads/proposed/{name}/ws"
            init = {"type": "init", "init": {"description": f"{name} description"}}
            with results.timing(CREATE):
                head, head_tree = _head(repo)
                package_tree = commit.build_tree(repo, files)
                draft = commit.create_commit(
                    repo,
                    tree=commit.replace_subtree(repo, head_tree, name, package_tree),
                    parents=[head],
                    message=annotation.annotate(
                        annotation.human_message("init"),
                        package=name,
                        workspace_name="ws",
                        revision=0,
                        task=init,
                    ),
                    author=commit.PORCH_AUTHOR,
                )
                _transaction(repo, {draft_ref: draft})
            with results.timing(REF_UPDATE):
                _transaction(repo, {proposed_ref: draft}, (draft_ref,))
            with results.timing(APPROVE):
                head, head_tree = _head(repo)
                merge = commit.create_commit(
                    repo,
                    tree=commit.replace_subtree(repo, head_tree, name, package_tree),
                    parents=[head, draft],
                    message=annotation.annotate(
                        annotation.approval_message(name, 1),
                        package=name,
                        workspace_name="ws",
                        revision=1,
                    ),
                    author=commit.PORCH_AUTHOR,
                )
                _transaction(repo, {_MAIN: merge, f"refs/tags/{name}/v1": merge}, (proposed_ref,))
    finally:
        repo.free()
