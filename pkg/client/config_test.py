"""Resolving where the client connects: kubeconfig files, contexts, overrides, namespace."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pkg.client import config, errors


def _write(path: Path, *, contexts: dict[str, dict[str, str]], current: str) -> Path:
    clusters = {c["cluster"] for c in contexts.values()}
    users = {c["user"] for c in contexts.values()}
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": c, "cluster": {"server": f"https://{c}.example:6443"}}
            for c in sorted(clusters)
        ],
        "users": [{"name": u, "user": {"token": f"token-of-{u}"}} for u in sorted(users)],
        "contexts": [{"name": n, "context": c} for n, c in contexts.items()],
        "current-context": current,
    }
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The tests must not see the developer's ~/.kube/config or a pod's service account.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("KUBECONFIG", "NAMESPACE", "KUBERNETES_SERVICE_HOST", "POD_NAMESPACE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "config",
        contexts={
            "dev": {"cluster": "dev", "user": "alice", "namespace": "blueprints"},
            "prod": {"cluster": "prod", "user": "bob"},
        },
        current="dev",
    )


def test_current_context_gives_server_credentials_and_namespace(kubeconfig: Path) -> None:
    loaded = config.load(config.Overrides(kubeconfig=str(kubeconfig)))
    assert loaded.configuration.host == "https://dev.example:6443"
    assert loaded.configuration.api_key["BearerToken"] == "Bearer token-of-alice"
    assert loaded.namespace == "blueprints"
    assert loaded.namespace_from_config


def test_context_flag_selects_another_context(kubeconfig: Path) -> None:
    loaded = config.load(config.Overrides(kubeconfig=str(kubeconfig), context="prod"))
    assert loaded.configuration.host == "https://prod.example:6443"
    assert loaded.configuration.api_key["BearerToken"] == "Bearer token-of-bob"
    # No namespace in the context: Porch's porchctl falls back to "default".
    assert loaded.namespace == "default"
    assert not loaded.namespace_from_config


def test_namespace_flag_wins(kubeconfig: Path) -> None:
    loaded = config.load(config.Overrides(kubeconfig=str(kubeconfig), namespace="other"))
    assert loaded.namespace == "other"


def test_namespace_env_applies_when_kubeconfig_has_none(
    kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAMESPACE", "from-env")
    assert config.load(config.Overrides(kubeconfig=str(kubeconfig), context="prod")).namespace == (
        "from-env"
    )
    # The kubeconfig's own namespace still comes first.
    assert config.load(config.Overrides(kubeconfig=str(kubeconfig))).namespace == "blueprints"


def test_cluster_and_user_overrides_replace_the_contexts(kubeconfig: Path) -> None:
    loaded = config.load(config.Overrides(kubeconfig=str(kubeconfig), cluster="prod", user="bob"))
    assert loaded.configuration.host == "https://prod.example:6443"
    assert loaded.configuration.api_key["BearerToken"] == "Bearer token-of-bob"
    assert loaded.namespace == "blueprints"  # still the dev context's namespace


def test_single_value_overrides(kubeconfig: Path) -> None:
    loaded = config.load(
        config.Overrides(
            kubeconfig=str(kubeconfig),
            server="https://elsewhere:9443/",
            token="abc",
            insecure_skip_tls_verify=True,
            tls_server_name="porch.local",
        )
    )
    assert loaded.configuration.host == "https://elsewhere:9443"
    assert loaded.configuration.api_key["BearerToken"] == "Bearer abc"
    assert loaded.configuration.verify_ssl is False
    assert loaded.configuration.tls_server_name == "porch.local"


def test_basic_auth_override(kubeconfig: Path) -> None:
    loaded = config.load(config.Overrides(kubeconfig=str(kubeconfig), username="u", password="p"))
    assert loaded.configuration.api_key["BearerToken"] == "Basic dTpw"


def test_kubeconfig_env_merges_files_first_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _write(tmp_path / "a", contexts={"a": {"cluster": "one", "user": "u1"}}, current="a")
    second = _write(
        tmp_path / "b",
        contexts={"a": {"cluster": "two", "user": "u2"}, "b": {"cluster": "two", "user": "u2"}},
        current="b",
    )
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'missing'}:{second}")
    # current-context comes from the last file that sets it; entries from the first.
    assert config.load().configuration.host == "https://two.example:6443"
    assert config.load(config.Overrides(context="a")).configuration.host == (
        "https://one.example:6443"
    )


def test_unknown_context_is_a_config_error(kubeconfig: Path) -> None:
    with pytest.raises(errors.ConfigError, match='context "nope" does not exist'):
        config.load(config.Overrides(kubeconfig=str(kubeconfig), context="nope"))


def test_unknown_cluster_is_a_config_error(kubeconfig: Path) -> None:
    with pytest.raises(errors.ConfigError, match='cluster "nope" does not exist'):
        config.load(config.Overrides(kubeconfig=str(kubeconfig), cluster="nope"))


def test_missing_kubeconfig_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError, match="no such file or directory"):
        config.load(config.Overrides(kubeconfig=str(tmp_path / "absent")))


def test_no_configuration_at_all_is_kubectls_error() -> None:
    with pytest.raises(errors.ConfigError, match="no configuration has been provided"):
        config.load()


def test_server_flag_alone_is_enough() -> None:
    loaded = config.load(config.Overrides(server="http://127.0.0.1:8080", namespace="x"))
    assert loaded.configuration.host == "http://127.0.0.1:8080"
    assert loaded.namespace == "x"


def test_in_cluster_without_service_account_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In a pod without a mounted service-account token (the fixed paths this machine lacks).
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(errors.ConfigError, match="token"):
        config.load()


def test_user_agent_is_kept_per_copy(kubeconfig: Path) -> None:
    loaded = config.load(config.Overrides(kubeconfig=str(kubeconfig)))
    assert loaded.with_user_agent("porchctl/1.2.3").user_agent == "porchctl/1.2.3"
    assert loaded.user_agent == "porch-client"
