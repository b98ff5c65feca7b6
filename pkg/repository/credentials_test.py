"""Credentials never reveal their secrets in repr() (and so in logs and tracebacks)."""

from __future__ import annotations

from pkg.repository import credentials


def test_repr_hides_secrets() -> None:
    shown = " ".join(
        repr(c)
        for c in (
            credentials.BasicAuth("porch", "hunter2"),
            credentials.BearerToken("tok-123"),
            credentials.SshKey("git", "-----BEGIN KEY-----", passphrase="pass-phrase"),
        )
    )
    assert "porch" in shown
    for secret in ("hunter2", "tok-123", "BEGIN KEY", "pass-phrase"):
        assert secret not in shown
