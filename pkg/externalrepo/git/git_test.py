"""Writes through the git backend against a real remote, checked with the git CLI.

The remote is a real `git http-backend` on loopback with HTTP basic auth; refs, commit
messages, parents and authors are read back with `git` exactly as a person inspecting the
repository would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import cache, git
from pkg.repository import credentials, errors
from pkg.repository import repository as repo_api
from pkg.testing import gitserver, repositories

ALICE = repo_api.UserInfo("alice", frozenset({"system:authenticated"}))
BOB = repo_api.UserInfo("bob", frozenset({"system:authenticated"}))
PORCH = "Package Orchestration Service <porch@kpt.dev>"

KPTFILE = """apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: basens
info:
  description: base namespace
"""
INIT = porchv1alpha1.Task.model_validate(
    {"type": "init", "init": {"description": "base namespace"}}
)


def _git(remote: Path, *args: str) -> str:
    return gitserver.git("--git-dir", remote, *args)


def _show(remote: Path, ref: str) -> dict[str, str]:
    """Author, committer, parents and message of the commit at `ref`."""
    out = _git(remote, "log", "-1", "--format=%an <%ae>%n%cn <%ce>%n%P%n%B", ref)
    author, committer, parents, message = out.split("\n", 3)
    return {"author": author, "committer": committer, "parents": parents, "message": message}


def _annotation(message: str) -> dict[str, object]:
    line = next(line for line in message.splitlines() if line.startswith("kpt:"))
    loaded = json.loads(line[len("kpt:") :])
    assert isinstance(loaded, dict)
    return loaded


def _key(repo: git.GitRepository, package: str, workspace: str) -> repo_api.PackageRevisionKey:
    return repo_api.PackageRevisionKey(
        pkg_key=repo_api.PackageKey.from_package_path(repo.key, package),
        revision=0,
        workspace_name=repo_api.WorkspaceName(workspace),
    )


async def _find(repo: git.GitRepository, name: str) -> git.GitPackageRevision:
    for revision in await repo.list_package_revisions():
        if revision.name == name:
            return revision
    raise AssertionError(f"{name} not listed")


@pytest.fixture
def auth_server(tmp_path: Path) -> Iterator[gitserver.GitServer]:
    """A server requiring basic auth, serving a trivial repository as nephio/porch-test."""
    with gitserver.GitServer(tmp_path / "auth-server", basic_auth=("porch", "s3cret")) as server:
        server.create_from_tar(
            "nephio/porch-test.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar"
        )
        yield server


def _options(git_cache: cache.GitCache, **overrides: object) -> git.GitRepositoryOptions:
    resolver = repositories.StaticCredentialResolver(
        {("default", "git-auth"): credentials.BasicAuth("porch", "s3cret")}
    )
    settings: dict[str, object] = {
        "cache": git_cache,
        "credential_resolver": resolver,
        "retry_delay": 0.01,
    }
    settings.update(overrides)
    return git.GitRepositoryOptions(**settings)  # type: ignore[arg-type]


async def test_full_write_cycle_over_http_with_basic_auth(
    auth_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    remote = auth_server.path("nephio/porch-test.git")
    url = auth_server.repo_url("nephio/porch-test.git")
    repo = await git.open_repository(
        repositories.repository_object("porch-test", url, secret="git-auth"), _options(git_cache)
    )
    initial_main = _git(remote, "rev-parse", "main").strip()

    # 1. create a draft: one commit, pushed to drafts/<pkg>/<ws>, authored by the user
    draft = await repo.create_package_revision_draft(_key(repo, "basens", "ws1"), user=ALICE)
    await draft.update_resources(
        {"Kptfile": KPTFILE, "README.md": "# basens\n", "sub/cm.yaml": "kind: ConfigMap\n"},
        INIT,
    )
    created = await repo.close_package_revision_draft(draft)
    assert created.name == "porch-test.basens.ws1"
    assert created.lifecycle is repo_api.Lifecycle.DRAFT
    assert [t.type for t in created.tasks] == ["init"]
    assert auth_server.refs("nephio/porch-test.git")["refs/heads/drafts/basens/ws1"] == (
        created.resource_version
    )
    shown = _show(remote, "drafts/basens/ws1")
    assert shown["author"] == "alice <alice>"
    assert shown["committer"] == PORCH
    assert shown["parents"] == initial_main
    assert shown["message"].startswith("Creating new empty revision\n\nkpt:")
    assert _annotation(shown["message"]) == {
        "package": "basens",
        "workspaceName": "ws1",
        "revision": "0",
        "task": {"type": "init", "init": {"description": "base namespace"}},
    }
    assert _git(remote, "ls-tree", "-r", "--name-only", "drafts/basens/ws1").split() == [
        "basens/Kptfile",
        "basens/README.md",
        "basens/sub/cm.yaml",
    ]
    assert await created.resources() == {
        "Kptfile": KPTFILE,
        "README.md": "# basens\n",
        "sub/cm.yaml": "kind: ConfigMap\n",
    }

    # 2. new resources (the whole tree is replaced) and propose
    editing = await repo.update_package_revision(created, user=ALICE)
    await editing.update_resources({"Kptfile": KPTFILE, "README.md": "# basens v1\n"}, None)
    await editing.update_lifecycle(repo_api.Lifecycle.PROPOSED)
    proposed = await repo.close_package_revision_draft(editing)
    assert proposed.lifecycle is repo_api.Lifecycle.PROPOSED
    refs_now = auth_server.refs("nephio/porch-test.git")
    assert "refs/heads/drafts/basens/ws1" not in refs_now
    assert refs_now["refs/heads/proposed/basens/ws1"] == proposed.resource_version
    render = _show(remote, "proposed/basens/ws1")
    assert render["message"].startswith("Rendering package\n\nkpt:")
    assert _annotation(render["message"])["task"] == {"type": "render"}
    assert render["parents"] == created.resource_version
    assert await proposed.resources() == {"Kptfile": KPTFILE, "README.md": "# basens v1\n"}
    assert [t.type for t in proposed.tasks] == ["init"]

    # 3. approve: merge commit on main + tag + proposed branch removed, in one push
    approving = await repo.update_package_revision(proposed, user=BOB)
    await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    v1 = await repo.close_package_revision_draft(approving)
    assert (v1.name, v1.key.revision, v1.lifecycle) == (
        "porch-test.basens.ws1",
        1,
        repo_api.Lifecycle.PUBLISHED,
    )
    refs_now = auth_server.refs("nephio/porch-test.git")
    assert "refs/heads/proposed/basens/ws1" not in refs_now
    assert refs_now["refs/tags/basens/v1"] == refs_now["refs/heads/main"] == v1.resource_version
    approval = _show(remote, "basens/v1")
    assert approval["parents"] == f"{initial_main} {proposed.resource_version}"
    assert approval["author"] == "bob <bob>"
    assert approval["committer"] == PORCH
    assert approval["message"].startswith("Approving package revision basens/1\n\nkpt:")
    assert await repo.branch_head() == refs_now["refs/heads/main"]
    assert _annotation(approval["message"]) == {
        "package": "basens",
        "workspaceName": "ws1",
        "revision": "1",
    }
    assert v1.published_by == "bob"
    assert [t.type for t in v1.tasks] == ["init"]
    assert _git(remote, "show", "main:basens/README.md") == "# basens v1\n"

    # 4. copy (edit task) into a new workspace, then approve with an explicit revision
    copying = await repo.create_package_revision_draft(_key(repo, "basens", "ws2"), user=ALICE)
    resources = await v1.resources()
    resources["README.md"] = "# basens v2\n"
    edit = porchv1alpha1.Task.model_validate(
        {"type": "edit", "edit": {"sourceRef": {"name": v1.name}}}
    )
    await copying.update_resources(resources, edit)
    copy = await repo.close_package_revision_draft(copying)
    assert _show(remote, "drafts/basens/ws2")["message"].startswith(
        "Creating new revision by copying previous revision"
    )
    approving = await repo.update_package_revision(copy, user=BOB)
    await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    v2 = await repo.close_package_revision_draft(approving, revision=2)
    assert v2.key.revision == 2
    assert [t.type for t in v2.tasks] == ["edit"]
    assert "refs/heads/drafts/basens/ws2" not in auth_server.refs("nephio/porch-test.git")

    revisions: dict[str, git.GitPackageRevision] = {
        r.name: r for r in await repo.list_package_revisions()
    }
    assert set(revisions) == {
        "porch-test.basens.ws1",
        "porch-test.basens.ws2",
        "porch-test.basens.main",
    }
    placeholder = revisions["porch-test.basens.main"]
    assert placeholder.key.revision == -1
    assert placeholder.published_by == "bob"
    assert [t.type for t in placeholder.tasks] == ["edit"]
    assert (await repo.list_packages())[0].latest_revision == 2

    # 5. propose deletion of v1, then delete it: tag and deletion branch disappear
    proposing = await repo.update_package_revision(revisions["porch-test.basens.ws1"])
    await proposing.update_lifecycle(repo_api.Lifecycle.DELETION_PROPOSED)
    doomed = await repo.close_package_revision_draft(proposing)
    assert doomed.lifecycle is repo_api.Lifecycle.DELETION_PROPOSED
    assert auth_server.refs("nephio/porch-test.git")["refs/heads/deletionProposed/basens/v1"] == (
        v1.resource_version
    )
    listed = await _find(repo, "porch-test.basens.ws1")
    assert listed.lifecycle is repo_api.Lifecycle.DELETION_PROPOSED
    await repo.delete_package_revision(listed, user=ALICE)
    refs_now = auth_server.refs("nephio/porch-test.git")
    assert "refs/tags/basens/v1" not in refs_now
    assert "refs/heads/deletionProposed/basens/v1" not in refs_now
    assert "refs/tags/basens/v2" in refs_now

    # 6. delete the placeholder: a "Delete basens" commit on main
    placeholder = await _find(repo, "porch-test.basens.main")
    proposing = await repo.update_package_revision(placeholder)
    await proposing.update_lifecycle(repo_api.Lifecycle.DELETION_PROPOSED)
    await repo.close_package_revision_draft(proposing)
    assert "refs/heads/deletionProposed/basens/main" in auth_server.refs("nephio/porch-test.git")
    await repo.delete_package_revision(await _find(repo, "porch-test.basens.main"), user=ALICE)
    deletion = _show(remote, "main")
    assert deletion["message"].strip() == "Delete basens"
    assert deletion["author"] == "alice <alice>"
    assert _git(remote, "ls-tree", "--name-only", "main").split() == []
    refs_now = auth_server.refs("nephio/porch-test.git")
    assert "refs/heads/deletionProposed/basens/main" not in refs_now
    assert {r.name for r in await repo.list_package_revisions()} == {"porch-test.basens.ws2"}

    # Every request carried the credentials (after libgit2's first, anonymous, probe).
    assert {r.auth_scheme for r in auth_server.requests if r.status != 401} == {"Basic"}
    await repo.close()


async def test_stale_snapshot_conflicts_and_loses_nothing(
    git_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    git_server.create_from_tar("repo.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar")
    repo = await git.open_repository(
        repositories.repository_object("repo", git_server.repo_url("repo.git")),
        _options(git_cache),
    )
    draft = await repo.create_package_revision_draft(_key(repo, "pkg", "ws"))
    await draft.update_resources({"Kptfile": KPTFILE}, INIT)
    snapshot = await repo.close_package_revision_draft(draft)

    first = await repo.update_package_revision(snapshot)
    second = await repo.update_package_revision(snapshot)
    await first.update_resources({"Kptfile": KPTFILE, "a.yaml": "a: 1\n"}, None)
    await second.update_resources({"Kptfile": KPTFILE, "b.yaml": "b: 2\n"}, None)
    winner = await repo.close_package_revision_draft(first)
    with pytest.raises(errors.ConflictError, match="has been modified"):
        await repo.close_package_revision_draft(second)
    assert git_server.refs("repo.git")["refs/heads/drafts/pkg/ws"] == winner.resource_version
    assert sorted(await (await _find(repo, "repo.pkg.ws")).resources()) == ["Kptfile", "a.yaml"]

    # Deleting from the stale snapshot is refused too.
    with pytest.raises(errors.ConflictError):
        await repo.delete_package_revision(snapshot)
    # Creating a revision whose branch exists is refused.
    again = await repo.create_package_revision_draft(_key(repo, "pkg", "ws"))
    await again.update_resources({"Kptfile": KPTFILE}, INIT)
    with pytest.raises(errors.AlreadyExistsError, match="drafts/pkg/ws already exists"):
        await repo.close_package_revision_draft(again)
    assert git_server.refs("repo.git")["refs/heads/drafts/pkg/ws"] == winner.resource_version

    # Deleting is idempotent; updating what is gone is NotFound.
    current = await _find(repo, "repo.pkg.ws")
    await repo.delete_package_revision(current)
    await repo.delete_package_revision(current)
    assert "refs/heads/drafts/pkg/ws" not in git_server.refs("repo.git")
    late = await repo.update_package_revision(current)
    await late.update_resources({"Kptfile": KPTFILE}, None)
    with pytest.raises(errors.NotFoundError, match="no longer exists"):
        await repo.close_package_revision_draft(late)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("../escape.yaml", "'..' segments"),
        ("sub/../../escape.yaml", "'..' segments"),
        ("/etc/passwd", "relative"),
        ("C:/x.yaml", "relative"),
        ("a\x00b", "NUL"),
        (".git/config", ".git"),
        ("sub/.GIT/hooks/pre-commit", ".git"),
        ("sub\\x.yaml", "backslash"),
        ("./x.yaml", "'.' or '..'"),
        ("sub//x.yaml", "empty segments"),
        ("sub/", "empty segments"),
        ("line\nbreak", "control character"),
    ],
)
async def test_unsafe_paths_are_refused_and_nothing_is_written(
    git_server: gitserver.GitServer, git_cache: cache.GitCache, path: str, problem: str
) -> None:
    git_server.create_from_tar("repo.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar")
    repo = await git.open_repository(
        repositories.repository_object("repo", git_server.repo_url("repo.git")),
        _options(git_cache),
    )
    draft = await repo.create_package_revision_draft(_key(repo, "pkg", "ws"))
    clone = next((git_cache.root / "git").iterdir())
    before = gitserver.git("--git-dir", clone, "count-objects", "-v")
    with pytest.raises(errors.InvalidPackageError, match=problem):
        await draft.update_resources({"Kptfile": KPTFILE, path: "x"}, INIT)
    assert gitserver.git("--git-dir", clone, "count-objects", "-v") == before
    with pytest.raises(errors.InvalidPackageError, match="Kptfile"):
        await repo.close_package_revision_draft(draft)
    assert set(git_server.refs("repo.git")) == {"refs/heads/main"}


async def test_file_and_directory_clash_and_missing_kptfile(
    git_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    git_server.create_from_tar("repo.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar")
    repo = await git.open_repository(
        repositories.repository_object("repo", git_server.repo_url("repo.git")),
        _options(git_cache),
    )
    draft = await repo.create_package_revision_draft(_key(repo, "pkg", "ws"))
    with pytest.raises(errors.InvalidPackageError, match="is a file, not a directory"):
        await draft.update_resources({"Kptfile": KPTFILE, "a": "x", "a/b": "y"}, INIT)
    with pytest.raises(errors.InvalidPackageError, match="package must contain Kptfile at root"):
        await draft.update_resources({"sub/Kptfile": KPTFILE}, INIT)


@pytest.mark.parametrize(
    ("spec_author", "spec_email", "user", "expected"),
    [
        ("", "", ALICE, "alice <alice>"),
        ("porch", "", ALICE, "porch <>"),
        ("", "porch@example.com", ALICE, "porch@example.com <porch@example.com>"),
        ("porch", "porch@example.com", ALICE, "porch <porch@example.com>"),
        ("", "", repo_api.UserInfo("anonymous"), PORCH),
        ("", "", None, PORCH),
    ],
    ids=["user", "author-only", "email-only", "author-and-email", "unauthenticated", "no-user"],
)
async def test_commit_author(
    git_server: gitserver.GitServer,
    git_cache: cache.GitCache,
    spec_author: str,
    spec_email: str,
    user: repo_api.UserInfo | None,
    expected: str,
) -> None:
    git_server.create_from_tar("repo.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar")
    repo = await git.open_repository(
        repositories.repository_object(
            "repo",
            git_server.repo_url("repo.git"),
            author=spec_author or None,
            email=spec_email or None,
        ),
        _options(git_cache),
    )
    draft = await repo.create_package_revision_draft(_key(repo, "pkg", "v1"), user=user)
    await draft.update_resources({"Kptfile": KPTFILE}, INIT)
    await draft.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    published = await repo.close_package_revision_draft(draft)
    remote = git_server.path("repo.git")
    assert _show(remote, "pkg/v1")["author"] == expected
    assert _show(remote, "pkg/v1^2")["author"] == expected
    # publishedBy is the approval commit's author email.
    assert published.published_by == (expected.split(" <")[1].rstrip(">") or None)


async def test_bearer_token_credentials(tmp_path: Path, git_cache: cache.GitCache) -> None:
    with gitserver.GitServer(tmp_path / "srv", bearer_token="t0ken") as server:
        server.create_from_bundle("blueprints.git", repositories.TEST_BLUEPRINTS_BUNDLE)
        resolver = repositories.StaticCredentialResolver(
            {("default", "token"): credentials.BearerToken("t0ken")}
        )
        repo = await git.open_repository(
            repositories.repository_object(
                "blueprints", server.repo_url("blueprints.git"), secret="token"
            ),
            _options(git_cache, credential_resolver=resolver),
        )
        assert len(await repo.list_package_revisions()) == 16
        assert {r.auth_scheme for r in server.requests} == {"Bearer"}
        assert "t0ken" not in repr(resolver._secrets)


async def test_refused_then_rotated_credentials(
    auth_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    url = auth_server.repo_url("nephio/porch-test.git")
    wrong = repositories.StaticCredentialResolver(
        {("default", "git-auth"): credentials.BasicAuth("porch", "wrong")}
    )
    with pytest.raises(errors.BackendUnavailableError, match="authentication"):
        await git.open_repository(
            repositories.repository_object("porch-test", url, secret="git-auth"),
            _options(git_cache, credential_resolver=wrong),
        )
    rotated = repositories.StaticCredentialResolver(
        {
            ("default", "git-auth"): [
                credentials.BasicAuth("porch", "wrong"),
                credentials.BasicAuth("porch", "s3cret"),
            ]
        }
    )
    repo = await git.open_repository(
        repositories.repository_object("porch-test", url, secret="git-auth"),
        _options(git_cache, credential_resolver=rotated),
    )
    assert rotated.calls == [("default", "git-auth"), ("default", "git-auth")]
    assert await repo.list_package_revisions() == ()


async def test_https_with_a_trusted_certificate(tmp_path: Path, git_cache: cache.GitCache) -> None:
    import ssl

    import pygit2

    tls = gitserver.make_self_signed_cert(tmp_path / "tls")
    with gitserver.GitServer(tmp_path / "srv", tls=tls) as server:
        server.create_from_bundle("blueprints.git", repositories.TEST_BLUEPRINTS_BUNDLE)
        url = server.repo_url("blueprints.git")
        assert url.startswith("https://")
        with pytest.raises(errors.BackendUnavailableError, match="certificate"):
            await git.open_repository(
                repositories.repository_object("untrusted", url), _options(git_cache)
            )
        defaults = ssl.get_default_verify_paths()
        pygit2.settings.set_ssl_cert_locations(str(tls.cert), None)
        try:
            repo = await git.open_repository(
                repositories.repository_object("blueprints", url), _options(git_cache)
            )
            assert len(await repo.list_package_revisions()) == 16
            # Pushes (the git CLI) trust the same certificates as fetches (libgit2).
            draft = await repo.create_package_revision_draft(_key(repo, "tls", "ws"))
            await draft.update_resources({"Kptfile": KPTFILE}, INIT)
            created = await repo.close_package_revision_draft(draft)
            assert server.refs("blueprints.git")["refs/heads/drafts/tls/ws"] == (
                created.resource_version
            )
        finally:
            pygit2.settings.set_ssl_cert_locations(defaults.cafile, defaults.capath)


async def test_local_repositories_need_permission_and_a_root(
    tmp_path: Path, git_cache: cache.GitCache
) -> None:
    root = tmp_path / "repos"
    local = root / "blueprints.git"
    gitserver.git("clone", "--quiet", "--bare", repositories.TEST_BLUEPRINTS_BUNDLE, local)
    outside = tmp_path / "elsewhere.git"
    gitserver.git("clone", "--quiet", "--bare", repositories.TEST_BLUEPRINTS_BUNDLE, outside)

    for url in (str(local), f"file://{local}"):
        with pytest.raises(errors.ForbiddenError, match="local repositories are not allowed"):
            await git.open_repository(
                repositories.repository_object("local", url), _options(git_cache)
            )
    allowed = _options(git_cache, allow_local_repositories=True, local_repository_roots=[root])
    for url in (str(outside), f"file://{outside}", f"file://{root}/../elsewhere.git"):
        with pytest.raises(errors.ForbiddenError, match="must be under one of"):
            await git.open_repository(repositories.repository_object("local", url), allowed)
    for url in (str(local), f"file://{local}"):
        repo = await git.open_repository(repositories.repository_object("local", url), allowed)
        assert len(await repo.list_package_revisions()) == 16
        await repo.close()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"url": "ftp://example.com/repo.git"}, "unsupported scheme 'ftp'"),
        ({"url": "git://example.com/repo.git"}, "unsupported scheme 'git'"),
        ({"url": "https://example.com/r.git", "branch": "illegal$$$Characters"}, "branch name"),
        ({"url": "https://example.com/r.git", "branch": "Main"}, "branch name"),
        ({"url": "https://example.com/r.git", "directory": "a/../b"}, "directory"),
    ],
)
async def test_invalid_repository_specs(
    git_cache: cache.GitCache, spec: dict[str, str], message: str
) -> None:
    url = spec.pop("url")
    with pytest.raises(errors.InvalidRepositoryError, match=message):
        await git.open_repository(
            repositories.repository_object("bad", url, **spec),  # type: ignore[arg-type]
            _options(git_cache),
        )
    assert not (git_cache.root / "git").exists()


async def test_unreachable_remote_is_backend_unavailable(git_cache: cache.GitCache) -> None:
    with pytest.raises(errors.BackendUnavailableError):
        await git.open_repository(
            repositories.repository_object("down", "http://127.0.0.1:9/nothing.git"),
            _options(git_cache, retry_attempts=2),
        )
    # A failed open leaves no cache behind.
    assert list((git_cache.root / "git").iterdir()) == []


# --- per-namespace CA bundles (--use-user-cabundle) ---------------------------------------------


@pytest.fixture
def private_ca(tmp_path: Path) -> gitserver.TlsFiles:
    """A self-signed certificate: the private CA and the server's certificate in one."""
    return gitserver.make_self_signed_cert(tmp_path / "private-ca")


