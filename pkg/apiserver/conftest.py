"""Fixtures of the API server's tests: an app with in-memory storages on a real socket."""

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


@dataclass
class API:
    client: httpx.AsyncClient
    repos: apiservertesting.MemoryStorage
    secrets: apiservertesting.MemoryStorage
    app: config.App
    url: str

    @property
    def state(self) -> config.State:
        state: config.State = self.app.ctx.porch
        return state


@pytest.fixture
async def api(request: pytest.FixtureRequest) -> AsyncIterator[API]:
    overrides: dict[str, Any] = getattr(request, "param", {})
    repos = apiservertesting.MemoryStorage(
        configv1alpha1.REPOSITORIES, configv1alpha1.Repository, configv1alpha1.RepositoryList
    )
    secrets = apiservertesting.MemoryStorage(corev1.SECRETS, corev1.Secret, corev1.SecretList)
    gvs = [
        groups.APIGroupVersion("", "v1", {"secrets": secrets}, OPENAPI / "core" / "v1.yaml"),
        groups.APIGroupVersion(
            configv1alpha1.GROUP,
            configv1alpha1.VERSION,
            {"repositories": repos, "repositories/status": apiservertesting.StatusStorage(repos)},
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
        yield API(client, repos, secrets, app, url)


def expect_status(response: httpx.Response, code: int, reason: str) -> dict[str, Any]:
    assert response.status_code == code, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert (body["kind"], body["apiVersion"], body["status"]) == ("Status", "v1", "Failure")
    assert (body["code"], body["reason"]) == (code, reason)
    return body
