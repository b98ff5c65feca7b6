"""Tests of the set-namespace builtin: config forms, every namespace field, results, errors."""

from __future__ import annotations

from typing import Any

import pytest

from pkg.kpt import yamlutil
from pkg.kpt.fn import fnerrors
from pkg.kpt.fn.builtins import set_namespace, testing

RESOURCES = """\
apiVersion: v1
kind: Service
metadata:
  name: svc
  namespace: old # keep this comment
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: no-ns
---
apiVersion: v1
kind: Namespace
metadata:
  name: old
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crd
spec:
  conversion:
    webhook:
      clientConfig:
        service:
          name: hook
          namespace: old
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crd-without-webhook
spec:
  group: example.com
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: api
spec:
  service:
    name: api-svc
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: crb
subjects:
  - kind: ServiceAccount
    name: sa
    namespace: old
  - kind: User
    name: someone
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: local
  namespace: old
  annotations:
    config.kubernetes.io/local-config: "true"
---
apiVersion: custom.io/v1
kind: Custom
metadata:
  name: cluster-scoped-custom
"""

EXPECTED = """\
apiVersion: v1
kind: Service
metadata:
  name: svc
  namespace: new # keep this comment
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: no-ns
  namespace: new
---
apiVersion: v1
kind: Namespace
metadata:
  name: new
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crd
spec:
  conversion:
    webhook:
      clientConfig:
        service:
          name: hook
          namespace: new
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crd-without-webhook
spec:
  group: example.com
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: api
spec:
  service:
    name: api-svc
    namespace: new
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: crb
subjects:
  - kind: ServiceAccount
    name: sa
    namespace: new
  - kind: User
    name: someone
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: local
  namespace: old
  annotations:
    config.kubernetes.io/local-config: "true"
---
apiVersion: custom.io/v1
kind: Custom
metadata:
  name: cluster-scoped-custom
"""


def _run(resources: str, config: dict[str, Any] | None) -> tuple[str, list[Any]]:
    text, outcome = testing.run_text("set-namespace", resources, config)
    if outcome.exit_code:
        raise fnerrors.FunctionError(outcome.stderr, outcome.results)
    return text, yamlutil.to_plain(outcome.results)


CONFIG_FORMS = {
    "configmap-data-namespace": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "function-input"},
        "data": {"namespace": "new"},
    },
    "setnamespace-kind": {
        "apiVersion": "fn.kpt.dev/v1alpha1",
        "kind": "SetNamespace",
        "metadata": {"name": "fn"},
        "namespace": "new",
    },
    "package-context-data-name": {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kptfile.kpt.dev"},
        "data": {"name": "new"},
    },
}


@pytest.mark.parametrize("config", CONFIG_FORMS.values(), ids=CONFIG_FORMS.keys())
def test_every_namespace_field_changes_and_results_count_them(config: dict[str, Any]) -> None:
    text, results = _run(RESOURCES, config)
    assert text == EXPECTED
    assert results == [
        {
            "message": 'namespace [default old] updated to "new", 6 value(s) changed',
            "severity": "info",
        },
        {
            "message": "all `depends-on` annotations are up-to-date. no `namespace` changed",
            "severity": "info",
        },
    ]


def test_the_input_resource_list_is_left_unchanged() -> None:
    items = yamlutil.load_all(RESOURCES)
    rl = testing.resource_list(items, yamlutil.from_plain(CONFIG_FORMS["setnamespace-kind"]))
    set_namespace.run(rl)
    assert yamlutil.dump_all(items, seq_indent_style=yamlutil.WIDE) == RESOURCES


def test_output_items_are_sorted_like_the_sdk_does() -> None:
    items = yamlutil.load_all(RESOURCES)
    out = set_namespace.run(
        testing.resource_list(items, yamlutil.from_plain(CONFIG_FORMS["setnamespace-kind"]))
    )
    keys = [f"{o['apiVersion']} {o['kind']}" for o in out["items"]]
    assert keys == sorted(keys)


def test_nothing_to_change_reports_already_set() -> None:
    resources = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: new\n"
    text, results = _run(resources, CONFIG_FORMS["setnamespace-kind"])
    assert text == resources
    assert results[0] == {
        "message": 'all matching namespaces are already "new". no value changed',
        "severity": "info",
    }


