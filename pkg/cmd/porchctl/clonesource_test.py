"""``rpkg clone`` SOURCE_PACKAGE forms: revision names, git URLs (``.git/dir@ref``), OCI."""

from __future__ import annotations

import pytest

from pkg.apimachinery import codec
from pkg.cmd.porchctl import clonesource, cmdutil

BLUEPRINTS = "http://127.0.0.1:3000/nephio/test-blueprints"


def _upstream(source: str, **flags: str) -> dict[str, object]:
    return codec.to_dict(clonesource.parse(source, **flags))


def test_revision_name() -> None:
    assert _upstream("test-blueprints.empty.v1") == {
        "upstreamRef": {"name": "test-blueprints.empty.v1"}
    }


def test_revision_name_ignores_directory_and_ref() -> None:
    # rpkg-upgrade's golden passes --directory/--ref with a revision name: they are unused.
    assert _upstream("git.upgrade-orig.v1", directory="basens", ref="basens/v1") == {
        "upstreamRef": {"name": "git.upgrade-orig.v1"}
    }


def test_git_url_with_directory_and_ref() -> None:
    assert _upstream(f"{BLUEPRINTS}.git/basens@basens/v1") == {
        "type": "git",
        "git": {"repo": f"{BLUEPRINTS}.git", "ref": "basens/v1", "directory": "/basens"},
    }


def test_git_url_with_flags() -> None:
    assert _upstream(f"{BLUEPRINTS}.git", directory="basens", ref="basens/v1") == {
        "type": "git",
        "git": {"repo": f"{BLUEPRINTS}.git", "ref": "basens/v1", "directory": "basens"},
    }


def test_git_url_defaults_and_secret() -> None:
    assert _upstream("https://github.com/org/repo", secret_ref="creds") == {
        "type": "git",
        "git": {
            "repo": "https://github.com/org/repo",
            "ref": "main",
            "directory": "/",
            "secretRef": {"name": "creds"},
        },
    }


def test_flags_may_repeat_the_url_values() -> None:
    upstream = _upstream(f"{BLUEPRINTS}.git/basens@basens/v1", directory="basens", ref="basens/v1")
    assert upstream["git"] == {
        "repo": f"{BLUEPRINTS}.git",
        "ref": "basens/v1",
        "directory": "basens",
    }


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            {"directory": "other"},
            "directory other specified by --directory contradicts directory /basens",
        ),
        ({"ref": "main"}, "ref main specified by --ref contradicts ref basens/v1"),
    ],
)
def test_contradicting_flags(flags: dict[str, str], message: str) -> None:
    with pytest.raises(cmdutil.KptError, match=message):
        clonesource.parse(f"{BLUEPRINTS}.git/basens@basens/v1", **flags)


def test_oci() -> None:
    assert _upstream("oci://ghcr.io/org/pkg:v1") == {
        "type": "oci",
        "oci": {"image": "oci://ghcr.io/org/pkg:v1"},
    }


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("https://h/r.git", ("https://h/r", "", "")),
        ("https://h/r.git/", ("https://h/r", "", "")),
        ("https://h/r.git/a/b", ("https://h/r", "/a/b", "")),
        ("https://h/r.git/a@v1/", ("https://h/r", "/a", "v1")),
    ],
)
def test_split_git_url(url: str, parts: tuple[str, str, str]) -> None:
    assert clonesource.split_git_url(url) == parts
