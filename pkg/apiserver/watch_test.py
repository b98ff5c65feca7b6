"""Watch streams over a real socket: framing, resume, bookmarks, transforms, endings."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from api import resourceinfo
from api.meta import v1 as metav1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import errors, user
from pkg.apiserver import apiservertesting, authentication, config, groups, server
from pkg.apiserver.conftest import API, GV, REPOS, TABLE, expect_status, repository
from pkg.registry.generic import store
from pkg.registry.rest import rest


async def _events(api: API, query: str, headers: dict[str, str] | None = None) -> list[Any]:
    """Every event of a watch that ends by itself (timeoutSeconds); checks the framing."""
    async with api.client.stream("GET", f"{REPOS}?{query}", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.headers["transfer-encoding"] == "chunked"
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert raw == b"" or raw.endswith(b"\n")
    return [json.loads(line) for line in raw.splitlines()]


async def test_watch_without_resource_version_starts_with_the_current_objects(api: API) -> None:
    await api.client.post(REPOS, json=repository("a"))
    await api.client.post(REPOS, json=repository("b"))
    started = time.monotonic()
    events = await _events(api, "watch=True&timeoutSeconds=1")
    assert 0.9 <= time.monotonic() - started < 5
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
    ]
    assert events[0]["object"]["kind"] == "Repository"


async def test_watch_from_the_list_resource_version_sends_only_changes(api: API) -> None:
    await api.client.post(REPOS, json=repository("a"))
    rv = (await api.client.get(REPOS)).json()["metadata"]["resourceVersion"]

    async def change() -> None:
        await asyncio.sleep(0.3)
        await api.client.patch(
            f"{REPOS}/a",
            content='{"metadata": {"labels": {"x": "y"}}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        await api.client.delete(f"{REPOS}/a")

    changer = asyncio.create_task(change())
    events = await _events(api, f"watch=1&resourceVersion={rv}&timeoutSeconds=2")
    await changer
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    assert events[0]["object"]["metadata"]["labels"] == {"x": "y"}


# A bookmark after 0.7 s of silence: exactly one fits in a one-second watch.
@pytest.mark.parametrize("tuning", [store.Tuning(bookmark_interval=0.7)])
async def test_bookmarks_only_when_allowed(api: API) -> None:
    plain = await _events(api, "watch=true&timeoutSeconds=1")
    assert [e["type"] for e in plain] == []
    allowed = await _events(api, "watch=true&allowWatchBookmarks=true&timeoutSeconds=1")
    assert [e["type"] for e in allowed] == ["BOOKMARK"]
    assert allowed[0]["object"]["metadata"]["resourceVersion"]


async def test_table_watch_sends_one_row_tables(api: API) -> None:
    await api.client.post(REPOS, json=repository("a"))
    (event,) = await _events(api, "watch=true&timeoutSeconds=1", {"Accept": TABLE})
    table = event["object"]
    assert (event["type"], table["kind"]) == ("ADDED", "Table")
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert [row["cells"][0] for row in table["rows"]] == ["a"]


async def test_metadata_watch_sends_partial_object_metadata(api: API) -> None:
    await api.client.post(REPOS, json=repository("a"))
    accept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
    (event,) = await _events(api, "watch=true&timeoutSeconds=1", {"Accept": accept})
    assert event["object"]["kind"] == "PartialObjectMetadata"
    assert event["object"]["metadata"]["name"] == "a"
    assert "spec" not in event["object"]


@pytest.mark.parametrize("tuning", [store.Tuning(history_size=1)])
async def test_a_resource_version_too_old_is_410(api: API) -> None:
    for name in ("a", "b", "c"):
        await api.client.post(REPOS, json=repository(name))
    response = await api.client.get(f"{REPOS}?watch=true&resourceVersion=2&timeoutSeconds=1")
    body = expect_status(response, 410, "Expired")
    assert body["message"].startswith("too old resource version: 2")


async def test_a_bad_selector_is_refused_before_streaming(api: API) -> None:
    response = await api.client.get(f"{REPOS}?watch=true&fieldSelector=spec.x%3Dy")
    expect_status(response, 400, "BadRequest")


async def test_legacy_watch_path(api: API) -> None:
    await api.client.post(REPOS, json=repository("a"))
    async with api.client.stream(
        "GET", f"{GV}/watch/namespaces/default/repositories?timeoutSeconds=1"
    ) as response:
        lines = [line async for line in response.aiter_lines() if line]
    assert [json.loads(line)["type"] for line in lines] == ["ADDED"]


async def _wait_for(predicate: Any, seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_the_watcher_is_removed_when_the_client_disconnects(api: API) -> None:
    async with (
        httpx.AsyncClient(base_url=api.url, headers=api.client.headers) as client,
        client.stream("GET", f"{REPOS}?watch=true") as response,
    ):
        assert response.status_code == 200
        await _wait_for(lambda: api.repos.watcher_count == 1)
    await _wait_for(lambda: api.repos.watcher_count == 0)


async def test_server_shutdown_ends_open_watches_cleanly(api: API) -> None:
    await api.client.post(REPOS, json=repository("a"))

    async def watch() -> list[str]:
        async with api.client.stream("GET", f"{REPOS}?watch=true") as response:
            return [line async for line in response.aiter_lines() if line]

    watcher = asyncio.create_task(watch())
    await _wait_for(lambda: api.repos.watcher_count == 1)
    api.state.stopping.set()
    lines = await asyncio.wait_for(watcher, 3)
    assert [json.loads(line)["type"] for line in lines] == ["ADDED"]
    await _wait_for(lambda: api.repos.watcher_count == 0)


class _ExpiringWatcher:
    """A watch-only storage that sends one event, then fails with 410 Expired.

    The generic store cannot be made to fail mid-stream (its streams fail only when opened
    and end quietly when a client falls behind); the handler must render such a failure of
    any storage as an ERROR event.
    """

    resource: resourceinfo.ResourceInfo = configv1alpha1.REPOSITORIES

    def new_object(self) -> type[BaseModel]:
        return configv1alpha1.Repository

    def new_list(self) -> type[BaseModel]:
        return configv1alpha1.RepositoryList

    def watch(
        self, ctx: rest.RequestContext, options: rest.ListOptions
    ) -> AsyncIterator[rest.WatchEvent]:
        async def events() -> AsyncIterator[rest.WatchEvent]:
            yield rest.WatchEvent(
                "ADDED", configv1alpha1.Repository(metadata=metav1.ObjectMeta(name="a"))
            )
            await asyncio.sleep(0.2)
            raise errors.new_resource_expired("too old resource version: 5 (10)")

        return events()


async def test_errors_after_the_first_event_become_error_events() -> None:
    storage = _ExpiringWatcher()
    app = server.new_app(
        config.Config(
            groups=[
                groups.APIGroupVersion(
                    configv1alpha1.GROUP, configv1alpha1.VERSION, {"repositories": storage}
                )
            ],
            authenticator=authentication.Authenticator(tokens={"t": user.UserInfo("u")}),
        )
    )
    async with (
        apiservertesting.serve(app) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer t"}) as client,
        client.stream("GET", f"{REPOS}?watch=true&timeoutSeconds=5") as response,
    ):
        lines = [json.loads(line) async for line in response.aiter_lines() if line]
    assert [e["type"] for e in lines] == ["ADDED", "ERROR"]
    assert lines[1]["object"] == {
        "apiVersion": "v1",
        "code": 410,
        "kind": "Status",
        "message": "too old resource version: 5 (10)",
        "metadata": {},
        "reason": "Expired",
        "status": "Failure",
    }
