"""Repository registration and git credentials over the standalone server's real stores:
the finalizer a user sees on a Repository, deletion that waits for unregistration, and the
credentials Secrets turn into (never leaking their values)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.core import v1 as corev1
from api.meta import v1 as metav1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apiserver import pki
from pkg.cache import cachetesting, repocache, repositorycontroller, sync
from pkg.cmd.server import repositorysource, standalone
from pkg.registry.generic import store
from pkg.registry.rest import rest
from pkg.repository import credentials, errors

FAST = sync.SyncOptions(repo_sync_frequency=60, max_jitter=0, retry_initial=0.05)
CTX = rest.RequestContext(namespace="default", user=store.SYSTEM_USER)
FINALIZER = "config.porch.kpt.dev/repository"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def _until(predicate: Callable[[], Awaitable[bool]], limit: float = 5) -> None:
    """Poll what background tasks (controller, syncs) change until ``predicate`` holds."""
    async with asyncio.timeout(limit):
        while not await predicate():  # noqa: ASYNC110 (state of background tasks, no event)
            await asyncio.sleep(0.01)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[standalone.StandaloneStores]:
    async with standalone.open_stores(tmp_path / "data", [tmp_path / "repos"]) as opened:
        yield opened


async def _create_repository(
    stores: standalone.StandaloneStores, name: str, finalizers: list[str] | None = None
) -> configv1alpha1.Repository:
    repo = cachetesting.repository_object(name)
    assert repo.metadata is not None
    repo.metadata.finalizers = finalizers
    created = await stores.repositories.create(CTX, repo, rest.CreateOptions())
    assert isinstance(created, configv1alpha1.Repository)
    return created


async def _stored(
    stores: standalone.StandaloneStores, name: str
) -> configv1alpha1.Repository | None:
    return await standalone.StoreRepositories(stores.repositories).get_repository("default", name)


async def _finalizers(stores: standalone.StandaloneStores, name: str) -> list[str] | None:
    """The stored object's finalizers; None when the object is gone."""
    repo = await _stored(stores, name)
    if repo is None or repo.metadata is None:
        return None
    return repo.metadata.finalizers or []


@dataclass
class Registration:
    stores: standalone.StandaloneStores
    cache: repocache.RepositoryCache
    source: repositorysource.FinalizingRepositorySource
    controller: repositorycontroller.RepositoryController


@pytest.fixture
async def registration(stores: standalone.StandaloneStores) -> AsyncIterator[Registration]:
    cache = cachetesting.new_fake_cache()
    source = repositorysource.FinalizingRepositorySource(
        standalone.StoreRepositories(stores.repositories)
    )
    controller = repositorycontroller.RepositoryController(cache, source, options=FAST)
    yield Registration(stores, cache, source, controller)
    await controller.stop()
    await cache.close()


async def test_a_registered_repository_gets_the_finalizer_and_ready_status(
    registration: Registration,
) -> None:
    await _create_repository(registration.stores, "before-start")
    registration.controller.start()
    await _create_repository(registration.stores, "after-start")
    for name in ("before-start", "after-start"):

        async def registered(name: str = name) -> bool:
            return registration.cache.get_repository("default", name) is not None and (
                FINALIZER in (await _finalizers(registration.stores, name) or [])
            )

        await _until(registered)
    repo = await registration.source.get_repository("default", "after-start")
    assert repo is not None

    async def ready() -> bool:
        return await _ready_status(registration.stores, "after-start") == "True"

    await _until(ready)


async def _ready_status(stores: standalone.StandaloneStores, name: str) -> str | None:
    repo = await _stored(stores, name)
    if repo is None or repo.status is None:
        return None
    for condition in repo.status.conditions or []:
        if condition.type == "Ready":
            return condition.status
    return None


async def test_deleting_a_repository_unregisters_it_before_it_goes(
    registration: Registration,
) -> None:
    await _create_repository(registration.stores, "doomed", finalizers=["example.com/keep"])
    registration.controller.start()

    async def registered() -> bool:
        return registration.cache.get_repository("default", "doomed") is not None and (
            FINALIZER in (await _finalizers(registration.stores, "doomed") or [])
        )

    await _until(registered)
    _, deleted_now = await registration.stores.repositories.delete(
        CTX, "doomed", metav1.DeleteOptions()
    )
    assert not deleted_now  # finalizers hold it

    async def released() -> bool:
        return registration.cache.get_repository("default", "doomed") is None and (
            await _finalizers(registration.stores, "doomed") == ["example.com/keep"]
        )

    await _until(released)
    # The other finalizer's owner lets go: the object is gone.
    assert await registration.source.get_repository("default", "doomed") is None
    held = await registration.stores.repositories.client().get("default", "doomed")
    assert held.metadata is not None
    held.metadata.finalizers = None
    await registration.stores.repositories.client().update(held)
    assert await _stored(registration.stores, "doomed") is None


async def test_a_deletion_that_happened_while_stopped_is_finished_at_start(
    registration: Registration,
) -> None:
    await _create_repository(registration.stores, "gone-offline", finalizers=[FINALIZER])
    await registration.stores.repositories.delete(CTX, "gone-offline", metav1.DeleteOptions())
    assert await _stored(registration.stores, "gone-offline") is not None
    registration.controller.start()

    async def gone() -> bool:
        return await _stored(registration.stores, "gone-offline") is None

    await _until(gone)
    assert registration.cache.get_repository("default", "gone-offline") is None


