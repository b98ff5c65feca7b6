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

import pytest

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import cache, git, transport
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
