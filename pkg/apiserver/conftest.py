"""Fixtures of the API server's tests: an app over real generic stores on a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api import resourceinfo
from api.core import v1 as corev1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import user
from pkg.apiserver import apiservertesting, authentication, config, groups, server
from pkg.registry.generic import store
from pkg.registry.rest import rest

OPENAPI = Path(__file__).resolve().parents[2] / "api" / "openapi"
GV = "/apis/config.porch.kpt.dev/v1alpha1"
REPOS = f"{GV}/namespaces/default/repositories"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
TOKEN = {"Authorization": "Bearer tok"}


def repository(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "config.porch.kpt.dev/v1alpha1",
        "kind": "Repository",
        "metadata": {"name": name},
        "spec": {"type": "git", "git": {"repo": f"https://example.com/{name}.git"}, **spec},
    }


class Broken:
    """A storage whose get fails with a bug (not a StatusError)."""

    resource = resourceinfo.ResourceInfo(
        group="broken.example.com",
        version="v1",
        kind="Repository",
        list_kind="RepositoryList",
        plural="things",
        singular="thing",
        namespaced=True,
    )

    def new_object(self) -> type[configv1alpha1.Repository]:
        return configv1alpha1.Repository

    def new_list(self) -> type[configv1alpha1.RepositoryList]:
        return configv1alpha1.RepositoryList

    async def get(self, ctx: rest.RequestContext, name: str) -> configv1alpha1.Repository:
        raise RuntimeError("the database caught fire")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[apiservertesting.Database]:
    database = await apiservertesting.open_database(tmp_path)
    yield database
    await database.close()


@pytest.fixture
def tuning() -> store.Tuning:
    """The stores' watch tuning; a test overrides it with ``parametrize("tuning", ...)``."""
    return store.Tuning()


@dataclass
class API:
    client: httpx.AsyncClient
    repos: store.Store[configv1alpha1.Repository]
    secrets: store.Store[corev1.Secret]
    db: apiservertesting.Database
    app: config.App
    url: str

    @property
    def state(self) -> config.State:
        state: config.State = self.app.ctx.porch
        return state

    async def stored_repositories(self) -> list[tuple[str, str]]:
        return await apiservertesting.keys(self.repos)


@pytest.fixture
async def api(
    request: pytest.FixtureRequest, db: apiservertesting.Database, tuning: store.Tuning
) -> AsyncIterator[API]:
    overrides: dict[str, Any] = getattr(request, "param", {})
    repos = apiservertesting.repositories(db, tuning)
    secrets = apiservertesting.secrets(db, tuning)
    gvs = [
        groups.APIGroupVersion("", "v1", {"secrets": secrets}, OPENAPI / "core" / "v1.yaml"),
        groups.APIGroupVersion(
            configv1alpha1.GROUP,
            configv1alpha1.VERSION,
            {"repositories": repos, "repositories/status": repos.status()},
            OPENAPI / "porchconfig" / "v1alpha1.yaml",
        ),
        groups.APIGroupVersion("broken.example.com", "v1", {"things": Broken()}),
    ]
    authn = authentication.Authenticator(tokens={"tok": user.UserInfo("alice")})
    app = server.new_app(config.Config(groups=gvs, authenticator=authn, **overrides))
    async with (
        apiservertesting.serve(app) as url,
        httpx.AsyncClient(base_url=url, headers=TOKEN, timeout=10) as client,
    ):
        yield API(client, repos, secrets, db, app, url)


def expect_status(response: httpx.Response, code: int, reason: str) -> dict[str, Any]:
    assert response.status_code == code, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert (body["kind"], body["apiVersion"], body["status"]) == ("Status", "v1", "Failure")
    assert (body["code"], body["reason"]) == (code, reason)
    return body
