"""Field ownership and server-side apply: on the real models first, then through the real
server (HTTP over the generic store) for what only the handlers decide."""

from __future__ import annotations

import datetime
import json
from typing import Any, Literal

import httpx
import pytest
from pydantic import BaseModel

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import codec, errors, user
from pkg.apiserver import apiservertesting, authentication, config, fieldmanager, groups, server
from pkg.apiserver.conftest import API, OPENAPI, REPOS, TOKEN, expect_status, repository
from pkg.registry.generic import store
from pkg.registry.porch import porchtesting
from pkg.registry.rest import objectmeta, rest

Repo = configv1alpha1.Repository
REPO_API = "config.porch.kpt.dev/v1alpha1"
PR_API = "porch.kpt.dev/v1alpha1"
LONG_AGO = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
LAST_APPLIED = fieldmanager.LAST_APPLIED_ANNOTATION
READY = {
    "type": "Ready",
    "status": "True",
    "reason": "Ready",
    "message": "",
    "lastTransitionTime": "2024-01-01T00:00:00Z",
}


def repos(subresource: str = "") -> fieldmanager.FieldManager:
    return fieldmanager.FieldManager(
        Repo,
        REPO_API,
        "Repository",
        subresource=subresource,
        resource=errors.GroupResource("config.porch.kpt.dev", "repositories"),
    )


def revisions(subresource: str = "") -> fieldmanager.FieldManager:
    return fieldmanager.FieldManager(
        porchv1alpha1.PackageRevision, PR_API, "PackageRevision", subresource=subresource
    )


def body(**spec: Any) -> dict[str, Any]:
    """A Repository as a client writes it."""
    return {
        "apiVersion": REPO_API,
        "kind": "Repository",
        "metadata": {"name": "r", "namespace": "default"},
        "spec": {"type": "git", "git": {"repo": "https://example.com/r.git"}, **spec},
    }


def create(data: dict[str, Any], manager: str) -> Repo:
    """What a create stores: the body with the manager's entry and server metadata."""
    obj = Repo.model_validate(data)
    repos().update(None, obj, manager)
    meta = objectmeta.meta_of(obj)
    meta.uid, meta.resource_version = "uid-1", "1"
    return obj


def write(live: Repo, data: dict[str, Any], manager: str, subresource: str = "") -> Repo:
    """A PUT/patch result over ``live`` (the body carries no managedFields unless given)."""
    new = Repo.model_validate(data)
    repos(subresource).update(live, new, manager)
    objectmeta.meta_of(new).uid = objectmeta.meta_of(live).uid
    return new


def apply(live: Repo | None, applied: dict[str, Any], manager: str, *, force: bool = False) -> Repo:
    data, entries = repos().apply(live, applied, manager, force=force)
    obj = Repo.model_validate(data)
    objectmeta.meta_of(obj).managed_fields = entries
    if live is None:
        objectmeta.meta_of(obj).uid = "uid-1"
    return obj


def entries(obj: BaseModel) -> list[tuple[str, str, str]]:
    return [
        (e.manager or "", e.operation or "", e.subresource or "")
        for e in objectmeta.meta_of(obj).managed_fields or []
    ]


def fields_of(obj: BaseModel, manager: str, operation: str = "Update") -> dict[str, Any]:
    for entry in objectmeta.meta_of(obj).managed_fields or []:
        if entry.manager == manager and entry.operation == operation:
            assert entry.fields_type == "FieldsV1"
            assert entry.fields_v1 is not None
            fields: dict[str, Any] = entry.fields_v1.model_dump()
            return fields
    raise AssertionError(f"no {operation} entry of {manager}: {entries(obj)}")


def age(obj: BaseModel) -> None:
    """Move every entry's time into the past, so a new write's time stands out."""
    for entry in objectmeta.meta_of(obj).managed_fields or []:
        entry.time = LONG_AGO


def conflict(call: Any) -> errors.StatusError:
    with pytest.raises(errors.StatusError) as caught:
        call()
    assert caught.value.code == 409
    assert caught.value.reason == "Conflict"
    return caught.value


# --- FieldsV1 --------------------------------------------------------------------------------