def test_namespace_matcher_changes_only_matching_values_and_origins() -> None:
    resources = """\
apiVersion: v1
kind: Service
metadata:
  name: a
  namespace: keep
---
apiVersion: v1
kind: Service
metadata:
  name: b
  namespace: match
---
apiVersion: v1
kind: Service
metadata:
  name: c
  namespace: renamed
  annotations:
    internal.kpt.dev/upstream-identifier: "|Service|match|c"
"""
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "function-input"},
        "data": {"namespace": "new", "namespaceMatcher": "match"},
    }
    text, results = _run(resources, config)
    docs = yamlutil.load_all(text)
    assert [d["metadata"]["namespace"] for d in docs] == ["keep", "new", "new"]
    # b has no upstream origin, so its own namespace is its origin
    assert [r["message"] for r in results] == [
        "[Resource(apiVersion=v1, kind=Service, namespace=match, name=b)] "
        "has matching origin match",
        "[Resource(apiVersion=v1, kind=Service, namespace=renamed, name=c)] "
        "has matching origin match",
        'namespace [match renamed] updated to "new", 2 value(s) changed',
        "all `depends-on` annotations are up-to-date. no `namespace` changed",
    ]


def test_depends_on_annotations_follow_the_namespace() -> None:
    resources = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: old
  annotations:
    config.kubernetes.io/depends-on: apps/namespaces/old/StatefulSet/db
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: old
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: points-elsewhere
  namespace: old
  annotations:
    config.kubernetes.io/depends-on: apps/namespaces/old/StatefulSet/not-in-package
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-scoped-dependency
  namespace: old
  annotations:
    config.kubernetes.io/depends-on: rbac.authorization.k8s.io/ClusterRole/admin
"""
    text, results = _run(resources, CONFIG_FORMS["setnamespace-kind"])
    docs = yamlutil.load_all(text)
    assert [
        d["metadata"]["annotations"]["config.kubernetes.io/depends-on"]
        for d in docs
        if "annotations" in d["metadata"]
    ] == [
        "apps/namespaces/new/StatefulSet/db",
        "apps/namespaces/old/StatefulSet/not-in-package",
        "rbac.authorization.k8s.io/ClusterRole/admin",
    ]
    assert results[1] == {
        "message": '`depends-on` annotation namespace [old] updated to "new", 1 value(s) changed',
        "severity": "info",
    }


ERRORS = {
    "no-config": (
        None,
        {
            "message": "FunctionConfig is missing. Expect `ConfigMap.v1` or "
            "`SetNamespace.v1alpha1.fn.kpt.dev`",
            "severity": "error",
            "resourceRef": {},
            "file": {"index": -1},
        },
    ),
    "configmap-without-namespace": (
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"x": "y"}},
        {
            "message": "`data.namespace` should not be empty",
            "severity": "error",
            "resourceRef": {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm"},
            "file": {"index": -1},
        },
    ),
    "setnamespace-without-namespace": (
        {"apiVersion": "fn.kpt.dev/v1alpha1", "kind": "SetNamespace", "metadata": {"name": "f"}},
        {
            "message": "`namespace` should not be empty",
            "severity": "error",
            "resourceRef": {
                "apiVersion": "fn.kpt.dev/v1alpha1",
                "kind": "SetNamespace",
                "name": "f",
            },
            "file": {"index": -1},
        },
    ),
    "unknown-kind": (
        {"apiVersion": "example.com/v1", "kind": "Other", "metadata": {"name": "o"}},
        {
            "message": "unknown functionConfig Kind=Other ApiVersion=example.com/v1, expect "
            "`ConfigMap.v1` or `SetNamespace.v1alpha1.fn.kpt.dev`",
            "severity": "error",
            "resourceRef": {"apiVersion": "example.com/v1", "kind": "Other", "name": "o"},
            "file": {"index": -1},
        },
    ),
}


@pytest.mark.parametrize(("config", "result"), ERRORS.values(), ids=ERRORS.keys())
def test_config_errors_fail_with_one_error_result(
    config: dict[str, Any] | None, result: dict[str, Any]
) -> None:
    with pytest.raises(fnerrors.FunctionError) as err:
        _run(RESOURCES, config)
    assert err.value.stderr == "failed to evaluate function: error: function failure"
    assert yamlutil.to_plain(err.value.results) == [result]


def test_rolebinding_subjects_stay_because_the_kind_is_namespaced() -> None:
    resources = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: rb
  namespace: old
subjects:
  - kind: ServiceAccount
    name: sa
    namespace: other
"""
    text, results = _run(resources, CONFIG_FORMS["setnamespace-kind"])
    assert text == resources.replace("namespace: old", "namespace: new")
    assert results[0]["message"] == 'namespace [old] updated to "new", 1 value(s) changed'
