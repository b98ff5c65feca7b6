"""May this user do this: authorization after authentication (apiserver's authorizers).

Where this sits: :mod:`pkg.apiserver.server` builds :class:`Attributes` from the
authenticated user and the :class:`~pkg.apiserver.requestinfo.RequestInfo` of every
request and asks the configured :class:`Authorizer`; a denial is a 403 Status with
Kubernetes' message (:func:`forbidden`). ``pkg.cmd.server`` picks the authorizer from
``--authorization-mode``:

* :class:`AlwaysAllow` (standalone default): every authenticated user may do everything.
* :class:`WebhookAuthorizer` (aggregated mode): a ``SubjectAccessReview`` to the cluster
  through the ``kubernetes`` client, as the delegating authorizer of a generic apiserver
  does (kubernetes-api-contract.md §9.6): the health paths and the ``system:masters``
  group are always allowed without a review; decisions are cached (allow and deny 10 s)
  in a bounded LRU; a review that fails is a denial with the error as the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol, cast

from pkg.apimachinery import errors, strconv, user
from pkg.apiserver import clusterreview

__all__ = [
    "ALWAYS_ALLOW_PATHS",
    "AlwaysAllow",
    "Attributes",
    "Authorizer",
    "Decision",
    "WebhookAuthorizer",
    "forbidden",
    "kubernetes_review",
]

ALWAYS_ALLOW_PATHS: Final = frozenset({"/healthz", "/readyz", "/livez"})
_CACHE_SIZE: Final = 10_000


@dataclass(frozen=True, slots=True)
class Attributes:
    """What is being done, by whom (Kubernetes' ``authorizer.Attributes``)."""

    user: user.UserInfo
    verb: str
    resource_request: bool
    path: str = ""
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""


class Authorizer(Protocol):
    async def authorize(self, attributes: Attributes) -> Decision:
        """Allow or deny; ``reason`` is added to the 403 message when set."""
        ...


class AlwaysAllow:
    """Every request is allowed (the authentication chain still applies)."""

    async def authorize(self, attributes: Attributes) -> Decision:
        return Decision(True)


def forbidden(attributes: Attributes, reason: str) -> errors.StatusError:
    """The 403 Status Kubernetes sends for a denial (``responsewriters.Forbidden``)."""
    name = strconv.quote(attributes.user.name)
    if not attributes.resource_request:
        message = f"User {name} cannot {attributes.verb} path {strconv.quote(attributes.path)}"
    else:
        resource = attributes.resource
        if attributes.subresource:
            resource = f"{resource}/{attributes.subresource}"
        where = (
            f"in the namespace {strconv.quote(attributes.namespace)}"
            if attributes.namespace
            else "at the cluster scope"
        )
        message = (
            f"User {name} cannot {attributes.verb} resource {strconv.quote(resource)} in API "
            f"group {strconv.quote(attributes.api_group)} {where}"
        )
    if reason:
        message = f"{message}: {reason}"
    return errors.new_forbidden(
        errors.GroupResource(attributes.api_group, attributes.resource), attributes.name, message
    )


def _cache_key(attributes: Attributes) -> tuple[object, ...]:
    info = attributes.user
    extra = tuple(sorted((k, tuple(v)) for k, v in info.extra.items()))
    return (
        info.name,
        info.uid,
        info.groups,
        extra,
        attributes.verb,
        attributes.resource_request,
        attributes.path,
        attributes.namespace,
        attributes.api_group,
        attributes.api_version,
        attributes.resource,
        attributes.subresource,
        attributes.name,
    )


def _review_body(attributes: Attributes) -> dict[str, Any]:
    info = attributes.user
    spec: dict[str, Any] = {"user": info.name, "groups": list(info.groups)}
    if info.uid:
        spec["uid"] = info.uid
    if info.extra:
        spec["extra"] = {k: list(v) for k, v in info.extra.items()}
    if attributes.resource_request:
        spec["resourceAttributes"] = {
            "namespace": attributes.namespace,
            "verb": attributes.verb,
            "group": attributes.api_group,
            "version": attributes.api_version,
            "resource": attributes.resource,
            "subresource": attributes.subresource,
            "name": attributes.name,
        }
    else:
        spec["nonResourceAttributes"] = {"path": attributes.path, "verb": attributes.verb}
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": spec,
    }


ReviewFunc = Callable[[dict[str, Any]], dict[str, Any]]
"""Posts a SubjectAccessReview body and returns the response body (blocking)."""


def kubernetes_review(api_client: Any, timeout_seconds: float = 10.0) -> ReviewFunc:
    """A :data:`ReviewFunc` over a ``kubernetes.client.ApiClient`` (kubeconfig or in-cluster)."""
    from kubernetes import client as k8s_client

    api = k8s_client.AuthorizationV1Api(api_client)

    def review(body: dict[str, Any]) -> dict[str, Any]:
        # The client serializes plain dicts as they are; its annotations only name models.
        result = api.create_subject_access_review(cast(Any, body), _request_timeout=timeout_seconds)
        data = api_client.sanitize_for_serialization(result)
        return data if isinstance(data, dict) else {}

    return review


class WebhookAuthorizer:
    """Delegated authorization through SubjectAccessReview (module docstring)."""

    def __init__(
        self,
        review: ReviewFunc,
        *,
        allow_ttl: float = 10.0,
        deny_ttl: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._review = review
        self._allow_ttl = allow_ttl
        self._deny_ttl = deny_ttl
        self._cache: clusterreview.AnswerCache[tuple[object, ...], Decision] = (
            clusterreview.AnswerCache(_CACHE_SIZE, clock)
        )

    async def authorize(self, attributes: Attributes) -> Decision:
        if not attributes.resource_request and attributes.path in ALWAYS_ALLOW_PATHS:
            return Decision(True)
        if user.SYSTEM_MASTERS in attributes.user.groups:
            return Decision(True)
        key = _cache_key(attributes)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        try:
            # The kubernetes client blocks (urllib3): off the event loop, on review threads.
            response = await clusterreview.run(self._review, _review_body(attributes))
        except Exception as err:
            return Decision(False, f"authorization webhook failed: {type(err).__name__}")
        status = response.get("status") or {}
        allowed = bool(status.get("allowed")) and not bool(status.get("denied"))
        decision = Decision(allowed, str(status.get("reason") or ""))
        self._cache.put(key, decision, self._allow_ttl if allowed else self._deny_ttl)
        return decision