def test_create_owns_every_field_it_sets_except_identity_and_type_meta() -> None:
    data = body(description="d")
    data["metadata"].update(
        labels={"app": "x"},
        annotations={"note": "n"},
        finalizers=["a", "b"],
        ownerReferences=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "1"}],
        uid="ignored",
        resourceVersion="7",
        generation=3,
        creationTimestamp="2024-01-01T00:00:00Z",
    )
    data["status"] = {"conditions": []}
    obj = create(data, "kubectl-create")
    assert entries(obj) == [("kubectl-create", "Update", "")]
    entry = (objectmeta.meta_of(obj).managed_fields or [])[0]
    assert entry.api_version == REPO_API
    assert entry.time is not None
    # Maps and list items that appeared own themselves ("."), struct fields do not.
    assert json.dumps(fields_of(obj, "kubectl-create")) == json.dumps(
        {
            "f:metadata": {
                "f:annotations": {".": {}, "f:note": {}},
                "f:finalizers": {".": {}, 'v:"a"': {}, 'v:"b"': {}},
                "f:labels": {".": {}, "f:app": {}},
                "f:ownerReferences": {
                    ".": {},
                    'k:{"uid":"1"}': {
                        ".": {},
                        "f:apiVersion": {},
                        "f:kind": {},
                        "f:name": {},
                        "f:uid": {},
                    },
                },
            },
            "f:spec": {
                ".": {},
                # content and git.branch are the model's defaults, set on decode: the writer
                # owns them, as with CRD defaulting.
                "f:content": {},
                "f:description": {},
                "f:git": {".": {}, "f:branch": {}, "f:repo": {}},
                "f:type": {},
            },
        }
    )


def test_create_with_nothing_but_identity_records_no_entry() -> None:
    obj = create({"apiVersion": REPO_API, "kind": "Repository", "metadata": {"name": "r"}}, "m")
    assert objectmeta.meta_of(obj).managed_fields is None


def test_atomic_lists_are_owned_whole_and_maps_per_key() -> None:
    revision = porchv1alpha1.PackageRevision.model_validate(
        {
            "apiVersion": PR_API,
            "kind": "PackageRevision",
            "metadata": {"name": "repo.p.ws"},
            "spec": {
                "packageName": "p",
                "tasks": [{"type": "init", "init": {"description": "d"}}],
                "readinessGates": [{"conditionType": "Ready"}],
                "packageMetadata": {"labels": {"team": "a"}},
            },
            "status": {"revision": 3},
        }
    )
    revisions().update(None, revision, "porchctl")
    assert fields_of(revision, "porchctl") == {
        "f:spec": {
            ".": {},
            "f:packageMetadata": {".": {}, "f:labels": {".": {}, "f:team": {}}},
            "f:packageName": {},
            "f:readinessGates": {},
            "f:tasks": {},
        }
    }


def test_fields_v1_round_trips_and_prints_paths_as_kubernetes() -> None:
    encoded: dict[str, Any] = {
        "f:metadata": {
            "f:finalizers": {".": {}, 'v:"a"': {}},
            "f:ownerReferences": {'k:{"name":"n","uid":"1"}': {".": {}, "f:kind": {}}},
        },
        "f:spec": {"f:replicas": {}, "x:future": {}},
    }
    fields = fieldmanager.field_set(encoded)
    assert [fieldmanager.path_string(p) for p in fields.paths()] == [
        ".metadata.finalizers",
        '.metadata.finalizers[="a"]',
        '.metadata.ownerReferences[name="n",uid="1"]',
        '.metadata.ownerReferences[name="n",uid="1"].kind',
        ".spec.replicas",
    ]
    # Unknown element kinds are dropped; the rest comes back byte for byte.
    del encoded["f:spec"]["x:future"]
    assert json.dumps(fieldmanager.fields_v1(fields)) == json.dumps(encoded)
    with pytest.raises(ValueError):
        fieldmanager.field_set({"k:[": {}})


# --- Update ----------------------------------------------------------------------------------


def test_an_update_takes_the_fields_it_changes_and_drops_the_ones_it_removes() -> None:
    live = create(body(description="d", content="Package"), "kubectl-create")
    changed = body(description="e")
    del changed["spec"]["git"]
    new = write(live, changed, "kubectl-edit")
    assert fields_of(new, "kubectl-edit") == {"f:spec": {"f:description": {}}}
    # git left the object: nobody owns it; description moved; the rest stays the creator's.
    assert fields_of(new, "kubectl-create") == {"f:spec": {".": {}, "f:content": {}, "f:type": {}}}


