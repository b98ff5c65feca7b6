"""Round trip of kpt.dev/v1 documents: our testdata and kpt's own conformance packages.

A Kptfile, function result list or ResourceList decodes into its model and encodes back, by
alias and without nulls, to exactly the same JSON. Besides testdata/, this runs over every
Kptfile in ../shared/conformance (the packages as given, and the root Kptfiles as kpt 2026
rewrites them after a render, with the Rendered condition and renderStatus, obtained by
applying each case's expected diff with `git apply`) and over kpt's expected results.yaml
files, so the models match what kpt really reads and writes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pydantic
import pytest
from ruamel.yaml import YAML

from api.kptfile import v1 as kptfilev1

TESTDATA = Path(__file__).parent / "testdata"
CONFORMANCE = Path(__file__).resolve().parents[3] / ".." / "shared" / "conformance"
RENDER_CASES = CONFORMANCE / "kpt-fn-render"

# Conformance Kptfiles that are render error cases: kpt refuses them before any function runs.
NOT_YAML = {"kpt-fn-render/invalid-kptfile", "kpt-fn-render/subpkg-has-invalid-kptfile/db"}
OLD_SCHEMA = {"kpt-fn-render/basicpipeline-v1alpha1", "kpt-fn-render/basicpipeline-v1alpha2"}
# kpt decodes Kptfiles strictly and fails on an unknown field; the models ignore unknown
# fields (Kubernetes' default), so these do not round trip by design.
UNKNOWN_FIELDS = {"kpt-fn-render/invalid-inline-fnconfig", "kpt-fn-render/kptfile-unknown-fields"}
# configMap values that are not scalars: kpt and the models both reject them.
BAD_CONFIGMAP = {"kpt-fn-render/invalid-configmap-fnconfig", "kpt-fn-render/no-format-on-failure"}


def yaml_load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe", pure=True).load(path)
    return data


def encode(obj: pydantic.BaseModel) -> dict[str, Any]:
    return obj.model_dump(mode="json", by_alias=True, exclude_none=True)


def case_id(kptfile: Path) -> str:
    return kptfile.parent.relative_to(CONFORMANCE).as_posix()


def conformance_kptfiles() -> list[Path]:
    if not CONFORMANCE.is_dir():
        return []
    return sorted(p for p in CONFORMANCE.rglob("Kptfile") if ".expected" not in p.parts)


def rendered_cases() -> list[Path]:
    """Render cases whose expected diff rewrites a Kptfile."""
    if not RENDER_CASES.is_dir():
        return []
    return sorted(
        patch.parent.parent
        for patch in RENDER_CASES.rglob(".expected/diff.patch")
        if re.search(r"^\+\+\+ b/(.*/)?Kptfile$", patch.read_text(), re.MULTILINE)
    )


KPTFILES = conformance_kptfiles()


@pytest.mark.parametrize("path", sorted(TESTDATA.glob("*.yaml")), ids=lambda p: p.stem)
def test_round_trip_is_lossless(path: Path) -> None:
    data = yaml_load(path)
    model = (
        kptfilev1.ResourceList
        if data["kind"] == kptfilev1.RESOURCE_LIST_KIND
        else kptfilev1.KINDS[data["kind"]]
    )

    obj = model.model_validate(data)

    assert encode(obj) == data


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in KPTFILES
        if case_id(p) not in NOT_YAML | OLD_SCHEMA | UNKNOWN_FIELDS | BAD_CONFIGMAP
    ],
    ids=case_id,
)
def test_conformance_kptfile_round_trips(path: Path) -> None:
    data = yaml_load(path)

    assert encode(kptfilev1.Kptfile.model_validate(data)) == data


@pytest.mark.parametrize("path", [p for p in KPTFILES if case_id(p) in BAD_CONFIGMAP], ids=case_id)
def test_conformance_kptfile_with_structured_configmap_is_rejected(path: Path) -> None:
    with pytest.raises(pydantic.ValidationError) as excinfo:
        kptfilev1.Kptfile.model_validate(yaml_load(path))

    locs = {error["loc"][:2] + error["loc"][3:4] for error in excinfo.value.errors()}
    assert locs == {("pipeline", "mutators", "configMap")}


@pytest.mark.parametrize(
    "case", rendered_cases(), ids=lambda p: p.relative_to(RENDER_CASES).as_posix()
)
def test_kptfile_rewritten_by_kpt_render_round_trips(case: Path, tmp_path: Path) -> None:
    patch = case / ".expected" / "diff.patch"
    work = tmp_path / "pkg"
    shutil.copytree(case, work)
    subprocess.run(["git", "apply", str(patch)], cwd=work, check=True, capture_output=True)
    changed = re.findall(r"^\+\+\+ b/((?:.*/)?Kptfile)$", patch.read_text(), re.MULTILINE)

    for name in changed:
        data = yaml_load(work / name)
        kptfile = kptfilev1.Kptfile.model_validate(data)

        assert encode(kptfile) == data
        if name == kptfilev1.KPTFILE_NAME:
            # kpt writes the render outcome into the root package's Kptfile only.
            assert kptfile.status is not None and kptfile.status.conditions is not None
            assert kptfile.status.conditions[0].type == kptfilev1.CONDITION_RENDERED


@pytest.mark.parametrize(
    "path",
    sorted(RENDER_CASES.rglob(".expected/results.yaml")) if RENDER_CASES.is_dir() else [],
    ids=lambda p: p.parent.parent.relative_to(RENDER_CASES).as_posix(),
)
def test_kpt_results_file_round_trips(path: Path) -> None:
    data = yaml_load(path)

    assert encode(kptfilev1.FunctionResultList.model_validate(data)) == data


def test_conformance_data_is_present() -> None:
    # The conformance-driven tests above silently parametrize to nothing without ../shared.
    assert len(KPTFILES) > 100
    assert len(rendered_cases()) > 50


def test_snake_case_attributes_read_camel_case_fields() -> None:
    kptfile = kptfilev1.Kptfile.model_validate(yaml_load(TESTDATA / "kptfile-full.yaml"))

    assert kptfile.upstream is not None
    assert kptfile.upstream.update_strategy == "resource-merge"
    assert kptfile.upstream_lock is not None and kptfile.upstream_lock.git is not None
    assert kptfile.upstream_lock.git.commit == "67f29546028f0a48c6bbb08614934d0e070cdd3a"
    assert kptfile.info is not None and kptfile.info.readiness_gates is not None
    assert kptfile.info.license_file == "LICENSE"
    assert kptfile.info.readiness_gates[0].condition_type == "example.com/policy-checked"
    assert kptfile.inventory is not None
    assert kptfile.inventory.inventory_id == "5d4b1a4e-3f55-4c86-9d59-c8d2c1a0e0f7"
    assert kptfile.pipeline is not None and kptfile.pipeline.mutators is not None
    set_ns, _, set_owner = kptfile.pipeline.mutators
    assert set_ns.config_map == {"namespace": "staging"}
    assert set_ns.tag == "0.4.1 - 0.4.3"
    assert set_ns.selectors is not None and set_ns.selectors[0].labels == {"app": "web"}
    assert set_ns.exclude is not None and set_ns.exclude[0].kind == "Kptfile"
    assert set_owner.config_ref is not None and set_owner.config_ref.kind == "ConfigMap"
    assert kptfile.status is not None and kptfile.status.render_status is not None
    steps = kptfile.status.render_status.mutation_steps
    assert steps is not None
    assert [step.exit_code for step in steps] == [0, 0, 0]


def test_structured_result_values_and_resources_are_kept_as_given() -> None:
    rl = kptfilev1.ResourceList.model_validate(yaml_load(TESTDATA / "resourcelist.yaml"))

    assert rl.items is not None
    assert rl.items[0]["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert rl.function_config is not None
    assert rl.function_config["data"] == {"namespace": "staging"}
    assert rl.results is not None and rl.results[0].field is not None
    assert rl.results[0].field.proposed_value == {"limits": {"cpu": "500m", "memory": "256Mi"}}
    assert rl.results[1].severity is None


def test_exit_code_is_always_encoded() -> None:
    # kpt writes exitCode even when it is 0; an omitted exit code reads as 0.
    result = kptfilev1.FunctionResultList.model_validate(
        {"apiVersion": "kpt.dev/v1", "kind": "FunctionResultList", "items": [{"image": "x"}]}
    )

    assert encode(result) == {
        "apiVersion": "kpt.dev/v1",
        "kind": "FunctionResultList",
        "exitCode": 0,
        "items": [{"image": "x", "exitCode": 0}],
    }


def test_unknown_fields_are_ignored_on_decode() -> None:
    data = yaml_load(TESTDATA / "kptfile-render-failure.yaml")
    sent = {**data, "subpackages": [{"localDir": "db"}]}
    sent["pipeline"] = {
        "mutators": [{**fn, "when": "true"} for fn in data["pipeline"]["mutators"]],
    }

    assert encode(kptfilev1.Kptfile.model_validate(sent)) == data


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"upstream": {"updateStrategy": "merge"}}, ("upstream", "updateStrategy")),
        ({"status": {"conditions": [{"type": "Rendered"}]}}, ("status", "conditions", 0, "status")),
        ({"info": {"readinessGates": [{}]}}, ("info", "readinessGates", 0, "conditionType")),
    ],
    ids=["update-strategy", "condition-without-status", "gate-without-type"],
)
def test_invalid_kptfile_is_rejected_naming_the_field(
    patch: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(pydantic.ValidationError) as excinfo:
        kptfilev1.Kptfile.model_validate({"apiVersion": "kpt.dev/v1", "kind": "Kptfile", **patch})

    assert [error["loc"] for error in excinfo.value.errors()] == [loc]
