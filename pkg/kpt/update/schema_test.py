"""Tests of the Kubernetes list-merge metadata lookups."""

from __future__ import annotations

from pkg.kpt.update import schema


def test_deployment_containers_and_ports() -> None:
    deployment = schema.for_resource("apps/v1", "Deployment")
    assert deployment is not None
    containers = deployment.field("spec")
    assert containers is not None
    containers = containers.field("template")
    assert containers is not None
    containers = containers.field("spec")
    assert containers is not None
    containers = containers.field("containers")
    assert containers is not None and containers.merges_elements()
    assert containers.keys == ("name",)
    element = containers.elements()
    assert element is not None
    ports = element.field("ports")
    assert ports is not None and ports.keys == ("containerPort", "protocol")
    args = element.field("args")
    assert args is not None and not args.merges_elements()


def test_lists_without_merge_strategy_and_unknown_types() -> None:
    binding = schema.for_resource("rbac.authorization.k8s.io/v1", "RoleBinding")
    assert binding is not None
    subjects = binding.field("subjects")
    assert subjects is not None and not subjects.merges_elements()
    assert binding.field("no-such-field") is None
    assert schema.for_resource("kpt.dev/v1", "Kptfile") is None
    assert schema.for_resource("example.com/v1", "Thing") is None