def test_an_update_that_changes_nothing_leaves_managed_fields_untouched() -> None:
    live = create(body(description="d"), "kubectl-create")
    age(live)
    before = list(objectmeta.meta_of(live).managed_fields or [])
    for sent in (None, before):  # a body without managedFields, and one that echoes them
        data = body(description="d")
        if sent is not None:
            data["metadata"]["managedFields"] = [e.model_dump(by_alias=True) for e in sent]
        new = write(live, data, "kubectl-replace")
        assert objectmeta.meta_of(new).managed_fields == before
        assert (objectmeta.meta_of(new).managed_fields or [])[0].time == LONG_AGO
    # A write that changes only what the main resource does not own (status) is a no-op too.
    with_status = body(description="d")
    with_status["status"] = {"conditions": [READY]}
    assert objectmeta.meta_of(write(live, with_status, "x")).managed_fields == before


def test_an_entry_time_moves_only_when_its_write_changed_something() -> None:
    live = create(body(description="d"), "a")
    live = write(live, body(description="d", deployment=True), "b")
    age(live)
    new = write(live, body(description="e", deployment=True), "a")
    times = {e.manager: e.time for e in objectmeta.meta_of(new).managed_fields or []}
    assert times["b"] == LONG_AGO
    assert times["a"] is not None and times["a"] > LONG_AGO


def test_one_entry_per_manager_operation_version_and_subresource() -> None:
    live = create(body(description="d"), "m")
    live = write(live, body(description="e"), "m")
    assert entries(live) == [("m", "Update", "")]
    status = body(description="e")
    status["status"] = {"conditions": [READY]}
    status["metadata"]["managedFields"] = []  # ignored: a subresource cannot clear them
    through_status = write(live, status, "m", subresource="status")
    assert sorted(entries(through_status)) == [("m", "Update", ""), ("m", "Update", "status")]
    # The status write owns only status.
    assert fields_of(through_status, "m") == {
        "f:spec": {
            ".": {},
            "f:content": {},
            "f:description": {},
            "f:git": {".": {}, "f:branch": {}, "f:repo": {}},
            "f:type": {},
        }
    }
    status_entry = next(
        e for e in objectmeta.meta_of(through_status).managed_fields or [] if e.subresource
    )
    assert status_entry.fields_v1 is not None
    assert status_entry.fields_v1.model_dump() == {"f:status": {".": {}, "f:conditions": {}}}


def test_an_approval_write_owns_only_the_lifecycle() -> None:
    live = porchv1alpha1.PackageRevision.model_validate(
        {
            "apiVersion": PR_API,
            "kind": "PackageRevision",
            "metadata": {"name": "repo.p.ws", "uid": "u"},
            "spec": {"packageName": "p", "lifecycle": "Proposed"},
        }
    )
    revisions().update(None, live, "porchctl")
    new = live.model_copy(deep=True)
    assert new.spec is not None and new.metadata is not None
    new.spec.lifecycle = "Published"
    new.metadata.labels = {"sneaked": "in"}  # the approval strategy resets this
    revisions("approval").update(live, new, "porchctl")
    approval = [e for e in new.metadata.managed_fields or [] if e.subresource == "approval"]
    assert [(e.manager, e.fields_v1.model_dump() if e.fields_v1 else None) for e in approval] == [
        ("porchctl", {"f:spec": {"f:lifecycle": {}}})
    ]
    assert fields_of(new, "porchctl") == {"f:spec": {".": {}, "f:packageName": {}}}


def test_clearing_managed_fields_stops_tracking_until_the_next_apply() -> None:
    live = create(body(description="d"), "kubectl-create")
    cleared = body(description="d")
    cleared["metadata"]["managedFields"] = []
    new = write(live, cleared, "kubectl-edit")
    assert objectmeta.meta_of(new).managed_fields == []
    untracked = write(new, body(description="e"), "kubectl-edit")
    assert not objectmeta.meta_of(untracked).managed_fields
    applied = apply(untracked, {**body(description="f")}, "ssa", force=True)
    assert sorted(entries(applied)) == [("before-first-apply", "Update", ""), ("ssa", "Apply", "")]


