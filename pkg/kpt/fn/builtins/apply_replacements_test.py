"""Tests of the apply-replacements builtin: sources, targets, options, typing, errors."""

from __future__ import annotations

from typing import Any

import pytest

from pkg.kpt import yamlutil
from pkg.kpt.fn.builtins import apply_replacements, testing

RESOURCES = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: source
data:
  image: nginx:1.2
  port: "8080"
  host: a.b.example.com
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    tier: frontend
spec:
  replicas: 1 # keep
  template:
    spec:
      containers:
        - name: app
          image: busybox
        - name: sidecar
          image: envoy
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
  labels:
    tier: backend
spec:
  template:
    spec:
      containers:
        - name: app
          image: busybox
"""


def _config(*replacements: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "fn.kpt.dev/v1alpha1",
        "kind": "ApplyReplacements",
        "metadata": {"name": "r"},
        "replacements": list(replacements),
    }


def _source(field: str, **options: Any) -> dict[str, Any]:
    source: dict[str, Any] = {"kind": "ConfigMap", "name": "source", "fieldPath": field}
    if options:
        source["options"] = options
    return source


def _target(field: str, select: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"select": select or {"kind": "Deployment"}, "fieldPaths": [field], **extra}


def _docs(text: str) -> list[Any]:
    return [yamlutil.to_plain(d) for d in yamlutil.load_all(text)]


def _container(doc: Any, name: str) -> Any:
    containers = doc["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == name)


def test_scalar_into_list_items_selected_by_field() -> None:
    config = _config(
        {
            "source": _source("data.image"),
            "targets": [_target("spec.template.spec.containers.[name=app].image")],
        }
    )
    text, outcome = testing.run_text("apply-replacements", RESOURCES, config)
    assert outcome.exit_code == 0
    assert outcome.results == []
    docs = _docs(text)
    assert _container(docs[1], "app")["image"] == "nginx:1.2"
    assert _container(docs[1], "sidecar")["image"] == "envoy"
    assert _container(docs[2], "app")["image"] == "nginx:1.2"
    assert "replicas: 1 # keep" in text


def test_label_selector_and_reject_narrow_the_targets() -> None:
    config = _config(
        {
            "source": _source("data.image"),
            "targets": [
                _target(
                    "spec.template.spec.containers.[name=app].image",
                    {"kind": "Deployment", "labelSelector": "tier in (frontend,backend)"},
                    reject=[{"name": "worker"}],
                )
            ],
        }
    )
    text, _ = testing.run_text("apply-replacements", RESOURCES, config)
    docs = _docs(text)
    assert _container(docs[1], "app")["image"] == "nginx:1.2"
    assert _container(docs[2], "app")["image"] == "busybox"


def test_delimiters_pick_and_replace_parts() -> None:
    config = _config(
        {
            "source": _source("data.host", delimiter=".", index=1),
            "targets": [
                _target(
                    "spec.template.spec.containers.[name=sidecar].image",
                    {"name": "web"},
                    options={"delimiter": "-", "index": -1},
                )
            ],
        }
    )
    text, _ = testing.run_text("apply-replacements", RESOURCES, config)
    assert _container(_docs(text)[1], "sidecar")["image"] == "b-envoy"


def test_create_makes_missing_fields_and_string_sources_stay_strings() -> None:
    config = _config(
        {
            "source": _source("data.port"),
            "targets": [
                _target(
                    "spec.template.spec.containers.[name=app].env.[name=PORT].value",
                    {"name": "worker"},
                    options={"create": True},
                )
            ],
        }
    )
    text, _ = testing.run_text("apply-replacements", RESOURCES, config)
    assert text.endswith(
        "        - name: app\n          image: busybox\n          env:\n"
        '            - name: PORT\n              value: "8080"\n'
    )


def test_whole_mapping_is_copied_into_a_created_field() -> None:
    config = _config(
        {
            "source": {"kind": "Deployment", "name": "web", "fieldPath": "spec.template"},
            "targets": [_target("spec.jobTemplate", {"kind": "CronJob"}, options={"create": True})],
        }
    )
    resources = RESOURCES + "---\napiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\n"
    text, _ = testing.run_text("apply-replacements", resources, config)
    cronjob = _docs(text)[3]
    assert cronjob["spec"]["jobTemplate"] == _docs(RESOURCES)[1]["spec"]["template"]


def test_existing_int_target_stays_an_int() -> None:
    config = _config(
        {
            "sourceValue": "3",
            "targets": [_target("spec.replicas", {"name": "web"})],
        }
    )
    text, _ = testing.run_text("apply-replacements", RESOURCES, config)
    assert "replicas: 3 # keep" in text


ERRORS = {
    "no-config": (None, "FunctionConfig is missing. Expect `ApplyReplacements`"),
    "wrong-kind": (
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
        "received functionConfig of kind ConfigMap and apiVersion v1, only functionConfig of "
        "kind ApplyReplacements and apiVersion fn.kpt.dev/v1alpha1 is supported",
    ),
    "replacements-not-a-list": (
        {**_config(), "replacements": {"a": 1}},
        "unable to convert functionConfig to replacements:\nunable to convert object to "
        "*replacements.Replacements with error: json: cannot unmarshal object into Go struct "
        "field Replacements.replacements of type []types.Replacement",
    ),
    "no-targets": (
        _config({"source": _source("data.image")}),
        "replacements must specify a source and at least one target",
    ),
    "source-and-value": (
        _config({"source": _source("data.image"), "sourceValue": "x", "targets": []}),
        "value and resource selectors are mutually exclusive",
    ),
    "nothing-selected": (
        _config({"source": {"kind": "Secret"}, "targets": [_target("metadata.name")]}),
        "nothing selected by Secret.[noVer].[noGrp]/[noName].[noNs]",
    ),
    "several-selected": (
        _config({"source": {"kind": "Deployment"}, "targets": [_target("metadata.name")]}),
        "multiple matches for selector Deployment.[noVer].[noGrp]/[noName].[noNs]",
    ),
    "missing-source-field": (
        _config({"source": _source("data.nope"), "targets": [_target("metadata.name")]}),
        "fieldPath `data.nope` is missing for replacement source "
        "ConfigMap.[noVer].[noGrp]/source.[noNs]",
    ),
    "missing-target-field": (
        _config({"source": _source("data.image"), "targets": [_target("spec.nope")]}),
        'unable to find field "spec.nope" in replacement target',
    ),
    "target-without-select": (
        _config({"source": _source("data.image"), "targets": [{"fieldPaths": ["a"]}]}),
        "target must specify resources to select",
    ),
    "source-index-out-of-range": (
        _config(
            {
                "source": _source("data.host", delimiter=".", index=9),
                "targets": [_target("metadata.name")],
            }
        ),
        "options.index 9 is out of bounds for value a.b.example.com",
    ),
}


@pytest.mark.parametrize(("config", "message"), ERRORS.values(), ids=ERRORS.keys())
def test_errors_fail_with_one_error_result_and_change_nothing(
    config: dict[str, Any] | None, message: str
) -> None:
    text, outcome = testing.run_text("apply-replacements", RESOURCES, config)
    assert outcome.exit_code == 1
    assert text == RESOURCES
    assert outcome.stderr == "failed to evaluate function: error: function failure"
    assert yamlutil.to_plain(outcome.results) == [{"message": message, "severity": "error"}]


PATHS = {
    "plain": ("a.b.c", ["a", "b", "c"]),
    "list-filter-with-dots": ("a.[name=x.y].b", ["a", "[name=x.y]", "b"]),
    "key-with-dots": ("data.[app.kubernetes.io/name]", ["data", "app.kubernetes.io/name"]),
}


@pytest.mark.parametrize(("path", "parts"), PATHS.values(), ids=PATHS.keys())
def test_field_paths_split_like_kyaml(path: str, parts: list[str]) -> None:
    assert apply_replacements.split_path(path) == parts


SELECTORS = {
    "equals": ("tier=web", {"tier": "web"}, True),
    "double-equals-mismatch": ("tier==web", {"tier": "db"}, False),
    "not-equals": ("tier!=web", {"tier": "db"}, True),
    "in-set": ("tier in (a, web)", {"tier": "web"}, True),
    "notin-set": ("tier notin (web)", {"tier": "web"}, False),
    "exists": ("tier", {"tier": "x"}, True),
    "does-not-exist": ("!tier", {"tier": "x"}, False),
    "all-requirements": ("a=1,b=2", {"a": "1", "b": "3"}, False),
}


@pytest.mark.parametrize(
    ("selector", "labels", "matches"), SELECTORS.values(), ids=SELECTORS.keys()
)
def test_label_selector_syntax(selector: str, labels: dict[str, str], matches: bool) -> None:
    assert apply_replacements.selector_matches(selector, labels) is matches
