"""The real kubectl against a real standalone porch-server: Repositories and Secrets
(discovery, CRUD, apply, patch, watch). Repositories point at local git repositories the
server may register, so each one is synced and Ready like a real one."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from test.e2e import conftest as e2e
from test.e2e.server import conftest as server_fixtures

pytestmark = pytest.mark.e2e


@pytest.fixture
def repository_yaml(shared_server: e2e.PorchServer) -> Callable[..., str]:
    """A Repository manifest over a new local git repository of the same name."""
    urls: dict[str, str] = {}

    def manifest(name: str, description: str = "first") -> str:
        if name not in urls:
            urls[name] = shared_server.local_repository(name)
        return yaml.safe_dump(
            {
                "apiVersion": "config.porch.kpt.dev/v1alpha1",
                "kind": "Repository",
                "metadata": {"name": name},
                "spec": {
                    "type": "git",
                    "description": description,
                    "git": {"repo": urls[name], "branch": "main"},
                },
            }
        )

    return manifest


def _wait_ready(kubectl: server_fixtures.Kubectl, name: str) -> None:
    # After its first sync the server writes a Repository's status no more (for 10 min):
    # read-modify-write cycles below do not race with it.
    kubectl("wait", "--for=condition=Ready", f"repository/{name}", "--timeout=30s")


def _get(kubectl: server_fixtures.Kubectl, *args: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(kubectl("get", *args, "-o", "json").stdout)
    return result


def _spec(kubectl: server_fixtures.Kubectl, name: str) -> dict[str, object]:
    spec = _get(kubectl, "repository", name)["spec"]
    assert isinstance(spec, dict)
    return spec


def test_api_resources_lists_secrets_and_repositories(kubectl: server_fixtures.Kubectl) -> None:
    lines = kubectl("api-resources").stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["repositories"] == [
        "repositories",
        "repo",
        "config.porch.kpt.dev/v1alpha1",
        "true",
        "Repository",
    ]
    assert rows["secrets"] == ["secrets", "v1", "true", "Secret"]
    assert kubectl("api-resources").stderr == ""


def test_explain_repository_reads_openapi_v3(kubectl: server_fixtures.Kubectl) -> None:
    out = kubectl("explain", "repository.spec.git.branch").stdout
    assert "GROUP:      config.porch.kpt.dev" in out
    assert "KIND:       Repository" in out
    assert "Name of the branch containing the packages" in out


def test_create_secrets_generic_and_basic_auth(kubectl: server_fixtures.Kubectl) -> None:
    kubectl("create", "secret", "generic", "plain", "--from-literal=token=abc")
    kubectl(
        "create",
        "secret",
        "generic",
        "git-auth",
        "--type=kubernetes.io/basic-auth",
        "--from-literal=username=porch",
        "--from-literal=password=s3cr3t",
    )
    table = kubectl("get", "secrets").stdout.splitlines()
    assert table[0].split() == ["NAME", "TYPE", "DATA", "AGE"]
    rows = {line.split()[0]: line.split()[1:3] for line in table[1:]}
    assert rows["plain"] == ["Opaque", "1"]
    assert rows["git-auth"] == ["kubernetes.io/basic-auth", "2"]
    secret = _get(kubectl, "secret", "git-auth")
    data = secret["data"]
    assert isinstance(data, dict)
    assert base64.b64decode(data["password"]) == b"s3cr3t"
    kubectl("delete", "secret", "plain")
    missing = kubectl("get", "secret", "plain", check=False)
    assert missing.returncode == 1
    assert 'Error from server (NotFound): secrets "plain" not found' in missing.stderr


def test_create_get_replace_and_delete_a_repository(
    kubectl: server_fixtures.Kubectl, repository_yaml: Callable[..., str]
) -> None:
    created = kubectl("create", "-f", "-", input=repository_yaml("crud"))
    assert created.stdout.strip() == "repository.config.porch.kpt.dev/crud created"
    _wait_ready(kubectl, "crud")
    table = kubectl("get", "repositories", "crud").stdout.splitlines()
    assert table[0].split() == [
        "NAME",
        "TYPE",
        "CONTENT",
        "SYNC",
        "SCHEDULE",
        "DEPLOYMENT",
        "READY",
        "ADDRESS",
        "BRANCH",
        "AGE",
    ]
    row = table[1].split()
    assert row[:4] == ["crud", "git", "Package", "True"]
    assert row[4].endswith("/repositories/crud.git")
    as_yaml = yaml.safe_load(kubectl("get", "repo", "crud", "-o", "yaml").stdout)
    assert as_yaml["spec"]["git"]["repo"].endswith("/repositories/crud.git")
    assert as_yaml["metadata"]["namespace"] == "default"
    assert as_yaml["metadata"]["finalizers"] == ["config.porch.kpt.dev/repository"]

    as_yaml["spec"]["description"] = "replaced"
    kubectl("replace", "-f", "-", input=yaml.safe_dump(as_yaml))
    assert _spec(kubectl, "crud")["description"] == "replaced"
    stale = kubectl("replace", "-f", "-", input=yaml.safe_dump(as_yaml), check=False)
    assert stale.returncode == 1
    assert "Error from server (Conflict)" in stale.stderr
    assert "the object has been modified" in stale.stderr

    duplicate = kubectl("create", "-f", "-", input=repository_yaml("crud"), check=False)
    assert "Error from server (AlreadyExists)" in duplicate.stderr

    dry = kubectl("delete", "repository", "crud", "--dry-run=server")
    assert "(server dry run)" in dry.stdout
    assert _spec(kubectl, "crud")["description"] == "replaced"
    kubectl("delete", "repository", "crud")
    gone = kubectl("get", "repository", "crud", check=False)
    assert (
        'Error from server (NotFound): repositories.config.porch.kpt.dev "crud" not found'
        in gone.stderr
    )


def test_create_with_an_unknown_field_fails_server_side_validation(
    kubectl: server_fixtures.Kubectl, repository_yaml: Callable[..., str]
) -> None:
    manifest = repository_yaml("strict").replace("  type: git", "  type: git\n  bogus: 1")
    result = kubectl("create", "-f", "-", input=manifest, check=False)
    assert result.returncode == 1
    assert 'unknown field "spec.bogus"' in result.stderr


def test_client_side_and_server_side_apply(
    kubectl: server_fixtures.Kubectl, repository_yaml: Callable[..., str]
) -> None:
    first = kubectl("apply", "-f", "-", input=repository_yaml("applied", "one"))
    assert first.stdout.strip() == "repository.config.porch.kpt.dev/applied created"
    kubectl("apply", "-f", "-", input=repository_yaml("applied", "two"))
    assert _spec(kubectl, "applied")["description"] == "two"
    server_side = kubectl(
        "apply", "--server-side", "-f", "-", input=repository_yaml("applied", "three")
    )
    assert "serverside-applied" in server_side.stdout
    assert _spec(kubectl, "applied")["description"] == "three"
    dry = kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "-f",
        "-",
        input=repository_yaml("applied", "no"),
    )
    assert "(server dry run)" in dry.stdout
    assert _spec(kubectl, "applied")["description"] == "three"
    created = kubectl("apply", "--server-side", "-f", "-", input=repository_yaml("ssa-new", "x"))
    assert "serverside-applied" in created.stdout
    managed = _get(kubectl, "repository", "ssa-new", "--show-managed-fields")["metadata"]
    assert isinstance(managed, dict)
    assert [(m["manager"], m["operation"]) for m in managed["managedFields"]] == [
        ("kubectl", "Apply")
    ]


def test_patch_merge_json_and_default(
    kubectl: server_fixtures.Kubectl, repository_yaml: Callable[..., str]
) -> None:
    kubectl("create", "-f", "-", input=repository_yaml("patched"))
    kubectl(
        "patch", "repository", "patched", "--type", "merge", "-p", '{"spec":{"description":"m"}}'
    )
    assert _spec(kubectl, "patched")["description"] == "m"
    kubectl(
        "patch",
        "repository",
        "patched",
        "--type",
        "json",
        "-p",
        '[{"op":"replace","path":"/spec/description","value":"j"}]',
    )
    assert _spec(kubectl, "patched")["description"] == "j"
    kubectl("patch", "repository", "patched", "-p", '{"spec":{"description":"s"}}')
    assert _spec(kubectl, "patched")["description"] == "s"
    failed = kubectl(
        "patch",
        "repository",
        "patched",
        "--type",
        "json",
        "-p",
        '[{"op":"test","path":"/spec/description","value":"other"}]',
        check=False,
    )
    assert failed.returncode == 1
    assert "The request is invalid: JSON patch operation 0" in failed.stderr
    kubectl("label", "repository", "patched", "team=blue")
    names = kubectl("get", "repositories", "-l", "team=blue", "-o", "name").stdout.split()
    assert names == ["repository.config.porch.kpt.dev/patched"]
    by_name = kubectl(
        "get", "repositories", "--field-selector", "metadata.name=patched", "-o", "name"
    )
    assert by_name.stdout.split() == ["repository.config.porch.kpt.dev/patched"]


def _wait_for_line(lines: list[str], predicate: Callable[[str], bool], deadline: float) -> None:
    while not any(predicate(line) for line in lines):
        assert time.monotonic() < deadline, f"not seen in time; got {lines}"
        time.sleep(0.05)


def test_watch_prints_every_event(
    shared_server: e2e.PorchServer,
    kubectl: server_fixtures.Kubectl,
    repository_yaml: Callable[..., str],
    tmp_path: Path,
) -> None:
    kubectl("create", "-f", "-", input=repository_yaml("watched"))
    watch = shared_server.kubectl_process(
        "get", "repositories", "-w", "--output-watch-events", cache_dir=tmp_path / "watch-cache"
    )
    lines: list[str] = []
    with watch:
        reader = threading.Thread(target=lambda: lines.extend(watch.stdout or []), daemon=True)
        reader.start()
        deadline = time.monotonic() + 30
        try:
            _wait_for_line(lines, lambda line: line.split()[:2] == ["ADDED", "watched"], deadline)
            kubectl("label", "repository", "watched", "seen=yes")
            kubectl("delete", "repository", "watched")
            _wait_for_line(lines, lambda line: line.startswith("DELETED"), deadline)
        finally:
            watch.terminate()
            reader.join(10)
    assert lines[0].split()[:3] == ["EVENT", "NAME", "TYPE"]
    events = [line.split()[0] for line in lines[1:] if line.split()[1:2] == ["watched"]]
    # Registration (finalizer, status), the label and the deletion (deletionTimestamp,
    # then the finalizer's release) each modify the object once or more.
    collapsed = [e for i, e in enumerate(events) if i == 0 or events[i - 1] != e]
    assert collapsed == ["ADDED", "MODIFIED", "DELETED"]