def test_the_body_may_edit_managed_fields_directly() -> None:
    live = create(body(description="d"), "kubectl-create")
    edited = body(description="d")
    edited["metadata"]["managedFields"] = [
        {
            "manager": "someone",
            "operation": "Update",
            "apiVersion": REPO_API,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:description": {}}},
        }
    ]
    assert entries(write(live, edited, "kubectl-edit")) == [("someone", "Update", "")]


def _labelled(count: int) -> dict[str, Any]:
    data = body(description="d")
    data["metadata"]["labels"] = {f"l{i}": "x" for i in range(count + 1)}
    return data


def test_update_managers_are_capped_into_ancient_changes() -> None:
    obj = create(_labelled(0), "m0")
    for i in range(1, fieldmanager.MAX_UPDATE_MANAGERS + 1):
        for entry in objectmeta.meta_of(obj).managed_fields or []:
            # m0 is the oldest, m1 the next ...
            entry.time = LONG_AGO + datetime.timedelta(seconds=int((entry.manager or "")[1:]))
        obj = write(obj, _labelled(i), f"m{i}")
    updaters = [m for m, _, _ in entries(obj)]
    assert len(updaters) == fieldmanager.MAX_UPDATE_MANAGERS
    assert sorted(updaters) == sorted(
        ["ancient-changes", *(f"m{i}" for i in range(2, fieldmanager.MAX_UPDATE_MANAGERS + 1))]
    )
    # The two oldest were merged: their fields are kept under one entry.
    assert fields_of(obj, "ancient-changes")["f:metadata"]["f:labels"] == {
        ".": {},
        "f:l0": {},
        "f:l1": {},
    }


def test_manager_from_user_agent() -> None:
    assert fieldmanager.manager_from_user_agent("kubectl/v1.32.4 (linux/amd64)") == "kubectl"
    assert fieldmanager.manager_from_user_agent("OpenAPI-Generator/37.0.0/python") == (
        "OpenAPI-Generator"
    )
    assert fieldmanager.manager_from_user_agent("a\x00b/1") == "ab"
    assert fieldmanager.manager_from_user_agent("x" * 300) == "x" * 128
    assert fieldmanager.manager_from_user_agent(None) == ""
    # No manager at all: Kubernetes writes "unknown".
    assert entries(create(body(description="d"), "")) == [("unknown", "Update", "")]


# --- Apply -----------------------------------------------------------------------------------


def test_apply_owns_the_applied_fields_and_creates() -> None:
    applied = body(description="d")
    applied["metadata"]["labels"] = {"app": "x"}
    obj = apply(None, applied, "kubectl")
    assert entries(obj) == [("kubectl", "Apply", "")]
    assert fields_of(obj, "kubectl", "Apply") == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {"f:description": {}, "f:git": {"f:repo": {}}, "f:type": {}},
    }


def test_apply_conflicts_with_the_owner_of_a_field_it_changes() -> None:
    live = create(body(description="d"), "kubectl-client-side-apply")
    err = conflict(lambda: apply(live, body(description="e"), "ssa"))
    assert err.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using '
        "config.porch.kpt.dev/v1alpha1: .spec.description"
    )
    assert err.details is not None
    assert err.details.model_dump(exclude_none=True) == {
        "name": "r",
        "group": "config.porch.kpt.dev",
        "kind": "repositories",
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl-client-side-apply" using '
                "config.porch.kpt.dev/v1alpha1",
                "field": ".spec.description",
            }
        ],
    }


def test_apply_conflicts_are_listed_by_manager() -> None:
    data = body(description="d")
    data["spec"]["git"]["branch"] = "main"
    live = create(data, "kubectl-create")
    labelled = body()
    labelled["metadata"]["labels"] = {"a": "1"}
    labelled["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "u1"}
    ]
    live = apply(live, labelled, "other")
    mine = body(description="e")
    mine["spec"]["git"]["branch"] = "dev"
    mine["metadata"]["labels"] = {"a": "2"}
    mine["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "renamed", "uid": "u1"}
    ]
    err = conflict(lambda: apply(live, mine, "me"))
    assert err.message == (
        "Apply failed with 4 conflicts: "
        'conflicts with "kubectl-create" using config.porch.kpt.dev/v1alpha1:\n'
        "- .spec.description\n"
        "- .spec.git.branch\n"
        'conflicts with "other":\n'
        "- .metadata.labels.a\n"
        '- .metadata.ownerReferences[uid="u1"].name'
    )
    assert err.details is not None
    assert [(c.message, c.field) for c in err.details.causes or []] == [
        ('conflict with "kubectl-create" using config.porch.kpt.dev/v1alpha1', ".spec.description"),
        ('conflict with "kubectl-create" using config.porch.kpt.dev/v1alpha1', ".spec.git.branch"),
        ('conflict with "other"', ".metadata.labels.a"),
        ('conflict with "other"', '.metadata.ownerReferences[uid="u1"].name'),
    ]


