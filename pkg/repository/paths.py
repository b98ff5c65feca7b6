"""Path safety for package resources: the rule every repository backend enforces.

Called by backends before they write anything (the git backend's and the fake's
`update_resources`): every key of a resource map must be a relative, normalised POSIX path
that stays inside the package directory, and the package needs a root `Kptfile`. A violation
raises `InvalidPackageError` naming the offending path, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable

from pkg.repository import errors

KPTFILE = "Kptfile"


def _problem(path: str) -> str | None:
    """Why `path` is unsafe as a file path inside a package, or None if it is safe."""
    if not path:
        return "empty file name"
    if "\x00" in path:
        return "contains a NUL character"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):
        return "contains a control character"
    if "\\" in path:
        return "contains a backslash; use '/' as the separator"
    if path.startswith("/"):
        return "must be relative to the package directory"
    if len(path) >= 2 and path[1] == ":" and path[0].isalpha():
        return "must be relative to the package directory"
    segments = path.split("/")
    if any(segment == "" for segment in segments):
        return "must not contain empty segments ('//' or a trailing '/')"
    if any(segment in (".", "..") for segment in segments):
        return "must not contain '.' or '..' segments"
    if any(segment.lower() == ".git" for segment in segments):
        return "must not contain a '.git' segment"
    return None


def validate_resource_paths(paths: Iterable[str]) -> list[str]:
    """Check every resource path; return them sorted. Raise `InvalidPackageError`.

    Besides each path's own safety, a path may not be both a file and a directory
    (`a` and `a/b`), and the package must have a `Kptfile` at its root.
    """
    checked = sorted(paths)
    for path in checked:
        if (problem := _problem(path)) is not None:
            raise errors.InvalidPackageError(f"invalid resource file name {path!r}: {problem}")
    files = set(checked)
    for path in checked:
        parent, _, _ = path.rpartition("/")
        while parent:
            if parent in files:
                raise errors.InvalidPackageError(
                    f"invalid resource file name {path!r}: {parent!r} is a file, not a directory"
                )
            parent, _, _ = parent.rpartition("/")
    if KPTFILE not in files:
        raise errors.InvalidPackageError("package must contain Kptfile at root")
    return checked
