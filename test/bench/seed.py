"""Seed repositories for the benchmark, written straight into git in Porch's layout.

Where it sits: :mod:`test.bench.run` calls :func:`prepare` before it registers the
repositories with porch-server; :mod:`test.bench.floor` measures raw git work in a copy of
the same repository. Nothing here talks to the server.

The seed repository holds ``packages`` packages (``pkg-0000`` ...) with ``revisions``
published revisions each, exactly as Porch would have left them (porch.md §4.1-4.2): per
revision a draft commit annotated ``kpt:`` with the task (``init`` for v1, ``edit`` after),
an approval merge commit on ``main`` (parents: the branch head and the draft commit; tree:
the head's tree with the package directory replaced) and a tag ``<pkg>/v<N>`` on it. Each
package holds what ``init`` writes (Kptfile, README.md, package-context.yaml) plus a
``config.yaml`` that changes with every revision, so every revision has its own tree, as in
a repository people really work in. The result is repacked (``git repack -a -d``): a
repository a git server hands out is packed, and a fresh loose-object one is ~25x larger.

Building 1,000 x 10 takes ~30 s, so the packed result is kept in a cache folder keyed by
its shape and :data:`LAYOUT_VERSION` and copied for each run (the server writes into it).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pygit2
from pygit2 import enums as pygit2_enums

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import annotation, commit
from pkg.task import init as inittask

__all__ = [
    "BRANCH",
    "LAYOUT_VERSION",
    "SeedShape",
    "package_files",
    "package_name",
    "prepare",
    "write_empty_repository",
    "write_seed_repository",
]

BRANCH: Final = "main"
# Bump when the layout or content written here changes: cached seeds are rebuilt.
LAYOUT_VERSION: Final = 1
_AUTHOR: Final = commit.PORCH_AUTHOR


@dataclass(frozen=True, slots=True)
class SeedShape:
    """How many packages, and how many published revisions of each."""

    packages: int
    revisions: int

    @property
    def published(self) -> int:
        return self.packages * self.revisions

    @property
    def objects(self) -> int:
        """PackageRevisions the server lists: every published one plus a placeholder per
        package."""
        return self.published + (self.packages if self.revisions else 0)

    def cache_name(self) -> str:
        return f"seed-{self.packages}x{self.revisions}-v{LAYOUT_VERSION}.git"


def package_name(index: int) -> str:
    return f"pkg-{index:04d}"


def package_files(name: str, revision: int) -> dict[str, str]:
    """The files of revision `revision` of package `name`: init's three plus a config."""
    files = inittask.init_package(
        name, porchv1alpha1.PackageInitTaskSpec(description=f"{name} description")
    )
    files["config.yaml"] = (
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        f"  name: {name}-config\n"
        "data:\n"
        f'  revision: "{revision}"\n'
    )
    return files


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


def _edit_task(name: str, revision: int) -> dict[str, object]:
    return {"type": "edit", "edit": {"sourceRef": {"name": f"seed.{name}.v{revision - 1}"}}}


def write_seed_repository(path: Path, shape: SeedShape) -> None:
    """Write the seed repository (module docstring) at `path`, unpacked."""
    repo = pygit2.init_repository(str(path), bare=True, initial_head=BRANCH)
    # Commits a second apart as a real history has them: equal times make libgit2's
    # history walks read far more than they need.
    clock = int(time.time()) - 2 * shape.published - 10
    head = _initial_commit(repo, clock)
    head_tree = repo[head].peel(pygit2.Commit).tree
    # Revision by revision across all packages, so a package's history interleaves with
    # the others' as it would after months of use.
    for number in range(1, shape.revisions + 1):
        for index in range(shape.packages):
            name = package_name(index)
            task = (
                {"type": "init", "init": {"description": f"{name} description"}}
                if number == 1
                else _edit_task(name, number)
            )
            package_tree = commit.build_tree(repo, package_files(name, number))
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


def _repack(path: Path) -> None:
    subprocess.run(
        ["git", "-C", str(path), "repack", "-a", "-d", "-q"],
        check=True,
        capture_output=True,
    )
    subprocess.run(["git", "-C", str(path), "prune-packed"], check=True, capture_output=True)


def prepare(shape: SeedShape, cache_dir: Path, destination: Path) -> float:
    """Copy the packed seed of `shape` to `destination`, building it into `cache_dir` first
    when missing; return the seconds spent building (0 when cached)."""
    cached = cache_dir / shape.cache_name()
    built = 0.0
    if not (cached / "HEAD").exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = cache_dir / (shape.cache_name() + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        started = time.perf_counter()
        write_seed_repository(partial, shape)
        _repack(partial)
        built = time.perf_counter() - started
        partial.rename(cached)
    shutil.copytree(cached, destination)
    return built
