from __future__ import annotations

from pathlib import Path

import pytest

from pkg.cmd.server import options


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10m", 600.0), ("20s", 20.0), ("1h30m", 5400.0), ("500ms", 0.5), ("1.5s", 1.5), ("0", 0.0)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert options.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "ten minutes", "5m garbage", "m5"])
def test_parse_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        options.parse_duration(text)


def test_standalone_defaults_derive_from_the_data_dir(tmp_path: Path) -> None:
    done = options.ServerOptions(standalone=True, data_dir=tmp_path / "d").complete()
    assert done.secure_port == 9443
    assert done.cert_dir == tmp_path / "d" / "pki"
    assert done.authorization_mode == "AlwaysAllow"
    assert done.runtime.local_repository_roots == (tmp_path / "d" / "repositories",)
    assert done.runtime.cache_directory == tmp_path / "d" / "cache"
    assert done.validate() == []


def test_aggregated_defaults() -> None:
    done = options.ServerOptions().complete()
    assert done.secure_port == 4443
    assert done.authorization_mode == "Webhook"
    assert done.authentication_token_webhook_cache_ttl == 10.0  # Go's default
    assert done.cert_dir is not None
    assert done.cert_dir.parts[-2:] == ("apiserver.local.config", "certificates")
    assert done.data_dir is not None and done.data_dir.name == "porch-server"
    assert done.runtime.cache_directory == done.data_dir / "cache"
    # Aggregated servers allow no local repositories unless told.
    assert done.runtime.local_repository_roots == ()


@pytest.mark.parametrize(
    ("given", "completed"),
    [
        ("registry.example.com/fns", "registry.example.com/fns/"),
        ("registry.example.com/fns/", "registry.example.com/fns/"),
        ("", ""),
    ],
)
def test_the_default_image_prefix_ends_in_a_slash(given: str, completed: str) -> None:
    opts = options.ServerOptions(runtime=options.RuntimeOptions(default_image_prefix=given))
    assert opts.complete().runtime.default_image_prefix == completed


def test_an_explicit_cache_directory_wins(tmp_path: Path) -> None:
    done = options.ServerOptions(
        standalone=True,
        data_dir=tmp_path / "d",
        runtime=options.RuntimeOptions(cache_directory=tmp_path / "c"),
    ).complete()
    assert done.runtime.cache_directory == tmp_path / "c"


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    done = options.ServerOptions(
        standalone=True, data_dir=Path(".porch"), write_kubeconfig=Path(".porch/kubeconfig")
    ).complete()
    assert done.data_dir == tmp_path / ".porch"
    assert done.write_kubeconfig == tmp_path / ".porch" / "kubeconfig"


def test_complete_does_not_change_the_original() -> None:
    original = options.ServerOptions(standalone=True, data_dir=Path("/d"))
    original.complete()
    assert original.runtime.local_repository_roots == ()
    assert original.secure_port is None


def test_validate_reports_every_problem(tmp_path: Path) -> None:
    opts = options.ServerOptions(
        bind_address="localhost",
        secure_port=70000,
        tls_cert_file=tmp_path / "missing.crt",
        write_kubeconfig=tmp_path / "kubeconfig",
        max_request_body_size=0,
        authentication_token_webhook_cache_ttl=-1,
        runtime=options.RuntimeOptions(max_concurrent_syncs=0, list_timeout_per_repo=0),
    ).complete()
    problems = opts.validate()
    assert any(p.startswith("--bind-address") for p in problems)
    assert any(p.startswith("--secure-port") for p in problems)
    assert "--tls-cert-file and --tls-private-key-file must be given together" in problems
    assert any(p.startswith("--tls-cert-file: ") for p in problems)
    assert any(p.startswith("--write-kubeconfig needs --standalone") for p in problems)
    assert "--max-request-body-size must be positive" in problems
    assert "--authentication-token-webhook-cache-ttl must not be negative" in problems
    assert "--max-concurrent-syncs must be at least 1" in problems
    assert "--list-timeout-per-repo must be positive" in problems
