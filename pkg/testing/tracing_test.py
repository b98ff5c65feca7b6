"""The git backend's spans, recorded with the OpenTelemetry SDK.

Kept here, not beside `pkg/externalrepo/git`, because the library packages must not import the
SDK (not even from their tests); see `pkg/testing/tracing.py`.
"""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import cache, git
from pkg.repository import repository as repo_api
from pkg.testing import gitserver, repositories

KPTFILE = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n"
INIT = porchv1alpha1.Task.model_validate({"type": "init", "init": {"description": "d"}})


async def test_git_backend_spans_are_named_like_porchs(
    git_server: gitserver.GitServer,
    git_cache: cache.GitCache,
    span_exporter: InMemorySpanExporter,
) -> None:
    git_server.create_from_tar("repo.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar")
    repo = await git.open_repository(
        repositories.repository_object("repo", git_server.repo_url("repo.git")),
        git.GitRepositoryOptions(cache=git_cache),
    )
    draft = await repo.create_package_revision_draft(
        repo_api.PackageRevisionKey(
            pkg_key=repo_api.PackageKey.from_package_path(repo.key, "pkg"),
            revision=0,
            workspace_name=repo_api.WorkspaceName("ws"),
        )
    )
    await draft.update_resources({"Kptfile": KPTFILE}, INIT)
    await repo.close_package_revision_draft(draft)
    await repo.list_package_revisions()

    spans = {span.name: span for span in span_exporter.get_finished_spans()}
    assert {
        "gitRepository::OpenRepository",
        "gitRepository::fetchRemoteRepository",
        "gitRepository::CreatePackageRevisionDraft",
        "gitPackageRevisionDraft::UpdateResources",
        "gitRepository::ClosePackageRevisionDraft",
        "gitRepository::pushAndCleanup",
        "gitRepository::ListPackageRevisions",
    } <= set(spans)
    close = spans["gitRepository::ClosePackageRevisionDraft"]
    assert close.attributes is not None
    assert dict(close.attributes) == {
        "repository": "default/repo",
        "package": "pkg",
        "workspace": "ws",
    }
    # The push ran on the clone's thread, inside the close span.
    push = spans["gitRepository::pushAndCleanup"]
    assert push.parent is not None and push.parent.span_id == close.context.span_id
