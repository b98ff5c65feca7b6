"""The loopback git server speaks smart HTTP to the git CLI, guards with auth, de-chunks."""

from __future__ import annotations

import http.client
import urllib.parse
from pathlib import Path

from pkg.testing import gitserver, repositories


def test_git_cli_clones_and_pushes(git_server: gitserver.GitServer, tmp_path: Path) -> None:
    git_server.create_from_bundle("nephio/blueprints.git", repositories.TEST_BLUEPRINTS_BUNDLE)
    work = tmp_path / "work"
    gitserver.git("clone", "--quiet", git_server.repo_url("nephio/blueprints.git"), work)
    assert (work / "basens" / "Kptfile").is_file()
    (work / "new.txt").write_text("hello\n")
    gitserver.git("-C", work, "add", "new.txt")
    gitserver.git("-C", work, "commit", "--quiet", "-m", "add new")
    gitserver.git("-C", work, "push", "--quiet", "origin", "main:refs/heads/topic")
    refs = git_server.refs("nephio/blueprints.git")
    assert refs["refs/heads/topic"] == gitserver.git("-C", work, "rev-parse", "HEAD").strip()
    assert any(r.path.endswith("/git-receive-pack") for r in git_server.requests)


def test_basic_auth_is_required(tmp_path: Path) -> None:
    with gitserver.GitServer(tmp_path / "srv", basic_auth=("user", "pw")) as server:
        server.create_empty("r.git")
        url = server.repo_url("r.git")
        denied = gitserver.git("ls-remote", url, check=False)
        assert denied == ""
        assert server.requests[-1].status == 401
        parts = urllib.parse.urlsplit(url)
        with_credentials = parts._replace(netloc=f"user:pw@{parts.netloc}").geturl()
        gitserver.git("ls-remote", with_credentials)
        assert server.requests[-1].status == 200
        assert server.requests[-1].auth_scheme == "Basic"


def test_chunked_request_bodies_reach_the_backend(git_server: gitserver.GitServer) -> None:
    git_server.create_from_tar("simple.git", repositories.PORCH_GIT_REPOS / "simple-repository.tar")
    parts = urllib.parse.urlsplit(git_server.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
    # An upload-pack request that only flushes: the backend answers with an empty pack
    # negotiation; it can only do so if the chunked body was decoded.
    connection.request(
        "POST",
        "/simple.git/git-upload-pack",
        body=iter([b"0000"]),
        headers={"Content-Type": "application/x-git-upload-pack-request"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/x-git-upload-pack-result"
    response.read()
    connection.close()
