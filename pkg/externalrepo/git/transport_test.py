"""Pushes through the git CLI keep credentials out of every command line and every log.

Any local user can read a process's command line (`/proc/<pid>/cmdline`, `ps`); only the
process's own user can read its environment. While porch-py pushes to a real loopback
`git http-backend` that requires credentials, a sampler reads the command line of every
process on the machine, and a `git` wrapper first on PATH records the arguments it is given.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shlex
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import cache, git, refs, transport
from pkg.repository import credentials, errors
from pkg.repository import repository as repo_api
from pkg.testing import gitserver, repositories

KPTFILE = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n"
INIT = porchv1alpha1.Task.model_validate({"type": "init", "init": {"description": "d"}})
PASSWORD = "pa55-w0rd-in-env-only"
TOKEN = "t0ken-in-env-only"


class _CommandLines:
    """Every distinct command line seen in /proc while running."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                        raw = cmdline.read()
                except OSError:
                    continue  # gone meanwhile
                if raw:
                    self.seen.add(raw.replace(b"\0", b" ").decode(errors="replace"))

    def __enter__(self) -> _CommandLines:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def git_wrapper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A `git` first on PATH that appends its arguments (and the names, not values, of its
    GIT_CONFIG_* variables) to the returned log, then runs the real git."""
    real = shutil.which("git")
    assert real is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "git-argv.log"
    wrapper = bin_dir / "git"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'printf "argv: %s\\n" "$*" >> {log}\n'
        f'env | grep "^GIT_CONFIG_KEY_" | sed "s/^/env: /" >> {log}\n'
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    log.touch()
    yield log


async def _write(repo: git.GitRepository) -> None:
    draft = await repo.create_package_revision_draft(
        repo_api.PackageRevisionKey(
            pkg_key=repo_api.PackageKey.from_package_path(repo.key, "pkg"),
            revision=0,
            workspace_name=repo_api.WorkspaceName("ws"),
        )
    )
    await draft.update_resources({"Kptfile": KPTFILE}, INIT)
    await draft.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    await repo.close_package_revision_draft(draft)


@pytest.mark.parametrize(
    ("server_auth", "credential", "secrets"),
    [
        (
            {"basic_auth": ("porch", PASSWORD)},
            credentials.BasicAuth("porch", PASSWORD),
            [PASSWORD, base64.b64encode(f"porch:{PASSWORD}".encode()).decode()],
        ),
        ({"bearer_token": TOKEN}, credentials.BearerToken(TOKEN), [TOKEN]),
    ],
    ids=["basic", "bearer"],
)
async def test_credentials_never_appear_on_a_command_line_or_in_logs(
    tmp_path: Path,
    git_cache: cache.GitCache,
    git_wrapper: Path,
    caplog: pytest.LogCaptureFixture,
    server_auth: dict[str, object],
    credential: credentials.Credential,
    secrets: list[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    with gitserver.GitServer(tmp_path / "srv", **server_auth) as server:  # type: ignore[arg-type]
        server.create_from_tar("repo.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar")
        resolver = repositories.StaticCredentialResolver({("default", "auth"): credential})
        options = git.GitRepositoryOptions(
            cache=git_cache, credential_resolver=resolver, retry_delay=0.01
        )
        repo = await git.open_repository(
            repositories.repository_object("repo", server.repo_url("repo.git"), secret="auth"),
            options,
        )
        with _CommandLines() as sampled:
            await _write(repo)
        # The push went through the git CLI, authenticated.
        assert "refs/tags/pkg/v1" in server.refs("repo.git")
        assert {r.auth_scheme for r in server.requests if r.method == "POST"} == {
            "Basic" if isinstance(credential, credentials.BasicAuth) else "Bearer"
        }

        # And then the remote stops accepting them: the failure names no secret either.
        server.basic_auth = ("porch", "another") if server.basic_auth else None
        server.bearer_token = "another" if server.bearer_token else None
        draft = await repo.create_package_revision_draft(
            repo_api.PackageRevisionKey(
                pkg_key=repo_api.PackageKey.from_package_path(repo.key, "other"),
                revision=0,
                workspace_name=repo_api.WorkspaceName("ws"),
            )
        )
        await draft.update_resources({"Kptfile": KPTFILE}, INIT)
        with pytest.raises(errors.BackendUnavailableError, match="authentication") as refused:
            await repo.close_package_revision_draft(draft)
        await repo.close()

    recorded = await asyncio.to_thread(git_wrapper.read_text)
    assert "argv: --git-dir" in recorded and " push --atomic --porcelain " in recorded
    # The header reached git through its environment.
    assert "env: GIT_CONFIG_KEY_1=http.extraHeader" in recorded
    pushes = [line for line in sampled.seen if " push " in line]
    assert pushes, "the sampler saw no git push running"
    for secret in secrets:
        assert secret not in recorded
        assert not [line for line in sampled.seen if secret in line]
        assert secret not in str(refused.value)
        assert secret not in caplog.text


def test_an_ssh_key_and_its_passphrase_reach_ssh_without_a_command_line(tmp_path: Path) -> None:
    # A passphrase-protected key in OpenSSH's format, as `ssh-keygen` writes by default.
    made = tmp_path / "id_ed25519"
    gitserver_env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "open sesame", "-f", str(made)],
        check=True,
        env=gitserver_env,
    )
    credential = credentials.SshKey("git", made.read_text(), passphrase="open sesame")
    with transport.cli_environment(credential) as env:
        command = shlex.split(env["GIT_SSH_COMMAND"])
        identity = Path(command[command.index("-i") + 1])
        assert identity.stat().st_mode & 0o777 == 0o600  # ssh refuses looser keys
        assert command[command.index("-l") + 1] == "git"
        assert "open sesame" not in env["GIT_SSH_COMMAND"]
        # OpenSSH itself unlocks the key with what it gets through SSH_ASKPASS, no prompt.
        public = subprocess.run(
            ["ssh-keygen", "-y", "-f", str(identity)],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        assert public.returncode == 0, public.stderr
        assert public.stdout.split()[:2] == (tmp_path / "id_ed25519.pub").read_text().split()[:2]
    assert not identity.parent.exists()  # key and helper removed once the push is over


def test_the_ca_file_holds_the_system_cas_and_the_bundle_privately(tmp_path: Path) -> None:
    bundle = gitserver.make_self_signed_cert(tmp_path / "ca").cert.read_bytes()
    system = pygit2.settings.ssl_cert_file
    assert system, "no system CA file to keep"
    with transport.trusted_ca_file(bundle) as ca_file:
        assert ca_file.stat().st_mode & 0o777 == 0o600
        content = ca_file.read_bytes()
        # curl's CA file replaces its default store: the system's CAs must still be there.
        assert content.startswith(Path(os.fsdecode(system)).read_bytes().rstrip(b"\n"))
        assert content.endswith(bundle.rstrip(b"\n") + b"\n")
        with transport.cli_environment(None, ca_file=ca_file) as env:
            assert env["GIT_SSL_CAINFO"] == str(ca_file)
    assert not ca_file.exists()
    assert not ca_file.parent.exists()


def _bare(path: Path, url: str) -> pygit2.Repository:
    repo = pygit2.init_repository(path, bare=True)
    repo.remotes.create(refs.ORIGIN, url, refs.FETCH_REFSPECS[0])
    repo.remotes.add_fetch(refs.ORIGIN, refs.FETCH_REFSPECS[1])
    return repo


def _all_refs(repo: pygit2.Repository) -> dict[str, str]:
    return {r.name: str(r.target) for r in repo.references.iterator()}


def test_a_fetch_with_a_ca_bundle_gets_what_libgit2_gets(tmp_path: Path) -> None:
    """The git CLI fetch (repositories with a CA bundle) and libgit2's fetch (all others)
    leave the same refs and report the same number of changes: first fetch, new and moved
    refs, pruned branches and tags, explicit refspecs one commit deep."""
    auth = credentials.BasicAuth("porch", PASSWORD)
    bundle = gitserver.make_self_signed_cert(tmp_path / "ca").cert.read_bytes()
    with gitserver.GitServer(tmp_path / "srv", basic_auth=("porch", PASSWORD)) as server:
        server.create_from_bundle("blueprints.git", repositories.TEST_BLUEPRINTS_BUNDLE)
        remote = server.path("blueprints.git")
        url = server.repo_url("blueprints.git")
        libgit2 = _bare(tmp_path / "libgit2.git", url)
        cli = _bare(tmp_path / "cli.git", url)

        def both(**kwargs: object) -> tuple[int, int]:
            changed = transport.fetch(libgit2, auth, **kwargs)  # type: ignore[arg-type]
            via_cli = transport.fetch(cli, auth, ca_bundle=bundle, **kwargs)  # type: ignore[arg-type]
            assert _all_refs(cli) == _all_refs(libgit2)
            return changed, via_cli

        first = both()
        assert first[0] == first[1] == len(_all_refs(libgit2)) > 10
        assert both() == (0, 0)
        tags = gitserver.git("--git-dir", remote, "tag", "--list").split()
        gitserver.git("--git-dir", remote, "tag", "-d", tags[0])
        gitserver.git("--git-dir", remote, "branch", "gone", "main")
        assert both() == (2, 2)
        gitserver.git("--git-dir", remote, "branch", "-D", "gone")
        gitserver.git("--git-dir", remote, "tag", "new-tag", "main")
        assert both() == (2, 2)
        assert f"refs/tags/{tags[0]}" not in _all_refs(cli)
        assert "refs/tags/new-tag" in _all_refs(cli)

        shallow = _bare(tmp_path / "shallow.git", url)
        spec = f"+refs/tags/{tags[1]}:refs/tags/{tags[1]}"
        assert transport.fetch(shallow, auth, [spec], prune=False, depth=1, ca_bundle=bundle) == 1
        assert list(_all_refs(shallow)) == [f"refs/tags/{tags[1]}"]
        assert shallow.is_shallow

        with pytest.raises(transport.AuthenticationError) as refused:
            transport.fetch(cli, credentials.BasicAuth("porch", "wrong"), ca_bundle=bundle)
        assert "wrong" not in str(refused.value)
        server.stop()
        with pytest.raises(transport.TransportError, match=f"git fetch from {url} failed"):
            transport.fetch(cli, auth, ca_bundle=bundle)
