"""Tests of the starlark builtin: config forms, the runtime contract, mapping back, errors."""

from __future__ import annotations

from typing import Any

import pytest

from pkg.kpt import yamlutil
from pkg.kpt.fn import builtins
from pkg.kpt.fn.builtins import starlark, testing

RESOURCES = """\
apiVersion: v1
kind: ConfigMap
metadata: # kpt-merge: /cm
  name: cm
  annotations:
    note: 'single quoted stays'
data:
  b: "2"
  a: x # comment on a
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
"""


def _run_script(
    source: str, resources: str = RESOURCES, **extra: Any
) -> tuple[str, testing.Outcome]:
    config = {
        "apiVersion": "fn.kpt.dev/v1alpha1",
        "kind": "StarlarkRun",
        "metadata": {"name": "test-script"},
        "source": source,
        **extra,
    }
    return testing.run_text("starlark", resources, config)


def test_changes_map_back_keeping_order_comments_and_quoting() -> None:
    text, outcome = _run_script(
        "for r in ctx.resource_list['items']:\n"
        "  r['metadata']['namespace'] = 'prod'\n"
        "  if r['kind'] == 'ConfigMap':\n"
        "    r['data']['a'] = 'y'\n"
        "    r['data']['c'] = {'z': 1, 'm': [1, 2]}\n"
    )
    assert outcome.exit_code == 0
    assert outcome.results == []
    assert text == (
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata: # kpt-merge: /cm\n"
        "  name: cm\n"
        "  annotations:\n"
        "    note: 'single quoted stays'\n"
        "  namespace: prod\n"
        "data:\n"
        '  b: "2"\n'
        "  a: y # comment on a\n"
        "  c:\n"
        "    m:\n"
        "    - 1\n"
        "    - 2\n"
        "    z: 1\n"
        "---\n"
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        "  name: web\n"
        "  namespace: prod\n"
        "spec:\n"
        "  replicas: 1\n"
    )


def test_removed_items_are_dropped_and_generated_ones_have_sorted_keys() -> None:
    items = yamlutil.load_all(RESOURCES)
    config = yamlutil.from_plain(
        {
            "apiVersion": "fn.kpt.dev/v1alpha1",
            "kind": "StarlarkRun",
            "metadata": {"name": "gen"},
            "source": (
                "ctx.resource_list['items'] = [r for r in ctx.resource_list['items'] "
                "if r['kind'] != 'Deployment']\n"
                "ctx.resource_list['items'].append({'kind': 'Service', 'apiVersion': 'v1', "
                "'metadata': {'name': 'svc'}})\n"
            ),
        }
    )
    output, _ = builtins.call("starlark", testing.resource_list(items, config))
    assert [o["kind"] for o in output["items"]] == ["ConfigMap", "Service"]
    assert list(output["items"][1].keys()) == ["apiVersion", "kind", "metadata"]


def test_the_script_sees_kpt_ids_but_they_do_not_leak_into_the_output() -> None:
    text, outcome = _run_script(
        "for r in ctx.resource_list['items']:\n"
        "  print(r['metadata']['annotations']['config.k8s.io/id'])\n"
    )
    assert outcome.stderr == "1\n2\n"
    assert "config.k8s.io/id" not in text
    assert "annotations" not in text.split("---")[1]


def test_configmap_config_passes_all_data_as_strings() -> None:
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "function-input"},
        "data": {
            "source": (
                "n = int(ctx.resource_list['functionConfig']['data']['replicas'])\n"
                "for r in ctx.resource_list['items']:\n"
                "  if r['kind'] == 'Deployment':\n"
                "    r['spec']['replicas'] = n\n"
            ),
            "replicas": "5",
        },
    }
    text, outcome = testing.run_text("starlark", RESOURCES, config)
    assert outcome.exit_code == 0
    assert text.endswith("spec:\n  replicas: 5\n")


def test_params_of_a_starlarkrun_reach_the_script() -> None:
    text, _ = _run_script(
        "ctx.resource_list['items'][1]['spec']['replicas'] = "
        "ctx.resource_list['functionConfig']['params']['n']\n",
        params={"n": 7},
    )
    assert text.endswith("replicas: 7\n")


