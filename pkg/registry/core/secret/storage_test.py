"""Secrets storage: the REST conformance check plus the Secret rules users hit with kubectl."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from api.core import v1 as corev1
from api.meta import v1 as metav1
from pkg.apimachinery import errors, fields, user
from pkg.registry.core.secret import storage, strategy
from pkg.registry.generic import sqlite, store
from pkg.registry.rest import rest, resttest, update

HISTORY = 8
NS = "default"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def new_secret(namespace: str, name: str) -> BaseModel:
    return corev1.Secret(
        metadata=metav1.ObjectMeta(name=name, namespace=namespace),
        data={"token": _b64(f"value-of-{name}")},
    )


def change_data(obj: BaseModel) -> None:
    assert isinstance(obj, corev1.Secret)
    obj.data = {**(obj.data or {}), "extra": _b64("more")}


def break_data(obj: BaseModel) -> None:
    assert isinstance(obj, corev1.Secret)
    obj.data = {"bad key!": _b64("x")}


@pytest.fixture
async def secrets(tmp_path: Path) -> AsyncIterator[store.Store[corev1.Secret]]:
    db = await sqlite.Database.open(tmp_path / sqlite.DEFAULT_FILE_NAME)
    secret_store = storage.new_storage(db, store.Tuning(history_size=HISTORY))
    yield secret_store
    secret_store.close()
    await db.close()


def _ctx(namespace: str | None = NS) -> rest.RequestContext:
    return rest.RequestContext(namespace=namespace, user=user.UserInfo(name="alice"))


@pytest.mark.parametrize(
    "check",
    resttest.check_names(store.Store, update=True, invalid=True, history=True),
)
async def test_conformance(secrets: store.Store[corev1.Secret], check: str) -> None:
    tester = resttest.Tester(
        secrets,
        new_object=new_secret,
        update=change_data,
        invalid=break_data,
        history_window=HISTORY,
    )
    await tester.run(check)


async def _create(secrets: store.Store[corev1.Secret], secret: corev1.Secret) -> corev1.Secret:
    created = await secrets.create(_ctx(), secret, rest.CreateOptions())
    assert isinstance(created, corev1.Secret)
    return created


async def test_kubectl_create_secret_generic_stores_string_data_as_data(
    secrets: store.Store[corev1.Secret],
) -> None:
    # kubectl create secret generic sends data; the Python client often sends stringData.
    created = await _create(
        secrets,
        corev1.Secret(
            metadata=metav1.ObjectMeta(name="creds"),
            data={"username": _b64("old"), "other": _b64("kept")},
            string_data={"username": "alice", "password": "s3cret"},
        ),
    )
    assert created.type == strategy.TYPE_OPAQUE
    assert created.string_data is None
    assert created.data == {
        "username": _b64("alice"),
        "password": _b64("s3cret"),
        "other": _b64("kept"),
    }
    got = await secrets.get(_ctx(), "creds")
    assert isinstance(got, corev1.Secret)
    assert got.string_data is None
    assert strategy.decoded_data(got)["password"] == b"s3cret"


@pytest.mark.parametrize(
    ("secret", "want_fields"),
    [
        pytest.param(
            corev1.Secret(data={"token": "not base64!"}), ["data[token]"], id="value-not-base64"
        ),
        pytest.param(corev1.Secret(data={"a/b": _b64("x")}), ["data[a/b]"], id="key-with-slash"),
        pytest.param(corev1.Secret(data={"..x": _b64("x")}), ["data[..x]"], id="key-dotdot"),
        pytest.param(
            corev1.Secret(type=strategy.TYPE_BASIC_AUTH, data={"token": _b64("x")}),
            ["data[username]", "data[password]"],
            id="basic-auth-without-credentials",
        ),
        pytest.param(
            corev1.Secret(type="kubernetes.io/ssh-auth", data={"ssh-privatekey": ""}),
            ["data[ssh-privatekey]"],
            id="ssh-auth-empty-key",
        ),
        pytest.param(
            corev1.Secret(type="kubernetes.io/tls", data={"tls.crt": _b64("c")}),
            ["data[tls.key]"],
            id="tls-without-key",
        ),
        pytest.param(
            corev1.Secret(
                type="kubernetes.io/dockerconfigjson", data={".dockerconfigjson": _b64("{")}
            ),
            ["data[.dockerconfigjson]"],
            id="docker-config-not-json",
        ),
        pytest.param(
            corev1.Secret(data={"big": base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()}),
            ["data"],
            id="larger-than-1MiB",
        ),
    ],
)
async def test_invalid_secrets_are_422_naming_the_field(
    secrets: store.Store[corev1.Secret], secret: corev1.Secret, want_fields: list[str]
) -> None:
    secret.metadata = metav1.ObjectMeta(name="bad")
    with pytest.raises(errors.StatusError) as raised:
        await _create(secrets, secret)
    err = raised.value
    assert err.code == 422
    assert err.details is not None
    assert [c.field for c in err.details.causes or []] == want_fields
    assert 'Secret "bad" is invalid' in err.message
    assert "not base64!" not in err.message  # values are never echoed


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"username": _b64("alice")}, id="username-only"),
        pytest.param({"password": ""}, id="empty-password"),
    ],
)
async def test_basic_auth_needs_username_or_password(
    secrets: store.Store[corev1.Secret], data: dict[str, str]
) -> None:
    created = await _create(
        secrets,
        corev1.Secret(
            metadata=metav1.ObjectMeta(name="git"), type=strategy.TYPE_BASIC_AUTH, data=data
        ),
    )
    assert created.type == strategy.TYPE_BASIC_AUTH


async def test_type_is_immutable(secrets: store.Store[corev1.Secret]) -> None:
    created = await _create(
        secrets,
        corev1.Secret(metadata=metav1.ObjectMeta(name="typed"), data={"username": _b64("a")}),
    )
    changed = created.model_copy(deep=True)
    changed.type = strategy.TYPE_BASIC_AUTH
    with pytest.raises(errors.StatusError) as raised:
        await secrets.update(
            _ctx(), "typed", update.DefaultUpdatedObjectInfo(changed), rest.UpdateOptions()
        )
    assert raised.value.code == 422
    assert 'type: Invalid value: "kubernetes.io/basic-auth": field is immutable' in (
        raised.value.message
    )


async def test_immutable_secret_keeps_its_data_but_metadata_may_change(
    secrets: store.Store[corev1.Secret],
) -> None:
    created = await _create(
        secrets,
        corev1.Secret(
            metadata=metav1.ObjectMeta(name="frozen"), data={"k": _b64("v")}, immutable=True
        ),
    )
    changed_data = created.model_copy(deep=True)
    changed_data.data = {"k": _b64("other")}
    thawed = created.model_copy(deep=True)
    thawed.immutable = False
    for attempt, field_name in ((changed_data, "data"), (thawed, "immutable")):
        with pytest.raises(errors.StatusError) as raised:
            await secrets.update(
                _ctx(), "frozen", update.DefaultUpdatedObjectInfo(attempt), rest.UpdateOptions()
            )
        assert raised.value.code == 422
        assert f"{field_name}: Forbidden: field is immutable when `immutable` is set" in (
            raised.value.message
        )
    relabelled = created.model_copy(deep=True)
    assert relabelled.metadata is not None
    relabelled.metadata.labels = {"team": "a"}
    stored, _ = await secrets.update(
        _ctx(), "frozen", update.DefaultUpdatedObjectInfo(relabelled), rest.UpdateOptions()
    )
    assert isinstance(stored, corev1.Secret)
    assert stored.metadata is not None and stored.metadata.labels == {"team": "a"}


async def test_field_selector_on_type(secrets: store.Store[corev1.Secret]) -> None:
    await _create(secrets, corev1.Secret(metadata=metav1.ObjectMeta(name="plain")))
    await _create(
        secrets,
        corev1.Secret(
            metadata=metav1.ObjectMeta(name="git"),
            type=strategy.TYPE_BASIC_AUTH,
            data={"password": _b64("p")},
        ),
    )
    result = await secrets.client().list(
        NS, field_selector=fields.parse(f"type={strategy.TYPE_BASIC_AUTH}")
    )
    assert [item.metadata.name for item in result.items if item.metadata] == ["git"]


async def test_table_has_kubectl_columns(secrets: store.Store[corev1.Secret]) -> None:
    created = await _create(
        secrets,
        corev1.Secret(
            metadata=metav1.ObjectMeta(name="creds"),
            type=strategy.TYPE_BASIC_AUTH,
            data={"username": _b64("u"), "password": _b64("p")},
        ),
    )
    table = secrets.convert_to_table(_ctx(), [created], "None")
    assert [c.name for c in table.column_definitions] == ["Name", "Type", "Data", "Age"]
    assert table.rows[0].cells[:3] == ["creds", strategy.TYPE_BASIC_AUTH, 2]
    assert table.rows[0].cells[3] in ("0s", "1s", "2s")
    assert table.rows[0].object is None
