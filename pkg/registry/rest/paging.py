"""Paged lists: ``limit``, the ``continue`` token and ``remainingItemCount``.

Where this sits: a storage's ``list`` (:class:`pkg.registry.generic.store.Store`, and the
porch.kpt.dev storages through :func:`pkg.registry.porch.packagecommon.page`) decodes the
request's ``continue`` token with :func:`decode_continue`, walks its objects sorted by
(namespace, name) from just after the token's key, and hands the matching ones to
:func:`page`, which cuts the page at ``limit`` and mints the next token. The API server
copies the result into the list's ``metadata``.

A token is opaque to clients: unpadded URL-safe base64 of
``{"v":1,"rv":<list resourceVersion>,"ns":<namespace>,"name":<name>}``, the key of the
last item returned. It pins the first page's resourceVersion, so that every page of one
list reports the same version and a watch from it misses nothing (as Kubernetes' storage
layer keeps ``rv`` in its token). Each store keeps its own kind of resourceVersion in it
(the generic store an integer, Porch's storages the watch sequence as a string).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from pkg.apimachinery import errors
from pkg.registry.rest import rest

__all__ = ["Continue", "decode_continue", "page"]

RV = TypeVar("RV", int, str)
"""The resourceVersion a store keeps in its tokens."""

Key = tuple[str, str]
"""(namespace, name): the order lists are sorted and paged in."""


@dataclass(frozen=True, slots=True)
class Continue(Generic[RV]):
    """Where the next page starts: after ``(namespace, name)``, in the list of
    ``resource_version``."""

    resource_version: RV
    namespace: str
    name: str

    @property
    def after(self) -> Key:
        """The key of the last item already returned."""
        return self.namespace, self.name

    def encode(self) -> str:
        data = json.dumps(
            {"v": 1, "rv": self.resource_version, "ns": self.namespace, "name": self.name},
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode_continue(token: str, resource_version: type[RV]) -> Continue[RV]:
    """The position ``token`` names, its resourceVersion read as ``resource_version``
    (``int`` or ``str``); 400 BadRequest ("continue key is not valid: ...") for a token
    this module did not mint."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return Continue(resource_version(data["rv"]), str(data["ns"]), str(data["name"]))
    except (ValueError, KeyError, TypeError, binascii.Error) as err:
        raise errors.new_bad_request(f"continue key is not valid: {err}") from None


_Obj = TypeVar("_Obj", bound=BaseModel)


def page(entries: Iterable[tuple[Key, _Obj]], limit: int, resource_version: RV) -> rest.ListResult:
    """The first ``limit`` of ``entries`` (everything when ``limit`` is 0), with a token
    for the rest and how many that is.

    ``entries`` are the matching objects with their keys, sorted, starting after the
    request's continue token; the rest are counted, not kept. ``resource_version`` is the
    list's (the first page's, for a continued list).
    """
    items: list[_Obj] = []
    remaining = 0
    last: Key | None = None
    for key, obj in entries:
        if limit and len(items) >= limit:
            remaining += 1
            continue
        items.append(obj)
        last = key
    token = None
    if remaining and last is not None:
        token = Continue(resource_version, *last).encode()
    return rest.ListResult(
        items=items,
        resource_version=str(resource_version),
        continue_token=token,
        remaining_item_count=remaining if token else None,
    )