@pytest.fixture
def private_ca_server(
    tmp_path: Path, private_ca: gitserver.TlsFiles
) -> Iterator[gitserver.GitServer]:
    """An https server (basic auth) with a certificate of a private CA, so that nothing
    trusts it by default; serves the trivial repository as nephio/porch-test."""
    tls = private_ca
    with gitserver.GitServer(
        tmp_path / "ca-server", basic_auth=("porch", "s3cret"), tls=tls
    ) as server:
        server.create_from_tar(
            "nephio/porch-test.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar"
        )
        yield server


def _ca_options(
    git_cache: cache.GitCache, bundles: repositories.StaticCABundles
) -> git.GitRepositoryOptions:
    resolver = repositories.StaticCredentialResolver(
        {
            (namespace, "git-auth"): credentials.BasicAuth("porch", "s3cret")
            for namespace in ("team-a", "team-b")
        }
    )
    return _options(git_cache, credential_resolver=resolver, ca_bundle_resolver=bundles)


async def test_a_namespace_ca_bundle_is_trusted_for_its_repositories_only(
    private_ca_server: gitserver.GitServer,
    private_ca: gitserver.TlsFiles,
    git_cache: cache.GitCache,
) -> None:
    server = private_ca_server
    url = server.repo_url("nephio/porch-test.git")
    assert url.startswith("https://")
    process_wide = (pygit2.settings.ssl_cert_file, pygit2.settings.ssl_cert_dir)
    bundles = repositories.StaticCABundles({"team-a": private_ca.cert.read_bytes()})
    options = _ca_options(git_cache, bundles)
    repo = await git.open_repository(
        repositories.repository_object("porch-test", url, namespace="team-a", secret="git-auth"),
        options,
    )
    assert bundles.calls == ["team-a"]

    # list, create a draft, propose, approve: fetches and pushes over the private CA
    assert await repo.list_package_revisions() == ()
    draft = await repo.create_package_revision_draft(_key(repo, "basens", "ws1"), user=ALICE)
    await draft.update_resources({"Kptfile": KPTFILE}, INIT)
    created = await repo.close_package_revision_draft(draft)
    editing = await repo.update_package_revision(created, user=ALICE)
    await editing.update_lifecycle(repo_api.Lifecycle.PROPOSED)
    proposed = await repo.close_package_revision_draft(editing)
    approving = await repo.update_package_revision(proposed, user=BOB)
    await approving.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    v1 = await repo.close_package_revision_draft(approving)
    on_server = server.refs("nephio/porch-test.git")
    assert on_server["refs/tags/basens/v1"] == on_server["refs/heads/main"] == v1.resource_version
    assert "refs/heads/proposed/basens/ws1" not in on_server
    # A change made elsewhere arrives with the next refresh (the git CLI fetch, pruning).
    gitserver.git("--git-dir", server.path("nephio/porch-test.git"), "tag", "-d", "basens/v1")
    await repo.refresh()
    assert [r.key.revision for r in await repo.list_package_revisions()] == [-1]  # main only
    assert (pygit2.settings.ssl_cert_file, pygit2.settings.ssl_cert_dir) == process_wide

    # The same remote (and so the same cache clone) from a namespace without the CA: refused.
    with pytest.raises(errors.BackendUnavailableError) as refused:
        await git.open_repository(
            repositories.repository_object(
                "porch-test", url, namespace="team-b", secret="git-auth"
            ),
            options,
        )
    assert f"the TLS certificate of {url} is not trusted" in str(refused.value)
    # ... and with no CA bundles at all (libgit2 fetch, process-wide CAs only).
    with pytest.raises(errors.BackendUnavailableError, match="is not trusted"):
        await git.open_repository(
            repositories.repository_object("porch-test", url, secret="git-auth"),
            _options(git_cache),
        )
    # team-a's repository still works after team-b's refusal.
    await repo.refresh()
    await repo.close()


