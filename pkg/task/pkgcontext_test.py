"""Tests of gen-pkg-context: a context per Kptfile, old contexts replaced, other files kept."""

from __future__ import annotations

import pytest
import yaml

from pkg.repository import errors
from pkg.task import pkgcontext


def test_contexts_for_root_and_subpackage() -> None:
    files = {
        "Kptfile": "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\n",
        "package-context.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kptfile.kpt.dev\n"
            "data:\n  name: example\n"
        ),
        "db/Kptfile": "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: db\n",
        "README.md": "# app\n",
        "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other # keep me\n",
    }
    out = pkgcontext.generate_package_context(files, "team/app")
    assert out["README.md"] == "# app\n"
    assert out["cm.yaml"] == files["cm.yaml"]
    assert out["package-context.yaml"] == (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kptfile.kpt.dev\n"
        '  annotations:\n    config.kubernetes.io/local-config: "true"\n'
        "data:\n  name: app\n  package-path: team/app\n"
    )
    assert yaml.safe_load(out["db/package-context.yaml"])["data"] == {
        "name": "db",
        "package-path": "team/app",
    }


def test_unreadable_yaml_fails_like_porch() -> None:
    with pytest.raises(errors.InvalidPackageError, match="failed to evaluate function"):
        pkgcontext.generate_package_context({"Kptfile": "a: [\n"}, "p")
