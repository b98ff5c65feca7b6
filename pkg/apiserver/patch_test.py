from __future__ import annotations

from typing import Any

import pytest

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import errors
from pkg.apiserver import patch
from pkg.apiserver.negotiation import PatchType

Repo = configv1alpha1.Repository


# RFC 7386 appendix A, the cases that matter for objects.
@pytest.mark.parametrize(
    ("target", "merge", "expected"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc7386(target: Any, merge: Any, expected: Any) -> None:
    assert patch.merge_patch(target, merge) == expected


def test_merge_patch_does_not_modify_its_inputs() -> None:
    target = {"a": {"b": 1}}
    patch.merge_patch(target, {"a": {"b": 2}})
    assert target == {"a": {"b": 1}}


def _owner(uid: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": uid}


LIVE: dict[str, Any] = {
    "metadata": {
        "name": "r",
        "finalizers": ["a"],
        "ownerReferences": [_owner("1", "one"), _owner("2", "two")],
        "labels": {"x": "1", "y": "2"},
    },
    "spec": {"type": "git", "git": {"repo": "https://r", "branch": "main"}},
}


def test_strategic_merge_merges_lists_by_their_patch_merge_key() -> None:
    result = patch.strategic_merge(
        LIVE,
        {"metadata": {"ownerReferences": [_owner("2", "renamed"), _owner("3", "three")]}},
        Repo,
    )
    assert [o["name"] for o in result["metadata"]["ownerReferences"]] == [
        "one",
        "renamed",
        "three",
    ]


def test_strategic_merge_unions_merge_strategy_primitive_lists() -> None:
    result = patch.strategic_merge(LIVE, {"metadata": {"finalizers": ["b", "a"]}}, Repo)
    assert result["metadata"]["finalizers"] == ["a", "b"]


def test_strategic_merge_honours_delete_directives() -> None:
    result = patch.strategic_merge(
        LIVE,
        {
            "metadata": {
                "ownerReferences": [{"uid": "1", "$patch": "delete"}],
                "$deleteFromPrimitiveList/finalizers": ["a"],
            },
            "spec": {"git": {"$patch": "delete"}},
        },
        Repo,
    )
    assert [o["uid"] for o in result["metadata"]["ownerReferences"]] == ["2"]
    assert result["metadata"]["finalizers"] == []
    assert "git" not in result["spec"]


def test_strategic_merge_replace_and_retain_keys() -> None:
    result = patch.strategic_merge(
        LIVE,
        {
            "metadata": {"labels": {"$patch": "replace", "z": "3"}},
            "spec": {"$retainKeys": ["type", "description"], "description": "d"},
        },
        Repo,
    )
    assert result["metadata"]["labels"] == {"z": "3"}
    assert result["spec"] == {"type": "git", "description": "d"}


def test_strategic_merge_without_merge_keys_is_a_merge_patch() -> None:
    smp = {"spec": {"git": {"branch": "dev"}, "type": None}, "$setElementOrder/x": []}
    assert patch.strategic_merge(LIVE, smp, Repo) == patch.merge_patch(
        LIVE, {"spec": {"git": {"branch": "dev"}, "type": None}}
    )


def test_apply_merges_the_applied_configuration_and_keeps_other_fields() -> None:
    applied = {"metadata": {"name": "r", "labels": {"y": "changed"}}, "spec": {"description": "d"}}
    result = patch.apply_patch(PatchType.APPLY_PATCH, LIVE, applied, Repo)
    assert result["metadata"]["labels"] == {"x": "1", "y": "changed"}
    assert result["spec"]["description"] == "d"
    assert result["spec"]["git"] == LIVE["spec"]["git"]


def test_apply_merges_list_type_map_lists_by_key() -> None:
    applied = {"metadata": {"ownerReferences": [_owner("2", "renamed")]}}
    result = patch.apply_patch(PatchType.APPLY_PATCH, LIVE, applied, Repo)
    assert [o["name"] for o in result["metadata"]["ownerReferences"]] == ["one", "renamed"]


def test_json_patch_applies_operations_in_order() -> None:
    result = patch.apply_patch(
        PatchType.JSON_PATCH,
        LIVE,
        [
            {"op": "test", "path": "/spec/type", "value": "git"},
            {"op": "add", "path": "/spec/description", "value": "d"},
            {"op": "remove", "path": "/metadata/labels/x"},
        ],
        Repo,
    )
    assert result["spec"]["description"] == "d"
    assert result["metadata"]["labels"] == {"y": "2"}
    assert "description" not in LIVE["spec"]


@pytest.mark.parametrize(
    ("operations", "code", "text"),
    [
        pytest.param(
            [{"op": "test", "path": "/spec/type", "value": "oci"}],
            422,
            "JSON patch operation 0 (test '/spec/type') failed",
            id="failed-test",
        ),
        pytest.param(
            [{"op": "remove", "path": "/spec/nope"}],
            422,
            "JSON patch operation 0 (remove '/spec/nope') failed",
            id="missing-path",
        ),
        pytest.param([{"op": "frobnicate", "path": "/a"}], 400, "invalid JSON patch", id="bad-op"),
    ],
)
def test_json_patch_failures(operations: list[Any], code: int, text: str) -> None:
    with pytest.raises(errors.StatusError) as caught:
        patch.apply_patch(PatchType.JSON_PATCH, LIVE, operations, Repo)
    assert caught.value.code == code
    assert text in caught.value.message
    if code == 422:
        assert caught.value.reason == "Invalid"
        assert caught.value.details is None  # kubectl: "The request is invalid: <message>"


@pytest.mark.parametrize(
    ("patch_type", "body"),
    [
        pytest.param(PatchType.MERGE_PATCH, b"[1]", id="merge-not-object"),
        pytest.param(PatchType.JSON_PATCH, b'{"op": "add"}', id="json-patch-not-list"),
        pytest.param(PatchType.STRATEGIC_MERGE_PATCH, b"{", id="malformed"),
        pytest.param(PatchType.APPLY_PATCH, b"a: [", id="malformed-yaml"),
    ],
)
def test_decode_patch_rejects_malformed_bodies(patch_type: PatchType, body: bytes) -> None:
    with pytest.raises(errors.StatusError) as caught:
        patch.decode_patch(patch_type, body)
    assert caught.value.code == 400


def test_decode_apply_patch_reads_yaml_and_json() -> None:
    assert patch.decode_patch(PatchType.APPLY_PATCH, b"a: 1\nb: [x]\n") == {"a": 1, "b": ["x"]}
    assert patch.decode_patch(PatchType.APPLY_PATCH, b'{"a": 1}') == {"a": 1}
