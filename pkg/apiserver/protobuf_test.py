from __future__ import annotations

import base64

import pytest

from api.core import v1 as corev1
from pkg.apimachinery import codec, errors
from pkg.apiserver import protobuf

# Request bodies kubectl 1.32 sent (captured on the wire):
#   kubectl create secret generic s1 --from-literal=a=b
GENERIC = (
    b'k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12\x1e\n\x12\n\x02s1\x12\x00\x1a\x00"\x00*\x002'
    b'\x008\x00B\x00\x12\x06\n\x01a\x12\x01b\x1a\x00\x1a\x00"\x00'
)
#   kubectl create secret generic git-auth --type=kubernetes.io/basic-auth \
#     --from-literal=username=porch --from-literal=password='s3cr3t!'
BASIC_AUTH = (
    b'k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12\\\n\x18\n\x08git-auth\x12\x00\x1a\x00"\x00*'
    b"\x002\x008\x00B\x00\x12\x13\n\x08password\x12\x07s3cr3t!\x12\x11\n\x08username\x12"
    b'\x05porch\x1a\x18kubernetes.io/basic-auth\x1a\x00"\x00'
)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_decodes_kubectls_generic_secret() -> None:
    assert protobuf.decode(GENERIC) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s1"},
        "data": {"a": _b64("b")},
    }


def test_decodes_kubectls_basic_auth_secret_into_the_model() -> None:
    secret = codec.decode(corev1.Secret, protobuf.decode(BASIC_AUTH))
    assert secret.metadata is not None
    assert secret.metadata.name == "git-auth"
    assert secret.type == "kubernetes.io/basic-auth"
    assert secret.data == {"password": _b64("s3cr3t!"), "username": _b64("porch")}


def test_refuses_kinds_it_does_not_know() -> None:
    configmap = GENERIC.replace(b"\x06Secret", b"\x06Config")
    with pytest.raises(errors.StatusError) as caught:
        protobuf.decode(configmap)
    assert caught.value.code == 415


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"kind": "Secret"}', id="no-envelope"),
        pytest.param(GENERIC[:20], id="truncated"),
    ],
)
def test_malformed_bodies_are_bad_requests(body: bytes) -> None:
    with pytest.raises(errors.StatusError) as caught:
        protobuf.decode(body)
    assert caught.value.code == 400
