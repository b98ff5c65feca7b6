"""Tests of the set-annotations builtin: config forms, field specs, results, errors."""

from __future__ import annotations

from typing import Any

import pytest

from pkg.kpt import yamlutil
from pkg.kpt.fn.builtins import testing

CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "function-input"},
    "data": {"fruit": "apple", "color": "orange"},
}
SETANNOTATIONS = {
    "apiVersion": "fn.kpt.dev/v1alpha1",
    "kind": "SetAnnotations",
    "metadata": {"name": "a"},
    "annotations": {"fruit": "apple", "color": "orange"},
}
LEGACY = {**SETANNOTATIONS, "kind": "SetAnnotationConfig"}

MESSAGE = 'set annotations: {"color":"orange","fruit":"apple"}'

FIELDS = {
    "metadata-annotations-created": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n"
        "    color: orange\n    fruit: apple\n",
        ["metadata.annotations"],
    ),
    "existing-keys-updated-new-ones-appended-sorted": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n"
        "    zeta: z\n    fruit: pear\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n"
        "    zeta: z\n    fruit: apple\n    color: orange\n",
        ["metadata.annotations"],
    ),
    "deployment-template-created-even-without-template": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  annotations:\n"
        "    color: orange\n    fruit: apple\nspec:\n  template:\n    metadata:\n"
        "      annotations:\n        color: orange\n        fruit: apple\n",
        ["metadata.annotations", "spec.template.metadata.annotations"],
    ),
    "cronjob-both-job-templates": (
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\n",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\n  annotations:\n"
        "    color: orange\n    fruit: apple\nspec:\n  jobTemplate:\n    metadata:\n"
        "      annotations:\n        color: orange\n        fruit: apple\n    spec:\n"
        "      template:\n        metadata:\n          annotations:\n            color: orange\n"
        "            fruit: apple\n",
        [
            "metadata.annotations",
            "spec.jobTemplate.metadata.annotations",
            "spec.jobTemplate.spec.template.metadata.annotations",
        ],
    ),
    "local-config-annotated-too": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n"
        '    config.kubernetes.io/local-config: "true"\n',
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n"
        '    config.kubernetes.io/local-config: "true"\n    color: orange\n    fruit: apple\n',
        ["metadata.annotations"],
    ),
}


@pytest.mark.parametrize(
    "config",
    [CONFIGMAP, SETANNOTATIONS, LEGACY],
    ids=["configmap", "setannotations", "legacy-kind"],
)
@pytest.mark.parametrize(("resources", "expected", "paths"), FIELDS.values(), ids=FIELDS.keys())
def test_annotations_are_set_on_the_default_field_specs(
    config: dict[str, Any], resources: str, expected: str, paths: list[str]
) -> None:
    text, outcome = testing.run_text("set-annotations", resources, config)
    assert outcome.exit_code == 0
    assert text == expected
    assert yamlutil.to_plain(outcome.results) == [
        {"message": MESSAGE, "field": {"path": p}, "file": {"path": "resources.yaml"}}
        for p in sorted(paths)
    ]


def test_additional_fields_create_only_when_asked_and_results_are_sorted() -> None:
    resources = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  selector: {}\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n"
    )
    config = {
        **SETANNOTATIONS,
        "annotations": {"fruit": "apple"},
        "additionalAnnotationFields": [
            {"path": "data/selector/annotations", "kind": "ConfigMap", "create": True},
            {"path": "spec/annotations", "kind": "Secret"},
        ],
    }
    text, outcome = testing.run_text("set-annotations", resources, config)
    assert text == (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    fruit: apple\n"
        "data:\n  selector: {annotations: {fruit: apple}}\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n  annotations:\n    fruit: apple\n"
    )
    message = 'set annotations: {"fruit":"apple"}'
    assert yamlutil.to_plain(outcome.results) == [
        {
            "message": message,
            "field": {"path": "data.selector.annotations"},
            "file": {"path": "resources.yaml"},
        },
        {
            "message": message,
            "field": {"path": "metadata.annotations"},
            "file": {"path": "resources.yaml"},
        },
        {
            "message": message,
            "field": {"path": "metadata.annotations"},
            "file": {"path": "resources.yaml", "index": 1},
        },
    ]


def test_values_yaml_1_1_reads_as_non_strings_are_double_quoted() -> None:
    config = {**CONFIGMAP, "data": {"a": "yes", "b": "1", "c": "plain", "d": "multi\nline"}}
    text, _ = testing.run_text(
        "set-annotations", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n", config
    )
    assert text == (
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations:\n    a: "yes"\n'
        '    b: "1"\n    c: plain\n    d: |-\n      multi\n      line\n'
    )


def test_json_in_results_escapes_html_characters_like_go() -> None:
    config = {**CONFIGMAP, "data": {"k": "<a&b>"}}
    _, outcome = testing.run_text(
        "set-annotations", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n", config
    )
    assert yamlutil.to_plain(outcome.results)[0]["message"] == (
        'set annotations: {"k":"\\u003ca\\u0026b\\u003e"}'
    )


ERRORS = {
    "no-config": (
        None,
        "failed to configure function: `functionConfig` must be a `ConfigMap` or `SetAnnotations`",
    ),
    "wrong-kind": (
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}},
        "failed to configure function: `functionConfig` must be a `ConfigMap` or `SetAnnotations`",
    ),
    "empty-annotations": (
        {**SETANNOTATIONS, "annotations": {}},
        "failed to configure function: input annotation list cannot be empty",
    ),
    "both-field-spec-names": (
        {**SETANNOTATIONS, "fieldSpecs": [], "additionalAnnotationFields": []},
        "failed to configure function: `fieldSpecs` has been deprecated, please rename it to "
        "`additionalAnnotationFields`",
    ),
}


@pytest.mark.parametrize(("config", "message"), ERRORS.values(), ids=ERRORS.keys())
def test_config_errors(config: dict[str, Any] | None, message: str) -> None:
    resources = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
    text, outcome = testing.run_text("set-annotations", resources, config)
    assert outcome.exit_code == 1
    assert text == resources
    assert outcome.stderr == f"[error]: {message}"
    assert yamlutil.to_plain(outcome.results) == [{"message": message, "severity": "error"}]


def test_duplicate_resources_fail_like_kustomize() -> None:
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
    _, outcome = testing.run_text("set-annotations", doc + "---\n" + doc, CONFIGMAP)
    assert outcome.exit_code == 1
    assert yamlutil.to_plain(outcome.results) == [
        {
            "message": "failed to run function: may not add resource with an already "
            "registered id: ConfigMap.v1.[noGrp]/c.[noNs]",
            "severity": "error",
        }
    ]


def test_nothing_set_is_reported() -> None:
    # every object gets metadata.annotations, so only an empty input sets nothing
    _, outcome = testing.run_text("set-annotations", "", CONFIGMAP)
    assert yamlutil.to_plain(outcome.results) == [{"message": "no annotations applied"}]
