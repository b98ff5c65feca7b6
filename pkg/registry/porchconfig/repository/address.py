"""Git repository addresses of Repository objects: what kind they are and when two are the same.

Where this sits: the Repository strategy (:mod:`.strategy`) uses :func:`parse` to refuse
malformed addresses and local repositories outside the operator's roots, and
:func:`same_repository`/:func:`directories_overlap` for Porch's conflict rule (two
Repositories in a namespace may not manage overlapping parts of one branch).

Forms git accepts and we do: ``https://``, ``http://``, ``ssh://``, ``git://`` URLs;
scp-like ``user@host:path``; ``file://`` URLs and absolute local paths. A relative local
path would depend on the server's working directory, so it is refused.
"""

from __future__ import annotations

import os
import posixpath
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

__all__ = [
    "REMOTE_SCHEMES",
    "AddressError",
    "GitAddress",
    "directories_overlap",
    "normalize_directory",
    "parse",
    "under_roots",
]

REMOTE_SCHEMES: Final = ("https", "http", "ssh", "git")

_SCHEME_RE: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# git's rule: no "://", and a colon before the first slash, is scp-like syntax.
_SCP_RE: Final = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^/:]+):(?P<path>.*)$")


class AddressError(ValueError):
    """The address is not one this server can use; the message says why."""


@dataclass(frozen=True, slots=True)
class GitAddress:
    """A parsed ``spec.git.repo``.

    ``identity`` is the same for every spelling of one repository: scheme, credentials,
    a trailing ``/`` or ``.git`` and the host's case do not matter (https and ssh URLs of
    one host and path name the same repository). Local repositories are identified by
    their resolved path.
    """

    kind: Literal["remote", "local"]
    identity: str
    local_path: Path | None = None


def parse(repo: str) -> GitAddress:
    """Classify ``repo``; raises :class:`AddressError` for an unusable one."""
    text = repo.strip()
    if not text:
        raise AddressError("must not be empty")
    scheme_match = _SCHEME_RE.match(text)
    if scheme_match:
        scheme = scheme_match.group(1).lower()
        parsed = urllib.parse.urlsplit(text)
        if scheme == "file":
            if parsed.hostname not in (None, "", "localhost"):
                raise AddressError("a file:// URL must not name a host")
            return _local(urllib.parse.unquote(parsed.path))
        if scheme not in REMOTE_SCHEMES:
            supported = ", ".join(f"{s}://" for s in (*REMOTE_SCHEMES, "file"))
            raise AddressError(f'unsupported URL scheme "{scheme}" (supported: {supported})')
        if not parsed.hostname:
            raise AddressError("the URL must name a host")
        try:
            port = parsed.port
        except ValueError as err:
            raise AddressError(f"invalid port: {err}") from None
        host = parsed.hostname.lower() + (f":{port}" if port else "")
        return GitAddress("remote", _identity(host, urllib.parse.unquote(parsed.path)))
    if text.startswith("/"):
        return _local(text)
    scp = _SCP_RE.match(text)
    if scp and "/" not in text.split(":", 1)[0]:
        return GitAddress("remote", _identity(scp.group("host").lower(), scp.group("path")))
    raise AddressError(
        "must be a URL (https://, ssh://, git://, file://), user@host:path, or an absolute path"
    )


def _identity(host: str, path: str) -> str:
    path = path.strip("/")
    path = path.removesuffix(".git").rstrip("/")
    return f"{host}/{path}"


def _local(path: str) -> GitAddress:
    if not path.startswith("/"):
        raise AddressError("a local repository path must be absolute")
    # realpath resolves symlinks and "..": a link inside an allowed root that points
    # outside it must not pass for a path under the root.
    resolved = Path(os.path.realpath(path))
    return GitAddress("local", f"file://{resolved}", resolved)


def under_roots(path: Path, roots: Sequence[Path]) -> bool:
    """Whether the resolved ``path`` is one of ``roots`` or inside one (roots resolved too)."""
    for root in roots:
        resolved_root = Path(os.path.realpath(root))
        if path == resolved_root or path.is_relative_to(resolved_root):
            return True
    return False


def normalize_directory(directory: str | None) -> str:
    """``spec.git.directory`` as Porch reads it: no leading/trailing ``/``; ``""`` is the root."""
    text = (directory or "").strip("/")
    if not text:
        return ""
    normal = posixpath.normpath(text)
    return "" if normal == "." else normal


def directories_overlap(a: str, b: str) -> bool:
    """Whether two normalised package directories share packages (equal, nested, or root)."""
    if not a or not b or a == b:
        return True
    return a.startswith(b + "/") or b.startswith(a + "/")
