"""Helpers for tests that register repositories: shared test data and Repository objects.

Used by the git backend's tests and, later, by server tests that register the same
repositories through the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.repository import credentials, errors

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
"""`../shared` beside the repository root: read-only test data and references."""

TESTDATA = SHARED / "testdata"
TEST_BLUEPRINTS_BUNDLE = TESTDATA / "test-blueprints.bundle"
PORCH_GIT_REPOS = TESTDATA / "porch-git-repos"


def repository_object(
    name: str,
    url: str,
    *,
    namespace: str = "default",
    branch: str | None = None,
    directory: str | None = None,
    secret: str | None = None,
    create_branch: bool | None = None,
    author: str | None = None,
    email: str | None = None,
    deployment: bool | None = None,
) -> configv1alpha1.Repository:
    """A `config.porch.kpt.dev/v1alpha1` Repository of type git, as a user would write it."""
    git: dict[str, object] = {"repo": url}
    for field, value in (
        ("branch", branch),
        ("directory", directory),
        ("createBranch", create_branch),
        ("author", author),
        ("email", email),
    ):
        if value is not None:
            git[field] = value
    if secret is not None:
        git["secretRef"] = {"name": secret}
    spec: dict[str, object] = {"type": "git", "git": git}
    if deployment is not None:
        spec["deployment"] = deployment
    return configv1alpha1.Repository.model_validate(
        {
            "apiVersion": "config.porch.kpt.dev/v1alpha1",
            "kind": "Repository",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )


class StaticCredentialResolver:
    """A `CredentialResolver` over fixed Secrets: (namespace, name) -> credential(s).

    A list of credentials is handed out in order (the last one repeats), which models a
    Secret rotated between two reads. Every lookup is recorded in `calls`.
    """

    def __init__(
        self,
        secrets: Mapping[tuple[str, str], credentials.Credential | list[credentials.Credential]],
    ) -> None:
        self._secrets = {
            key: list(value) if isinstance(value, list) else [value]
            for key, value in secrets.items()
        }
        self.calls: list[tuple[str, str]] = []

    async def resolve(self, namespace: str, secret_name: str) -> credentials.Credential:
        self.calls.append((namespace, secret_name))
        values = self._secrets.get((namespace, secret_name))
        if not values:
            raise errors.NotFoundError(f'secret "{namespace}/{secret_name}" not found')
        return values.pop(0) if len(values) > 1 else values[0]


class StaticCABundles:
    """A `CABundleResolver` over fixed bundles: namespace -> PEM (a list: handed out in
    order, the last repeating, as a Secret created or replaced between two reads)."""

    def __init__(self, bundles: dict[str, bytes | list[bytes | None] | None]) -> None:
        self._bundles = {
            namespace: list(value) if isinstance(value, list) else [value]
            for namespace, value in bundles.items()
        }
        self.calls: list[str] = []

    async def ca_bundle(self, namespace: str) -> bytes | None:
        self.calls.append(namespace)
        values = self._bundles.get(namespace, [None])
        return values.pop(0) if len(values) > 1 else values[0]
