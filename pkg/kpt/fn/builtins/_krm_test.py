"""Tests of the KRM helpers the builtins share: Go formatting, scalar text, scope, order."""

from __future__ import annotations

from typing import Any

import pytest

from pkg.kpt import yamlutil
from pkg.kpt.fn import builtins, fnerrors
from pkg.kpt.fn.builtins import _krm, testing

QUOTES = {
    "plain": ("abc", '"abc"'),
    "quote-and-backslash": ('a"b\\c', '"a\\"b\\\\c"'),
    "newline-and-tab": ("a\nb\tc", '"a\\nb\\tc"'),
    "control-character": ("\x01", '"\\x01"'),
    "unicode-kept": ("héllo", '"héllo"'),
}


@pytest.mark.parametrize(("text", "quoted"), QUOTES.values(), ids=QUOTES.keys())
def test_go_quote_matches_strconv_quote(text: str, quoted: str) -> None:
    assert _krm.go_quote(text) == quoted


SPELLINGS = {
    "decimal-with-trailing-zero": ("v: 1.10\n", "1.10"),
    "hex-int": ("v: 0x1F\n", "0x1F"),
    "tilde-null": ("v: ~\n", "~"),
    "empty-null": ("v:\n", ""),
    "capitalised-bool": ("v: True\n", "True"),
    "quoted-string": ('v: "007"\n', "007"),
    "timestamp-stays-text": ("v: 2021-01-02\n", "2021-01-02"),
}


@pytest.mark.parametrize(("yaml_text", "text"), SPELLINGS.values(), ids=SPELLINGS.keys())
def test_field_text_is_the_spelling_of_the_file(yaml_text: str, text: str) -> None:
    doc = yamlutil.load(yaml_text)
    assert _krm.field_text(doc, "v") == text


def test_set_plain_writes_non_canonical_spellings_back_unchanged() -> None:
    doc = yamlutil.load("a: 1\n")
    _krm.set_plain(doc, "a", "010")
    _krm.set_plain(doc, "b", "true")
    _krm.set_plain(doc, "c", "text")
    assert doc["a"] == 8
    assert yamlutil.dump(doc) == "a: 010\nb: true\nc: text\n"


SCOPES: dict[str, tuple[dict[str, Any], bool]] = {
    "known-namespaced": ({"apiVersion": "apps/v1", "kind": "Deployment"}, True),
    "known-cluster-scoped": ({"apiVersion": "v1", "kind": "Namespace"}, False),
    "unknown-without-namespace": ({"apiVersion": "x.io/v1", "kind": "Thing"}, False),
    "unknown-with-empty-namespace": (
        {"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"namespace": ""}},
        True,
    ),
}


@pytest.mark.parametrize(("obj", "namespaced"), SCOPES.values(), ids=SCOPES.keys())
def test_scope_follows_the_sdk_table_then_the_namespace_field(
    obj: dict[str, Any], namespaced: bool
) -> None:
    assert _krm.is_namespace_scoped(yamlutil.from_plain(obj)) is namespaced


def test_lenient_gvk_matching_treats_missing_parts_as_wildcards() -> None:
    kustomization = yamlutil.from_plain({"resources": ["a.yaml"]})
    service = yamlutil.from_plain({"apiVersion": "v1", "kind": "Service"})
    assert _krm.is_gvk(kustomization, "apps", "v1", "Deployment")
    assert _krm.is_gvk(service, "", "v1", "Service")
    assert not _krm.is_gvk(service, "", "v1", "Pod")


def test_sdk_functions_write_their_items_sorted() -> None:
    docs = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
    ]
    rl = testing.resource_list([yamlutil.from_plain(d) for d in docs], None)
    _krm.sort_items(rl)
    assert [o["kind"] for o in rl["items"]] == ["Deployment", "ConfigMap", "Service"]


def test_call_returns_the_stderr_of_a_successful_run() -> None:
    config = yamlutil.from_plain(
        {
            "apiVersion": "fn.kpt.dev/v1alpha1",
            "kind": "StarlarkRun",
            "metadata": {"name": "p"},
            "source": "print('hello')\n",
        }
    )
    _, stderr = builtins.call("starlark", testing.resource_list([], config))
    assert stderr == "hello\n"


def test_capture_stderr_collects_around_a_direct_call() -> None:
    config = yamlutil.from_plain(
        {
            "apiVersion": "fn.kpt.dev/v1alpha1",
            "kind": "StarlarkRun",
            "metadata": {"name": "p"},
            "source": "print('one')\nfail('two')\n",
        }
    )
    with builtins.capture_stderr() as printed, pytest.raises(fnerrors.FunctionError) as err:
        builtins.BUILTINS["starlark"](testing.resource_list([], config))
    # a failing function's stderr is complete in the error; nothing is left in the sink
    assert err.value.stderr == "one\nfailed to evaluate function: error: function failure"
    assert printed == []


def test_every_catalog_function_is_registered() -> None:
    assert sorted(builtins.BUILTINS) == [
        "apply-replacements",
        "apply-setters",
        "set-annotations",
        "set-labels",
        "set-namespace",
        "starlark",
    ]
