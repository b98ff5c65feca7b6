"""The typed client against a real standalone porch-server (repositories and secrets)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from api.core import v1 as corev1
from api.meta import v1 as metav1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import errors as apierrors
from pkg.client import client, config, errors
from test.e2e.conftest import PorchServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def porch(porch_server: PorchServer) -> Iterator[client.Client]:
    loaded = config.load(
        config.Overrides(kubeconfig=str(porch_server.kubeconfig), namespace="client-e2e")
    )
    with client.Client(loaded.with_user_agent("porch-client-e2e/1")) as c:
        yield c


# Nothing listens there: the server's sync fails fast and never leaves the machine.
UNREACHABLE = "http://127.0.0.1:9/r.git"


def _repository(name: str, address: str = UNREACHABLE) -> configv1alpha1.Repository:
    return configv1alpha1.Repository(
        metadata=metav1.ObjectMeta(name=name),
        spec=configv1alpha1.RepositorySpec(
            type="git", git=configv1alpha1.GitRepository(repo=address), description="d"
        ),
    )


def test_repository_crud(porch: client.Client) -> None:
    created = porch.repositories.create(_repository("blueprints"))
    assert created.metadata is not None
    assert created.metadata.namespace == "client-e2e"
    assert created.metadata.resource_version
    got = porch.repositories.get("blueprints")
    assert got.spec is not None and got.spec.git is not None
    assert got.spec.git.repo == UNREACHABLE
    assert got.spec.git.branch == "main"  # the CRD default, applied by the server

    def change() -> configv1alpha1.Repository:
        # The server's sync writes the status concurrently: re-read and retry on conflicts.
        current = porch.repositories.get("blueprints")
        assert current.spec is not None
        current.spec.description = "changed"
        return porch.repositories.update(current)

    updated = client.retry_on_conflict(change)
    assert updated.spec is not None and updated.spec.description == "changed"

    patched = porch.repositories.patch("blueprints", {"metadata": {"labels": {"team": "a"}}})
    assert patched.metadata is not None and patched.metadata.labels == {"team": "a"}

    listed = porch.repositories.list(label_selector="team=a")
    assert [r.metadata.name for r in listed.items if r.metadata] == ["blueprints"]
    assert porch.repositories.list(label_selector="team=b").items == []

    porch.repositories.delete("blueprints")
    # The repository finalizer runs first (as kubectl delete does, wait until it is gone).
    deadline = time.monotonic() + 30
    while True:
        try:
            porch.repositories.get("blueprints")
        except errors.NotFoundError as gone:
            assert str(gone) == 'repositories.config.porch.kpt.dev "blueprints" not found'
            assert apierrors.is_not_found(gone)
            break
        assert time.monotonic() < deadline, "the repository was never deleted"
        time.sleep(0.1)


def test_errors_carry_the_servers_status(porch: client.Client) -> None:
    porch.repositories.create(_repository("dup"))
    with pytest.raises(errors.AlreadyExistsError) as exists:
        porch.repositories.create(_repository("dup"))
    assert exists.value.status.reason == "AlreadyExists"
    assert exists.value.code == 409

    stale = porch.repositories.get("dup")

    def first() -> configv1alpha1.Repository:
        fresh = porch.repositories.get("dup")
        assert fresh.spec is not None
        fresh.spec.description = "first"
        return porch.repositories.update(fresh)

    client.retry_on_conflict(first)
    assert stale.spec is not None
    stale.spec.description = "second"
    with pytest.raises(errors.ConflictError, match="the object has been modified"):
        porch.repositories.update(stale)

    with pytest.raises(errors.InvalidError) as invalid:
        porch.repositories.create(_repository("Not_A_Name"))
    assert invalid.value.details is not None
    assert any(c.field == "metadata.name" for c in invalid.value.details.causes or [])


def test_secrets(porch: client.Client) -> None:
    secret = corev1.Secret(
        metadata=metav1.ObjectMeta(name="creds"),
        type="kubernetes.io/basic-auth",
        data={"username": "bmVwaGlv", "password": "c2VjcmV0"},
    )
    porch.secrets.create(secret)
    assert porch.secrets.get("creds").data == {"username": "bmVwaGlv", "password": "c2VjcmV0"}
    porch.secrets.delete("creds")
    with pytest.raises(errors.NotFoundError):
        porch.secrets.delete("creds")


def test_table_and_watch(porch: client.Client) -> None:
    listed = porch.repositories.list()
    rv = listed.metadata.resource_version if listed.metadata else None
    seen: list[tuple[str, str]] = []
    done = threading.Event()

    def watch() -> None:
        with porch.repositories.watch(resource_version=rv, timeout_seconds=10) as stream:
            for event in stream:
                name = event.object.metadata.name if event.object.metadata else ""
                seen.append((event.type, name or ""))
                if event.type == "DELETED":
                    break
        done.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    porch.repositories.create(_repository("watched"))
    table = porch.repositories.list_table()
    assert [c.name for c in table.column_definitions][:3] == ["Name", "Type", "Content"]
    assert [row.cells[0] for row in table.rows] == ["watched"]
    one = porch.repositories.get_table("watched")
    assert len(one.rows) == 1
    porch.repositories.delete("watched")
    assert done.wait(15)
    assert seen[0] == ("ADDED", "watched")
    assert seen[-1] == ("DELETED", "watched")


def test_all_namespaces_and_default_namespace(porch_server: PorchServer) -> None:
    kubeconfig = str(porch_server.kubeconfig)
    with (
        client.Client(config.load(config.Overrides(kubeconfig=kubeconfig, namespace="a"))) as a,
        client.Client(config.load(config.Overrides(kubeconfig=kubeconfig, namespace="b"))) as b,
    ):
        a.repositories.create(_repository("one"))
        b.repositories.create(_repository("two"))
        names = {
            (r.metadata.namespace, r.metadata.name)
            for r in a.repositories.list(all_namespaces=True).items
            if r.metadata
        }
        assert {("a", "one"), ("b", "two")} <= names
        assert [r.metadata.name for r in a.repositories.list().items if r.metadata] == ["one"]
