"""A storage conformance check, after k8s.io/apiserver's ``pkg/registry/rest/resttest``.

Every storage in porch-py runs it in its tests: given the storage and a factory of valid
objects, :class:`Tester` exercises the behaviour kubectl, the Python client and informers
rely on, for exactly the capabilities the storage implements (a storage without
``Updater`` is not asked to update). Each check is independent, works in its own
namespace, and raises ``AssertionError`` saying what a client would have seen::

    @pytest.mark.parametrize("check", resttest.check_names(store.Store, update=True))
    async def test_conformance(secrets: store.Store[Secret], check: str) -> None:
        tester = resttest.Tester(secrets, new_object=valid_secret, update=change_data)
        await tester.run(check)

(:func:`check_names` takes the storage class, so that pytest can name the cases before
any storage exists; :meth:`Tester.checks` gives the same list for an instance.)

What is checked (kubernetes-api-contract.md §3.8, §3.11, §5):

* create: server-owned metadata (uid, resourceVersion never "0", creationTimestamp,
  generation 1), ``generateName``, 409 AlreadyExists, 400 for a namespace that differs
  from the request's, 422 without a name or for an invalid object, dry run stores nothing;
* get: 404 NotFound naming the object;
* list: namespace scoping, sorted items, label and field selectors (400 for an
  unsupported field), ``limit``/``continue`` paging, the list's resourceVersion;
* update: resourceVersion increases, generation bumps on spec changes, identity is kept,
  a stale resourceVersion is 409 Conflict, a missing one is accepted or 422 as the
  resource says, 404 or create-on-update for a missing object, dry run changes nothing;
* delete: 404 afterwards, uid/resourceVersion preconditions (409), dry run, finalizers
  (deletionTimestamp, not deleted until the last finalizer is removed);
* watch: initial ADDED for resourceVersion unset or "0", live ADDED/MODIFIED/DELETED in
  order, field and label selectors (DELETED when an object stops matching), BOOKMARK only
  when asked, 410 Expired for a resourceVersion older than the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, TypeVar

from pydantic import BaseModel

from api.meta import v1 as metav1
from pkg.apimachinery import codec, errors, fields, labels, user
from pkg.registry.rest import objectmeta, rest, update

__all__ = ["ObjectFactory", "ObjectMutator", "Tester", "check_names"]

ObjectFactory = Callable[[str, str], BaseModel]
"""``(namespace, name) -> object``: a valid new object of the storage's resource.

