"""The create and update drivers: the order of the hooks and the metadata every resource shares."""

from __future__ import annotations

import datetime
import re

import pytest
from pydantic import BaseModel

from api.core import v1 as corev1
from api.meta import v1 as metav1
from pkg.apimachinery import errors, field, user
from pkg.registry.rest import create, rest, update

KIND = errors.GroupKind("", "Secret")


class RecordingStrategy:
    """Records what each hook saw, so the tests can check the order of the steps."""

    def __init__(self, errs: field.ErrorList | None = None) -> None:
        self.seen: list[tuple[str, str | None]] = []
        self._errs = errs or field.ErrorList()

    @staticmethod
    def _name(obj: BaseModel) -> str | None:
        return create.name_of(obj) or None

    def allow_create_on_update(self) -> bool:
        return False

    def prepare_for_create(self, ctx: rest.RequestContext, obj: BaseModel) -> None:
        self.seen.append(("prepare", self._name(obj)))

    def prepare_for_update(self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel) -> None:
        self.seen.append(("prepare", self._name(new)))

    def validate(self, ctx: rest.RequestContext, obj: BaseModel) -> field.ErrorList:
        self.seen.append(("validate", self._name(obj)))
        return self._errs

    def validate_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> field.ErrorList:
        self.seen.append(("validate", self._name(new)))
        return self._errs

    def warnings_on_create(self, ctx: rest.RequestContext, obj: BaseModel) -> list[str]:
        return ["careful"]

    def warnings_on_update(
        self, ctx: rest.RequestContext, new: BaseModel, old: BaseModel
    ) -> list[str]:
        return ["careful"]

    def canonicalize(self, obj: BaseModel) -> None:
        self.seen.append(("canonicalize", self._name(obj)))


def _ctx(namespace: str = "ns") -> rest.RequestContext:
    return rest.RequestContext(namespace=namespace, user=user.UserInfo(name="alice"))


def test_generate_name_appends_five_safe_characters_and_keeps_a_dns_label() -> None:
    name = create.generate_name("x" * 70)
    assert len(name) == 63
    assert re.fullmatch(r"x{58}[bcdfghjklmnpqrstvwxz2456789]{5}", name)


def test_before_create_fills_server_metadata_and_runs_hooks_in_order() -> None:
    strategy = RecordingStrategy()
    ctx = _ctx()
    obj = corev1.Secret(
        metadata=metav1.ObjectMeta(
            generate_name="app-",
            uid="client-chosen",
            deletion_timestamp=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
        )
    )
    create.before_create(strategy, ctx, obj, KIND)
    meta = obj.metadata
    assert meta is not None and meta.name is not None
    assert meta.namespace == "ns"
    assert meta.uid not in (None, "client-chosen")
    assert meta.creation_timestamp is not None and meta.creation_timestamp.microsecond == 0
    assert meta.deletion_timestamp is None
    # prepare runs before the name exists; validate already sees the generated name.
    assert strategy.seen == [
        ("prepare", None),
        ("validate", meta.name),
        ("canonicalize", meta.name),
    ]
    assert ctx.warnings == ["careful"]


def test_before_create_rejects_another_namespace() -> None:
    obj = corev1.Secret(metadata=metav1.ObjectMeta(name="s", namespace="other"))
    with pytest.raises(errors.StatusError) as raised:
        create.before_create(RecordingStrategy(), _ctx(), obj, KIND)
    assert raised.value.code == 400
    assert raised.value.message == create.NAMESPACE_MISMATCH


def test_before_create_raises_one_invalid_with_every_error() -> None:
    errs = field.ErrorList(
        [
            field.required(field.new_path("data")),
            field.invalid(field.new_path("type"), "x", "bad"),
        ]
    )
    strategy = RecordingStrategy(errs)
    obj = corev1.Secret(metadata=metav1.ObjectMeta(name="s"))
    with pytest.raises(errors.StatusError) as raised:
        create.before_create(strategy, _ctx(), obj, KIND)
    assert raised.value.code == 422
    assert raised.value.message == (
        'Secret "s" is invalid: [data: Required value, type: Invalid value: "x": bad]'
    )
    assert ("canonicalize", "s") not in strategy.seen


def test_before_update_keeps_what_only_the_server_may_set() -> None:
    created = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    deleting = datetime.datetime(2024, 2, 1, tzinfo=datetime.UTC)
    managed = [metav1.ManagedFieldsEntry(manager="kubectl", operation="Apply")]
    old = corev1.Secret(
        metadata=metav1.ObjectMeta(
            name="s",
            namespace="ns",
            uid="u1",
            generation=3,
            creation_timestamp=created,
            deletion_timestamp=deleting,
            managed_fields=managed,
        )
    )
    new = corev1.Secret(metadata=metav1.ObjectMeta(name="s", generation=99))
    update.before_update(RecordingStrategy(), _ctx(), new, old, KIND)
    assert new.metadata is not None
    assert new.metadata.namespace == "ns"
    assert new.metadata.uid == "u1"
    assert new.metadata.generation == 3
    assert new.metadata.creation_timestamp == created
    assert new.metadata.deletion_timestamp == deleting
    assert new.metadata.managed_fields == managed


def test_before_update_refuses_new_finalizers_on_an_object_being_deleted() -> None:
    old = corev1.Secret(
        metadata=metav1.ObjectMeta(
            name="s",
            namespace="ns",
            uid="u1",
            finalizers=["a/keep"],
            deletion_timestamp=datetime.datetime(2024, 2, 1, tzinfo=datetime.UTC),
        )
    )
    new = corev1.Secret(metadata=metav1.ObjectMeta(name="s", finalizers=["a/keep", "b/more"]))
    with pytest.raises(errors.StatusError) as raised:
        update.before_update(RecordingStrategy(), _ctx(), new, old, KIND)
    assert raised.value.code == 422
    assert (
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being "
        'deleted, found new finalizers []string{"b/more"}'
    ) in raised.value.message
