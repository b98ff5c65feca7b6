"""Reading one package of an unregistered repository: in place when local, one ref when remote.

Against Porch's test-blueprints repository, as a local bare repository and served by a real
`git http-backend` on loopback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pkg.externalrepo.git import upstream
from pkg.repository import credentials, errors
from pkg.testing import gitserver, repositories


def _rev_parse(repo: Path, ref: str) -> str:
    return gitserver.git("--git-dir", repo, "rev-parse", f"{ref}^{{commit}}").strip()


@pytest.fixture
def served(git_server: gitserver.GitServer) -> gitserver.GitServer:
    git_server.create_from_bundle("blueprints.git", repositories.TEST_BLUEPRINTS_BUNDLE)
    return git_server


async def test_reads_a_package_from_a_local_repository_in_place(
    served: gitserver.GitServer,
) -> None:
    local = served.path("blueprints.git")
    read = await upstream.read_package(
        f"file://{local}",
        "v2",  # tried below the directory first: basens/v2
        "basens",
        allow_local_repositories=True,
        local_repository_roots=[served.root],
    )
    assert "Kptfile" in read.files and "namespace.yaml" in read.files
    assert read.commit == _rev_parse(local, "basens/v2")
    by_commit = await upstream.read_package(
        str(local),
        read.commit,
        "/basens/",
        allow_local_repositories=True,
        local_repository_roots=[served.root],
    )
    assert by_commit == read


async def test_reads_a_package_from_a_remote_by_tag_branch_or_commit(
    served: gitserver.GitServer, tmp_path: Path
) -> None:
    url = served.repo_url("blueprints.git")
    work = tmp_path / "work"
    work.mkdir()
    read = await upstream.read_package(url, "basens/v1", "basens", work_dir=work)
    assert read.commit == _rev_parse(served.path("blueprints.git"), "basens/v1")
    assert "Kptfile" in read.files
    assert list(work.iterdir()) == []  # the temporary repository is gone
    by_branch = await upstream.read_package(url, "main", "empty")
    assert by_branch.commit == _rev_parse(served.path("blueprints.git"), "main")
    # A commit id no ref names: found after fetching everything.
    old = _rev_parse(served.path("blueprints.git"), "basens/v1")
    assert (await upstream.read_package(url, old, "basens")).files == read.files


@pytest.mark.parametrize(
    ("ref", "directory", "message"),
    [
        ("nothing/v9", "basens", "ref 'nothing/v9' not found"),
        ("main", "no-such-dir", "package must contain Kptfile at root"),
    ],
)
async def test_missing_refs_and_packages_are_not_found(
    served: gitserver.GitServer, ref: str, directory: str, message: str
) -> None:
    for url in (served.repo_url("blueprints.git"), str(served.path("blueprints.git"))):
        with pytest.raises(errors.NotFoundError, match=message):
            await upstream.read_package(
                url,
                ref,
                directory,
                allow_local_repositories=True,
                local_repository_roots=[served.root],
            )


async def test_local_repositories_follow_the_server_policy(
    served: gitserver.GitServer, tmp_path: Path
) -> None:
    local = str(served.path("blueprints.git"))
    with pytest.raises(errors.ForbiddenError, match="not allowed"):
        await upstream.read_package(local, "main", "empty")
    with pytest.raises(errors.ForbiddenError, match="must be under one of"):
        await upstream.read_package(
            local,
            "main",
            "empty",
            allow_local_repositories=True,
            local_repository_roots=[tmp_path / "elsewhere"],
        )


async def test_an_https_remote_behind_a_private_ca_is_read_with_its_bundle(
    tmp_path: Path,
) -> None:
    # A self-signed certificate: the private CA and the server's certificate in one, so
    # nothing trusts the server unless the bundle is given.
    tls = gitserver.make_self_signed_cert(tmp_path / "private-ca")
    with gitserver.GitServer(tmp_path / "srv", basic_auth=("porch", "s3cret"), tls=tls) as srv:
        srv.create_from_bundle("blueprints.git", repositories.TEST_BLUEPRINTS_BUNDLE)
        url = srv.repo_url("blueprints.git")
        login = credentials.BasicAuth("porch", "s3cret")
        read = await upstream.read_package(
            url, "basens/v1", "basens", credential=login, ca_bundle=tls.cert.read_bytes()
        )
        assert read.commit == _rev_parse(srv.path("blueprints.git"), "basens/v1")
        assert "Kptfile" in read.files
        # A commit no ref names: everything is fetched, through the same trusted channel.
        again = await upstream.read_package(
            url, read.commit, "basens", credential=login, ca_bundle=tls.cert.read_bytes()
        )
        assert again.files == read.files
        with pytest.raises(errors.BackendUnavailableError, match="not trusted"):
            await upstream.read_package(url, "basens/v1", "basens", credential=login)