Objects made with different names must not conflict with each other (e.g. repositories
need distinct URLs)."""

ObjectMutator = Callable[[BaseModel], None]
"""Changes an object in place (a valid spec change, or one that makes it invalid)."""

_T = TypeVar("_T")

_TEST_LABEL: Final = "resttest.porch.kpt.dev/group"
_TEST_FINALIZER: Final = "resttest.porch.kpt.dev/keep"
_QUIET_PERIOD: Final = 0.3
_MALFORMED_CONTINUE: Final = "not-a-continue-value"


def _capabilities(storage_type: type) -> set[str]:
    # The capability protocols have a data member (``resource``), so issubclass() cannot
    # test them; a class has a capability when it has the method.
    methods = {
        "get": "Getter",
        "list": "Lister",
        "create": "Creater",
        "update": "Updater",
        "delete": "GracefulDeleter",
        "watch": "Watcher",
    }
    return {cap for method, cap in methods.items() if callable(getattr(storage_type, method, None))}


def check_names(
    storage_type: type,
    *,
    update: bool = False,
    invalid: bool = False,
    finalizers: bool = True,
    send_initial_events: bool = True,
    history: bool = False,
) -> list[str]:
    """The checks that apply to storages of ``storage_type``, in a stable order.

    ``update``/``invalid``: the tester will get an ``update``/``invalid`` mutator;
    ``finalizers``, ``send_initial_events``: the storage supports them; ``history``: the
    tester knows the storage's ``history_window``.
    """
    caps = _capabilities(storage_type)
    names: list[str] = []
    if {"Creater", "Getter"} <= caps:
        names += [
            "create",
            "create_generate_name",
            "create_already_exists",
            "create_dry_run",
            "create_namespace_mismatch",
            "create_without_name",
            "get_not_found",
        ]
        if invalid:
            names.append("create_invalid")
    if {"Creater", "Getter", "Lister"} <= caps:
        names += [
            "list",
            "list_label_selector",
            "list_field_selector",
            "list_paging",
            "list_resource_version",
        ]
    if {"Creater", "Getter", "Updater"} <= caps:
        names += [
            "update_conflict",
            "update_without_resource_version",
            "update_missing_object",
            "update_name_mismatch",
        ]
        if update:
            names += ["update", "update_dry_run"]
        if invalid:
            names.append("update_invalid")
    if {"Creater", "Getter", "GracefulDeleter"} <= caps:
        names += ["delete", "delete_preconditions", "delete_dry_run"]
        if finalizers and "Updater" in caps:
            names.append("delete_finalizers")
    if {"Creater", "Getter", "Watcher"} <= caps:
        names += ["watch_initial_events", "watch_live_events", "watch_field_selector"]
        if "Updater" in caps:
            names.append("watch_label_selector_stops_matching")
        if send_initial_events:
            names.append("watch_bookmarks")
        if history:
            names.append("watch_too_old")
    return names


def _fail(message: str) -> AssertionError:
    return AssertionError(message)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise _fail(message)


async def _expect_status(
    code: int, reason: str, action: Awaitable[_T] | Callable[[], Awaitable[_T]], what: str
) -> errors.StatusError:
    """Run ``action`` and require a StatusError with ``code`` and ``reason``."""
    try:
        if callable(action):
            await action()
        else:
            await action
    except errors.StatusError as err:
        _expect(
            err.code == code and (not reason or err.reason == reason),
            f"{what}: expected {code} {reason}, got {err.code} {err.reason}: {err.message}",
        )
        return err
    raise _fail(f"{what}: expected {code} {reason}, but it succeeded")


def _meta(obj: BaseModel) -> metav1.ObjectMeta:
    return objectmeta.meta_of(obj)


def _rv(obj: BaseModel) -> int:
    value = _meta(obj).resource_version or ""
    _expect(
        value.isdigit() and value != "0",
        f"resourceVersion must be a positive integer string, got {value!r}",
    )
    return int(value)


@dataclass
class Tester:
    """Conformance checks for one storage; see the module docstring.

    ``update`` makes a valid change to the object's spec (required for the update and
    watch MODIFIED checks); ``invalid`` makes an object invalid (enables the 422 checks).
    The flags say what the resource promises where Kubernetes resources differ.
    """

    storage: rest.Storage
    new_object: ObjectFactory
    update: ObjectMutator | None = None
    invalid: ObjectMutator | None = None
    namespace_prefix: str = "rt"
    allow_unconditional_update: bool = True
    allow_create_on_update: bool = False
    tracks_generation: bool = True
    supports_finalizers: bool = True
    supports_send_initial_events: bool = True
    history_window: int | None = None
    """How many events the watch history keeps; enables the 410 Expired check."""
    event_timeout: float = 5.0
    test_user: user.UserInfo = field(
        default_factory=lambda: user.UserInfo(name="resttest", groups=(user.ALL_AUTHENTICATED,))
    )

    # --- running -------------------------------------------------------------------------

    def checks(self) -> list[str]:
        """Names of the checks that apply to the storage and this configuration."""
        return check_names(
            type(self.storage),
            update=self.update is not None,
            invalid=self.invalid is not None,
            finalizers=self.supports_finalizers,
            send_initial_events=self.supports_send_initial_events,
            history=self.history_window is not None,
        )

    async def run(self, name: str) -> None:
        """Run one check by name (see :meth:`checks`)."""
        check = getattr(self, f"check_{name}", None)
        if check is None:
            raise ValueError(f"no conformance check named {name!r}")
        await check(self._namespace(name))

    async def run_all(self) -> None:
        for name in self.checks():
            await self.run(name)

    # --- helpers ---------------------------------------------------------------------------

    def _namespace(self, check: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", check.lower()).strip("-")
        return f"{self.namespace_prefix}-{slug}"[:63].rstrip("-")

    def _ctx(self, namespace: str | None, *, dry_run: bool = False) -> rest.RequestContext:
        return rest.RequestContext(namespace=namespace, user=self.test_user, dry_run=dry_run)

    @property
    def _creater(self) -> rest.Creater:
        assert isinstance(self.storage, rest.Creater)
        return self.storage

    @property
    def _getter(self) -> rest.Getter:
        assert isinstance(self.storage, rest.Getter)
        return self.storage

    @property
    def _lister(self) -> rest.Lister:
        assert isinstance(self.storage, rest.Lister)
        return self.storage

    @property
    def _updater(self) -> rest.Updater:
        assert isinstance(self.storage, rest.Updater)
        return self.storage

    @property
    def _deleter(self) -> rest.GracefulDeleter:
        assert isinstance(self.storage, rest.GracefulDeleter)
        return self.storage

    @property
    def _watcher(self) -> rest.Watcher:
        assert isinstance(self.storage, rest.Watcher)
        return self.storage

    async def _create(
        self, namespace: str, name: str, mutate: Callable[[BaseModel], None] | None = None
    ) -> BaseModel:
        obj = self.new_object(namespace, name)
        if mutate is not None:
            mutate(obj)
        return await self._creater.create(self._ctx(namespace), obj, rest.CreateOptions())

    async def _get(self, namespace: str, name: str) -> BaseModel:
        return await self._getter.get(self._ctx(namespace), name)

    async def _put(
        self, namespace: str, name: str, obj: BaseModel, *, dry_run: bool = False
    ) -> tuple[BaseModel, bool]:
        return await self._updater.update(
            self._ctx(namespace, dry_run=dry_run),
            name,
            update.DefaultUpdatedObjectInfo(obj),
            rest.UpdateOptions(),
        )

    async def _list(
        self, namespace: str | None, options: rest.ListOptions | None = None
    ) -> rest.ListResult:
        return await self._lister.list(self._ctx(namespace), options or rest.ListOptions())

    async def _delete(
        self, namespace: str, name: str, options: metav1.DeleteOptions | None = None
    ) -> tuple[BaseModel, bool]:
        return await self._deleter.delete(
            self._ctx(namespace), name, options or metav1.DeleteOptions()
        )

    @contextlib.asynccontextmanager
    async def _watch(
        self, namespace: str | None, options: rest.ListOptions
    ) -> AsyncIterator[AsyncIterator[rest.WatchEvent]]:
        stream = self._watcher.watch(self._ctx(namespace), options)
        try:
            yield stream
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _next_event(
        self, stream: AsyncIterator[rest.WatchEvent], what: str
    ) -> rest.WatchEvent:
        try:
            return await asyncio.wait_for(anext(stream), self.event_timeout)
        except TimeoutError:
            raise _fail(f"{what}: no watch event within {self.event_timeout}s") from None
        except StopAsyncIteration:
            raise _fail(f"{what}: the watch ended unexpectedly") from None

    async def _expect_quiet(self, stream: AsyncIterator[rest.WatchEvent], what: str) -> None:
        try:
            event = await asyncio.wait_for(anext(stream), _QUIET_PERIOD)
        except (TimeoutError, StopAsyncIteration):
            return
        raise _fail(f"{what}: unexpected {event.type} event for {_describe(event.object)}")

    async def _expect_event(
        self,
        stream: AsyncIterator[rest.WatchEvent],
        event_type: str,
        name: str,
        what: str,
    ) -> rest.WatchEvent:
        event = await self._next_event(stream, what)
        _expect(
            event.type == event_type and _meta(event.object).name == name,
            f"{what}: expected {event_type} {name!r}, got {event.type} {_describe(event.object)}",
        )
        return event

    def _updated(self, obj: BaseModel) -> BaseModel:
        assert self.update is not None
        changed = obj.model_copy(deep=True)
        self.update(changed)
        return changed

    # --- create and get --------------------------------------------------------------------

    async def check_create(self, ns: str) -> None:
        created = await self._create(ns, "first")
        meta = _meta(created)
        _expect(meta.name == "first", f"created name is {meta.name!r}, want 'first'")
        _expect(meta.namespace == ns, f"created namespace is {meta.namespace!r}, want {ns!r}")
        _expect(bool(meta.uid), "create must set metadata.uid")
        _rv(created)
        _expect(meta.creation_timestamp is not None, "create must set creationTimestamp")
        if self.tracks_generation:
            _expect(meta.generation == 1, f"generation after create is {meta.generation}, want 1")
        got = await self._get(ns, "first")
        _expect(
            codec.to_dict(got) == codec.to_dict(created),
            "get after create returned a different object than create did",
        )

    async def check_create_generate_name(self, ns: str) -> None:
        def generated(obj: BaseModel) -> None:
            _meta(obj).name = None
            _meta(obj).generate_name = "gen-"

        first = await self._create(ns, "ignored-1", generated)
        second = await self._create(ns, "ignored-2", generated)
        names = [_meta(first).name or "", _meta(second).name or ""]
        for name in names:
            _expect(
                name.startswith("gen-") and len(name) > len("gen-"),
                f"generateName 'gen-' produced {name!r}",
            )
        _expect(names[0] != names[1], f"generateName produced the same name twice: {names[0]}")
        await self._get(ns, names[0])

    async def check_create_already_exists(self, ns: str) -> None:
        await self._create(ns, "taken")
        err = await _expect_status(
            409, "AlreadyExists", self._create(ns, "taken"), "create of an existing name"
        )
        _expect(
            err.details is not None and err.details.name == "taken",
            "AlreadyExists must name the object in details.name",
        )

    async def check_create_dry_run(self, ns: str) -> None:
        before = await self._list(ns) if isinstance(self.storage, rest.Lister) else None
        obj = self.new_object(ns, "dry")
        returned = await self._creater.create(
            self._ctx(ns, dry_run=True), obj, rest.CreateOptions()
        )
        _expect(_meta(returned).name == "dry", "dry-run create must return the would-be object")
        await _expect_status(404, "NotFound", self._get(ns, "dry"), "get after dry-run create")
        if before is not None:
            after = await self._list(ns)
            _expect(
                after.resource_version == before.resource_version,
                "dry-run create changed the list resourceVersion "
                f"({before.resource_version} -> {after.resource_version})",
            )

    async def check_create_namespace_mismatch(self, ns: str) -> None:
        obj = self.new_object(ns, "elsewhere")
        _meta(obj).namespace = f"{ns}-other"
        await _expect_status(
            400,
            "BadRequest",
            self._creater.create(self._ctx(ns), obj, rest.CreateOptions()),
            "create with a body namespace that differs from the request's",
        )

    async def check_create_without_name(self, ns: str) -> None:
        obj = self.new_object(ns, "unnamed")
        _meta(obj).name = None
        _meta(obj).generate_name = None
        await _expect_status(
            422,
            "Invalid",
            self._creater.create(self._ctx(ns), obj, rest.CreateOptions()),
            "create without name or generateName",
        )

    async def check_create_invalid(self, ns: str) -> None:
        assert self.invalid is not None
        err = await _expect_status(
            422, "Invalid", self._create(ns, "bad", self.invalid), "create of an invalid object"
        )
        _expect(
            err.details is not None and bool(err.details.causes),
            "Invalid must list the bad fields in details.causes",
        )
        await _expect_status(404, "NotFound", self._get(ns, "bad"), "get after a failed create")

    async def check_get_not_found(self, ns: str) -> None:
        err = await _expect_status(
            404, "NotFound", self._get(ns, "nosuch"), "get of a missing object"
        )
        _expect(
            err.details is not None and err.details.name == "nosuch",
            "NotFound must name the object in details.name",
        )
        _expect('"nosuch" not found' in err.message, f"NotFound message reads {err.message!r}")

    # --- list ------------------------------------------------------------------------------

    async def check_list(self, ns: str) -> None:
        other = f"{ns}-x"
        for name in ("b", "a", "c"):
            await self._create(ns, name)
        await self._create(other, "a")
        result = await self._list(ns)
        names = [_meta(o).name for o in result.items]
        _expect(names == ["a", "b", "c"], f"namespace list returned {names}, want ['a', 'b', 'c']")
        list_rv = int(result.resource_version)
        for item in result.items:
            _expect(_rv(item) <= list_rv, "an item is newer than the list's resourceVersion")
        everywhere = await self._list(None)
        keys = [(_meta(o).namespace, _meta(o).name) for o in everywhere.items]
        _expect(
            (ns, "a") in keys and (other, "a") in keys,
            "an all-namespaces list must include objects of every namespace",
        )
        _expect(keys == sorted(keys), "an all-namespaces list must be sorted by namespace, name")

    async def check_list_label_selector(self, ns: str) -> None:
        def labelled(value: str) -> Callable[[BaseModel], None]:
            def mutate(obj: BaseModel) -> None:
                meta = _meta(obj)
                meta.labels = {**(meta.labels or {}), _TEST_LABEL: value}

            return mutate

        await self._create(ns, "red-1", labelled("red"))
        await self._create(ns, "red-2", labelled("red"))
        await self._create(ns, "blue-1", labelled("blue"))
        for selector, want in (
            (f"{_TEST_LABEL}=red", ["red-1", "red-2"]),
            (f"{_TEST_LABEL}!=red", ["blue-1"]),
            (f"{_TEST_LABEL} in (blue,green)", ["blue-1"]),
            (f"!{_TEST_LABEL}", []),
        ):
            result = await self._list(ns, rest.ListOptions(label_selector=labels.parse(selector)))
            names = [_meta(o).name for o in result.items]
            _expect(names == want, f"labelSelector {selector!r} returned {names}, want {want}")

    async def check_list_field_selector(self, ns: str) -> None:
        await self._create(ns, "one")
        await self._create(ns, "two")
        result = await self._list(
            ns, rest.ListOptions(field_selector=fields.parse("metadata.name=two"))
        )
        names = [_meta(o).name for o in result.items]
        _expect(names == ["two"], f"fieldSelector metadata.name=two returned {names}")
        result = await self._list(
            None, rest.ListOptions(field_selector=fields.parse(f"metadata.namespace={ns}"))
        )
        names = [_meta(o).name for o in result.items]
        _expect(names == ["one", "two"], f"fieldSelector metadata.namespace returned {names}")
        await _expect_status(
            400,
            "BadRequest",
            self._list(ns, rest.ListOptions(field_selector=fields.parse("spec.nosuch=x"))),
            "list with a field selector on an unsupported field",
        )

    async def check_list_paging(self, ns: str) -> None:
        for i in range(5):
            await self._create(ns, f"item-{i}")
        seen: list[str] = []
        token: str | None = None
        pages = 0
        first_rv = ""
        while True:
            page = await self._list(ns, rest.ListOptions(limit=2, continue_token=token))
            pages += 1
            _expect(len(page.items) <= 2, f"limit=2 returned {len(page.items)} items")
            seen += [_meta(o).name or "" for o in page.items]
            first_rv = first_rv or page.resource_version
            if page.continue_token is None:
                break
            _expect(
                page.remaining_item_count in (None, 5 - len(seen)),
                f"remainingItemCount {page.remaining_item_count}, want {5 - len(seen)}",
            )
            token = page.continue_token
            _expect(pages < 10, "paging does not end")
        _expect(
            seen == [f"item-{i}" for i in range(5)],
            f"paging with limit=2 returned {seen}",
        )
        _expect(pages == 3, f"5 items with limit=2 took {pages} pages, want 3")
        await _expect_status(
            400,
            "BadRequest",
            self._list(ns, rest.ListOptions(limit=2, continue_token=_MALFORMED_CONTINUE)),
            "list with a malformed continue token",
        )

    async def check_list_resource_version(self, ns: str) -> None:
        before = await self._list(ns)
        _expect(
            before.resource_version.isdigit() and before.resource_version != "0",
            f"list resourceVersion must be a positive integer, got {before.resource_version!r}",
        )
        created = await self._create(ns, "later")
        after = await self._list(ns)
        _expect(
            int(after.resource_version) >= _rv(created) > int(before.resource_version),
            "list resourceVersion must move past every write "
            f"({before.resource_version} -> {_rv(created)} -> {after.resource_version})",
        )

    # --- update ----------------------------------------------------------------------------

    async def check_update(self, ns: str) -> None:
        created = await self._create(ns, "changing")
        changed = self._updated(created)
        stored, was_created = await self._put(ns, "changing", changed)
        _expect(not was_created, "update of an existing object reported it as created")
        meta, old_meta = _meta(stored), _meta(created)
        _expect(_rv(stored) > _rv(created), "update must increase resourceVersion")
        _expect(meta.uid == old_meta.uid, "update changed metadata.uid")
        _expect(
            meta.creation_timestamp == old_meta.creation_timestamp,
            "update changed metadata.creationTimestamp",
        )
        if self.tracks_generation:
            _expect(
                meta.generation == (old_meta.generation or 0) + 1,
                f"a spec change must bump generation: {old_meta.generation} -> {meta.generation}",
            )
        got = await self._get(ns, "changing")
        _expect(
            codec.to_dict(got) == codec.to_dict(stored),
            "get after update returned a different object than update did",
        )

    async def check_update_conflict(self, ns: str) -> None:
        created = await self._create(ns, "contested")
        first = created.model_copy(deep=True)
        _meta(first).labels = {**(_meta(first).labels or {}), _TEST_LABEL: "first"}
        await self._put(ns, "contested", first)
        stale = created.model_copy(deep=True)
        _meta(stale).labels = {**(_meta(stale).labels or {}), _TEST_LABEL: "stale"}
        err = await _expect_status(
            409, "Conflict", self._put(ns, "contested", stale), "update with a stale version"
        )
        _expect(
            "the object has been modified" in err.message,
            f"Conflict message reads {err.message!r}",
        )
        got = await self._get(ns, "contested")
        _expect(
            (_meta(got).labels or {}).get(_TEST_LABEL) == "first",
            "a rejected stale update changed the object",
        )

    async def check_update_without_resource_version(self, ns: str) -> None:
        created = await self._create(ns, "blind")
        blind = created.model_copy(deep=True)
        _meta(blind).resource_version = None
        _meta(blind).labels = {**(_meta(blind).labels or {}), _TEST_LABEL: "blind"}
        if self.allow_unconditional_update:
            stored, _ = await self._put(ns, "blind", blind)
            _expect(
                (_meta(stored).labels or {}).get(_TEST_LABEL) == "blind",
                "an unconditional update (no resourceVersion) was not applied",
            )
        else:
            await _expect_status(
                422, "Invalid", self._put(ns, "blind", blind), "update without resourceVersion"
            )

    async def check_update_missing_object(self, ns: str) -> None:
        obj = self.new_object(ns, "absent")
        if self.allow_create_on_update:
            stored, was_created = await self._put(ns, "absent", obj)
            _expect(was_created, "create-on-update must report the object as created")
            _rv(stored)
            await self._get(ns, "absent")
        else:
            await _expect_status(
                404, "NotFound", self._put(ns, "absent", obj), "update of a missing object"
            )

    async def check_update_name_mismatch(self, ns: str) -> None:
        created = await self._create(ns, "named")
        await _expect_status(
            400,
            "BadRequest",
            self._put(ns, "other-name", created),
            "update whose body names another object than the URL",
        )

    async def check_update_dry_run(self, ns: str) -> None:
        created = await self._create(ns, "dry")
        returned, _ = await self._put(ns, "dry", self._updated(created), dry_run=True)
        got = await self._get(ns, "dry")
        _expect(
            codec.to_dict(got) == codec.to_dict(created),
            "a dry-run update changed the stored object",
        )
        _expect(
            _meta(returned).resource_version == _meta(created).resource_version,
            "a dry-run update must not allocate a resourceVersion",
        )

    async def check_update_invalid(self, ns: str) -> None:
        assert self.invalid is not None
        created = await self._create(ns, "guarded")
        broken = created.model_copy(deep=True)
        self.invalid(broken)
        await _expect_status(422, "Invalid", self._put(ns, "guarded", broken), "invalid update")
        got = await self._get(ns, "guarded")
        _expect(
            codec.to_dict(got) == codec.to_dict(created), "a rejected update changed the object"
        )

    # --- delete ----------------------------------------------------------------------------

    async def check_delete(self, ns: str) -> None:
        created = await self._create(ns, "doomed")
        deleted, immediately = await self._delete(ns, "doomed")
        _expect(immediately, "an object without finalizers must be deleted immediately")
        _expect(_meta(deleted).uid == _meta(created).uid, "delete returned another object")
        await _expect_status(404, "NotFound", self._get(ns, "doomed"), "get after delete")
        await _expect_status(
            404, "NotFound", self._delete(ns, "doomed"), "delete of a deleted object"
        )

    async def check_delete_preconditions(self, ns: str) -> None:
        created = await self._create(ns, "guarded")
        for preconditions, what in (
            (metav1.Preconditions(uid="00000000-0000-0000-0000-000000000000"), "uid"),
            (metav1.Preconditions(resource_version="1"), "resourceVersion"),
        ):
            await _expect_status(
                409,
                "Conflict",
                self._delete(ns, "guarded", metav1.DeleteOptions(preconditions=preconditions)),
                f"delete with a wrong {what} precondition",
            )
        await self._get(ns, "guarded")
        exact = metav1.Preconditions(
            uid=_meta(created).uid, resource_version=_meta(created).resource_version
        )
        await self._delete(ns, "guarded", metav1.DeleteOptions(preconditions=exact))
        await _expect_status(404, "NotFound", self._get(ns, "guarded"), "get after delete")

    async def check_delete_dry_run(self, ns: str) -> None:
        await self._create(ns, "spared")
        await self._delete(ns, "spared", metav1.DeleteOptions(dry_run=["All"]))
        await self._get(ns, "spared")

    async def check_delete_finalizers(self, ns: str) -> None:
        def finalized(obj: BaseModel) -> None:
            _meta(obj).finalizers = [_TEST_FINALIZER]

        await self._create(ns, "kept", finalized)
        marked, immediately = await self._delete(ns, "kept")
        _expect(not immediately, "an object with finalizers must not be deleted immediately")
        _expect(
            _meta(marked).deletion_timestamp is not None,
            "delete of an object with finalizers must set deletionTimestamp",
        )
        current = await self._get(ns, "kept")
        _expect(
            _meta(current).deletion_timestamp is not None,
            "the object must stay, marked for deletion, while finalizers remain",
        )
        _meta(current).finalizers = []
        await self._put(ns, "kept", current)
        await _expect_status(
            404, "NotFound", self._get(ns, "kept"), "get after the last finalizer was removed"
        )

    # --- watch -----------------------------------------------------------------------------

    async def check_watch_initial_events(self, ns: str) -> None:
        await self._create(ns, "present-a")
        await self._create(ns, "present-b")
        await self._create(f"{ns}-x", "elsewhere")
        for rv in (None, "0"):
            async with self._watch(ns, rest.ListOptions(resource_version=rv)) as stream:
                what = f"watch with resourceVersion={rv!r}"
                names = set()
                for _ in range(2):
                    event = await self._next_event(stream, what)
                    _expect(event.type == "ADDED", f"{what}: initial event is {event.type}")
                    names.add(_meta(event.object).name)
                _expect(names == {"present-a", "present-b"}, f"{what}: initial events {names}")
                await self._expect_quiet(stream, what)

    async def check_watch_live_events(self, ns: str) -> None:
        start = await self._list(ns) if isinstance(self.storage, rest.Lister) else None
        options = rest.ListOptions(resource_version=start.resource_version if start else None)
        async with self._watch(ns, options) as stream:
            created = await self._create(ns, "live")
            added = await self._expect_event(stream, "ADDED", "live", "watch after create")
            last = _rv(added.object)
            _expect(last == _rv(created), "the ADDED event must carry the created resourceVersion")
            if self.update is not None and isinstance(self.storage, rest.Updater):
                await self._put(ns, "live", self._updated(created))
                modified = await self._expect_event(
                    stream, "MODIFIED", "live", "watch after update"
                )
                _expect(_rv(modified.object) > last, "MODIFIED must carry a newer resourceVersion")
                last = _rv(modified.object)
            if isinstance(self.storage, rest.GracefulDeleter):
                await self._delete(ns, "live")
                deleted = await self._expect_event(stream, "DELETED", "live", "watch after delete")
                _expect(_rv(deleted.object) > last, "DELETED must carry a newer resourceVersion")

    async def check_watch_field_selector(self, ns: str) -> None:
        options = rest.ListOptions(field_selector=fields.parse("metadata.name=wanted"))
        start = await self._list(ns, options) if isinstance(self.storage, rest.Lister) else None
        options = rest.ListOptions(
            field_selector=options.field_selector,
            resource_version=start.resource_version if start else None,
        )
        async with self._watch(ns, options) as stream:
            await self._create(ns, "unwanted")
            await self._create(ns, "wanted")
            await self._expect_event(stream, "ADDED", "wanted", "watch metadata.name=wanted")
            await self._expect_quiet(stream, "watch metadata.name=wanted")

    async def check_watch_label_selector_stops_matching(self, ns: str) -> None:
        def labelled(obj: BaseModel) -> None:
            _meta(obj).labels = {**(_meta(obj).labels or {}), _TEST_LABEL: "in"}

        created = await self._create(ns, "mover", labelled)
        selector = labels.parse(f"{_TEST_LABEL}=in")
        async with self._watch(ns, rest.ListOptions(label_selector=selector)) as stream:
            await self._expect_event(stream, "ADDED", "mover", "labelled watch, initial")
            moved = created.model_copy(deep=True)
            _meta(moved).labels = {
                k: v for k, v in (_meta(moved).labels or {}).items() if k != _TEST_LABEL
            }
            await self._put(ns, "mover", moved)
            await self._expect_event(
                stream, "DELETED", "mover", "labelled watch, object lost the label"
            )
            back = await self._get(ns, "mover")
            labelled(back)
            await self._put(ns, "mover", back)
            await self._expect_event(
                stream, "ADDED", "mover", "labelled watch, object got the label back"
            )

    async def check_watch_bookmarks(self, ns: str) -> None:
        await self._create(ns, "marked")
        without = rest.ListOptions(send_initial_events=True, allow_watch_bookmarks=False)
        async with self._watch(ns, without) as stream:
            await self._expect_event(stream, "ADDED", "marked", "watch without bookmarks")
            await self._expect_quiet(stream, "watch without allowWatchBookmarks")
        with_bookmarks = rest.ListOptions(
            send_initial_events=True,
            allow_watch_bookmarks=True,
            resource_version_match="NotOlderThan",
        )
        async with self._watch(ns, with_bookmarks) as stream:
            await self._expect_event(stream, "ADDED", "marked", "watch with sendInitialEvents")
            event = await self._next_event(stream, "watch with sendInitialEvents")
            _expect(
                event.type == "BOOKMARK",
                f"sendInitialEvents must end with a BOOKMARK, got {event.type}",
            )
            annotations = _meta(event.object).annotations or {}
            _expect(
                annotations.get("k8s.io/initial-events-end") == "true",
                "the initial-events BOOKMARK must be annotated k8s.io/initial-events-end",
            )
            _rv(event.object)

    async def check_watch_too_old(self, ns: str) -> None:
        assert self.history_window is not None
        start = await self._list(ns) if isinstance(self.storage, rest.Lister) else None
        created = await self._create(ns, "churn-0")
        old_rv = start.resource_version if start else _meta(created).resource_version
        for i in range(1, self.history_window + 2):
            await self._create(ns, f"churn-{i}")

        async def first_event() -> None:
            async with self._watch(ns, rest.ListOptions(resource_version=old_rv)) as stream:
                await anext(stream)

        err = await _expect_status(
            410, "Expired", first_event, f"watch from resourceVersion {old_rv} after the history"
        )
        _expect(
            "too old resource version" in err.message,
            f"Expired message reads {err.message!r}",
        )


def _describe(obj: BaseModel) -> str:
    meta = getattr(obj, "metadata", None)
    name = getattr(meta, "name", None)
    rv = getattr(meta, "resource_version", None)
    return f"{name!r} (resourceVersion {rv})"