def test_force_takes_ownership_and_equal_values_are_shared() -> None:
    live = create(body(description="d", deployment=True), "kubectl-create")
    # The same value is no conflict: both own it.
    shared = apply(live, body(deployment=True), "ssa")
    assert fields_of(shared, "ssa", "Apply")["f:spec"]["f:deployment"] == {}
    assert "f:deployment" in fields_of(shared, "kubectl-create")["f:spec"]
    forced = apply(shared, body(description="e", deployment=True), "ssa", force=True)
    assert forced.spec is not None and forced.spec.description == "e"
    assert "f:description" in fields_of(forced, "ssa", "Apply")["f:spec"]
    assert "f:description" not in fields_of(forced, "kubectl-create")["f:spec"]


def test_a_field_dropped_from_the_applied_configuration_is_removed_unless_co_owned() -> None:
    first = body(description="d", deployment=True)
    first["metadata"]["labels"] = {"a": "1", "b": "2"}
    obj = apply(None, first, "ssa")
    # Someone else applies the same deployment value: it is theirs too.
    obj = apply(obj, body(deployment=True), "other")
    second = body()
    second["metadata"]["labels"] = {"a": "1"}
    obj = apply(obj, second, "ssa")
    assert obj.spec is not None
    assert obj.spec.description is None  # only ssa owned it: gone
    assert obj.spec.deployment is True  # co-owned: kept, and released by ssa
    assert objectmeta.meta_of(obj).labels == {"a": "1"}
    assert "f:deployment" not in fields_of(obj, "ssa", "Apply")["f:spec"]
    assert fields_of(obj, "other", "Apply")["f:spec"]["f:deployment"] == {}


def test_a_dropped_field_owned_by_an_updater_is_only_released() -> None:
    obj = apply(None, body(description="d"), "ssa")
    obj = write(obj, body(description="d", deployment=True), "kubectl-edit")
    obj = apply(obj, body(deployment=True), "ssa", force=True)
    obj = apply(obj, body(), "ssa")
    assert obj.spec is not None and obj.spec.deployment is True
    assert obj.spec.description is None


def test_list_types_apply_atomic_replace_set_and_map_merge_and_prune() -> None:
    first = body()
    first["metadata"]["finalizers"] = ["a", "b"]
    first["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "one", "uid": "1"},
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "two", "uid": "2"},
    ]
    obj = apply(None, first, "ssa")
    other = body()
    other["metadata"]["finalizers"] = ["c"]
    other["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "three", "uid": "3"}
    ]
    obj = apply(obj, other, "other")
    meta = objectmeta.meta_of(obj)
    assert meta.finalizers == ["a", "b", "c"]
    assert [o.uid for o in meta.owner_references or []] == ["1", "2", "3"]
    # ssa drops "b" and owner 2: they go; the other manager's items stay.
    second = body()
    second["metadata"]["finalizers"] = ["a"]
    second["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "one", "uid": "1"}
    ]
    obj = apply(obj, second, "ssa")
    meta = objectmeta.meta_of(obj)
    assert meta.finalizers == ["a", "c"]
    assert [o.uid for o in meta.owner_references or []] == ["1", "3"]
    assert fields_of(obj, "ssa", "Apply")["f:metadata"]["f:finalizers"] == {'v:"a"': {}}

    revision = porchv1alpha1.PackageRevision.model_validate(
        {
            "apiVersion": PR_API,
            "kind": "PackageRevision",
            "metadata": {"name": "repo.p.ws", "uid": "u"},
            "spec": {"readinessGates": [{"conditionType": "a"}, {"conditionType": "b"}]},
        }
    )
    revisions().update(None, revision, "porchctl")
    applied = {"apiVersion": PR_API, "kind": "PackageRevision", "metadata": {"name": "repo.p.ws"}}
    applied["spec"] = {"readinessGates": [{"conditionType": "c"}]}
    with pytest.raises(errors.StatusError) as caught:
        revisions().apply(revision, applied, "ssa", force=False)
    assert caught.value.message.endswith(": .spec.readinessGates")
    data, _ = revisions().apply(revision, applied, "ssa", force=True)
    assert data["spec"]["readinessGates"] == [{"conditionType": "c"}]  # atomic: replaced


