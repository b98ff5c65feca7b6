"""Tests of reading packages from unregistered git repositories (a real bare repository)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from api.porch import v1alpha1 as porchv1alpha1
from pkg.repository import credentials, errors
from pkg.task import gitfetch
from pkg.testing import gitserver, repositories


def _fetcher(root: Path) -> gitfetch.GitFetcher:
    return gitfetch.GitFetcher(
        gitfetch.GitFetcherOptions(allow_local_repositories=True, local_repository_roots=[root])
    )


def _package(repo: Path, ref: str, directory: str) -> porchv1alpha1.GitPackage:
    return porchv1alpha1.GitPackage(repo=str(repo), ref=ref, directory=directory)


def _rev_parse(repo: Path, ref: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", f"{ref}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


async def test_tag_named_by_package_and_version(blueprints_repo: Path) -> None:
    fetched = await _fetcher(blueprints_repo.parent).fetch(
        "ns", _package(blueprints_repo, "basens/v1", "basens")
    )
    assert "Kptfile" in fetched.files and "namespace.yaml" in fetched.files
    assert fetched.lock.commit == _rev_parse(blueprints_repo, "basens/v1")
    assert (fetched.lock.ref, fetched.lock.directory) == ("basens/v1", "basens")


async def test_short_ref_is_tried_below_the_directory(blueprints_repo: Path) -> None:
    fetched = await _fetcher(blueprints_repo.parent).fetch(
        "ns", _package(blueprints_repo, "v2", "basens")
    )
    assert fetched.lock.commit == _rev_parse(blueprints_repo, "basens/v2")
    assert fetched.lock.ref == "v2"


async def test_branch_and_commit_refs(blueprints_repo: Path) -> None:
    fetcher = _fetcher(blueprints_repo.parent)
    head = _rev_parse(blueprints_repo, "main")
    by_branch = await fetcher.fetch("ns", _package(blueprints_repo, "main", "empty"))
    by_commit = await fetcher.fetch("ns", _package(blueprints_repo, head, "empty"))
    assert by_branch.lock.commit == by_commit.lock.commit == head
    assert by_branch.files == by_commit.files


async def test_missing_ref_and_missing_package(blueprints_repo: Path) -> None:
    fetcher = _fetcher(blueprints_repo.parent)
    with pytest.raises(errors.NotFoundError, match="ref 'nope' not found"):
        await fetcher.fetch("ns", _package(blueprints_repo, "nope", "basens"))
    with pytest.raises(errors.NotFoundError, match="package must contain Kptfile at root"):
        await fetcher.fetch("ns", _package(blueprints_repo, "basens/v1", "not-there"))
    # The message names the directory without its surrounding slashes.
    with pytest.raises(errors.NotFoundError, match="cannot find package not-there@basens/v1"):
        await fetcher.fetch("ns", _package(blueprints_repo, "basens/v1", "/not-there/"))


@pytest.mark.parametrize("directory", ["/basens", "/basens/", "basens/", "//basens"])
async def test_lock_records_the_directory_without_slashes(
    blueprints_repo: Path, directory: str
) -> None:
    # porchctl sends `/basens` for `.../test-blueprints.git/basens@basens/v1`; Porch's
    # Kptfile says `directory: basens` (rpkg-clone golden).
    fetched = await _fetcher(blueprints_repo.parent).fetch(
        "ns", _package(blueprints_repo, "basens/v1", directory)
    )
    assert "namespace.yaml" in fetched.files
    assert fetched.lock.directory == "basens"
    assert fetched.lock.ref == "basens/v1"
    assert fetched.lock.commit == _rev_parse(blueprints_repo, "basens/v1")


async def test_local_repositories_need_permission(blueprints_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(errors.ForbiddenError, match="local repositories are not allowed"):
        await gitfetch.GitFetcher().fetch("ns", _package(blueprints_repo, "basens/v1", "basens"))
    with pytest.raises(errors.ForbiddenError, match="must be under one of"):
        await _fetcher(tmp_path).fetch("ns", _package(blueprints_repo, "basens/v1", "basens"))


async def test_unreachable_remote_is_backend_unavailable() -> None:
    fetcher = gitfetch.GitFetcher(gitfetch.GitFetcherOptions(retry_attempts=1))
    with pytest.raises(errors.BackendUnavailableError, match="cannot clone Git repository"):
        await fetcher.fetch(
            "ns",
            porchv1alpha1.GitPackage(repo="http://127.0.0.1:9/none.git", ref="v1", directory="x"),
        )


def _with_secret(repo: str) -> porchv1alpha1.GitPackage:
    return porchv1alpha1.GitPackage(
        repo=repo,
        ref="basens/v1",
        directory="basens",
        secret_ref=porchv1alpha1.SecretRef(name="git-auth"),
    )


async def test_secret_is_resolved_in_the_request_namespace(tmp_path: Path) -> None:
    resolver = repositories.StaticCredentialResolver(
        {("team-a", "git-auth"): credentials.BasicAuth("porch", "s3cret")}
    )
    fetcher = gitfetch.GitFetcher(
        gitfetch.GitFetcherOptions(credential_resolver=resolver, retry_attempts=1)
    )
    with gitserver.GitServer(tmp_path / "served", basic_auth=("porch", "s3cret")) as server:
        served = server.create_from_bundle("blueprints.git", repositories.TEST_BLUEPRINTS_BUNDLE)
        anonymous = porchv1alpha1.GitPackage(
            repo=server.repo_url("blueprints.git"), ref="basens/v1", directory="basens"
        )
        with pytest.raises(errors.BackendUnavailableError, match="requires credentials"):
            await fetcher.fetch("team-a", anonymous)
        fetched = await fetcher.fetch("team-a", _with_secret(server.repo_url("blueprints.git")))
        assert fetched.lock.commit == _rev_parse(served, "basens/v1")
        assert fetched.lock.repo == server.repo_url("blueprints.git")
        # The same Secret name in another namespace is another (missing) Secret.
        with pytest.raises(errors.NotFoundError, match='secret "team-b/git-auth" not found'):
            await fetcher.fetch("team-b", _with_secret(server.repo_url("blueprints.git")))
    assert resolver.calls == [("team-a", "git-auth"), ("team-b", "git-auth")]


async def test_refused_url_reads_no_secret(blueprints_repo: Path) -> None:
    resolver = repositories.StaticCredentialResolver(
        {("ns", "git-auth"): credentials.BasicAuth("porch", "s3cret")}
    )
    fetcher = gitfetch.GitFetcher(gitfetch.GitFetcherOptions(credential_resolver=resolver))
    with pytest.raises(errors.ForbiddenError, match="local repositories are not allowed"):
        await fetcher.fetch("ns", _with_secret(str(blueprints_repo)))
    with pytest.raises(errors.InvalidRepositoryError, match="unsupported scheme 'ftp'"):
        await fetcher.fetch("ns", _with_secret("ftp://example.com/repo.git"))
    assert resolver.calls == []


async def test_an_https_upstream_behind_the_namespace_ca_is_trusted(tmp_path: Path) -> None:
    # A self-signed certificate: the private CA and the server's certificate in one.
    tls = gitserver.make_self_signed_cert(tmp_path / "private-ca")
    resolver = repositories.StaticCredentialResolver(
        {(ns, "git-auth"): credentials.BasicAuth("porch", "s3cret") for ns in ("team-a", "team-b")}
    )
    bundles = repositories.StaticCABundles({"team-a": tls.cert.read_bytes()})
    fetcher = gitfetch.GitFetcher(
        gitfetch.GitFetcherOptions(
            credential_resolver=resolver, ca_bundle_resolver=bundles, retry_attempts=1
        )
    )
    with gitserver.GitServer(
        tmp_path / "served", basic_auth=("porch", "s3cret"), tls=tls
    ) as server:
        served = server.create_from_bundle("blueprints.git", repositories.TEST_BLUEPRINTS_BUNDLE)
        package = _with_secret(server.repo_url("blueprints.git"))
        fetched = await fetcher.fetch("team-a", package)
        assert fetched.lock.commit == _rev_parse(served, "basens/v1")
        # team-a's CA is not team-b's.
        with pytest.raises(errors.BackendUnavailableError, match="not trusted"):
            await fetcher.fetch("team-b", package)
    assert bundles.calls == ["team-a", "team-b"]