async def test_a_wrong_bundle_is_a_certificate_error_without_credentials(
    tmp_path: Path, private_ca_server: gitserver.GitServer, git_cache: cache.GitCache
) -> None:
    url = private_ca_server.repo_url("nephio/porch-test.git")
    with_user = url.replace("https://", "https://porch:in-url-s3cret@")
    bundles = repositories.StaticCABundles(
        {"team-a": gitserver.make_self_signed_cert(tmp_path / "other").cert.read_bytes()}
    )
    with pytest.raises(errors.BackendUnavailableError) as refused:
        await git.open_repository(
            repositories.repository_object(
                "porch-test", with_user, namespace="team-a", secret="git-auth"
            ),
            _ca_options(git_cache, bundles),
        )
    message = str(refused.value)
    assert f"the TLS certificate of {url} is not trusted" in message
    assert "in-url-s3cret" not in message
    # Not retried (no point), but the bundle was read once more in case it had been replaced.
    assert bundles.calls == ["team-a", "team-a"]
    assert len([r for r in private_ca_server.requests if r.status == 401]) == 0


async def test_a_ca_bundle_created_after_the_repository_failed_is_picked_up(
    private_ca_server: gitserver.GitServer,
    private_ca: gitserver.TlsFiles,
    git_cache: cache.GitCache,
) -> None:
    url = private_ca_server.repo_url("nephio/porch-test.git")
    bundles = repositories.StaticCABundles({"team-a": [None, private_ca.cert.read_bytes()]})
    repo = await git.open_repository(
        repositories.repository_object("porch-test", url, namespace="team-a", secret="git-auth"),
        _ca_options(git_cache, bundles),
    )
    assert bundles.calls == ["team-a", "team-a"]
    assert await repo.list_package_revisions() == ()
    await repo.close()


async def test_wrong_credentials_over_a_private_ca_are_an_authentication_error(
    private_ca_server: gitserver.GitServer,
    private_ca: gitserver.TlsFiles,
    git_cache: cache.GitCache,
) -> None:
    url = private_ca_server.repo_url("nephio/porch-test.git")
    wrong = repositories.StaticCredentialResolver(
        {("team-a", "git-auth"): credentials.BasicAuth("porch", "wrong")}
    )
    options = _options(
        git_cache,
        credential_resolver=wrong,
        ca_bundle_resolver=repositories.StaticCABundles({"team-a": private_ca.cert.read_bytes()}),
    )
    with pytest.raises(errors.BackendUnavailableError, match=r"authentication to .* failed"):
        await git.open_repository(
            repositories.repository_object(
                "porch-test", url, namespace="team-a", secret="git-auth"
            ),
            options,
        )
    # Refused, the Secret was read again (it may have been rotated) and tried once more.
    assert wrong.calls == [("team-a", "git-auth")] * 2
