"""Seed repositories for the benchmark, written straight into git in Porch's layout.

Where it sits: :mod:`test.bench.run` calls :func:`prepare` before it registers the
repositories with porch-server; :mod:`test.bench.floor` measures raw git work in a copy of
the same repository. Nothing here talks to the server.

The seed repository, registered as ``seed``, holds ``packages`` packages (``pkg-0000`` ...)
with ``revisions`` published revisions each, exactly as Porch would have left them
(:mod:`pkg.testing.seedrepo` writes it: per revision a draft commit annotated ``kpt:`` with
the task, an approval merge commit on ``main`` and a tag ``<pkg>/v<N>``). Each package
holds what ``init`` writes (Kptfile, README.md, package-context.yaml) plus a
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

from api.porch import v1alpha1 as porchv1alpha1
from pkg.task import init as inittask
from pkg.testing import seedrepo

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

BRANCH: Final = seedrepo.BRANCH
# Bump when the layout or content written here (or by pkg.testing.seedrepo) changes:
# cached seeds are rebuilt.
LAYOUT_VERSION: Final = 1


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


def write_empty_repository(path: Path) -> None:
    """A bare repository whose ``main`` holds only Porch's initial commit."""
    seedrepo.write_empty_repository(path)


def write_seed_repository(path: Path, shape: SeedShape) -> None:
    """Write the seed repository (module docstring) at `path`, unpacked."""
    seedrepo.write_published_repository(
        path,
        repository="seed",
        packages=[package_name(index) for index in range(shape.packages)],
        revisions=shape.revisions,
        files=package_files,
        description=lambda name: f"{name} description",
    )


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
