"""The manifests in ``deployments/`` fit together and fit this server: names, ports, the
service account, volumes, and flags ``porch-server`` accepts (an operator applying them
would find any mismatch only in a cluster)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from pkg.cmd.server import main, options

REPO = Path(__file__).resolve().parents[3]
DEPLOYMENTS = REPO / "deployments"
SHARED_CRD = (
    REPO / ".." / "shared" / "reference" / "crds" / "config.porch.kpt.dev_repositories.yaml"
)


def _documents() -> Iterator[dict[str, Any]]:
    for path in sorted(DEPLOYMENTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                yield document


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for document in _documents():
        key = (document["kind"], document["metadata"]["name"])
        assert key not in found, f"{key} defined twice"
        found[key] = document
    return found


def _container(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    pod = objects[("Deployment", "porch-server")]["spec"]["template"]["spec"]
    containers: list[dict[str, Any]] = pod["containers"]
    assert [c["name"] for c in containers] == ["porch-server"]
    return containers[0]


def test_the_api_service_points_at_the_service(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    spec = objects[("APIService", "v1alpha1.porch.kpt.dev")]["spec"]
    assert spec == {
        "group": "porch.kpt.dev",
        "version": "v1alpha1",
        "groupPriorityMinimum": 1000,
        "versionPriority": 15,
        "insecureSkipTLSVerify": True,
        "service": {"name": "api", "namespace": "porch-system"},
    }
    service = objects[("Service", "api")]
    assert service["metadata"]["namespace"] == "porch-system"
    assert ("Namespace", "porch-system") in objects
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    # The APIService names no port: kube-apiserver uses 443.
    assert ports["api"]["port"] == 443


def test_service_ports_probes_and_flags_agree(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployment = objects[("Deployment", "porch-server")]
    service = objects[("Service", "api")]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    container = _container(objects)
    container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container_ports == {"api": 4443, "metrics": 9464}
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in container_ports
    assert "--secure-port=4443" in container["args"]
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert container[probe]["httpGet"] == {"path": path, "port": 4443, "scheme": "HTTPS"}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["OTEL_METRICS_EXPORTER"] == "prometheus"
    assert env["OTEL_EXPORTER_PROMETHEUS_PORT"] == str(container_ports["metrics"])
    assert env["OTEL_EXPORTER_PROMETHEUS_HOST"] == "0.0.0.0"


def test_the_server_accepts_the_deployment_flags(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    args = _container(objects)["args"]
    try:
        context = main.command.make_context("porch-server", list(args))
    except click.ClickException as err:
        pytest.fail(f"porch-server rejects the Deployment's flags: {err.format_message()}")
    opts = main.options_from(context.params).complete()
    assert not opts.standalone
    assert opts.validate() == []
    assert opts.authorization_mode == "Webhook"
    assert opts.secure_port == 4443
    assert opts.runtime.cache_directory == Path("/cache")
    assert opts.data_dir == Path("/var/lib/porch")
    assert opts.cert_dir == Path("/tmp/certs")
    assert opts.runtime.local_repository_roots == ()  # no file:// repositories in a cluster


def test_every_directory_the_server_writes_is_a_volume(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    pod = objects[("Deployment", "porch-server")]["spec"]["template"]["spec"]
    container = _container(objects)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert set(mounts.values()) <= set(volumes)
    # The root file system is read-only: cache, data, certificates and HOME are mounted.
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    opts = main.options_from(
        main.command.make_context("porch-server", list(container["args"])).params
    ).complete()
    env = {e["name"]: e["value"] for e in container["env"]}
    for directory in (opts.runtime.cache_directory, opts.data_dir, opts.cert_dir, env["HOME"]):
        assert any(Path(str(directory)).is_relative_to(mount) for mount in mounts), (
            f"{directory} is not on a volume"
        )
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_metadata_outlives_the_pod(objects: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Labels, finalizers and managedFields exist only in --data-dir: it must be a claim."""
    deployment = objects[("Deployment", "porch-server")]
    pod = deployment["spec"]["template"]["spec"]
    mount = next(
        m for m in _container(objects)["volumeMounts"] if m["mountPath"] == "/var/lib/porch"
    )
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    claim = objects[("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])]
    assert claim["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    # ReadWriteOnce with a rolling update would leave the new pod waiting for the old one's volume.
    assert deployment["spec"]["strategy"]["type"] == "Recreate"


def test_rbac_grants_what_the_server_uses(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    account = objects[("ServiceAccount", "porch-server")]
    assert account["metadata"]["namespace"] == "porch-system"
    pod = objects[("Deployment", "porch-server")]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "porch-server"
    subject = [{"kind": "ServiceAccount", "name": "porch-server", "namespace": "porch-system"}]
    role_refs = {}
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for (found, _), binding in objects.items():
            if found == kind:
                assert binding["subjects"] == subject
                role_refs[binding["roleRef"]["name"]] = binding
    assert role_refs["system:auth-delegator"]["roleRef"]["kind"] == "ClusterRole"
    reader = role_refs["extension-apiserver-authentication-reader"]
    assert (reader["roleRef"]["kind"], reader["metadata"]["namespace"]) == ("Role", "kube-system")
    rules = objects[("ClusterRole", "porch-server")]["rules"]
    granted = {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    needed = {
        # The repository controller: list/watch, finalizers, status.
        ("config.porch.kpt.dev", "repositories", "list"),
        ("config.porch.kpt.dev", "repositories", "watch"),
        ("config.porch.kpt.dev", "repositories", "get"),
        ("config.porch.kpt.dev", "repositories", "patch"),
        ("config.porch.kpt.dev", "repositories/status", "patch"),
        # Git credentials.
        ("", "secrets", "get"),
        # Delegated authorization, and authentication of bearer tokens sent to the Service
        # directly (both also granted by system:auth-delegator).
        ("authorization.k8s.io", "subjectaccessreviews", "create"),
        ("authentication.k8s.io", "tokenreviews", "create"),
    }
    assert needed <= granted
    assert "porch-server" in role_refs


def test_the_crd_is_porchs() -> None:
    assert (DEPLOYMENTS / "0-repositories.yaml").read_text() == SHARED_CRD.read_text()


def test_the_aggregated_defaults_are_what_the_manifests_assume() -> None:
    # The Deployment relies on defaults rather than spelling them out.
    done = options.ServerOptions().complete()
    assert done.authorization_mode == "Webhook"
    assert done.kubeconfig is None  # in-cluster configuration