PRINTS = {
    "set-and-recursion": (
        "x = set(['foo', 'bar'])\nprint(x)\n"
        "def fib(n):\n  return n if n < 2 else fib(n-1) + fib(n-2)\nprint(fib(3))\n",
        'set(["foo", "bar"])\n2\n',
    ),
    "set-membership-and-len": (
        "s = set([1, 2, 2])\nprint(len(s), 2 in s, 3 in s)\n",
        "2 True False\n",
    ),
    "values-print-like-go-starlark": (
        "print({'a': [1, None, True, 'x']}, 'plain', 2.5)\n",
        '{"a": [1, None, True, "x"]} plain 2.5\n',
    ),
    "top-level-loops-and-reassigned-globals": (
        "x = 1\nx = 2\nfor i in range(x):\n  print(i)\n",
        "0\n1\n",
    ),
    "open-api": (
        "print(ctx.open_api['definitions']['io.k8s.api.apps.v1.Deployment']"
        "['x-kubernetes-group-version-kind'][0]['kind'])\n",
        "Deployment\n",
    ),
    "environment-is-not-the-servers": ("print(sorted(ctx.environment.keys()))\n", '["PATH"]\n'),
}


@pytest.mark.parametrize(("source", "stderr"), PRINTS.values(), ids=PRINTS.keys())
def test_runtime_features_and_print_to_stderr(source: str, stderr: str) -> None:
    text, outcome = _run_script(source)
    assert outcome.exit_code == 0
    assert outcome.stderr == stderr
    assert text == RESOURCES


LIBRARIES = {
    "json": (
        "load('encoding/json.star', 'json')\nprint(json.encode(json.decode('{\"a\": [1]}')))\n",
        '{"a":[1]}\n',
    ),
    "yaml": ("load('encoding/yaml.star', 'yaml')\nprint(yaml.loads('a: 1')['a'])\n", "1\n"),
    "base64": (
        "load('encoding/base64.star', 'base64')\n"
        "print(base64.encode('hi'), base64.decode('aGk='))\n",
        "aGk= hi\n",
    ),
    "csv": (
        "load('encoding/csv.star', 'csv')\nprint(csv.read_all('a,b\\n1,2\\n'))\n",
        '[["a", "b"], ["1", "2"]]\n',
    ),
    "hash": (
        "load('hash.star', 'hash')\nprint(hash.md5('a'))\n",
        "0cc175b9c0f1b6a831c399e269772661\n",
    ),
    "math": ("load('math.star', 'math')\nprint(math.floor(2.7), math.pi > 3)\n", "2 True\n"),
    "re": (
        "load('re.star', 're')\nprint(re.findall('a(b)', 'abab'), re.match('(a)b', 'ab'))\n",
        '["ab", "ab"] [["ab", "a"]]\n',
    ),
    "krmfn": (
        "load('krmfn.star', 'krmfn')\n"
        "for r in ctx.resource_list['items']:\n"
        "  print(krmfn.match_gvk(r, 'v1', 'ConfigMap'),"
        " krmfn.match_gvk(r, 'apps/v1', 'Deployment'),"
        " krmfn.match_name(r, 'web'), krmfn.match_namespace(r, ''))\n",
        # the catalog's match_gvk never matches an apiVersion with a group
        "True False False True\nFalse False True True\n",
    ),
}


@pytest.mark.parametrize(("source", "stderr"), LIBRARIES.values(), ids=LIBRARIES.keys())
def test_loadable_libraries(source: str, stderr: str) -> None:
    _, outcome = _run_script(source)
    assert outcome.exit_code == 0, outcome.results
    assert outcome.stderr == stderr


def test_every_catalog_module_loads() -> None:
    source = "".join(
        f"load('{module}', '{symbol}')\n"
        for module, symbol in (
            ("bsoup.star", "bsoup"),
            ("encoding/base64.star", "base64"),
            ("encoding/csv.star", "csv"),
            ("encoding/json.star", "json"),
            ("encoding/yaml.star", "yaml"),
            ("geo.star", "geo"),
            ("hash.star", "hash"),
            ("html.star", "html"),
            ("http.star", "http"),
            ("math.star", "math"),
            ("re.star", "re"),
            ("time.star", "time"),
            ("xlsx.star", "xlsx"),
            ("zipfile.star", "ZipFile"),
            ("krmfn.star", "krmfn"),
        )
    )
    _, outcome = _run_script(source)
    assert outcome.exit_code == 0, outcome.results


