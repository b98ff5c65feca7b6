"""What the porch.kpt.dev storages share: engine contexts, spans, paging, error translation.

Where this sits: every storage of this package (``packagerevision``,
``packagerevisionapproval``, ``packagerevisionresources``, ``package``) receives a
:class:`~pkg.registry.rest.rest.RequestContext` from the API server and calls the CaD engine
(:class:`~pkg.engine.engine.CaDEngine`) with an :class:`~pkg.engine.engine.EngineContext`
built here. Each call runs inside :func:`operation`, which opens the REST layer's span
(named as Porch names it: ``[START]::packageRevisions::Get``) and turns every domain error
the engine raises into a Kubernetes Status through :mod:`pkg.registry.porch.interpret`.
Lists are paged here (``limit``/``continue``, beyond Porch, which ignores both).

Objects the storages return are the engine's, shared with the cache and its watchers: the
API server only encodes them. Updates hand the strategies and the ``UpdatedObjectInfo``
deep copies, since those change what they are given.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from opentelemetry import trace
from pydantic import BaseModel

from api import resourceinfo
from pkg.apimachinery import errors
from pkg.engine import engine
from pkg.engine import errors as engineerrors
from pkg.registry.porch import interpret
from pkg.registry.rest import objectmeta, rest
from pkg.repository import errors as repoerrors

__all__ = [
    "NAMESPACE_REQUIRED",
    "check_resource_version",
    "engine_context",
    "ensure_body_name",
    "operation",
    "page",
    "require_namespace",
    "tracer",
]

tracer = trace.get_tracer("packagerevision")
"""One tracer for the REST layer, named as Porch's (its spans are ``[START]::<type>::<verb>``)."""

NAMESPACE_REQUIRED: Final = "namespace must be specified"


def engine_context(ctx: rest.RequestContext) -> engine.EngineContext:
    """The engine's view of a request: who, in which namespace ("" for all), until when,
    and whether to store anything (``dryRun=All``)."""
    return engine.EngineContext(
        user=ctx.user,
        namespace=ctx.namespace or "",
        deadline=ctx.deadline,
        dry_run=ctx.dry_run,
    )


def require_namespace(ctx: rest.RequestContext) -> str:
    """The request's namespace; writes without one are 400, as in Porch."""
    if not ctx.namespace:
        raise errors.new_bad_request(NAMESPACE_REQUIRED)
    return ctx.namespace


@contextlib.contextmanager
def operation(
    span_name: str,
    ctx: rest.RequestContext,
    info: resourceinfo.ResourceInfo,
    name: str = "",
) -> Iterator[trace.Span]:
    """One REST call: a span with the namespace and name, domain errors as Status.

    A :class:`~pkg.repository.errors.RepositoryError` (and the cache's ``ExpiredError``,
    one of them) raised inside becomes the StatusError :func:`interpret.to_status` picks,
    chained to the original. Anything else is left alone: the API server answers it with
    a 500 and logs it with its trace id, because it is a bug.
    """
    attributes = {"namespace": ctx.namespace or "", "name": name}
    with tracer.start_as_current_span(span_name, attributes=attributes) as span:
        try:
            yield span
        except repoerrors.RepositoryError as err:
            status = interpret.to_status(err, info, name)
            span.set_attribute("http.status_code", status.code)
            raise status from err


def ensure_body_name(obj: BaseModel, name: str) -> None:
    """An update's body names the object of the URL: filled in when left out, 400 when
    it names another one."""
    meta = objectmeta.meta_of(obj)
    if not meta.name:
        meta.name = name
    elif meta.name != name:
        raise errors.new_bad_request(
            f"the name of the object ({meta.name}) does not match the name on the URL ({name})"
        )


def check_resource_version(
    info: resourceinfo.ResourceInfo, name: str, new: BaseModel, current: BaseModel
) -> None:
    """The optimistic-concurrency precondition of an update, checked before the strategy
    (as the Updater contract orders it: a stale copy is 409, not a confusing 422 about a
    transition from a state the client never saw). Raises the engine's own errors, so the
    Status is the one the engine's re-check inside its lock would give (422 without a
    resourceVersion, 409 for a stale one, with Porch's texts)."""
    requested = objectmeta.meta_of(new).resource_version or ""
    if not requested:
        raise engineerrors.InvalidFieldError(
            "metadata.resourceVersion", requested, "resourceVersion must be specified for an update"
        )
    if requested != objectmeta.meta_of(current).resource_version:
        raise engineerrors.StaleObjectError(info.plural, name)


# --- paging ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Continue:
    """Where the next page starts: after (namespace, name), in the list of ``resource_version``.

    Porch keeps no snapshots, so the next page is read from the current state (as a
    Kubernetes list whose continue token outlived its snapshot); the first page's
    resourceVersion is kept, so that a watch from it replays whatever changed meanwhile.
    """

    resource_version: str
    namespace: str
    name: str

    def encode(self) -> str:
        data = json.dumps(
            {"v": 1, "rv": self.resource_version, "ns": self.namespace, "name": self.name},
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> _Continue:
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()))
            return cls(str(data["rv"]), str(data["ns"]), str(data["name"]))
        except (ValueError, KeyError, TypeError, binascii.Error) as err:
            raise errors.new_bad_request(f"continue key is not valid: {err}") from None


def start_after(options: rest.ListOptions) -> tuple[str, str] | None:
    """The (namespace, name) a continued list resumes after; None for a first page.

    Validates the token before any work is done (400 for a malformed one).
    """
    if not options.continue_token:
        return None
    token = _Continue.decode(options.continue_token)
    return token.namespace, token.name


def page(
    items: Sequence[BaseModel], resource_version: str, options: rest.ListOptions
) -> rest.ListResult:
    """One page of ``items`` (sorted by namespace, name) as ``options.limit`` and
    ``options.continue_token`` ask; without a limit, everything."""
    start = start_after(options)
    list_rv = resource_version
    if options.continue_token:
        list_rv = _Continue.decode(options.continue_token).resource_version
    selected: list[BaseModel] = []
    remaining = 0
    last: tuple[str, str] | None = None
    for item in items:
        meta = objectmeta.meta_of(item)
        key = (meta.namespace or "", meta.name or "")
        if start is not None and key <= start:
            continue
        if options.limit and len(selected) >= options.limit:
            remaining += 1
            continue
        selected.append(item)
        last = key
    token = None
    if remaining and last is not None:
        token = _Continue(list_rv, *last).encode()
    return rest.ListResult(
        items=selected,
        resource_version=list_rv,
        continue_token=token,
        remaining_item_count=remaining if token else None,
    )
