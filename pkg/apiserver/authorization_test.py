from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s_client

from pkg.apimachinery import user
from pkg.apiserver import apiservertesting, authorization

ALICE = user.UserInfo("alice", uid="42", groups=("dev", user.ALL_AUTHENTICATED))
ADMIN = user.UserInfo("admin", groups=(user.SYSTEM_MASTERS, user.ALL_AUTHENTICATED))


def _attributes(who: user.UserInfo = ALICE, **overrides: Any) -> authorization.Attributes:
    values: dict[str, Any] = {
        "user": who,
        "verb": "update",
        "resource_request": True,
        "namespace": "default",
        "api_group": "porch.kpt.dev",
        "api_version": "v1alpha1",
        "resource": "packagerevisions",
        "subresource": "approval",
        "name": "x",
    }
    values.update(overrides)
    return authorization.Attributes(**values)


def test_forbidden_message_is_kubernetes_own() -> None:
    err = authorization.forbidden(_attributes(), "no RBAC rule")
    assert err.code == 403
    assert err.message == (
        'packagerevisions.porch.kpt.dev "x" is forbidden: User "alice" cannot update resource '
        '"packagerevisions/approval" in API group "porch.kpt.dev" in the namespace "default": '
        "no RBAC rule"
    )


def test_forbidden_message_for_paths_and_cluster_scope() -> None:
    non_resource = _attributes(
        resource_request=False, path="/apis", verb="get", api_group="", resource="", name=""
    )
    path = authorization.forbidden(non_resource, "")
    assert path.message == 'forbidden: User "alice" cannot get path "/apis"'
    cluster = authorization.forbidden(_attributes(namespace="", name="", subresource=""), "")
    assert cluster.message.endswith('in API group "porch.kpt.dev" at the cluster scope')


class _KubeAPI(apiservertesting.ReviewHandler):
    """The SubjectAccessReview endpoint of a kube-apiserver (which cannot run here)."""

    reviews: list[dict[str, Any]] = []
    allowed = True

    def do_POST(self) -> None:
        body = self.read_json()
        type(self).reviews.append(body)
        status = {"allowed": self.allowed, "reason": "" if self.allowed else "RBAC says no"}
        self.reply_json(201, {**body, "status": status})


@pytest.fixture
def kube_api() -> Iterator[tuple[type[_KubeAPI], k8s_client.ApiClient]]:
    handler = type("Handler", (_KubeAPI,), {"reviews": [], "allowed": True})
    with apiservertesting.kube_review_endpoint(handler) as api_client:
        yield handler, api_client


async def test_webhook_asks_the_cluster_and_caches_the_answer(
    kube_api: tuple[type[_KubeAPI], k8s_client.ApiClient],
) -> None:
    handler, api_client = kube_api
    authorizer = authorization.WebhookAuthorizer(authorization.kubernetes_review(api_client))
    assert (await authorizer.authorize(_attributes())).allowed
    assert (await authorizer.authorize(_attributes())).allowed
    (review,) = handler.reviews  # the second decision came from the cache
    assert review["kind"] == "SubjectAccessReview"
    assert review["spec"]["user"] == "alice"
    assert review["spec"]["uid"] == "42"
    assert review["spec"]["resourceAttributes"] == {
        "namespace": "default",
        "verb": "update",
        "group": "porch.kpt.dev",
        "version": "v1alpha1",
        "resource": "packagerevisions",
        "subresource": "approval",
        "name": "x",
    }


async def test_webhook_denial_carries_the_reason(
    kube_api: tuple[type[_KubeAPI], k8s_client.ApiClient],
) -> None:
    handler, api_client = kube_api
    handler.allowed = False
    authorizer = authorization.WebhookAuthorizer(authorization.kubernetes_review(api_client))
    decision = await authorizer.authorize(_attributes(resource_request=False, path="/apis"))
    assert decision == authorization.Decision(False, "RBAC says no")
    assert handler.reviews[0]["spec"]["nonResourceAttributes"] == {
        "path": "/apis",
        "verb": "update",
    }


async def test_masters_and_health_paths_need_no_review(
    kube_api: tuple[type[_KubeAPI], k8s_client.ApiClient],
) -> None:
    handler, api_client = kube_api
    handler.allowed = False
    authorizer = authorization.WebhookAuthorizer(authorization.kubernetes_review(api_client))
    assert (await authorizer.authorize(_attributes(ADMIN))).allowed
    health = _attributes(resource_request=False, path="/readyz", verb="get")
    assert (await authorizer.authorize(health)).allowed
    assert handler.reviews == []


async def test_an_unreachable_cluster_denies() -> None:
    configuration = k8s_client.Configuration()
    configuration.host = "http://127.0.0.1:9"  # discard port: nothing listens
    api_client = k8s_client.ApiClient(configuration)
    try:
        authorizer = authorization.WebhookAuthorizer(
            authorization.kubernetes_review(api_client, timeout_seconds=2)
        )
        decision = await authorizer.authorize(_attributes())
    finally:
        api_client.close()  # type: ignore[no-untyped-call]
    assert not decision.allowed
    assert decision.reason.startswith("authorization webhook failed")