# -- credentials -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret_type", "data", "expected"),
    [
        pytest.param(
            "kubernetes.io/basic-auth",
            {"username": _b64("porch"), "password": _b64("s3cr3t")},
            credentials.BasicAuth("porch", "s3cr3t"),
            id="basic-auth",
        ),
        pytest.param(
            "Opaque",
            {"bearerToken": _b64("tok-123")},
            credentials.BearerToken("tok-123"),
            id="bearer",
        ),
        pytest.param(
            "Opaque",
            {"bearerToken": _b64("tok-123")[:4] + "\n" + _b64("tok-123")[4:]},
            credentials.BearerToken("tok-123"),
            id="line-broken-base64",
        ),
    ],
)
def test_credentials_from_secrets(
    secret_type: str, data: dict[str, str], expected: credentials.Credential
) -> None:
    assert repositorysource.credential_from_secret("git", secret_type, data) == expected


@pytest.mark.parametrize(
    ("secret_type", "data", "message"),
    [
        pytest.param(
            "kubernetes.io/basic-auth",
            {"username": _b64("porch")},
            'secret "git" of type kubernetes.io/basic-auth has no "password"',
            id="basic-auth-without-password",
        ),
        pytest.param(
            "Opaque",
            {"token": _b64("hunter2")},
            'secret "git" of type Opaque has no "bearerToken"',
            id="opaque-without-bearer-token",
        ),
        pytest.param(
            "kubernetes.io/tls",
            {"tls.key": _b64("hunter2")},
            'secret "git" has type kubernetes.io/tls; git credentials need type',
            id="other-type",
        ),
        pytest.param(
            "Opaque",
            {"bearerToken": "hunter2!"},
            'secret "git": key "bearerToken" is not base64-encoded UTF-8 text',
            id="not-base64",
        ),
    ],
)
def test_secrets_without_a_credential_are_named_not_shown(
    secret_type: str, data: dict[str, str], message: str
) -> None:
    with pytest.raises(errors.InvalidRepositoryError) as caught:
        repositorysource.credential_from_secret("git", secret_type, data)
    assert message in str(caught.value)
    assert "hunter2" not in str(caught.value)


async def test_the_resolver_reads_secrets_from_the_store(
    stores: standalone.StandaloneStores,
) -> None:
    secret = corev1.Secret(
        metadata=metav1.ObjectMeta(name="git-auth", namespace="default"),
        type="kubernetes.io/basic-auth",
        string_data={"username": "porch", "password": "s3cr3t"},
    )
    await stores.secrets.create(CTX, secret, rest.CreateOptions())
    resolver = repositorysource.SecretCredentialResolver(standalone.StoreSecrets(stores.secrets))
    found = await resolver.resolve("default", "git-auth")
    assert found == credentials.BasicAuth("porch", "s3cr3t")
    assert "s3cr3t" not in repr(found)
    with pytest.raises(
        errors.NotFoundError, match='secret "git-auth" not found in namespace other'
    ):
        await resolver.resolve("other", "git-auth")


async def test_a_stale_finalizer_write_is_reported_as_stale(
    stores: standalone.StandaloneStores,
) -> None:
    api = standalone.StoreRepositories(stores.repositories)
    created = await _create_repository(stores, "raced")
    await api.set_finalizers(created, [FINALIZER])
    assert await _finalizers(stores, "raced") == [FINALIZER]
    with pytest.raises(repositorysource.StaleObjectError):
        await api.set_finalizers(created, [])  # the version read before the first write
    assert await _finalizers(stores, "raced") == [FINALIZER]


async def test_a_namespace_ca_bundle_comes_from_its_ca_bundle_secret(
    stores: standalone.StandaloneStores,
) -> None:
    ca = pki.new_ca("internal-git-ca").cert_pem
    other = pki.new_ca("another-ca").cert_pem
    resolver = repositorysource.SecretCredentialResolver(standalone.StoreSecrets(stores.secrets))
    # No Secret: no custom CA, not an error (Porch).
    assert await resolver.ca_bundle("default") is None
    await stores.secrets.create(
        CTX,
        corev1.Secret(
            metadata=metav1.ObjectMeta(name="default-ca-bundle", namespace="default"),
            string_data={"ca.crt": (ca + other).decode()},
        ),
        rest.CreateOptions(),
    )
    assert await resolver.ca_bundle("default") == ca + other
    # Another namespace's Secret is not read for this one.
    assert await resolver.ca_bundle("other") is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"tls.crt": _b64("x")},
            'CA bundle secret "team-a-ca-bundle" has no "ca.crt"',
            id="no-ca-crt",
        ),
        pytest.param(
            {"ca.crt": _b64("not a certificate")},
            'CA bundle secret "team-a-ca-bundle": key "ca.crt" does not hold PEM certificates',
            id="not-pem",
        ),
        pytest.param(
            {
                "ca.crt": _b64(
                    "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
                )
            },
            'CA bundle secret "team-a-ca-bundle": key "ca.crt" does not hold PEM certificates',
            id="broken-certificate",
        ),
        pytest.param(
            {"ca.crt": "%%%"},
            'secret "team-a-ca-bundle": key "ca.crt" is not base64-encoded UTF-8 text',
            id="not-base64",
        ),
    ],
)
def test_an_unusable_ca_bundle_is_a_repository_error_naming_secret_and_key(
    data: dict[str, str], message: str
) -> None:
    name = repositorysource.ca_bundle_secret_name("team-a")
    with pytest.raises(errors.InvalidRepositoryError) as caught:
        repositorysource.ca_bundle_from_secret(name, data)
    assert message in str(caught.value)
