"""Which git URLs the server accepts, and where local ones live on disk.

One policy for every place that opens a git URL: `git.open_repository` (registered
Repositories) and clone-from-git (`pkg/task/gitfetch.py` can call `check_url` instead of its own
copy). Remote URLs must be http, https, ssh or scp-like `user@host:path`; local repositories
(`file://` URLs and plain paths) are refused unless the server allows them, and then accepted
only when their real path (symlinks and `..` resolved) lies under one of the allowed roots.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from pkg.repository import errors

__all__ = ["check_url", "local_path", "uses_tls"]

_SCP_LIKE = re.compile(r"^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:")
_REMOTE_SCHEMES = ("http", "https", "ssh")


def uses_tls(url: str) -> bool:
    """Whether `url` (already checked) is reached over https, where a namespace's CA bundle
    (`--use-user-cabundle`) applies."""
    return url.lower().startswith("https://")


def local_path(url: str) -> str | None:
    """The file system path a local repository URL names (`file:///x`, `/x`, `x`), None for
    a remote URL. Not checked against any policy: see `check_url`."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "file":
        return urllib.parse.unquote(parsed.path)
    if parsed.scheme == "" and not _SCP_LIKE.match(url):
        return url
    return None


def check_url(url: str, *, allow_local: bool, local_roots: Sequence[Path | str]) -> str:
    """The URL to open: a remote URL unchanged, a local one as its real absolute path.

    Raises `InvalidRepositoryError` (empty URL, unsupported scheme) or `ForbiddenError` (a
    local repository while `allow_local` is false, or outside every one of `local_roots`).
    """
    if not url:
        raise errors.InvalidRepositoryError("spec.git.repo must be set")
    local = local_path(url)
    if local is None:
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme in _REMOTE_SCHEMES or _SCP_LIKE.match(url):
            return url
        raise errors.InvalidRepositoryError(
            f"repository URL {url!r}: unsupported scheme {scheme!r} (use http, https or ssh)"
        )
    if not allow_local:
        raise errors.ForbiddenError(
            f"repository URL {url!r}: local repositories are not allowed by this server"
        )
    real = os.path.realpath(local)
    for root in local_roots:
        real_root = os.path.realpath(root)
        if os.path.commonpath([real, real_root]) == real_root:
            return real
    raise errors.ForbiddenError(
        f"repository URL {url!r}: local repositories must be under one of "
        f"{[str(r) for r in local_roots]}"
    )
