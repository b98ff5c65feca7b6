from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from pkg.cmd.server import main


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The command configures process-wide logging; give the next test the old setup."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_help_lists_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["--help"]) == 0
    out = capsys.readouterr().out
    for flag in (
        "--standalone",
        "--data-dir",
        "--write-kubeconfig",
        "--requestheader-allowed-names",
        "--authorization-mode",
        "--local-repository-root",
        "--repo-sync-frequency",
        "--max-request-body-size",
        "--use-user-cabundle",
    ):
        assert flag in out


def test_use_user_cabundle_is_off_unless_given() -> None:
    def parsed(*argv: str) -> bool:
        with main.command.make_context("porch-server", list(argv)) as ctx:
            return main.options_from(ctx.params).runtime.use_user_cabundle

    assert parsed("--standalone") is False
    assert parsed("--standalone", "--use-user-cabundle") is True


def test_invalid_options_exit_2_naming_every_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main.main(
        [
            "--standalone",
            "--data-dir",
            str(tmp_path),
            "--bind-address",
            "localhost",
            "--client-ca-file",
            str(tmp_path / "missing.pem"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "porch-server: --bind-address: 'localhost' is not an IP address" in err
    assert f"porch-server: --client-ca-file: {tmp_path / 'missing.pem'}" in err


def test_a_bad_duration_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["--repo-sync-frequency", "often"]) == 2
    assert "invalid duration 'often'" in capsys.readouterr().err


def test_an_unreadable_token_file_stops_the_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text("only-a-token\n")
    code = main.main(
        [
            "--standalone",
            "--data-dir",
            str(tmp_path / "data"),
            "--bind-address",
            "127.0.0.1",
            "--token-auth-file",
            str(tokens),
        ]
    )
    assert code == 1
    assert "--token-auth-file" in capsys.readouterr().err


def test_help_documents_the_function_exec_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--function-exec CONFIG" in out
    assert "'IMAGE: [PROGRAM, ARG...]' or 'IMAGE: PROGRAM ARG...'" in out


def test_an_unusable_function_exec_file_stops_the_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "functions.yaml"
    config.write_text("set-image: [/no/such/program]\n")
    code = main.main(
        [
            "--standalone",
            "--data-dir",
            str(tmp_path / "data"),
            "--bind-address",
            "127.0.0.1",
            "--function-exec",
            str(config),
        ]
    )
    assert code == 1
    assert (
        "porch-server: --function-exec: set-image: /no/such/program is not an executable file"
        in capsys.readouterr().err
    )
