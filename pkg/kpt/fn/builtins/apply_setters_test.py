"""Tests of the apply-setters builtin, including the catalog's own unit vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pkg.kpt import yamlutil
from pkg.kpt.fn import builtins, fnerrors
from pkg.kpt.fn.builtins import apply_setters, testing

VECTORS_FILE = (
    Path(__file__).resolve().parents[4]
    / ".."
    / "shared"
    / "conformance"
    / "krm-functions"
    / "unit-vectors"
    / "apply-setters.yaml"
)
VECTORS: dict[str, Any] = yaml.safe_load(VECTORS_FILE.read_text())


def _ids(entries: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, int] = {}
    ids = []
    for entry in entries:
        name = entry["name"].replace(" ", "-")
        seen[name] = seen.get(name, 0) + 1
        ids.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return ids


def _setters_config(config_raw: str) -> dict[str, Any]:
    """The vectors' config: `data` values as strings, `~` and '' meaning empty."""
    data = (yaml.safe_load(config_raw) or {}).get("data") or {}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "setters"},
        "data": {str(k): "" if v is None else str(v) for k, v in data.items()},
    }


@pytest.mark.parametrize("vector", VECTORS["filter"], ids=_ids(VECTORS["filter"]))
def test_catalog_filter_vectors(vector: dict[str, Any]) -> None:
    items = yamlutil.load_all(vector["input"])
    config = yamlutil.from_plain(_setters_config(vector["configRaw"]))
    error = vector.get("errorContains")
    if error:
        with pytest.raises(fnerrors.FunctionError) as failure:
            builtins.call("apply-setters", testing.resource_list(items, config))
        assert error in failure.value.stderr
        assert yamlutil.to_plain(failure.value.results) == [
            {"message": f"failed to apply setters: {failure.value.stderr}", "severity": "error"}
        ]
        # the input is left as it was
        assert vector["expected"] == vector["input"]
        assert yamlutil.dump_all(items) == yamlutil.dump_all(yamlutil.load_all(vector["input"]))
        return
    output, _ = builtins.call("apply-setters", testing.resource_list(items, config))
    # The Go test writes the file back with kyaml's default (wide) sequence indentation.
    text = yamlutil.dump_all(list(output["items"]), seq_indent_style=yamlutil.WIDE)
    assert text == vector["expected"]


@pytest.mark.parametrize(
    "vector", VECTORS["currentSetterValues"], ids=_ids(VECTORS["currentSetterValues"])
)
def test_catalog_current_setter_values_vectors(vector: dict[str, Any]) -> None:
    assert (
        apply_setters.current_setter_values(vector["pattern"], vector["value"])
        == (vector["expected"])
    )


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 4 # kpt-set: ${replicas}
  template:
    spec:
      containers:
        - name: app
          image: "nginx:1.1" # kpt-set: nginx:${tag}
          env:
            - name: DB_PASSWORD
              value: hunter2 # kpt-set: ${db-password}
