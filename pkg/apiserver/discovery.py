"""Discovery documents: what clients read to learn our groups, resources and verbs.

Where this sits: the discovery routes of :mod:`pkg.apiserver.server` (``/api``,
``/api/v1``, ``/apis``, ``/apis/<g>``, ``/apis/<g>/<v>``) render these documents, built
from the same :class:`~pkg.apiserver.groups.APIGroupVersion` objects the resource routes
were installed from. Pure functions; no I/O.

Shapes follow kubernetes-api-contract.md §3.2-3.5: the legacy ``APIGroupList`` (the Python
dynamic client compares ``versions[i]`` with ``preferredVersion`` by dict equality, so
both carry exactly ``groupVersion`` and ``version``), ``APIResourceList`` with
``"<plural>/<sub>"`` entries for subresources, and the aggregated
``APIGroupDiscoveryList`` (``apidiscovery.k8s.io`` v2 and v2beta1 differ only in
``apiVersion``), with ``responseKind`` on every resource and subresource and
``freshness: Current``. Group order is preference order, versions likewise.
"""

from __future__ import annotations

from collections.abc import Sequence

from api.meta import v1 as metav1
from pkg.apiserver import groups

__all__ = [
    "aggregated_discovery",
    "api_group",
    "api_group_list",
    "api_resource_list",
    "api_versions",
    "group_names",
]


def group_names(gvs: Sequence[groups.APIGroupVersion]) -> list[str]:
    """Named groups (not core), in preference order of their first version."""
    return list(dict.fromkeys(gv.group for gv in gvs if gv.group))


def _versions_of(gvs: Sequence[groups.APIGroupVersion], group: str) -> list[groups.APIGroupVersion]:
    return [gv for gv in gvs if gv.group == group]


def _for_discovery(gv: groups.APIGroupVersion) -> metav1.GroupVersionForDiscovery:
    return metav1.GroupVersionForDiscovery(group_version=gv.group_version, version=gv.version)


def api_group(gvs: Sequence[groups.APIGroupVersion], group: str) -> metav1.APIGroup | None:
    """The ``APIGroup`` of a named group, or None when we do not serve it."""
    versions = _versions_of(gvs, group)
    if not versions:
        return None
    return metav1.APIGroup(
        api_version="v1",
        kind="APIGroup",
        name=group,
        versions=[_for_discovery(gv) for gv in versions],
        preferred_version=_for_discovery(versions[0]),
    )


def api_group_list(gvs: Sequence[groups.APIGroupVersion]) -> metav1.APIGroupList:
    """The legacy ``/apis`` document."""
    items = [api_group(gvs, name) for name in group_names(gvs)]
    return metav1.APIGroupList(
        api_version="v1",
        kind="APIGroupList",
        groups=[g for g in items if g is not None],
    )


def api_versions(gvs: Sequence[groups.APIGroupVersion], server_address: str) -> metav1.APIVersions:
    """The legacy ``/api`` document: the core versions served (``v1`` or none)."""
    return metav1.APIVersions(
        api_version="v1",
        kind="APIVersions",
        versions=[gv.version for gv in _versions_of(gvs, "")],
        server_address_by_client_cid_rs=[
            metav1.ServerAddressByClientCIDR(client_cidr="0.0.0.0/0", server_address=server_address)
        ],
    )


def api_resource_list(gv: groups.APIGroupVersion) -> metav1.APIResourceList:
    """``/apis/<g>/<v>`` (``/api/v1``): every resource and subresource with its verbs."""
    resources: list[metav1.APIResource] = []
    for resource in gv.resources:
        info = resource.info
        if resource.subresource:
            resources.append(
                metav1.APIResource(
                    name=resource.path,
                    singular_name="",
                    namespaced=info.namespaced,
                    kind=info.kind,
                    verbs=resource.verbs,
                )
            )
        else:
            resources.append(
                metav1.APIResource(
                    name=info.plural,
                    singular_name=info.singular,
                    namespaced=info.namespaced,
                    kind=info.kind,
                    verbs=resource.verbs,
                    short_names=list(info.short_names),
                    categories=list(info.categories),
                )
            )
    return metav1.APIResourceList(
        api_version="v1",
        kind="APIResourceList",
        group_version=gv.group_version,
        resources=resources,
    )


def _response_kind(gv: groups.APIGroupVersion, kind: str) -> metav1.GroupVersionKind:
    return metav1.GroupVersionKind(group=gv.group, version=gv.version, kind=kind)


def _version_discovery(gv: groups.APIGroupVersion) -> metav1.APIVersionDiscovery:
    resources: list[metav1.APIResourceDiscovery] = []
    for resource in gv.top_level():
        info = resource.info
        subresources = [
            metav1.APISubresourceDiscovery(
                subresource=sub.subresource,
                response_kind=_response_kind(gv, sub.info.kind),
                verbs=sub.verbs,
            )
            for sub in gv.subresources_of(resource.plural)
        ]
        resources.append(
            metav1.APIResourceDiscovery(
                resource=info.plural,
                response_kind=_response_kind(gv, info.kind),
                scope="Namespaced" if info.namespaced else "Cluster",
                singular_resource=info.singular,
                verbs=resource.verbs,
                short_names=list(info.short_names),
                categories=list(info.categories),
                subresources=subresources or None,
            )
        )
    return metav1.APIVersionDiscovery(version=gv.version, resources=resources, freshness="Current")


def aggregated_discovery(
    gvs: Sequence[groups.APIGroupVersion], version: str, *, core: bool
) -> metav1.APIGroupDiscoveryList:
    """The aggregated document (``apidiscovery.k8s.io/<version>``) for ``/apis``
    (``core=False``: the named groups) or ``/api`` (``core=True``: the core group)."""
    names = [""] if core else group_names(gvs)
    items: list[metav1.APIGroupDiscovery] = []
    for name in names:
        versions = _versions_of(gvs, name)
        if not versions:
            continue
        items.append(
            metav1.APIGroupDiscovery(
                # The core group has no name; Kubernetes sends an empty metadata then.
                metadata=metav1.ObjectMeta(name=name or None),
                versions=[_version_discovery(gv) for gv in versions],
            )
        )
    return metav1.APIGroupDiscoveryList(
        api_version=f"apidiscovery.k8s.io/{version}",
        kind="APIGroupDiscoveryList",
        metadata=metav1.ListMeta(),
        items=items,
    )
