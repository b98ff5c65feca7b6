"""Regenerate or verify the pydantic models in api/ from the OpenAPI documents.

Called by hack/update-codegen.sh (``update``) and hack/verify-codegen.sh
(``verify``). The generator's options and the list of documents live once, in
``[tool.datamodel-codegen]`` and its ``profiles`` in pyproject.toml; this script
only runs every profile, either in place or in a scratch copy of the tree that
is then compared with the checked-in files.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def profiles(root: Path) -> dict[str, dict[str, object]]:
    with (root / "pyproject.toml").open("rb") as f:
        config = tomllib.load(f)
    result: dict[str, dict[str, object]] = config["tool"]["datamodel-codegen"]["profiles"]
    return result


def generated_files(root: Path) -> list[Path]:
    return sorted(root / str(p["output"]) for p in profiles(root).values())


def codegen_command() -> str:
    """The generator installed beside this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "datamodel-codegen"
    if beside.exists():
        return str(beside)
    return shutil.which("datamodel-codegen") or "datamodel-codegen"


def generate(root: Path) -> None:
    """Delete every generated module under ``root`` and write it again."""
    env = dict(os.environ, RUFF_NO_CACHE="true")
    for out in generated_files(root):
        out.unlink(missing_ok=True)
    # Profiles are independent; run them in name order for stable logs.
    for name in sorted(profiles(root)):
        out = root / str(profiles(root)[name]["output"])
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [codegen_command(), "--profile", name],
            cwd=root,
            env=env,
            check=True,
        )


def verify(root: Path) -> int:
    """Regenerate into a scratch copy and diff it against ``root``."""
    with tempfile.TemporaryDirectory(prefix="porch-codegen-") as tmp:
        scratch = Path(tmp)
        shutil.copy2(root / "pyproject.toml", scratch / "pyproject.toml")
        (scratch / "hack").mkdir()
        shutil.copy2(root / "hack" / "boilerplate.py.txt", scratch / "hack" / "boilerplate.py.txt")
        shutil.copytree(root / "api" / "openapi", scratch / "api" / "openapi")
        generate(scratch)
        stale = False
        for want in generated_files(scratch):
            rel = want.relative_to(scratch)
            have = root / rel
            new = want.read_text().splitlines(keepends=True)
            old = have.read_text().splitlines(keepends=True) if have.exists() else []
            if new != old:
                stale = True
                sys.stdout.writelines(difflib.unified_diff(old, new, f"a/{rel}", f"b/{rel}"))
        if stale:
            print(
                "\nGenerated API code is out of date: run hack/update-codegen.sh",
                file=sys.stderr,
            )
            return 1
    print("generated API code is up to date")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["update", "verify"])
    args = parser.parse_args(argv)
    if args.action == "update":
        generate(ROOT)
        return 0
    return verify(ROOT)


if __name__ == "__main__":
    sys.exit(main())