"""


def _config(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}, "data": data}


def test_results_carry_resource_ref_and_values_and_redact_secrets() -> None:
    text, outcome = testing.run_text(
        "apply-setters", DEPLOYMENT, _config(replicas="3", tag="1.2", **{"db-password": "s3cr3t"})
    )
    assert outcome.exit_code == 0
    assert "replicas: 3 # kpt-set: ${replicas}" in text
    assert 'image: "nginx:1.2" # kpt-set: nginx:${tag}' in text
    assert "value: s3cr3t # kpt-set: ${db-password}" in text
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "shop"}
    assert yamlutil.to_plain(outcome.results) == [
        {
            "message": 'set field value to "3"',
            "severity": "info",
            "resourceRef": ref,
            "field": {"path": "spec.replicas", "currentValue": "4", "proposedValue": "3"},
            "file": {"path": "resources.yaml"},
        },
        {
            "message": 'set field value to "nginx:1.2"',
            "severity": "info",
            "resourceRef": ref,
            "field": {
                "path": "spec.template.spec.containers[0].image",
                "currentValue": "nginx:1.1",
                "proposedValue": "nginx:1.2",
            },
            "file": {"path": "resources.yaml"},
        },
        {
            "message": 'set field value to "<redacted>"',
            "severity": "info",
            "resourceRef": ref,
            "field": {
                "path": "spec.template.spec.containers[0].env[0].value",
                "currentValue": "<redacted>",
                "proposedValue": "<redacted>",
            },
            "file": {"path": "resources.yaml"},
        },
    ]


SANITIZE = {
    "short-value-kept": ("nginx:1.2", "spec.image", "${tag}", "nginx:1.2"),
    "long-value-truncated": ("x" * 130, "spec.x", "${x}", "x" * 128 + "... (truncated 2 chars)"),
    "sensitive-field-path": ("abc", "spec.auth.user", "${u}", "<redacted>"),
    "sensitive-setter-name": ("abc", "spec.x", "${api-key}", "<redacted>"),
    "pem-value": ("-----BEGIN PRIVATE KEY-----", "spec.x", "${x}", "<redacted>"),
    "aws-key-value": ("AKIAABCDEFGHIJKLMNOP", "spec.x", "${x}", "<redacted>"),
    "base64-blob": ("QWxhZGRpbjpvcGVuIHNlc2FtZQ==QWxhZGRpbjpvcGVu", "spec.x", "${x}", "<redacted>"),
}


@pytest.mark.parametrize(
    ("value", "path", "pattern", "shown"), SANITIZE.values(), ids=SANITIZE.keys()
)
def test_values_in_results_are_truncated_or_redacted(
    value: str, path: str, pattern: str, shown: str
) -> None:
    assert apply_setters.sanitize(value, path, pattern) == shown


def test_no_matching_setter_gives_one_result_without_severity() -> None:
    text, outcome = testing.run_text("apply-setters", DEPLOYMENT, _config(other="x"))
    assert outcome.exit_code == 0
    assert text == DEPLOYMENT
    assert yamlutil.to_plain(outcome.results) == [{"message": "no matches for input setter(s)"}]


def test_no_config_means_no_setters() -> None:
    _, outcome = testing.run_text("apply-setters", DEPLOYMENT, None)
    assert yamlutil.to_plain(outcome.results) == [{"message": "no matches for input setter(s)"}]


def test_unquoted_numbers_in_config_keep_their_spelling() -> None:
    config = yamlutil.load(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\ndata:\n  tag: 1.10\n"
    )
    text, _ = testing.run_text("apply-setters", DEPLOYMENT, config)
    assert 'image: "nginx:1.10" # kpt-set: nginx:${tag}' in text


def test_array_setter_errors_name_the_pattern() -> None:
    resources = (
        "apiVersion: v1\nkind: X\nmetadata:\n  name: x\nlist: # kpt-set: ${a}-${b}\n  - one\n"
    )
    _, outcome = testing.run_text("apply-setters", resources, _config(a="[x]"))
    assert outcome.exit_code == 1
    assert yamlutil.to_plain(outcome.results) == [
        {
            "message": "failed to apply setters: "
            'invalid setter pattern for array node: "${a}-${b}"',
            "severity": "error",
        }
    ]


@pytest.mark.parametrize("tag", ["v0.2", "v0.2.4", "v0.1.1"])
def test_v02_tags_give_v02_results(tag: str) -> None:
    # Porch's rpkg-upgrade golden pins `apply-setters:v0.2` and expects porchctl to print
    # `[info] data.foo: set field value to "baz"`: no resourceRef, no severity, no values.
    config = _config(replicas="3", tag="1.2", **{"db-password": "s3cr3t"})
    text, outcome = testing.run_text("apply-setters", DEPLOYMENT, config, tag=tag)
    newest_text, _ = testing.run_text("apply-setters", DEPLOYMENT, config)
    assert outcome.exit_code == 0
    assert text == newest_text  # the lines differ in their results only
    assert yamlutil.to_plain(outcome.results) == [
        {
            "message": 'set field value to "3"',
            "field": {"path": "spec.replicas"},
            "file": {"path": "resources.yaml"},
        },
        {
            "message": 'set field value to "nginx:1.2"',
            "field": {"path": "spec.template.spec.containers[0].image"},
            "file": {"path": "resources.yaml"},
        },
        {
            # v0.2 redacted nothing
            "message": 'set field value to "s3cr3t"',
            "field": {"path": "spec.template.spec.containers[0].env[0].value"},
            "file": {"path": "resources.yaml"},
        },
    ]


def test_v02_array_setter_result_shows_the_setter_text() -> None:
    resources = "apiVersion: v1\nkind: X\nmetadata:\n  name: x\nenvs: # kpt-set: ${envs}\n  - a\n"
    text, outcome = testing.run_text(
        "apply-setters", resources, _config(envs="- prod\n- dev"), tag="v0.2.2"
    )
    assert "envs: # kpt-set: ${envs}\n  - prod\n  - dev\n" in text
    assert yamlutil.to_plain(outcome.results) == [
        {
            "message": 'set field value to "- prod\\n- dev"',
            "field": {"path": "envs"},
            "file": {"path": "resources.yaml"},
        }
    ]


@pytest.mark.parametrize("tag", ["v0.2", "v0.3.0"])
def test_no_matches_and_errors_read_the_same_in_both_lines(tag: str) -> None:
    _, outcome = testing.run_text("apply-setters", DEPLOYMENT, _config(other="x"), tag=tag)
    assert yamlutil.to_plain(outcome.results) == [{"message": "no matches for input setter(s)"}]
    resources = "apiVersion: v1\nkind: X\nmetadata:\n  name: x\nlist: # kpt-set: ${a}-${b}\n  - 1\n"
    _, failed = testing.run_text("apply-setters", resources, _config(a="[x]"), tag=tag)
    assert failed.exit_code == 1
    assert yamlutil.to_plain(failed.results) == [
        {
            "message": "failed to apply setters: "
            'invalid setter pattern for array node: "${a}-${b}"',
            "severity": "error",
        }
    ]


@pytest.mark.parametrize(
    ("tag", "line"),
    [
        ("v0.2", (0, 2)),
        ("v0.2.4", (0, 2)),
        ("0.2.1", (0, 2)),
        ("v0.1.1", (0, 1)),
        ("v0.3", (0, 3)),
        ("v0.3.0-rc.1", (0, 3)),
        ("v1.0.0", (1, 0)),
        ("latest", (0, 3)),
        ("unstable", (0, 3)),
        ("", (0, 3)),
    ],
)
def test_results_line_of_a_tag(tag: str, line: tuple[int, int]) -> None:
    assert apply_setters.results_line(tag) == line
