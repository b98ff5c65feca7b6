"""What the porch.kpt.dev storages share: engine contexts, spans, paging, error translation.

Where this sits: every storage of this package (``packagerevision``,
``packagerevisionapproval``, ``packagerevisionresources``, ``package``) receives a
:class:`~pkg.registry.rest.rest.RequestContext` from the API server and calls the CaD engine
(:class:`~pkg.engine.engine.CaDEngine`) with an :class:`~pkg.engine.engine.EngineContext`
built here. Each call runs inside :func:`operation`, which opens the REST layer's span
(named as Porch names it: ``[START]::packageRevisions::Get``) and turns every domain error
the engine raises into a Kubernetes Status through :mod:`pkg.registry.porch.interpret`.
The storages derive from :class:`Storage`, which serves their model types and tables and
runs every update the same way (read, apply, check, strategy, write). Lists are paged
here (``limit``/``continue``, beyond Porch, which ignores both), with the tokens of
:mod:`pkg.registry.rest.paging`.

Objects the storages return are the engine's, shared with the cache and its watchers: the
API server only encodes them. Updates hand the strategies and the ``UpdatedObjectInfo``
deep copies, since those change what they are given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import ClassVar, Final, TypeVar

from opentelemetry import trace
from pydantic import BaseModel

from api import resourceinfo
from api.meta import v1 as metav1
from pkg.apimachinery import errors
from pkg.engine import engine
from pkg.engine import errors as engineerrors
from pkg.registry.porch import interpret
from pkg.registry.rest import objectmeta, paging, rest, update
from pkg.repository import errors as repoerrors

__all__ = [
    "NAMESPACE_REQUIRED",
    "Storage",
    "check_resource_version",
    "engine_context",
    "ensure_body_name",
    "expect",
    "operation",
    "page",
    "require_namespace",
    "tracer",
]

tracer = trace.get_tracer("packagerevision")
"""One tracer for the REST layer, named as Porch's (its spans are ``[START]::<type>::<verb>``)."""

NAMESPACE_REQUIRED: Final = "namespace must be specified"

_M = TypeVar("_M", bound=BaseModel)


class Storage:
    """What every storage of this package is: one resource served over one engine, with its
    model types and its ``kubectl get`` columns (``rest.Storage`` and ``TableConvertor``).

    Subclasses set the four class attributes and implement the capability methods their
    resource supports (``get``, ``list``, ``update`` ...), calling the engine as
    ``self._engine``.
    """

    resource_info: ClassVar[resourceinfo.ResourceInfo]
    model: ClassVar[type[BaseModel]]
    list_model: ClassVar[type[BaseModel]]
    columns: ClassVar[rest.TableConvertor]

    def __init__(self, cad: engine.CaDEngine) -> None:
        self._engine = cad

    @property
    def resource(self) -> resourceinfo.ResourceInfo:
        return self.resource_info

    def new_object(self) -> type[BaseModel]:
        return self.model

    def new_list(self) -> type[BaseModel]:
        return self.list_model

    def convert_to_table(
        self, ctx: rest.RequestContext, objects: Sequence[BaseModel], include_object: str
    ) -> metav1.Table:
        return self.columns.convert_to_table(ctx, objects, include_object)

    async def _update(
        self,
        span_name: str,
        ctx: rest.RequestContext,
        name: str,
        obj_info: rest.UpdatedObjectInfo,
        *,
        model: type[_M],
        strategy: update.UpdateStrategy,
        read: Callable[[engine.EngineContext, str], Awaitable[_M]],
        write: Callable[[engine.EngineContext, str, _M], Awaitable[_M]],
        create: Callable[[_M], Awaitable[_M]] | None = None,
    ) -> tuple[BaseModel, bool]:
        """An update (``rest.Updater``) as every storage here makes it, in its span.

        ``read`` fetches the current object from the engine. When it exists, ``obj_info``
        is applied to a deep copy (the engine's object is shared with the cache), the body
        must be a ``model`` named as the URL, the resourceVersion precondition must hold
        (:func:`check_resource_version`), and after the strategy's update driver ``write``
        stores it: ``(stored, False)``. When it is missing, the body's name is still checked
        first (400 beats 404); then the 404 stands, unless there is a ``create`` (PUT with
        ``force_allow_create``, server-side apply): ``(create(body), True)``.
        """
        info = self.resource_info
        with operation(span_name, ctx, info, name):
            require_namespace(ctx)
            ectx = engine_context(ctx)
            try:
                current = await read(ectx, name)
            except repoerrors.NotFoundError:
                body = await obj_info.updated_object(ctx, None)
                ensure_body_name(body, name)
                if create is None:
                    raise
                return await create(expect(body, model)), True
            old = current.model_copy(deep=True)
            new = expect(await obj_info.updated_object(ctx, old.model_copy(deep=True)), model)
            ensure_body_name(new, name)
            check_resource_version(info, name, new, old)
            kind = errors.GroupKind(info.group, info.kind)
            update.before_update(strategy, ctx, new, old, kind)
            return await write(ectx, name, new), False


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


def expect(obj: BaseModel, model: type[_M]) -> _M:
    """``obj`` as the ``model`` a storage speaks; 400 when a body is of another kind."""
    if not isinstance(obj, model):
        raise errors.new_bad_request(f"expected {model.__name__} object, got {type(obj).__name__}")
    return obj


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
#
# Porch keeps no snapshots, so a continued list is read from the current state (as a
# Kubernetes list whose continue token outlived its snapshot); the first page's
# resourceVersion stays in the token, so that a watch from it replays whatever changed
# meanwhile.


def start_after(options: rest.ListOptions) -> tuple[str, str] | None:
    """The (namespace, name) a continued list resumes after; None for a first page.

    Validates the token before any work is done (400 for a malformed one).
    """
    if not options.continue_token:
        return None
    return paging.decode_continue(options.continue_token, str).after


def page(
    items: Sequence[BaseModel], resource_version: str, options: rest.ListOptions
) -> rest.ListResult:
    """One page of ``items`` (sorted by namespace, name) as ``options.limit`` and
    ``options.continue_token`` ask; without a limit, everything."""
    list_rv = resource_version
    start: tuple[str, str] | None = None
    if options.continue_token:
        token = paging.decode_continue(options.continue_token, str)
        list_rv, start = token.resource_version, token.after
    keyed = ((_key(item), item) for item in items)
    return paging.page(
        ((key, item) for key, item in keyed if start is None or key > start),
        options.limit,
        list_rv,
    )


def _key(item: BaseModel) -> tuple[str, str]:
    meta = objectmeta.meta_of(item)
    return meta.namespace or "", meta.name or ""
