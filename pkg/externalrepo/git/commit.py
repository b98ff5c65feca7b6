"""Building trees and commits in the bare cache, without an index or work tree.

Called by `git.py` on a clone's executor thread. Every write of a package replaces the
package directory as a whole: the new tree is the parent commit's tree with the directory at
the package's full path swapped for a freshly built tree (or removed), ancestors rebuilt,
everything else shared. Objects are written into the repository at hand (a cache clone, from
which `transport.push` sends them, or a local repository used in place).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

import pygit2
from pygit2 import enums as pygit2_enums

from pkg.repository import errors

PORCH_NAME = "Package Orchestration Service"
PORCH_EMAIL = "porch@kpt.dev"


@dataclasses.dataclass(frozen=True, slots=True)
class Author:
    """Name and email recorded as a commit's author."""

    name: str
    email: str


PORCH_AUTHOR = Author(PORCH_NAME, PORCH_EMAIL)


def build_tree(repo: pygit2.Repository, files: Mapping[str, str]) -> pygit2.Oid:
    """A tree holding `files` (validated relative paths -> text)."""
    root: dict[str, object] = {}
    for path, text in files.items():
        node = root
        *directories, name = path.split("/")
        for directory in directories:
            child = node.setdefault(directory, {})
            assert isinstance(child, dict)
            node = child
        node[name] = text

    def write(node: dict[str, object]) -> pygit2.Oid:
        builder = repo.TreeBuilder()
        for name, value in node.items():
            if isinstance(value, dict):
                builder.insert(name, write(value), pygit2_enums.FileMode.TREE)
            else:
                assert isinstance(value, str)
                blob = repo.create_blob(value.encode("utf-8"))
                builder.insert(name, blob, pygit2_enums.FileMode.BLOB)
        oid: pygit2.Oid = builder.write()
        return oid

    return write(root)


def replace_subtree(
    repo: pygit2.Repository,
    root: pygit2.Tree | None,
    full_path: str,
    subtree: pygit2.Oid | None,
) -> pygit2.Oid:
    """`root` with the directory at `full_path` replaced by `subtree` (None: removed).

    Directories left empty by a removal are removed too. Raises `InvalidPackageError` when
    an ancestor of `full_path` is a file.
    """
    parts = full_path.split("/")

    def rebuild(tree: pygit2.Tree | None, depth: int) -> pygit2.Oid | None:
        builder = repo.TreeBuilder(tree) if tree is not None else repo.TreeBuilder()
        name = parts[depth]
        if depth == len(parts) - 1:
            replacement = subtree
        else:
            existing = builder.get(name)
            if existing is not None and existing.filemode != pygit2_enums.FileMode.TREE:
                raise errors.InvalidPackageError(
                    f"cannot write package {full_path!r}: "
                    f"{'/'.join(parts[: depth + 1])!r} is a file"
                )
            child = repo[existing.id] if existing is not None else None
            assert child is None or isinstance(child, pygit2.Tree)
            replacement = rebuild(child, depth + 1)
        if replacement is None:
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            builder.insert(name, replacement, pygit2_enums.FileMode.TREE)
        if depth > 0 and len(builder) == 0:
            return None
        oid: pygit2.Oid = builder.write()
        return oid

    result = rebuild(root, 0)
    assert result is not None  # the root is always written
    return result


def create_commit(
    repo: pygit2.Repository,
    *,
    tree: pygit2.Oid,
    parents: list[pygit2.Oid],
    message: str,
    author: Author,
    timestamp: int | None = None,
) -> pygit2.Oid:
    """Write a commit (no ref moves). The committer is always Porch's own identity.

    `timestamp` (seconds since the epoch, UTC) defaults to now."""
    now = int(time.time()) if timestamp is None else timestamp
    if not author.email:
        # A Repository may name an author without an email (Porch writes `name <>`), which
        # libgit2's signatures refuse; git itself accepts it, so write the object directly.
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
        lines.append(f"author {author.name} <> {now} +0000")
        lines.append(f"committer {PORCH_NAME} <{PORCH_EMAIL}> {now} +0000")
        raw = "\n".join(lines) + "\n\n" + message
        written: pygit2.Oid = repo.odb.write(pygit2_enums.ObjectType.COMMIT, raw.encode("utf-8"))
        return written
    oid: pygit2.Oid = repo.create_commit(
        None,
        pygit2.Signature(author.name, author.email, now, 0),
        pygit2.Signature(PORCH_NAME, PORCH_EMAIL, now, 0),
        message,
        tree,
        parents,
    )
    return oid
