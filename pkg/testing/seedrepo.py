"""Porch-shaped repositories written straight into git: a published history at any scale.

Where it sits: the benchmarks build their repositories here, the server benchmark's seed
(:mod:`test.bench.seed`) and the git backend's listing benchmark
(:mod:`pkg.externalrepo.git.bench_list`). Writing through porch-server would take hours
for 10,000 revisions; pygit2 with :mod:`pkg.externalrepo.git.commit` and
:mod:`~pkg.externalrepo.git.annotation` takes seconds and leaves exactly what Porch would
have (porch.md §4.1-4.2):

* ``main`` starts with Porch's own initial commit (``createBranch: true``);
* per published revision, a draft commit annotated ``kpt:`` with its task (``init`` for
  v1, an ``edit`` of the previous revision after), then an approval merge commit on
  ``main`` (parents: the branch head and the draft; tree: the head's, with the package
  directory replaced) and a tag ``<package>/v<N>`` on it;
* revision by revision across all packages, so a package's history interleaves with the
  others' as it would after months of use; commits a second apart, as a real history has
  them (equal times make libgit2's history walks read far more than they need).

The repository is left unpacked (pygit2 writes loose objects); callers repack it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

import pygit2
from pygit2 import enums as pygit2_enums

from pkg.externalrepo.git import annotation, commit

__all__ = ["BRANCH", "write_empty_repository", "write_published_repository"]

BRANCH: Final = "main"
_AUTHOR: Final = commit.PORCH_AUTHOR


def _initial_commit(repo: pygit2.Repository, timestamp: int) -> pygit2.Oid:
    """Porch's commit for a branch it creates (``createBranch: true``)."""
    builder = repo.TreeBuilder()
    builder.insert("README.md", repo.create_blob(b"Created by porch"), pygit2_enums.FileMode.BLOB)
    return commit.create_commit(
        repo,
        tree=builder.write(),
        parents=[],
        message="Initial commit: Creating main branch",
        author=_AUTHOR,
        timestamp=timestamp,
    )


def write_empty_repository(path: Path) -> None:
    """A bare repository whose ``main`` holds only Porch's initial commit."""
    repo = pygit2.init_repository(str(path), bare=True, initial_head=BRANCH)
    head = _initial_commit(repo, int(time.time()) - 10)
    repo.references.create(f"refs/heads/{BRANCH}", head)


def write_published_repository(
    path: Path,
    *,
    repository: str,
    packages: Sequence[str],
    revisions: int,
    files: Callable[[str, int], Mapping[str, str]],
    description: Callable[[str], str],
) -> None:
    """A bare repository at ``path`` (module docstring) holding ``revisions`` published
    revisions of each of ``packages`` (top-level directories).

    ``files(package, n)`` are the files of revision ``n``; ``description(package)`` is its
    ``init`` task's description; ``repository`` is the name the repository is registered
    under, which the ``edit`` tasks' source revisions (``<repository>.<package>.v<N-1>``)
    carry.
    """
    repo = pygit2.init_repository(str(path), bare=True, initial_head=BRANCH)
    clock = int(time.time()) - 2 * len(packages) * revisions - 10
    head = _initial_commit(repo, clock)
    head_tree = repo[head].peel(pygit2.Commit).tree
    for number in range(1, revisions + 1):
        for name in packages:
            task: dict[str, object] = (
                {"type": "init", "init": {"description": description(name)}}
                if number == 1
                else {
                    "type": "edit",
                    "edit": {"sourceRef": {"name": f"{repository}.{name}.v{number - 1}"}},
                }
            )
            package_tree = commit.build_tree(repo, files(name, number))
            tree = commit.replace_subtree(repo, head_tree, name, package_tree)
            draft = commit.create_commit(
                repo,
                tree=tree,
                parents=[head],
                message=annotation.annotate(
                    annotation.human_message(str(task["type"])),
                    package=name,
                    workspace_name=f"v{number}",
                    revision=0,
                    task=task,
                ),
                author=_AUTHOR,
                timestamp=clock + 1,
            )
            head = commit.create_commit(
                repo,
                tree=tree,
                parents=[head, draft],
                message=annotation.annotate(
                    annotation.approval_message(name, number),
                    package=name,
                    workspace_name=f"v{number}",
                    revision=number,
                ),
                author=_AUTHOR,
                timestamp=clock + 2,
            )
            head_tree = repo[tree].peel(pygit2.Tree)
            clock += 2
            repo.references.create(f"refs/tags/{name}/v{number}", head)
    repo.references.create(f"refs/heads/{BRANCH}", head, force=True)
    repo.compress_references()
