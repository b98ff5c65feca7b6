"""What a request asks for, read from its method, path and query (apiserver's ``RequestInfo``).

Where this sits: the first thing :mod:`pkg.apiserver.server` computes for every request,
before authentication finishes and before routing. Authorization
(:mod:`pkg.apiserver.authorization`) checks exactly these attributes, the same ones
kube-apiserver computed before it proxied the request to us, and the request's span and
metrics carry them. A port of k8s.io/apiserver ``pkg/endpoints/request/requestinfo.go``.

    /apis/porch.kpt.dev/v1alpha1/namespaces/ns/packagerevisions/x/approval (PUT)
      -> verb=update group=porch.kpt.dev version=v1alpha1 namespace=ns
         resource=packagerevisions name=x subresource=approval

A GET on a collection is ``list``, or ``watch`` with ``?watch=<true>``; a ``fieldSelector``
``metadata.name=x`` on a list or watch names the object, as in Kubernetes, so RBAC rules
with ``resourceNames`` apply to ``kubectl get x -w``. A DELETE on a collection is
``deletecollection``. Everything outside ``/api`` and ``/apis`` is a non-resource request
whose verb is the lower-cased method.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pkg.apimachinery import errors, fields
from pkg.apiserver import params

__all__ = ["RequestInfo", "new_request_info"]

_API_PREFIXES = frozenset({"api", "apis"})
_GROUPLESS_API_PREFIXES = frozenset({"api"})
_SPECIAL_VERBS = frozenset({"proxy", "watch"})
_SPECIAL_VERBS_NO_SUBRESOURCES = frozenset({"proxy"})
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_METHOD_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """The attributes of one request, as Kubernetes' RequestInfo."""

    is_resource_request: bool
    path: str
    verb: str
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = ()


def _is_valid_path_segment_name(name: str) -> bool:
    # apimachinery's path.IsValidPathSegmentName: no "." / "..", no "/" or "%".
    return name not in (".", "..") and "/" not in name and "%" not in name


def new_request_info(method: str, path: str, query: Mapping[str, Sequence[str]]) -> RequestInfo:
    """The RequestInfo of a request; ``query`` maps each parameter to all its values."""
    parts = [p for p in path.strip("/").split("/") if p] if path.strip("/") else []
    non_resource = RequestInfo(is_resource_request=False, path=path, verb=method.lower())
    if len(parts) < 3 or parts[0] not in _API_PREFIXES:
        return non_resource

    api_prefix, rest = parts[0], parts[1:]
    api_group = ""
    if api_prefix not in _GROUPLESS_API_PREFIXES:
        # One part each for group, version and resource.
        if len(rest) < 3:
            return non_resource
        api_group, rest = rest[0], rest[1:]

    api_version, rest = rest[0], rest[1:]
    if rest[0] in _SPECIAL_VERBS:
        if len(rest) < 2:
            return non_resource
        verb, rest = rest[0], rest[1:]
    else:
        verb = _METHOD_VERBS.get(method.upper(), "")

    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        # /namespaces/{ns}/{resource}...: the resource starts after the namespace, unless
        # the next part is a subresource of the namespace object itself.
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]

    resource = name = subresource = ""
    if len(rest) >= 3 and verb not in _SPECIAL_VERBS_NO_SUBRESOURCES:
        subresource = rest[2]
    if len(rest) >= 2:
        name = rest[1]
    if rest:
        resource = rest[0]

    if not name and verb == "get":
        verb = "watch" if params.parse_bool(_first(query, "watch")) else "list"
        selector_text = _first(query, "fieldSelector")
        if selector_text:
            try:
                selected = fields.parse(selector_text).requires_exact_match("metadata.name")
            except errors.StatusError:
                # The list handler rejects the bad selector with a proper 400; here it only
                # means there is no name to authorize against.
                selected = None
            if selected and _is_valid_path_segment_name(selected):
                name = selected
    if not name and verb == "delete":
        verb = "deletecollection"

    return RequestInfo(
        is_resource_request=True,
        path=path,
        verb=verb,
        api_prefix=api_prefix,
        api_group=api_group,
        api_version=api_version,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
        parts=tuple(rest),
    )


def _first(query: Mapping[str, Sequence[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None
