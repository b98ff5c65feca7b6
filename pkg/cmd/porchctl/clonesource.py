"""The SOURCE_PACKAGE of ``rpkg clone``, parsed into the clone task's upstream.

Where this sits: ``rpkg clone`` (:mod:`pkg.cmd.porchctl.rpkgcreate`) calls
:func:`parse` with the argument and the ``--directory``/``--ref``/``--secret-ref`` flags.
The forms, as Porch's porchctl reads them:

* ``oci://...``: an OCI image upstream;
* anything containing ``/``: a git upstream. When the text contains ``.git`` followed by
  ``/`` or the end (kpt's ``parse.URL``), ``REPO.git/DIR@REF`` is split into the
  repository (``REPO.git``), the directory (``/DIR``) and the ref; flags may repeat those
  values but not contradict them. The ref defaults to ``main``, the directory to ``/``;
* anything else: the name of a package revision Porch already knows (``upstreamRef``).
"""

from __future__ import annotations

import re
from typing import Final

from api.porch import v1alpha1 as porchv1alpha1
from pkg.cmd.porchctl import cmdutil

__all__ = ["parse", "split_git_url"]

_GIT_SUFFIX: Final = re.compile(r"\.git($|/)")


def split_git_url(url: str) -> tuple[str, str, str]:
    """kpt's ``parse.URL``: ``(repo without .git, "/dir" or "", ref or "")``."""
    parts = _GIT_SUFFIX.split(url, maxsplit=1)
    repo = parts[0]
    rest = parts[2] if len(parts) == 3 else ""
    if not rest:
        return repo, "", ""
    if "@" in rest:
        directory, _, ref = rest.partition("@")
        ref = ref.split("@", 1)[0] if "@" in ref else ref
        return repo, "/" + directory, ref.removesuffix("/")
    return repo, "/" + rest, ""


def parse(
    source: str, *, directory: str = "", ref: str = "", secret_ref: str = ""
) -> porchv1alpha1.UpstreamPackage:
    """The clone task's ``upstreamRef`` for SOURCE_PACKAGE (see the module docstring)."""
    if source.startswith("oci://"):
        return porchv1alpha1.UpstreamPackage(type="oci", oci=porchv1alpha1.OciPackage(image=source))
    if "/" not in source:
        return porchv1alpha1.UpstreamPackage(
            upstream_ref=porchv1alpha1.PackageRevisionRef(name=source)
        )
    repo = source
    if _GIT_SUFFIX.search(source):
        base, parsed_dir, parsed_ref = split_git_url(source)
        if directory and parsed_dir and directory.strip("/") != parsed_dir.strip("/"):
            raise cmdutil.KptError(
                f"directory {directory} specified by --directory contradicts directory "
                f"{parsed_dir} specified by SOURCE_PACKAGE"
            )
        if ref and parsed_ref and ref != parsed_ref:
            raise cmdutil.KptError(
                f"ref {ref} specified by --ref contradicts ref {parsed_ref} specified by "
                "SOURCE_PACKAGE"
            )
        directory = directory or parsed_dir
        ref = ref or parsed_ref
        repo = base + ".git"
    return porchv1alpha1.UpstreamPackage(
        type="git",
        git=porchv1alpha1.GitPackage(
            repo=repo,
            ref=ref or "main",
            directory=directory or "/",
            secret_ref=porchv1alpha1.SecretRef(name=secret_ref) if secret_ref else None,
        ),
    )
