"""Kptfile decoding, validation and the typed rewrite, with kpt's messages."""

from __future__ import annotations

import pytest

from pkg.kpt import kptfile

BASE = """apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: app
pipeline:
  mutators:
"""


def test_unknown_field_is_rejected_with_its_line() -> None:
    text = BASE + "  - image: set-labels:latest\n    targetResources:\n    - kind: Deployment\n"
    with pytest.raises(kptfile.KptfileReadError) as err:
        kptfile.decode(text)
    assert err.value.detail == (
        "yaml: unmarshal errors:\n  line 8: field targetResources not found in type v1.Function"
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("      envs:\n      - dev\n", "line 10: cannot unmarshal !!seq into string"),
        ("      namespace:\n        hello: world\n", "line 10: cannot unmarshal !!map into string"),
    ],
)
def test_config_map_values_must_be_strings(config: str, message: str) -> None:
    text = BASE + "  - image: set-labels:latest\n    configMap:\n" + config
    with pytest.raises(kptfile.KptfileReadError) as err:
        kptfile.decode(text)
    assert err.value.detail == "yaml: unmarshal errors:\n  " + message


@pytest.mark.parametrize("version", ["v1alpha1", "v1alpha2"])
def test_old_versions_are_refused(version: str) -> None:
    with pytest.raises(kptfile.KptfileVersionError) as err:
        kptfile.decode(f"apiVersion: kpt.dev/{version}\nkind: Kptfile\nmetadata:\n  name: a\n")
    assert str(err.value) == f'has an old version ("{version}") of the Kptfile schema'


def test_unparseable_kptfile() -> None:
    with pytest.raises(kptfile.KptfileReadError) as err:
        kptfile.decode("apiVersion: kpt.dev/v1\nkslsls\n;s;s;s\n", path="./db")
    assert str(err.value) == (
        "error reading Kptfile at \"./db\": yaml: line 2: could not find expected ':'"
    )


@pytest.mark.parametrize(
    ("step", "field", "reason"),
    [
        (
            "  - image: set-labels:latest\n    configPath: /abs/x.yaml\n",
            "pipeline.mutators[0].configPath",
            "path must be relative",
        ),
        (
            "  - image: set-labels:latest\n    configPath: a/../../x.yaml\n",
            "pipeline.mutators[0].configPath",
            "path must not be outside the package",
        ),
        (
            "  - image: set-labels:latest\n    configPath: x.yaml\n    configMap:\n      a: b\n",
            "pipeline.mutators[0].configMap",
            "functionConfig must not specify both `configMap` and `configPath` at the same time",
        ),
        (
            "  - configMap:\n      a: b\n",
            "pipeline.mutators[0].image",
            "must specify a functon (`image` or `exec`) to execute",
        ),
    ],
)
def test_validation_errors(step: str, field: str, reason: str) -> None:
    kf = kptfile.decode(BASE + step)
    with pytest.raises(kptfile.KptfileValidationError) as err:
        kptfile.validate(kf)
    assert err.value.field == field
    assert err.value.reason == reason
    assert str(err.value).startswith(f"Kptfile is invalid:\nField: `{field}`\nValue: ")


def test_config_path_file_checks() -> None:
    files = {
        "two.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
        "noname.yaml": "apiVersion: v1\nkind: ConfigMap\n",
    }
    field = "pipeline.mutators[0].configPath"
    with pytest.raises(kptfile.KptfileValidationError) as err:
        kptfile.config_path_resource(files, "", "two.yaml", display_root="pkg", field_path=field)
    assert (
        err.value.reason == 'functionConfig "two.yaml" must not contain more than one config, got 2'
    )
    with pytest.raises(kptfile.KptfileValidationError) as err:
        kptfile.config_path_resource(files, "", "noname.yaml", display_root="pkg", field_path=field)
    assert err.value.reason == "resource must have `metadata.name`"
    with pytest.raises(kptfile.KptfileValidationError) as err:
        kptfile.config_path_resource(files, "", "gone.yaml", display_root="pkg", field_path=field)
    assert err.value.reason == (
        'failed to open functionConfig from path "gone.yaml": open pkg/gone.yaml: '
        "no such file or directory"
    )


def test_encode_rewrites_in_schema_order() -> None:
    text = """apiVersion: kpt.dev/v1
kind: Kptfile
metadata:  # comment dropped
  annotations:
    config.kubernetes.io/local-config: "true"
  name: app
pipeline:
  mutators:
  # also dropped
  - image: set-namespace
    tag: "~0.2"
    configMap:
      namespace: staging
  - image: set-labels:latest
    configMap: {}
"""
    assert (
        kptfile.encode(kptfile.decode(text))
        == """apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: app
  annotations:
    config.kubernetes.io/local-config: "true"
pipeline:
  mutators:
    - image: set-namespace
      configMap:
        namespace: staging
      tag: ~0.2
    - image: set-labels:latest
"""
    )


def test_with_status_replaces_the_rendered_condition() -> None:
    kf = kptfile.decode(BASE + "  - image: a:latest\n")
    first = kptfile.with_status(
        kf, {"type": "Rendered", "status": "False", "reason": "RenderFailed", "message": "x"}, None
    )
    second = kptfile.with_status(
        first,
        {"type": "Rendered", "status": "True", "reason": "RenderSuccess"},
        {"mutationSteps": [{"image": "a:latest", "exitCode": 0, "results": [{"message": "m"}]}]},
    )
    assert kptfile.encode(second).endswith("""status:
  conditions:
    - type: Rendered
      status: "True"
      reason: RenderSuccess
  renderStatus:
    mutationSteps:
      - image: a:latest
        exitCode: 0
        results:
          - message: m
""")


def test_function_view() -> None:
    kf = kptfile.decode(
        BASE
        + "  - image: ghcr.io/kptdev/krm-functions-catalog/set-labels:v0.2\n"
        + "    selectors:\n    - kind: Deployment\n      labels:\n        app: a\n"
    )
    (fn,) = kptfile.functions(kf, "mutators")
    assert fn.display_name == "set-labels"
    assert fn.selectors == (kptfile.Selector(kind="Deployment", labels={"app": "a"}),)
