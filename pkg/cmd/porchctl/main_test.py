"""porchctl end to end in-process: argument parsing, requests sent and exact output.

The server is the scripted loopback API server of :mod:`pkg.client.clienttesting` (these
tests pin client-side behaviour: which requests porchctl makes and what it prints for the
answers); ``test/e2e/cli`` runs the same commands against a real porch-server.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from pkg.client import clienttesting
from pkg.cmd.porchctl import main as porchctl

NS = "ns"
PRS = f"/apis/porch.kpt.dev/v1alpha1/namespaces/{NS}/packagerevisions"
PRRS = f"/apis/porch.kpt.dev/v1alpha1/namespaces/{NS}/packagerevisionresources"
REPOS = f"/apis/config.porch.kpt.dev/v1alpha1/namespaces/{NS}/repositories"
SECRETS = f"/api/v1/namespaces/{NS}/secrets"


@pytest.fixture
def api() -> Iterator[clienttesting.FakeAPIServer]:
    with clienttesting.FakeAPIServer() as server:
        yield server


@pytest.fixture
def kubeconfig(
    api: clienttesting.FakeAPIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.delenv("NAMESPACE", raising=False)
    path = clienttesting.kubeconfig(tmp_path / "kubeconfig", api.url)
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = porchctl.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def pr(name: str, lifecycle: str = "Draft", **spec: Any) -> dict[str, Any]:
    repo, package, workspace = name.split(".")
    return {
        "apiVersion": "porch.kpt.dev/v1alpha1",
        "kind": "PackageRevision",
        "metadata": {"name": name, "namespace": NS, "resourceVersion": "5"},
        "spec": {
            "packageName": package,
            "repository": repo,
            "workspaceName": workspace,
            "lifecycle": lifecycle,
            **spec,
        },
    }


def echo(status: int = 200) -> Any:
    return lambda req: clienttesting.Response(status, req.body)


# -- flags and parsing -------------------------------------------------------------------


def test_go_style_bool_flags_and_short_equals(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("POST", REPOS, echo(201))
    code, out, err = run(
        capsys,
        "repo",
        "reg",
        "--deployment=true",
        "http://h/r.git",
        "-n=ns",
        "--name=r",
        "--create-branch=false",
        "--desc",
        "D",
    )
    assert (code, out, err) == (0, "", "")
    body = api.requests_to("POST", REPOS)[0].body
    assert body["spec"]["deployment"] is True
    assert body["spec"]["description"] == "D"
    assert "createBranch" not in body["spec"]["git"]
    assert body["spec"]["git"] == {"repo": "http://h/r.git", "branch": "main", "directory": "/"}


def test_bare_bool_flag_does_not_eat_the_argument(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("POST", REPOS, echo(201))
    code, _, err = run(
        capsys, "repo", "register", "-n", NS, "--deployment", "http://h/blue", "--dir=/pkgs"
    )
    assert (code, err) == (0, "")
    body = api.requests_to("POST", REPOS)[0].body
    assert body["metadata"]["name"] == "blue"  # the URL's last segment
    assert body["spec"]["deployment"] is True
    assert body["spec"]["git"]["directory"] == "/pkgs"


def test_invalid_bool_value(kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "repo", "reg", "--deployment=maybe", "http://h/r")
    assert code == 1
    assert 'invalid argument "maybe" for "--deployment" flag' in err


def test_unknown_command_and_flag(kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "rpkg", "nope") == (
        1,
        "",
        'error: unknown command "nope" for "porchctl rpkg"\n',
    )
    assert run(capsys, "rpkg", "get", "--nope") == (1, "", "error: unknown flag: --nope\n")
    assert run(capsys, "rpkg", "get", "-x") == (1, "", "error: unknown shorthand flag: 'x' in -x\n")


def test_group_without_subcommand_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rpkg")
    assert code == 0
    assert "Usage: porchctl rpkg" in out and "propose-delete" in out


def test_every_command_has_help_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    groups = {
        "repo": ["reg", "get", "unreg", "sync"],
        "rpkg": [
            "get",
            "pull",
            "push",
            "clone",
            "init",
            "copy",
            "propose",
            "approve",
            "reject",
            "del",
            "propose-delete",
            "upgrade",
        ],
    }
    for group, commands in groups.items():
        for command in commands:
            code, out, _ = run(capsys, group, command, "--help")
            assert code == 0, (group, command)
            assert "Examples:" in out, (group, command)
            assert "porchctl " + group in out, (group, command)


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["rpackage", "list", "--help"], "porchctl rpackage list"),
        (["repository", "ls", "--help"], "porchctl repository ls"),
        (["rpkg", "delete", "--help"], "porchctl rpkg delete"),
        (["rpkg", "propose-del", "--help"], "porchctl rpkg propose-del"),
        (["rpkg", "source", "--help"], "porchctl rpkg source"),
        (["rpkg", "sink", "--help"], "porchctl rpkg sink"),
        (["repo", "reconcile", "--help"], "porchctl repo reconcile"),
    ],
)
def test_aliases(args: list[str], command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert out.startswith(f"Usage: {command}")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "version")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Version: ")
    assert lines[1].startswith("Git commit:")


def test_completion_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    for shell, marker in (
        ("bash", "complete -o nosort -F"),
        ("zsh", "#compdef porchctl"),
        ("fish", "complete"),
    ):
        code, out, _ = run(capsys, "completion", shell)
        assert code == 0 and marker in out, shell


def test_completion_completes_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("_PORCHCTL_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", "porchctl rpkg pro")
    monkeypatch.setenv("COMP_CWORD", "2")
    code = porchctl.main([])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "propose" in out and "propose-delete" in out


def test_help_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "help", "rpkg", "clone")
    assert code == 0 and "Usage: porchctl rpkg clone" in out


def test_refuses_to_start_without_git(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pkg.cmd.porchctl.main import main; raise SystemExit(main(['version']))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert result.returncode == 1
    assert result.stderr == "porchctl requires that `git` is installed and on the PATH"


def test_missing_kubeconfig_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "rpkg", "get", "--kubeconfig", str(tmp_path / "absent"))
    assert code == 1
    assert err == f"Error: stat {tmp_path / 'absent'}: no such file or directory \n"


def test_requests_are_logged_with_v6(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("GET", REPOS, {"kind": "RepositoryList", "items": []})
    code, _, err = run(capsys, "repo", "get", "-n", NS, "-o", "name", "-v", "6")
    assert code == 0
    assert f"GET {api.url}{REPOS} 200 in" in err


# -- repo ---------------------------------------------------------------------------------


def test_repo_reg_with_basic_auth_creates_the_secret_first(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("POST", SECRETS, echo(201))
    api.on("POST", REPOS, echo(201))
    code, out, err = run(
        capsys,
        "repo",
        "reg",
        "http://h/nephio/test-blueprints.git",
        "--namespace=ns",
        "--name=test-blueprints",
        "--repo-basic-username=nephio",
        "--repo-basic-password=secret",
        "--sync-schedule=*/10 * * * *",
        "--v1alpha2",
    )
    assert (code, out, err) == (0, "", "")
    assert [r.method + " " + r.path for r in api.requests] == [f"POST {SECRETS}", f"POST {REPOS}"]
    secret = api.requests[0].body
    assert secret["metadata"] == {"name": "test-blueprints-auth", "namespace": NS}
    assert secret["type"] == "kubernetes.io/basic-auth"
    assert secret["data"] == {"username": "bmVwaGlv", "password": "c2VjcmV0"}
    repo = api.requests[1].body
    assert repo["spec"]["git"]["secretRef"] == {"name": "test-blueprints-auth"}
    assert repo["spec"]["sync"] == {"schedule": "*/10 * * * *"}
    assert repo["metadata"]["annotations"] == {"porch.kpt.dev/v1alpha2-migration": "true"}


def test_repo_reg_failure_removes_the_secret(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("POST", SECRETS, echo(201))
    api.on("DELETE", f"{SECRETS}/r-auth", {"kind": "Status", "status": "Success"})
    api.on(
        "POST",
        REPOS,
        clienttesting.Response(
            409,
            clienttesting.status_body(
                409, "AlreadyExists", 'repositories.config.porch.kpt.dev "r" already exists'
            ),
        ),
    )
    code, _, err = run(capsys, "repo", "reg", "http://h/r", "-n", NS, "--user=u", "--pw=p")
    assert code == 1
    assert err == 'Error: repositories.config.porch.kpt.dev "r" already exists \n'
    assert api.requests_to("DELETE", f"{SECRETS}/r-auth")


def test_repo_reg_both_auth_kinds(kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(
        capsys, "repo", "reg", "http://h/r", "--repo-basic-username=u", "--repo-workload-identity"
    ) == (1, "", "error: both username/password and workload identity specified\n")


def test_repo_reg_bad_cron_creates_nothing(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "repo", "reg", "http://h/r", "--user=u", "--sync-schedule=every day")
    assert code == 1
    assert err == (
        "Error: invalid sync-schedule cron expression: expected exactly 5 fields, found 2: "
        "[every day] \n"
    )
    assert api.requests == []


def test_repo_reg_oci(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("POST", REPOS, echo(201))
    assert run(capsys, "repo", "reg", "oci://ghcr.io/org/pkgs", "-n", NS)[0] == 0
    spec = api.requests[0].body["spec"]
    assert spec["type"] == "oci" and spec["oci"] == {"registry": "ghcr.io/org/pkgs"}
    assert api.requests[0].body["metadata"]["name"] == "pkgs"


def test_repo_unreg_deletes_the_secret_unless_kept(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = {
        "kind": "Repository",
        "metadata": {"name": "r", "namespace": NS},
        "spec": {"type": "git", "git": {"repo": "x", "secretRef": {"name": "r-auth"}}},
    }
    api.on("GET", f"{REPOS}/r", repo)
    api.on("DELETE", f"{REPOS}/r", repo)
    api.on("DELETE", f"{SECRETS}/r-auth", {"kind": "Status", "status": "Success"})
    assert run(capsys, "repo", "unreg", "r", "-n", NS) == (0, "", "")
    assert len(api.requests_to("DELETE", f"{SECRETS}/r-auth")) == 1
    assert run(capsys, "repo", "unregister", "r", "-n", NS, "--keep-auth-secret") == (0, "", "")
    assert len(api.requests_to("DELETE", f"{SECRETS}/r-auth")) == 1


def test_repo_unreg_missing(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on(
        "GET",
        f"{REPOS}/r",
        clienttesting.Response(
            404,
            clienttesting.status_body(
                404, "NotFound", 'repositories.config.porch.kpt.dev "r" not found'
            ),
        ),
    )
    assert run(capsys, "repo", "unreg", "r", "-n", NS) == (
        1,
        "",
        'Error: repositories.config.porch.kpt.dev "r" not found \n',
    )


def test_repo_sync_sets_run_once_at(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = {
        "kind": "Repository",
        "metadata": {"name": "r", "namespace": NS, "resourceVersion": "3"},
        "spec": {"type": "git", "git": {"repo": "x"}},
    }
    api.on("GET", f"{REPOS}/r", repo)
    api.on("PUT", f"{REPOS}/r", echo())
    code, out, _ = run(capsys, "repo", "sync", "r", "-n", NS, "--run-once", "10s")
    assert code == 0
    assert out.startswith(
        "Warning: Duration must be at least 1 minute. Sync time adjusted to comply with "
        'minimum delay.\nScheduled one-time sync for "r" at '
    )
    run_once_at = api.requests_to("PUT", f"{REPOS}/r")[0].body["spec"]["sync"]["runOnceAt"]
    # metav1.Time: seconds precision, and the time printed is the time stored.
    assert "." not in run_once_at
    stored = datetime.datetime.fromisoformat(run_once_at)
    printed = datetime.datetime.fromisoformat(out.rsplit(" at ", 1)[1].strip())
    assert stored == printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["repo", "sync", "r"],
            "error: namespace must be specified unless --all-namespaces is set\n",
        ),
        (["repo", "sync", "-n", NS], "error: repository name(s) required unless --all is set\n"),
        (
            ["repo", "sync", "r", "-n", NS, "--run-once", "soon"],
            "error: invalid --run-once value\n",
        ),
    ],
)
def test_repo_sync_errors(
    args: list[str], message: str, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, *args) == (1, "", message)


def test_repo_sync_all_with_none(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("GET", REPOS, {"kind": "RepositoryList", "items": []})
    assert run(capsys, "repo", "sync", "--all", "-n", NS) == (
        1,
        "",
        'error: no repositories found in namespace "ns"\n',
    )


# -- rpkg get -----------------------------------------------------------------------------


def _pr_table(*rows: list[Any]) -> dict[str, Any]:
    names = ["Name", "Package", "WorkspaceName", "Revision", "Latest", "Lifecycle", "Repository"]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": [
            {
                "name": n,
                "type": "integer" if n == "Revision" else "string",
                "format": "name" if n == "Name" else "",
                "description": "",
                "priority": 0,
            }
            for n in names
        ],
        "rows": [
            {
                "cells": r,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "metadata": {"name": r[0], "namespace": NS},
                },
            }
            for r in rows
        ],
    }


def test_rpkg_get_sends_one_field_selector_and_filters_the_rest(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on(
        "GET",
        PRS,
        _pr_table(
            ["b.basens.main", "basens", "main", -1, False, "Published", "b"],
            ["b.basens.v1", "basens", "v1", 1, False, "Published", "b"],
            ["b.basens.v2", "basens", "v2", 2, True, "Published", "b"],
        ),
    )
    code, out, err = run(capsys, "rpkg", "get", "-n", NS, "--name=basens", "--revision=1")
    assert (code, err) == (0, "")
    assert out == (
        "NAME          PACKAGE   WORKSPACENAME   REVISION   LATEST   LIFECYCLE   REPOSITORY\n"
        "b.basens.v1   basens    v1              1          false    Published   b\n"
    )
    request = api.requests[0]
    assert request.query == {"fieldSelector": ["spec.packageName=basens"]}
    assert request.header("Accept").startswith("application/json;as=Table;g=meta.k8s.io;v=v1")


def test_rpkg_get_all_namespaces(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on(
        "GET",
        "/apis/porch.kpt.dev/v1alpha1/packagerevisions",
        _pr_table(["b.basens.v1", "basens", "v1", 1, True, "Published", "b"]),
    )
    code, out, _ = run(capsys, "rpkg", "get", "-A")
    assert code == 0
    assert out.splitlines()[0].startswith("NAMESPACE   NAME")
    assert out.splitlines()[1].startswith("ns          b.basens.v1")


def test_rpkg_get_missing_name_in_table_mode_is_client_gos_generic_text(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on(
        "GET",
        f"{PRS}/git.x.y",
        clienttesting.Response(
            404,
            clienttesting.status_body(
                404, "NotFound", 'packagerevisions.porch.kpt.dev "git.x.y" not found'
            ),
        ),
    )
    # rpkg-lifecycle's last golden step.
    assert run(capsys, "rpkg", "get", "git.x.y", "--namespace=ns") == (
        1,
        "",
        "Error: the server could not find the requested resource (get "
        "packagerevisions.porch.kpt.dev git.x.y) \n",
    )
    # Without a table, the server's own message.
    code, _, err = run(capsys, "rpkg", "get", "git.x.y", "--namespace=ns", "-o", "yaml")
    assert (code, err) == (1, 'Error: packagerevisions.porch.kpt.dev "git.x.y" not found \n')


def test_rpkg_get_json_filters_objects(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on(
        "GET",
        PRS,
        {
            "kind": "PackageRevisionList",
            "items": [
                pr("b.basens.v1", "Published", revision=1),
                pr("b.basens.ws", "Draft"),
            ],
        },
    )
    code, out, _ = run(
        capsys,
        "rpkg",
        "get",
        "-n",
        NS,
        "--workspace=ws",
        "-o",
        "custom-columns=NAME:.metadata.name,REV:.spec.revision",
    )
    assert code == 0
    assert out == "NAME          REV\nb.basens.ws   <none>\n"
    assert api.requests[0].query == {"fieldSelector": ["spec.workspaceName=ws"]}
    assert api.requests[0].header("Accept") == "application/json"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--show-kptfile"],
            "error: --show-kptfile requires exactly one package revision name as an argument\n",
        ),
        (
            ["--show-kptfile", "--name=basens", "a"],
            "error: --show-kptfile cannot be combined with --name, --revision, or --workspace\n",
        ),
        (
            ["--show-kptfile", "--all-namespaces", "a"],
            "error: --show-kptfile cannot be combined with --all-namespaces\n",
        ),
        (
            ["-n", ""],
            "error: namespace flag specified without a value; please provide a value for "
            "--namespace/-n or omit the flag\n",
        ),
    ],
)
def test_rpkg_get_usage_errors(
    args: list[str], message: str, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "rpkg", "get", *args) == (1, "", message)


def test_rpkg_get_show_kptfile(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kptfile = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: basens\n"
    api.on(
        "GET",
        f"{PRRS}/b.basens.v1",
        {
            "kind": "PackageRevisionResources",
            "metadata": {"name": "b.basens.v1"},
            "spec": {"resources": {"Kptfile": kptfile}},
        },
    )
    assert run(capsys, "rpkg", "get", "--show-kptfile", "-n", NS, "b.basens.v1") == (0, kptfile, "")


# -- lifecycle ----------------------------------------------------------------------------


def test_propose_approve_reject_requests(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("GET", f"{PRS}/g.p.draft", pr("g.p.draft", "Draft"))
    api.on("GET", f"{PRS}/g.p.proposed", pr("g.p.proposed", "Proposed"))
    api.on("GET", f"{PRS}/g.p.deletion", pr("g.p.deletion", "DeletionProposed"))
    for name in ("g.p.draft", "g.p.proposed", "g.p.deletion"):
        api.on("PUT", f"{PRS}/{name}", echo())
        api.on("PUT", f"{PRS}/{name}/approval", echo())
    assert run(capsys, "rpkg", "propose", "-n", NS, "g.p.draft", "g.p.proposed") == (
        0,
        "g.p.draft proposed\n",
        "g.p.proposed is already proposed\n",
    )
    assert api.requests_to("PUT", f"{PRS}/g.p.draft")[0].body["spec"]["lifecycle"] == "Proposed"
    assert run(capsys, "rpkg", "approve", "-n", NS, "g.p.proposed") == (
        0,
        "g.p.proposed approved\n",
        "",
    )
    assert (
        api.requests_to("PUT", f"{PRS}/g.p.proposed/approval")[0].body["spec"]["lifecycle"]
        == "Published"
    )
    assert run(capsys, "rpkg", "reject", "-n", NS, "g.p.proposed", "g.p.deletion") == (
        0,
        "g.p.proposed no longer proposed for approval\n"
        "g.p.deletion no longer proposed for deletion\n",
        "",
    )
    approval = api.requests_to("PUT", f"{PRS}/g.p.proposed/approval")[1].body
    assert approval["spec"]["lifecycle"] == "Draft"
    # DeletionProposed goes back to Published with a plain update.
    assert api.requests_to("PUT", f"{PRS}/g.p.deletion")[0].body["spec"]["lifecycle"] == "Published"


def test_lifecycle_failures_are_collected(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("GET", f"{PRS}/g.p.draft", pr("g.p.draft", "Draft"))
    api.on("GET", f"{PRS}/g.p.pub", pr("g.p.pub", "Published"))
    code, out, err = run(capsys, "rpkg", "approve", "-n", NS, "g.p.draft", "g.p.missing")
    assert (code, out) == (1, "")
    assert err == (
        "g.p.draft failed (cannot change approval from Draft to Published)\n"
        f"g.p.missing failed (no route for {PRS}/g.p.missing)\n"
        "Error: errors:\n  cannot change approval from Draft to Published\n"
        f"  no route for {PRS}/g.p.missing \n"
    )
    assert run(capsys, "rpkg", "propose-delete", "-n", NS, "g.p.draft") == (
        1,
        "",
        "g.p.draft failed (can only propose published packages for deletion; package g.p.draft "
        "is not published)\n"
        "Error: errors:\n  can only propose published packages for deletion; package g.p.draft "
        "is not published \n",
    )
    assert run(capsys, "rpkg", "reject", "-n", NS, "g.p.pub")[2].startswith(
        "g.p.pub failed (cannot reject g.p.pub with lifecycle 'Published')\n"
    )
    assert run(capsys, "rpkg", "propose", "-n", NS, "g.p.pub")[2].startswith(
        "g.p.pub failed (cannot propose Published package)\n"
    )


def test_readiness_gates_block_propose_and_approve(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unready = pr(
        "g.unready.ws",
        "Draft",
        readinessGates=[{"conditionType": "nephio.org.Specializer.specialize"}],
    )
    unready["status"] = {
        "conditions": [{"type": "nephio.org.Specializer.specialize", "status": "False"}]
    }
    api.on("GET", f"{PRS}/g.unready.ws", unready)
    code, _, err = run(capsys, "rpkg", "propose", "-n", NS, "g.unready.ws")
    assert code == 1
    assert err.startswith("g.unready.ws failed (readiness conditions not met)\n")
    assert not api.requests_to("PUT", f"{PRS}/g.unready.ws")


def test_conflicts_are_retried(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("GET", f"{PRS}/g.p.draft", pr("g.p.draft", "Draft"))
    attempts: list[int] = []

    def put(req: clienttesting.RecordedRequest) -> clienttesting.Response:
        attempts.append(1)
        if len(attempts) < 3:
            return clienttesting.Response(
                409, clienttesting.status_body(409, "Conflict", "modified")
            )
        return clienttesting.Response(200, req.body)

    api.on("PUT", f"{PRS}/g.p.draft", put)
    assert run(capsys, "rpkg", "propose", "-n", NS, "g.p.draft") == (0, "g.p.draft proposed\n", "")
    assert len(attempts) == 3
    assert len(api.requests_to("GET", f"{PRS}/g.p.draft")) == 3  # re-read every time


def test_delete(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("DELETE", f"{PRS}/a.b.c", {"kind": "Status", "status": "Success"})
    api.on(
        "DELETE",
        f"{PRS}/a.b.d",
        clienttesting.Response(
            403,
            clienttesting.status_body(
                403, "Forbidden", 'packagerevisions.porch.kpt.dev "a.b.d" is forbidden: published'
            ),
        ),
    )
    assert run(capsys, "rpkg", "del", "-n", NS, "a.b.c", "a.b.d") == (
        1,
        "a.b.c deleted\n",
        'a.b.d failed (packagerevisions.porch.kpt.dev "a.b.d" is forbidden: published)\n'
        'Error: errors:\n  packagerevisions.porch.kpt.dev "a.b.d" is forbidden: published \n',
    )


def test_lifecycle_commands_need_a_name(
    kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "rpkg", "approve") == (
        1,
        "",
        "Error: PACKAGE is a required positional argument \n",
    )
    assert run(capsys, "rpkg", "reject") == (
        1,
        "",
        "Error: PACKAGE_REVISION is a required positional argument \n",
    )


# -- create -------------------------------------------------------------------------------


def _created(req: clienttesting.RecordedRequest) -> clienttesting.Response:
    spec = req.body["spec"]
    name = f"{spec['repository']}.{spec['packageName']}.{spec['workspaceName']}"
    return clienttesting.Response(201, {**req.body, "metadata": {"name": name, "namespace": NS}})


def test_clone_init_copy_bodies(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("POST", PRS, _created)
    api.on("GET", f"{PRS}/git.basens.v1", pr("git.basens.v1", "Published"))
    assert run(
        capsys,
        "rpkg",
        "clone",
        "-n",
        NS,
        "http://h/tb.git/basens@basens/v1",
        "--repository=git",
        "--workspace=clone-2",
        "basens-clone",
    ) == (0, "git.basens-clone.clone-2 created\n", "")
    assert run(
        capsys,
        "rpkg",
        "init",
        "-n",
        NS,
        "init-package",
        "--repository=git",
        "--workspace=init-1",
        "--keywords=test,package",
        "--site",
        "http://kpt.dev/x",
    ) == (0, "git.init-package.init-1 created\n", "")
    assert run(capsys, "rpkg", "copy", "-n", NS, "--workspace=v2", "git.basens.v1") == (
        0,
        "git.basens.v2 created\n",
        "",
    )
    clone, init, copy = (r.body for r in api.requests_to("POST", PRS))
    assert clone["spec"]["tasks"] == [
        {
            "type": "clone",
            "clone": {
                "upstreamRef": {
                    "type": "git",
                    "git": {"repo": "http://h/tb.git", "ref": "basens/v1", "directory": "/basens"},
                }
            },
        }
    ]
    assert init["spec"]["tasks"] == [
        {
            "type": "init",
            "init": {
                "description": "sample description",
                "keywords": ["test", "package"],
                "site": "http://kpt.dev/x",
            },
        }
    ]
    assert copy["spec"] == {
        "packageName": "basens",
        "repository": "git",
        "workspaceName": "v2",
        "tasks": [{"type": "edit", "edit": {"sourceRef": {"name": "git.basens.v1"}}}],
    }
    assert clone["metadata"] == {"namespace": NS}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["clone", "src"], "SOURCE_PACKAGE and NAME are required positional arguments; 1 provided"),
        (["clone", "src", "dst"], "--repository is required to specify downstream repository"),
        (["init", "p", "--repository=r"], "--workspace is required to specify workspace name"),
        (["init"], "PACKAGE_NAME is a required positional argument"),
        (["copy"], "SOURCE_PACKAGE is a required positional argument"),
        (["upgrade", "x"], "workspace is required"),
        (
            ["upgrade", "x", "--workspace=v2", "--strategy=magic"],
            'invalid strategy "magic"; must be one of: '
            "[resource-merge fast-forward force-delete-replace copy-merge]",
        ),
        (
            ["upgrade", "--discover=sideways"],
            "argument for 'discover' must be one of 'upstream' or 'downstream'",
        ),
        (["pull"], "PACKAGE is a required positional argument"),
    ],
)
def test_create_usage_errors(
    args: list[str], message: str, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "rpkg", *args) == (1, "", f"Error: {message} \n")


def test_server_errors_on_create(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on(
        "POST",
        PRS,
        clienttesting.Response(
            500,
            clienttesting.status_body(
                500,
                "InternalError",
                'Internal error occurred: package "p" already exists in repository "git"',
            ),
        ),
    )
    assert run(capsys, "rpkg", "init", "p", "--repository=git", "--workspace=w", "-n", NS) == (
        1,
        "",
        'Error: Internal error occurred: package "p" already exists in repository "git" \n',
    )


# -- pull / push --------------------------------------------------------------------------

KPTFILE = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p\n"


def _prr() -> dict[str, Any]:
    return {
        "apiVersion": "porch.kpt.dev/v1alpha1",
        "kind": "PackageRevisionResources",
        "metadata": {"name": "git.p.ws", "namespace": NS, "resourceVersion": "11", "uid": "u"},
        "spec": {"resources": {"Kptfile": KPTFILE, "README.md": "hi\n"}},
    }


def test_pull_to_stdout_and_dir(
    api: clienttesting.FakeAPIServer,
    kubeconfig: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api.on("GET", f"{PRRS}/git.p.ws", _prr())
    code, out, _ = run(capsys, "rpkg", "pull", "-n", NS, "git.p.ws")
    assert code == 0
    assert "kind: KptRevisionMetadata" in out and "README" not in out
    target = tmp_path / "pulled"
    assert run(capsys, "rpkg", "pull", "-n", NS, "git.p.ws", str(target)) == (0, "", "")
    assert sorted(p.name for p in target.iterdir()) == [
        ".KptRevisionMetadata",
        "Kptfile",
        "README.md",
    ]
    assert "resourceVersion: '11'" in (target / ".KptRevisionMetadata").read_text()


def test_push_sends_files_and_resource_version_and_prints_results(
    api: clienttesting.FakeAPIServer,
    kubeconfig: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api.on("GET", f"{PRRS}/git.p.ws", _prr())

    def put(req: clienttesting.RecordedRequest) -> clienttesting.Response:
        body = dict(req.body)
        body["status"] = {
            "renderStatus": {
                "result": {
                    "items": [
                        {
                            "image": "ghcr.io/kptdev/krm-functions-catalog/apply-setters:v0.2",
                            "exitCode": 0,
                            "results": [
                                {
                                    "message": 'set field value to "baz"',
                                    "severity": "info",
                                    "field": {"path": "data.foo"},
                                }
                            ],
                        }
                    ]
                }
            }
        }
        return clienttesting.Response(200, body)

    api.on("PUT", f"{PRRS}/git.p.ws", put)
    target = tmp_path / "pkg"
    assert run(capsys, "rpkg", "pull", "-n", NS, "git.p.ws", str(target))[0] == 0
    (target / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n")
    code, out, err = run(capsys, "rpkg", "push", "-n", NS, "git.p.ws", str(target))
    assert (code, out) == (0, "git.p.ws pushed\n")
    assert err == (
        '[RUNNING] "ghcr.io/kptdev/krm-functions-catalog/apply-setters:v0.2" \n'
        '[PASS] "ghcr.io/kptdev/krm-functions-catalog/apply-setters:v0.2"\n'
        '[Results]: [info] data.foo: set field value to "baz"\n'
    )
    body = api.requests_to("PUT", f"{PRRS}/git.p.ws")[0].body
    assert body["metadata"] == {"name": "git.p.ws", "namespace": NS, "resourceVersion": "11"}
    assert sorted(body["spec"]["resources"]) == ["Kptfile", "README.md", "cm.yaml"]


def test_push_without_metadata_suggests_pull(
    kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Kptfile").write_text(KPTFILE)
    assert run(capsys, "rpkg", "push", "-n", NS, "git.p.ws", str(tmp_path)) == (
        1,
        "",
        "Error: \".KptRevisionMetadata\" not found in PackageRevisionResources 'ns/git.p.ws'\n"
        'use "porchctl rpkg pull" to download the remote package metadata before pushing \n',
    )


def test_push_render_failure_is_reported(
    api: clienttesting.FakeAPIServer,
    kubeconfig: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api.on("GET", f"{PRRS}/git.p.ws", _prr())
    api.on(
        "PUT",
        f"{PRRS}/git.p.ws",
        lambda req: clienttesting.Response(
            200,
            {
                **req.body,
                "status": {
                    "renderStatus": {
                        "error": "fn failed",
                        "result": {
                            "items": [
                                {
                                    "image": "x",
                                    "exitCode": 1,
                                    "results": [
                                        {"message": "m0", "severity": "error"},
                                        {"message": "m1\n", "severity": "error"},
                                        {
                                            "message": "m2",
                                            "severity": "error",
                                            "field": {"path": "f.g"},
                                            "resourceRef": {
                                                "apiVersion": "v1",
                                                "kind": "ConfigMap",
                                                "namespace": "ns",
                                                "name": "cm",
                                            },
                                        },
                                    ],
                                }
                            ]
                        },
                    }
                },
            },
        ),
    )
    code, out, _ = run(capsys, "rpkg", "pull", "-n", NS, "git.p.ws")
    assert code == 0
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO(out))
    code, out, err = run(capsys, "rpkg", "push", "-n", NS, "git.p.ws", "-")
    assert (code, out) == (0, "git.p.ws pushed\n")
    assert err.splitlines() == [
        "Package is updated, but failed to render the package.",
        "Error: fn failed",
        '[RUNNING] "x" ',
        '[FAIL] "x"',
        "[Results]: [error]: m0, [error]: m1, [error] v1/ConfigMap/ns/cm f.g: m2",
    ]
    body = api.requests_to("PUT", f"{PRRS}/git.p.ws")[0].body
    assert sorted(body["spec"]["resources"]) == ["Kptfile"]  # README.md is not KRM: not in stdout


# -- upgrade ------------------------------------------------------------------------------


def _upgrade_world(api: clienttesting.FakeAPIServer) -> None:
    def lock(ref: str) -> dict[str, Any]:
        git = {"repo": "http://h/porch-test", "directory": "upstream/upgrade-orig", "ref": ref}
        return {"upstreamLock": {"type": "git", "git": {**git, "commit": "c"}}}

    orig_v1 = pr("git.upgrade-orig.v1", "Published", revision=1)
    orig_v2 = pr("git.upgrade-orig.v2", "Published", revision=2)
    down_v1 = pr(
        "git.upgrade-downstream.v1",
        "Published",
        revision=1,
        tasks=[
            {
                "type": "clone",
                "clone": {"upstreamRef": {"upstreamRef": {"name": "git.upgrade-orig.v1"}}},
            }
        ],
    )
    down_v1["status"] = lock("upstream/upgrade-orig/v1")
    items = [orig_v1, orig_v2, down_v1]
    api.on("GET", PRS, {"kind": "PackageRevisionList", "items": items})
    for item in items:
        api.on("GET", f"{PRS}/{item['metadata']['name']}", item)
    api.on(
        "GET",
        REPOS,
        {
            "kind": "RepositoryList",
            "items": [
                {
                    "kind": "Repository",
                    "metadata": {"name": "git", "namespace": NS},
                    "spec": {
                        "type": "git",
                        "git": {"repo": "http://h/porch-test", "directory": "upstream"},
                    },
                }
            ],
        },
    )
    api.on("POST", PRS, _created)


def test_upgrade_creates_the_upgrade_task(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _upgrade_world(api)
    assert run(
        capsys, "rpkg", "upgrade", "-n", NS, "git.upgrade-downstream.v1", "--workspace=v2"
    ) == (0, "git.upgrade-downstream.v1 upgraded to git.upgrade-downstream.v2\n", "")
    (post,) = api.requests_to("POST", PRS)
    assert post.body["spec"]["tasks"] == [
        {
            "type": "upgrade",
            "upgrade": {
                "oldUpstreamRef": {"name": "git.upgrade-orig.v1"},
                "newUpstreamRef": {"name": "git.upgrade-orig.v2"},
                "localPackageRevisionRef": {"name": "git.upgrade-downstream.v1"},
                "strategy": "resource-merge",
            },
        }
    ]
    lists = [r for r in api.requests_to("GET", PRS) if "fieldSelector" in r.query]
    assert lists[0].query["fieldSelector"] == ["spec.packageName=upgrade-orig,spec.repository=git"]


def test_upgrade_discover_upstream_and_downstream(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _upgrade_world(api)
    assert run(capsys, "rpkg", "upgrade", "-n", NS, "--discover=upstream") == (
        0,
        "PACKAGE REVISION            UPSTREAM REPOSITORY   UPSTREAM UPDATES\n"
        "git.upgrade-orig.v1                               No update available\n"
        "git.upgrade-orig.v2                               No update available\n"
        "git.upgrade-downstream.v1   git                   v2\n",
        "",
    )
    assert run(capsys, "rpkg", "upgrade", "-n", NS, "--discover=downstream") == (
        0,
        "PACKAGE REVISION      DOWNSTREAM PACKAGE          DOWNSTREAM UPDATE\n"
        "git.upgrade-orig.v2   git.upgrade-downstream.v1   v1->v2\n",
        "",
    )
    assert run(
        capsys, "rpkg", "upgrade", "-n", NS, "--discover=downstream", "git.upgrade-orig.v1"
    ) == (0, "All downstream packages are up to date.\n", "")
    assert run(capsys, "rpkg", "upgrade", "-n", NS, "--discover=upstream", "nope") == (
        1,
        "",
        "Error: errors:\n  could not find package revision nope \n",
    )


def test_click_context_settings_accept_short_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-h")
    assert code == 0 and "Usage: porchctl" in out
    assert isinstance(porchctl.cli, click.Group)


def test_get_of_several_missing_names_reports_them_together(
    api: clienttesting.FakeAPIServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("GET", f"{REPOS}/a", {"kind": "Repository", "metadata": {"name": "a"}})
    code, out, err = run(capsys, "repo", "get", "a", "b", "c", "-n", NS, "-o", "name")
    assert (code, out) == (1, "")  # nothing printed when a name is missing
    assert err == (f"Error: [no route for {REPOS}/b, no route for {REPOS}/c] \n")


def test_api_version_flag(
    kubeconfig: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    message = (
        "Error: porch.kpt.dev/v1alpha2 is not served by this Porch; use --api-version=v1alpha1 \n"
    )
    assert run(capsys, "rpkg", "get", "--api-version=v1alpha2") == (1, "", message)
    monkeypatch.setenv("PORCHCTL_API_VERSION", "v1alpha2")
    assert run(capsys, "rpkg", "propose", "x") == (1, "", message)
