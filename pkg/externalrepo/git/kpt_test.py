"""A package porch-py publishes is consumable by the real kpt CLI (`kpt pkg get`).

kpt is present on this machine but not guaranteed elsewhere: the test is skipped without it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
import yaml

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import cache, git
from pkg.repository import repository as repo_api
from pkg.testing import gitserver, repositories

KPTFILE = """apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: basens
  annotations:
    config.kubernetes.io/local-config: "true"
info:
  description: base namespace
"""
NAMESPACE = """apiVersion: v1
kind: Namespace
metadata:
  name: example
"""


@pytest.mark.skipif(shutil.which("kpt") is None, reason="kpt CLI not installed")
async def test_kpt_pkg_get_fetches_a_published_revision(
    git_server: gitserver.GitServer, git_cache: cache.GitCache, tmp_path: Path
) -> None:
    git_server.create_from_tar(
        "nephio/porch-test.git", repositories.PORCH_GIT_REPOS / "trivial-repository.tar"
    )
    url = git_server.repo_url("nephio/porch-test.git")
    repo = await git.open_repository(
        repositories.repository_object("porch-test", url, directory="catalog"),
        git.GitRepositoryOptions(cache=git_cache),
    )
    draft = await repo.create_package_revision_draft(
        repo_api.PackageRevisionKey(
            pkg_key=repo_api.PackageKey.from_package_path(repo.key, "basens"),
            revision=0,
            workspace_name=repo_api.WorkspaceName("first"),
        )
    )
    await draft.update_resources(
        {"Kptfile": KPTFILE, "namespace.yaml": NAMESPACE},
        porchv1alpha1.Task.model_validate({"type": "init", "init": {"description": "ns"}}),
    )
    await draft.update_lifecycle(repo_api.Lifecycle.PUBLISHED)
    published = await repo.close_package_revision_draft(draft)
    assert published.self_lock.git is not None
    assert published.self_lock.git.ref == "catalog/basens/v1"

    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "GIT_TERMINAL_PROMPT": "0"}
    destination = tmp_path / "basens"
    process = await asyncio.create_subprocess_exec(
        "kpt",
        "pkg",
        "get",
        f"{url}/catalog/basens@catalog/basens/v1",
        str(destination),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    namespace = yaml.safe_load((destination / "namespace.yaml").read_text())
    assert (namespace["kind"], namespace["metadata"]["name"]) == ("Namespace", "example")
    kptfile = yaml.safe_load((destination / "Kptfile").read_text())
    # kpt records where it fetched from: the tag porch-py pushed and its commit.
    assert kptfile["upstream"]["git"]["ref"] == "catalog/basens/v1"
    assert kptfile["upstreamLock"]["git"]["commit"] == published.resource_version
    # kpt writes the directory with a leading "/"; it is the one in porch-py's self lock.
    assert kptfile["upstreamLock"]["git"]["directory"].strip("/") == (
        published.self_lock.git.directory
    )
