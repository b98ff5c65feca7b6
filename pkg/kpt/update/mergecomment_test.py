"""Tests of the merge-key comments clone and upgrade add (expectations from Porch's
rpkg-clone conformance case and kpt's addmergecomment tests)."""

from __future__ import annotations

import pytest

from pkg.kpt import update as kptupdate
from pkg.kpt import yamlutil

NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: example\nspec: {}\n"
KPTFILE = (
    "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: basens-clone\n"
    "info:\n  description: sample description\n"
)


def test_clone_golden_identifiers() -> None:
    """What `porchctl rpkg pull` shows after cloning basens (rpkg-clone case)."""
    out = kptupdate.add_merge_comments({"namespace.yaml": NAMESPACE, "Kptfile": KPTFILE})
    assert out["namespace.yaml"] == (
        "apiVersion: v1\nkind: Namespace\nmetadata: # kpt-merge: /example\n  name: example\n"
        "  annotations:\n    internal.kpt.dev/upstream-identifier: '|Namespace|default|example'\n"
        "spec: {}\n"
    )
    kptfile = yamlutil.load(out["Kptfile"])
    assert (
        kptfile["metadata"]["annotations"][kptupdate.UPSTREAM_IDENTIFIER_ANNOTATION]
        == "kpt.dev|Kptfile|default|basens-clone"
    )
    assert yamlutil.get_key_line_comment(kptfile, "metadata") == "# kpt-merge: /basens-clone"


@pytest.mark.parametrize(
    ("text", "comment", "identifier"),
    [
        pytest.param(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\n",
            "# kpt-merge: prod/web",
            "apps|Deployment|prod|web",
            id="namespaced resource",
        ),
        pytest.param(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: # kpt-merge: base/app\n"
            "  name: web\n  namespace: prod\n",
            "# kpt-merge: base/app",
            "apps|Deployment|base|app",
            id="existing merge comment names the upstream identity",
        ),
        pytest.param(
            "apiVersion: v1\nkind: Namespace\nmetadata: # kpt-merge: example\n  name: backend\n",
            "# kpt-merge: example",
            "|Namespace|default|backend",
            id="old comment without namespace is kept",
        ),
        pytest.param(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: # owner: team-a\n  name: c\n",
            "# kpt-merge: /c",
            "|ConfigMap|default|c",
            id="other metadata comment is replaced",
        ),
        pytest.param(
            "apiVersion: example.com/v1\nkind: Thing\nmetadata:\n  name: t\n  namespace: ~X\n",
            "# kpt-merge: ~X/t",
            "example.com|Thing|~C|t",
            id="kyaml unknown namespace",
        ),
    ],
)
def test_merge_comment_and_identifier(text: str, comment: str, identifier: str) -> None:
    doc = yamlutil.load(kptupdate.add_merge_comments({"r.yaml": text})["r.yaml"])
    assert yamlutil.get_key_line_comment(doc, "metadata") == comment
    assert doc["metadata"]["annotations"][kptupdate.UPSTREAM_IDENTIFIER_ANNOTATION] == identifier


def test_untouched_files() -> None:
    files = {
        "README.md": "# not yaml: [\n",
        "broken.yaml": "a: [b\n",
        "empty-meta.yaml": "apiVersion: v1\nkind: List\nmetadata: {}\nitems: []\n",
        "data.json": '{"a": 1}',
    }
    assert kptupdate.add_merge_comments(files) == files


def test_idempotent_and_multi_document() -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  labels:\n    x: y\n"
    )
    once = kptupdate.add_merge_comments({"all.yml": text})
    docs = yamlutil.load_all(once["all.yml"])
    assert [yamlutil.get_key_line_comment(d, "metadata") for d in docs] == [
        "# kpt-merge: /a",
        "# kpt-merge: /b",
    ]
    assert kptupdate.add_merge_comments(once) == once
