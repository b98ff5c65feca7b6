"""The engine stack as the flags build it: Repositories registered from the standalone
store are synced into the engine; ``file://`` repositories only below the allowed roots;
the metadata survives a restart of the stack."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from pkg.apimachinery import user
from pkg.cache import cachetesting
from pkg.cmd.server import enginestack, functions, options, repositorysource, standalone
from pkg.engine import engine, enginetesting
from pkg.externalrepo.git import cache as gitcache
from pkg.registry.generic import store
from pkg.registry.rest import rest
from pkg.testing import gitserver

CTX = rest.RequestContext(namespace="default", user=store.SYSTEM_USER)
ALICE = engine.EngineContext(
    user=user.UserInfo(name="alice", groups=("system:authenticated",)), namespace="default"
)


def _seed(path: Path) -> str:
    """A bare repository with one commit on main; its file:// URL."""
    gitserver.git("init", "--quiet", "--bare", "--initial-branch=main", path)
    work = path.with_name(path.name + "-work")
    gitserver.git("clone", "--quiet", path, work)
    (work / "README.md").write_text("# test\n")
    gitserver.git("add", "README.md", cwd=work)
    gitserver.git("commit", "--quiet", "-m", "init", cwd=work)
    gitserver.git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    return f"file://{path}"


async def _until(predicate: Callable[[], Awaitable[bool]], limit: float = 10) -> None:
    async with asyncio.timeout(limit):
        while not await predicate():  # noqa: ASYNC110 (background syncs, no event)
            await asyncio.sleep(0.02)


async def _ready(stores: standalone.StandaloneStores, name: str) -> tuple[str, str] | None:
    repo = await stores.repositories.client().get("default", name)
    for condition in (repo.status.conditions if repo.status else None) or []:
        if condition.type == "Ready":
            return condition.status, condition.message
    return None


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[standalone.StandaloneStores]:
    # The store accepts repositories below <tmp>/repos; what the engine accepts is the
    # engine's own --local-repository-root, set per test.
    async with standalone.open_stores(tmp_path / "data", [tmp_path / "repos"]) as opened:
        yield opened


def _options(tmp_path: Path, *roots: Path) -> options.ServerOptions:
    return options.ServerOptions(
        data_dir=tmp_path / "data",
        runtime=options.RuntimeOptions(local_repository_roots=roots),
    ).complete()


async def _register(stores: standalone.StandaloneStores, name: str, url: str) -> None:
    repo = cachetesting.repository_object(name, url=url)
    await stores.repositories.create(CTX, repo, rest.CreateOptions())


def _stack(
    opts: options.ServerOptions, stores: standalone.StandaloneStores
) -> contextlib.AbstractAsyncContextManager[enginestack.EngineStack]:
    source = repositorysource.FinalizingRepositorySource(
        standalone.StoreRepositories(stores.repositories)
    )
    return enginestack.open_engine(
        opts,
        function_runtime=functions.new_runtime(opts.runtime.default_image_prefix, None),
        source=source,
        resolver=repositorysource.SecretCredentialResolver(standalone.StoreSecrets(stores.secrets)),
    )


async def test_registered_repositories_are_synced_and_keep_their_metadata(
    tmp_path: Path, stores: standalone.StandaloneStores
) -> None:
    url = _seed(tmp_path / "repos" / "blue.git")
    await _register(stores, "blue", url)
    opts = _options(tmp_path, tmp_path / "repos")
    async with _stack(opts, stores) as stack:

        async def ready() -> bool:
            return await _ready(stores, "blue") == ("True", "Repository Ready")

        await _until(ready)
        created = await stack.engine.create_package_revision(
            ALICE,
            enginetesting.package_revision("app", "v1", repository="blue", labels={"team": "blue"}),
        )
        assert created.metadata is not None
        name = created.metadata.name
    # Same data directory, new stack (a restart): the revision and its labels are back.
    async with _stack(opts, stores) as stack:
        # What /readyz waits for: the Repositories listed and each synced once.
        async with asyncio.timeout(10):
            await stack.controller.wait_until_synced()
        found = await stack.engine.get_package_revision(ALICE, name or "")
        assert found.metadata is not None
        assert found.metadata.labels == {"team": "blue"}


async def test_local_repositories_need_an_allowed_root(
    tmp_path: Path, stores: standalone.StandaloneStores
) -> None:
    url = _seed(tmp_path / "repos" / "green.git")
    await _register(stores, "green", url)
    # An aggregated server allows no local repositories unless told.
    async with _stack(_options(tmp_path), stores):

        async def refused() -> bool:
            ready = await _ready(stores, "green")
            return ready is not None and ready[0] == "False" and "local" in ready[1]

        await _until(refused)
    status = await _ready(stores, "green")
    assert status == (
        "False",
        f"repository URL {url!r}: local repositories are not allowed by this server",
    )


async def test_git_options_follow_the_flags(tmp_path: Path) -> None:
    opts = options.ServerOptions(
        standalone=True,
        data_dir=tmp_path,
        runtime=options.RuntimeOptions(
            repo_operation_retry_attempts=5, retryable_git_errors=("connection reset",)
        ),
    ).complete()
    git_cache = gitcache.GitCache(tmp_path / "cache")
    resolver = repositorysource.SecretCredentialResolver(_NoSecrets())
    git_options = enginestack.git_options(opts, git_cache, resolver)
    await git_cache.close()
    assert git_options.credential_resolver is resolver
    assert git_options.allow_local_repositories
    assert git_options.local_repository_roots == (tmp_path / "repositories",)
    assert git_options.retry_attempts == 5
    assert "connection reset" in git_options.retryable_errors
    assert "pre-receive hook declined" in git_options.retryable_errors  # Porch's stay
    # Namespaces' CA bundles only with --use-user-cabundle.
    assert git_options.ca_bundle_resolver is None
    assert enginestack.git_options(opts, git_cache, resolver, resolver).ca_bundle_resolver is None
    opts.runtime.use_user_cabundle = True
    assert enginestack.git_options(opts, git_cache, resolver, resolver).ca_bundle_resolver is (
        resolver
    )


class _NoSecrets:
    async def read_secret(self, namespace: str, name: str) -> repositorysource.SecretData | None:
        return None