ERRORS = {
    "fail": ("fail('no private keys')\n", "fail: no private keys"),
    "syntax-error-in-go-wording": (
        "def f(r):\n  return r and \n  r\n",
        "test-script:2:16: got newline, want primary expression",
    ),
    "runtime-error": ("x = {}\ny = x['missing']\n", 'Key `"missing"` was not found'),
    "unknown-module": ("load('nope.star', 'x')\n", "load: name x not found in module nope.star"),
    "http-is-not-available": (
        "load('http.star', 'http')\nhttp.get('http://example.com')\n",
        "http.star is not available in porch-py's builtin starlark function",
    ),
}


@pytest.mark.parametrize(("source", "message"), ERRORS.values(), ids=ERRORS.keys())
def test_script_failures(source: str, message: str) -> None:
    text, outcome = _run_script(
        "print('before')\n" + source if source.startswith("fail") else source
    )
    assert outcome.exit_code == 1
    assert text == RESOURCES
    assert yamlutil.to_plain(outcome.results) == [{"message": message, "severity": "error"}]
    assert outcome.stderr.endswith("failed to evaluate function: error: function failure")


def test_printed_text_comes_before_the_failure_line() -> None:
    _, outcome = _run_script("print('before')\nfail('x')\n")
    assert outcome.stderr == "before\nfailed to evaluate function: error: function failure"


CONFIG_ERRORS = {
    "no-config": (None, "FunctionConfig is missing. Expect `ConfigMap` or `StarlarkRun`"),
    "empty-source": (
        {
            "apiVersion": "fn.kpt.dev/v1alpha1",
            "kind": "StarlarkRun",
            "metadata": {"name": "s"},
            "source": "",
        },
        "`source` must not be empty",
    ),
    "configmap-without-source": (
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}},
        "`source` must not be empty",
    ),
    "other-kind": (
        {"apiVersion": "example.com/v1", "kind": "Script", "metadata": {"name": "s"}},
        "`functionConfig` must be either /v1, Kind=ConfigMap or fn.kpt.dev/v1alpha1, "
        "Kind=StarlarkRun, but we got: example.com/v1, Kind=Script",
    ),
}


@pytest.mark.parametrize(("config", "message"), CONFIG_ERRORS.values(), ids=CONFIG_ERRORS.keys())
def test_config_errors(config: dict[str, Any] | None, message: str) -> None:
    _, outcome = testing.run_text("starlark", RESOURCES, config)
    assert outcome.exit_code == 1
    assert outcome.stderr == "failed to evaluate function: error: function failure"
    assert yamlutil.to_plain(outcome.results) == [{"message": message, "severity": "error"}]


MERGES = {
    "unchanged-scalar-keeps-style": ({"a": "1"}, {"a": "1"}, 'a: "1"\n'),
    "changed-scalar-replaced": ({"a": "1"}, {"a": "2"}, 'a: "2"\n'),
    "int-and-bool-are-different": ({"a": 1}, {"a": True}, "a: true\n"),
    "removed-key-goes": ({"a": 1, "b": 2}, {"b": 2}, "b: 2\n"),
    "sequence-shrinks-and-grows-by-position": ({"l": [1, 2, 3]}, {"l": [1, 5]}, "l:\n- 1\n- 5\n"),
}


@pytest.mark.parametrize(("before", "after", "text"), MERGES.values(), ids=MERGES.keys())
def test_merge_rules(before: dict[str, Any], after: dict[str, Any], text: str) -> None:
    node = yamlutil.load(yamlutil.dump(yamlutil.from_plain(before)))
    merged = starlark.merge(node, after)
    assert yamlutil.dump(merged) == text


def test_a_runaway_script_is_stopped() -> None:
    with pytest.raises(starlark.StarlarkRunError) as err:
        starlark.execute("spin", "while True:\n  pass\n", {}, time_limit=0.2)
    assert str(err.value) == "starlark program spin ran longer than 0.2s and was stopped"
