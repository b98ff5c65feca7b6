"""Content negotiation: which representation to answer with, and how to read request bodies.

Where this sits: every handler of :mod:`pkg.apiserver.handlers` and
:mod:`pkg.apiserver.discovery_handlers` asks here before calling a storage, so an
unacceptable ``Accept`` fails (406) before any work is done; request bodies are classified
by ``Content-Type`` here (415 for formats we do not read).

Rules (kubernetes-api-contract.md §2, §3.3, §3.9, §3.10): walk the ``Accept`` list in
order (highest ``q`` first, ``q=0`` dropped) and answer the first entry we can serve.
JSON is acceptable for ``application/json``, ``application/*`` and ``*/*``; YAML for
``application/yaml``. Protobuf entries are skipped (clients that send them always list
JSON after). The ``as``/``g``/``v`` parameters select a transformation: a ``Table``
(``meta.k8s.io`` ``v1`` or ``v1beta1``), ``PartialObjectMetadata`` (single objects and
watch events) or ``PartialObjectMetadataList`` (lists). Aggregated discovery is only
answered for the exact ``apidiscovery.k8s.io`` media types, and its Content-Type echoes
the one chosen (kubectl 1.32 panics otherwise).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pkg.apimachinery import errors

__all__ = [
    "JSON",
    "PROTOBUF",
    "YAML",
    "BodyFormat",
    "Endpoint",
    "MediaType",
    "Output",
    "PatchType",
    "Serializer",
    "Target",
    "body_format",
    "discovery_content_type",
    "negotiate_discovery",
    "negotiate_output",
    "parse_accept",
    "patch_type",
]

JSON = "application/json"
YAML = "application/yaml"
_META_GROUP = "meta.k8s.io"
_META_VERSIONS = frozenset({"v1", "v1beta1"})
_DISCOVERY_GROUP = "apidiscovery.k8s.io"
_DISCOVERY_VERSIONS = ("v2", "v2beta1")

PROTOBUF = "application/vnd.kubernetes.protobuf"

Serializer = Literal["json", "yaml"]
BodyFormat = Literal["json", "yaml", "protobuf"]
Endpoint = Literal["item", "list", "watch"]
"""What the response carries: one object, a collection, or a stream of events."""


class Target(enum.StrEnum):
    """The representation the client asked for (the ``as`` parameter)."""

    OBJECT = "Object"
    TABLE = "Table"
    PARTIAL_OBJECT_METADATA = "PartialObjectMetadata"
    PARTIAL_OBJECT_METADATA_LIST = "PartialObjectMetadataList"


class PatchType(enum.StrEnum):
    """The PATCH body formats we apply, by Content-Type."""

    JSON_PATCH = "application/json-patch+json"
    MERGE_PATCH = "application/merge-patch+json"
    STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
    APPLY_PATCH = "application/apply-patch+yaml"


@dataclass(frozen=True, slots=True)
class MediaType:
    """One entry of an Accept header: ``type/subtype;k=v;...``."""

    type: str
    subtype: str
    params: Mapping[str, str] = field(default_factory=dict)
    q: float = 1.0

    @property
    def essence(self) -> str:
        return f"{self.type}/{self.subtype}"


@dataclass(frozen=True, slots=True)
class Output:
    """The chosen representation: how to serialize and what to transform the result into.

    ``version`` is the meta.k8s.io version of a Table/PartialObjectMetadata target.
    """

    serializer: Serializer = "json"
    target: Target = Target.OBJECT
    version: str = "v1"


def _parse_media_type(text: str) -> MediaType | None:
    pieces = [p.strip() for p in text.split(";")]
    essence = pieces[0].lower()
    if "/" not in essence:
        return None
    main, sub = essence.split("/", 1)
    params: dict[str, str] = {}
    q = 1.0
    for piece in pieces[1:]:
        if "=" not in piece:
            continue
        key, value = piece.split("=", 1)
        key, value = key.strip().lower(), value.strip().strip('"')
        if key == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
        else:
            params[key] = value
    return MediaType(main, sub, params, q)


def parse_accept(header: str | None) -> list[MediaType]:
    """The Accept entries by preference: highest ``q`` first, then in the order given."""
    if not header or not header.strip():
        return []
    parsed = [m for m in (_parse_media_type(p) for p in header.split(",")) if m is not None]
    accepted = [m for m in parsed if m.q > 0]
    return sorted(accepted, key=lambda m: -m.q)  # sorted() is stable: ties keep their order


def _serializer(media: MediaType) -> Serializer | None:
    if media.essence in (JSON, "application/*", "*/*"):
        return "json"
    if media.essence == YAML:
        return "yaml"
    return None


def _target(media: MediaType, endpoint: Endpoint) -> Output | None:
    serializer = _serializer(media)
    if serializer is None:
        return None
    as_kind = media.params.get("as")
    if not as_kind:
        if endpoint == "watch" and serializer != "json":
            return None
        return Output(serializer)
    group, version = media.params.get("g", ""), media.params.get("v", "")
    if group != _META_GROUP or version not in _META_VERSIONS:
        return None
    if endpoint == "watch" and serializer != "json":
        return None
    if as_kind == Target.TABLE:
        return Output(serializer, Target.TABLE, version)
    if as_kind == Target.PARTIAL_OBJECT_METADATA and endpoint in ("item", "watch"):
        return Output(serializer, Target.PARTIAL_OBJECT_METADATA, version)
    if as_kind == Target.PARTIAL_OBJECT_METADATA_LIST and endpoint == "list":
        return Output(serializer, Target.PARTIAL_OBJECT_METADATA_LIST, version)
    return None


def negotiate_output(accept: str | None, endpoint: Endpoint) -> Output:
    """The representation for a resource response; 406 when nothing in ``accept`` fits."""
    if not accept or not accept.strip():
        return Output()
    for media in parse_accept(accept):
        chosen = _target(media, endpoint)
        if chosen is not None:
            return chosen
    raise errors.new_not_acceptable(
        "only the following media types are accepted: application/json, application/yaml"
    )


def negotiate_discovery(accept: str | None) -> tuple[Serializer, str | None]:
    """For ``/apis`` and ``/api``: the serializer and the aggregated discovery version.

    The version is ``v2`` or ``v2beta1`` when the client asked for an
    ``APIGroupDiscoveryList``, else None (the legacy document). 406 when nothing fits.
    """
    if not accept or not accept.strip():
        return "json", None
    for media in parse_accept(accept):
        serializer = _serializer(media)
        if serializer is None:
            continue
        as_kind = media.params.get("as")
        if not as_kind:
            return serializer, None
        if (
            serializer == "json"
            and as_kind == "APIGroupDiscoveryList"
            and media.params.get("g") == _DISCOVERY_GROUP
            and media.params.get("v") in _DISCOVERY_VERSIONS
        ):
            return serializer, media.params["v"]
    raise errors.new_not_acceptable(
        "only the following media types are accepted: application/json, application/yaml, "
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList, "
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
    )


def discovery_content_type(version: str) -> str:
    """The exact Content-Type of an aggregated discovery response (the Accept entry echoed)."""
    return f"{JSON};g={_DISCOVERY_GROUP};v={version};as=APIGroupDiscoveryList"


def body_format(content_type: str | None, *, protobuf: bool = False) -> BodyFormat:
    """How to read a POST/PUT/DELETE body: JSON (also when there is no Content-Type), YAML,
    or, where the caller can (``protobuf``), Kubernetes protobuf."""
    media = _parse_media_type(content_type) if content_type else None
    if media is None or media.essence == JSON:
        return "json"
    if media.essence == YAML:
        return "yaml"
    if protobuf and media.essence == PROTOBUF:
        return "protobuf"
    raise errors.new_unsupported_media_type(
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml"
    )


def patch_type(content_type: str | None) -> PatchType:
    """The patch format of a PATCH request, by Content-Type; 415 for anything else."""
    media = _parse_media_type(content_type) if content_type else None
    if media is not None:
        for known in PatchType:
            if media.essence == known.value:
                return known
    raise errors.new_unsupported_media_type(
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(p.value for p in PatchType)
    )