def test_before_first_apply_owns_what_an_untracked_object_has() -> None:
    live = Repo.model_validate(body(description="d"))
    objectmeta.meta_of(live).uid = "u"
    err = conflict(lambda: apply(live, body(description="e"), "ssa"))
    assert 'conflict with "before-first-apply" using config.porch.kpt.dev/v1alpha1' in (err.message)
    obj = apply(live, body(description="e"), "ssa", force=True)
    assert entries(obj)[0] == ("ssa", "Apply", "")
    assert "f:description" not in fields_of(obj, "before-first-apply")["f:spec"]


def test_kubectl_takes_over_what_client_side_apply_set_and_nobody_changed() -> None:
    csa = body(description="one")
    csa["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(body(description="one"))}
    live = create(csa, "kubectl-client-side-apply")
    # Another manager conflicts with client-side apply ...
    conflict(lambda: apply(live, body(description="two"), "mine"))
    # ... kubectl upgrades: no conflict, and the annotation follows what it applied.
    obj = apply(live, body(description="two"), "kubectl")
    assert obj.spec is not None and obj.spec.description == "two"
    annotation = (objectmeta.meta_of(obj).annotations or {})[LAST_APPLIED]
    assert annotation.endswith("\n")
    assert json.loads(annotation) == body(description="two")
    # A field changed since client-side apply still conflicts for kubectl.
    changed = codec.to_dict(obj)
    del changed["metadata"]["managedFields"]
    changed["spec"]["description"] = "three"
    edited = write(obj, changed, "kubectl-edit")
    err = conflict(lambda: apply(edited, body(description="four"), "kubectl"))
    assert err.message.endswith(
        'conflict with "kubectl-edit" using ' + REPO_API + ": .spec.description"
    )


def test_an_apply_that_changes_nothing_keeps_the_entries() -> None:
    obj = apply(None, body(description="d"), "ssa")
    age(obj)
    before = objectmeta.meta_of(obj).managed_fields
    again = apply(obj, body(description="d"), "ssa")
    assert objectmeta.meta_of(again).managed_fields == before


def test_apply_refuses_managed_fields_and_bad_list_items() -> None:
    with_fields = body()
    with_fields["metadata"]["managedFields"] = []
    with pytest.raises(errors.StatusError) as caught:
        repos().apply(None, with_fields, "m", force=False)
    assert (caught.value.code, caught.value.message) == (400, "metadata.managedFields must be nil")
    duplicated = body()
    duplicated["metadata"]["finalizers"] = ["a", "a"]
    keyless = body()
    keyless["metadata"]["ownerReferences"] = [{"name": "x"}]
    for bad, text in (
        (duplicated, '.metadata.finalizers: duplicate entries for key [="a"]'),
        (
            keyless,
            ".metadata.ownerReferences: element 0: associative list with keys has an element "
            'that omits key field "uid" (and doesn\'t have default value)',
        ),
    ):
        with pytest.raises(errors.StatusError) as caught:
            repos().apply(None, bad, "m", force=False)
        assert caught.value.code == 422
        assert caught.value.message.endswith(text)


# --- through the real server -----------------------------------------------------------------


APPLY = {"Content-Type": "application/apply-patch+yaml"}


async def test_writes_without_field_manager_are_named_by_user_agent(api: API) -> None:
    created = await api.client.post(
        REPOS, json=repository("r1", description="d"), headers={"User-Agent": "porchctl/v1.0"}
    )
    assert [m["manager"] for m in created.json()["metadata"]["managedFields"]] == ["porchctl"]
    patched = await api.client.patch(
        f"{REPOS}/r1",
        json={"spec": {"description": "e"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    managers = [m["manager"] for m in patched.json()["metadata"]["managedFields"]]
    assert managers == ["porchctl", "python-httpx"]


async def test_a_put_that_changes_nothing_is_a_no_op(api: API) -> None:
    created = (await api.client.post(f"{REPOS}?fieldManager=a", json=repository("r1"))).json()
    replaced = await api.client.put(f"{REPOS}/r1?fieldManager=b", json=created)
    assert replaced.status_code == 200
    assert replaced.json()["metadata"] == created["metadata"]


async def test_server_side_apply_conflict_and_force_over_http(api: API) -> None:
    await api.client.post(
        f"{REPOS}?fieldManager=kubectl-client-side-apply",
        json=repository("r1", description="d"),
    )
    applied = json.dumps(repository("r1", description="e"))
    refused = await api.client.patch(f"{REPOS}/r1?fieldManager=me", content=applied, headers=APPLY)
    status = expect_status(refused, 409, "Conflict")
    assert status["message"] == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using '
        "config.porch.kpt.dev/v1alpha1: .spec.description"
    )
    assert status["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl-client-side-apply" using '
            "config.porch.kpt.dev/v1alpha1",
            "field": ".spec.description",
        }
    ]
    forced = await api.client.patch(
        f"{REPOS}/r1?fieldManager=me&force=true", content=applied, headers=APPLY
    )
    assert forced.status_code == 200
    assert forced.json()["spec"]["description"] == "e"
    non_apply = await api.client.patch(
        f"{REPOS}/r1?force=true",
        json={"spec": {"description": "f"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    body = expect_status(non_apply, 422, "Invalid")
    assert "force: Forbidden: may not be specified for non-apply patch" in body["message"]


class _Discarding(store.Store[configv1alpha1.Repository]):
    """A store that says it does not keep managedFields (as PackageRevisionResources)."""

    discards_managed_fields: Literal[True] = True


async def test_a_storage_that_discards_managed_fields_gets_a_plain_merge(
    db: apiservertesting.Database,
) -> None:
    discarding = _Discarding(
        db,
        resource=configv1alpha1.REPOSITORIES,
        model=configv1alpha1.Repository,
        list_model=configv1alpha1.RepositoryList,
        strategy=apiservertesting.Strategy(),
    )
    assert isinstance(discarding, rest.ManagedFieldsDiscarder)
    gv = groups.APIGroupVersion(
        configv1alpha1.GROUP,
        configv1alpha1.VERSION,
        {"repositories": discarding},
        OPENAPI / "porchconfig" / "v1alpha1.yaml",
    )
    authn = authentication.Authenticator(tokens={"tok": user.UserInfo("alice")})
    app = server.new_app(config.Config(groups=[gv], authenticator=authn))
    async with (
        apiservertesting.serve(app) as url,
        httpx.AsyncClient(base_url=url, headers=TOKEN, timeout=10) as client,
    ):
        created = await client.post(
            f"{REPOS}?fieldManager=a", json=repository("r1", description="d")
        )
        assert "managedFields" not in created.json()["metadata"]
        applied = json.dumps(repository("r1", description="e"))
        merged = await client.patch(f"{REPOS}/r1?fieldManager=b", content=applied, headers=APPLY)
        assert merged.status_code == 200
        assert merged.json()["spec"]["description"] == "e"  # no conflict
        assert "managedFields" not in merged.json()["metadata"]
        dropped = json.dumps(repository("r1"))
        kept = await client.patch(f"{REPOS}/r1?fieldManager=b", content=dropped, headers=APPLY)
        assert kept.json()["spec"]["description"] == "e"  # nothing is pruned


def test_package_revision_resources_discard_managed_fields_and_revisions_keep_them() -> None:
    porch = porchtesting.Porch(porchtesting.new_engine())
    assert isinstance(porch.resources, rest.ManagedFieldsDiscarder)
    assert not isinstance(porch.revisions, rest.ManagedFieldsDiscarder)
    assert not isinstance(porch.approval, rest.ManagedFieldsDiscarder)


def test_managed_fields_entries_are_sorted_as_kubernetes_sorts_them() -> None:
    obj = create(body(description="d"), "zeta")
    obj = apply(obj, body(deployment=True), "beta")
    age(obj)
    obj = write(obj, body(description="e", deployment=True), "alpha")
    assert entries(obj) == [("beta", "Apply", ""), ("zeta", "Update", ""), ("alpha", "Update", "")]
    assert isinstance(objectmeta.meta_of(obj).managed_fields, list)
    assert all(
        isinstance(e, metav1.ManagedFieldsEntry)
        for e in objectmeta.meta_of(obj).managed_fields or []
    )
