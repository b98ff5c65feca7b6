"""Tests of the set-labels builtin: config forms, the label fields per kind, results, errors."""

from __future__ import annotations

from typing import Any

import pytest

from pkg.kpt import yamlutil
from pkg.kpt.fn.builtins import testing

CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "function-input"},
    "data": {"color": "orange", "app": "shop"},
}
SETLABELS = {
    "apiVersion": "fn.kpt.dev/v1alpha1",
    "kind": "SetLabels",
    "metadata": {"name": "labels"},
    "labels": {"color": "orange", "app": "shop"},
}

# (input, expected output, label count) per kind; labels come in sorted key order.
FIELDS = {
    "plain-object-gets-metadata-labels": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  labels:\n"
        "    app: shop\n    color: orange\n",
        2,
    ),
    "existing-key-updated-in-place": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  labels:\n"
        "    color: blue # was blue\n    tier: web\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  labels:\n"
        "    color: orange # was blue\n    tier: web\n    app: shop\n",
        2,
    ),
    "service-selector-created": (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels:\n    app: shop\n"
        "    color: orange\nspec:\n  selector:\n    app: shop\n    color: orange\n",
        4,
    ),
    "deployment-without-template-gets-selector-only": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  labels:\n    app: shop\n"
        "    color: orange\nspec:\n  selector:\n    matchLabels:\n      app: shop\n"
        "      color: orange\n",
        4,
    ),
    "deployment-template-labelled": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n"
        "    spec:\n      containers: []\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  labels:\n    app: shop\n"
        "    color: orange\nspec:\n  template:\n    spec:\n      containers: []\n"
        "    metadata:\n      labels:\n        app: shop\n        color: orange\n"
        "  selector:\n    matchLabels:\n      app: shop\n      color: orange\n",
        6,
    ),
    "job-selector-is-update-only": (
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\nspec:\n  selector:\n"
        "    matchLabels:\n      color: blue\n",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  labels:\n    app: shop\n"
        "    color: orange\nspec:\n  selector:\n    matchLabels:\n      color: orange\n",
        4,
    ),
    "networkpolicy-peers-are-update-only": (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: np\n"
        "spec:\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n"
        "          app: old\n",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: np\n"
        "  labels:\n    app: shop\n    color: orange\nspec:\n  ingress:\n  - from:\n"
        "    - podSelector:\n        matchLabels:\n          app: shop\n",
        6,
    ),
    "statefulset-volume-claim-templates": (
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: s\nspec:\n"
        "  volumeClaimTemplates:\n  - metadata:\n      name: data\n",
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: s\n  labels:\n    app: shop\n"
        "    color: orange\nspec:\n  volumeClaimTemplates:\n  - metadata:\n      name: data\n"
        "      labels:\n        app: shop\n        color: orange\n  selector:\n"
        "    matchLabels:\n      app: shop\n      color: orange\n",
        8,
    ),
    "cronjob-job-template": (
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\nspec:\n  jobTemplate:\n"
        "    spec:\n      template:\n        spec: {}\n",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\n  labels:\n    app: shop\n"
        "    color: orange\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec: {}\n"
        "        metadata:\n          labels:\n            app: shop\n            color: orange\n"
        "    metadata:\n      labels:\n        app: shop\n        color: orange\n",
        8,
    ),
    "local-config-is-skipped": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n"
        '    config.kubernetes.io/local-config: "true"\n---\n'
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n"
        '    config.kubernetes.io/local-config: "true"\n---\n'
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  labels:\n    app: shop\n"
        "    color: orange\n",
        2,
    ),
    "kindless-kustomization-counts-as-service-and-workload": (
        "resources:\n- a.yaml\nmetadata:\n  name: k\n",
        "resources:\n- a.yaml\nmetadata:\n  name: k\n  labels:\n    app: shop\n    color: orange\n"
        "spec:\n  selector:\n    app: shop\n    color: orange\n    matchLabels:\n      app: shop\n"
        "      color: orange\n",
        8,
    ),
}


@pytest.mark.parametrize("config", [CONFIGMAP, SETLABELS], ids=["configmap", "setlabels-kind"])
@pytest.mark.parametrize(("resources", "expected", "count"), FIELDS.values(), ids=FIELDS.keys())
def test_labels_are_set_on_every_field_of_the_kind(
    config: dict[str, Any], resources: str, expected: str, count: int
) -> None:
    text, outcome = testing.run_text("set-labels", resources, config)
    assert outcome.exit_code == 0
    assert text == expected
    assert yamlutil.to_plain(outcome.results) == [
        {"message": f"set {count} labels in total", "severity": "info"}
    ]


DEPLOYMENT = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n"

OUTCOMES = {
    "no-config-fails-with-info": (
        None,
        1,
        [{"message": "`FunctionConfig` is not given", "severity": "info"}],
    ),
    "empty-function-input-fails-with-info": (
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "function-input"},
            "data": {},
        },
        1,
        [{"message": "`FunctionConfig` is not given", "severity": "info"}],
    ),
    "empty-labels-warns": (
        {
            "apiVersion": "fn.kpt.dev/v1alpha1",
            "kind": "SetLabels",
            "metadata": {"name": "x"},
            "labels": {},
        },
        0,
        [{"message": "no `labels` arguments are given in FunctionConfig", "severity": "warning"}],
    ),
    "wrong-group": (
        {"apiVersion": "fn.kpt.dev/v1alpha1", "kind": "BadKind", "metadata": {"name": "x"}},
        1,
        [
            {
                "message": "unknown FunctionConfig `BadKind.fn.kpt.dev`, expect "
                "`SetLabels.fn.kpt.dev` or `ConfigMap.v1`",
                "severity": "error",
            }
        ],
    ),
    "labels-as-list": (
        {
            "apiVersion": "fn.kpt.dev/v1alpha1",
            "kind": "SetLabels",
            "metadata": {"name": "x"},
            "labels": ["a"],
        },
        1,
        [
            {
                "message": "unable to convert object to *setlabels.SetLabels with error: json: "
                "cannot unmarshal array into Go struct field SetLabels.labels of type "
                "map[string]string",
                "severity": "error",
            }
        ],
    ),
}


@pytest.mark.parametrize(("config", "exit_code", "results"), OUTCOMES.values(), ids=OUTCOMES.keys())
def test_config_outcomes(config: dict[str, Any] | None, exit_code: int, results: list[Any]) -> None:
    text, outcome = testing.run_text("set-labels", DEPLOYMENT, config)
    assert outcome.exit_code == exit_code
    assert text == DEPLOYMENT
    assert yamlutil.to_plain(outcome.results) == results
    if exit_code:
        assert outcome.stderr == "failed to evaluate function: error: function failure"


def test_no_input_resources_is_reported_even_without_config() -> None:
    local = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  annotations:\n"
        '    config.kubernetes.io/local-config: "true"\n'
    )
    text, outcome = testing.run_text("set-labels", local, CONFIGMAP)
    assert outcome.exit_code == 0
    assert text == local
    assert yamlutil.to_plain(outcome.results) == [
        {"message": "no input resources", "severity": "info"}
    ]


def test_values_that_read_as_other_types_are_quoted() -> None:
    config = {**CONFIGMAP, "data": {"enabled": "true", "version": "1.10"}}
    text, _ = testing.run_text(
        "set-labels", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n", config
    )
    assert 'enabled: "true"' in text
    assert 'version: "1.10"' in text
