from __future__ import annotations

from collections.abc import Sequence

import pytest

from pkg.apimachinery import user
from pkg.apiserver import authentication, pki

CLIENT_CA = pki.new_ca("client-ca")
PROXY_CA = pki.new_ca("front-proxy-ca")
OTHER_CA = pki.new_ca("other-ca")

ALICE = pki.new_client_cert(CLIENT_CA, "alice", ["dev", "ops"])
PROXY = pki.new_client_cert(PROXY_CA, "front-proxy-client")
ROGUE_PROXY = pki.new_client_cert(PROXY_CA, "not-the-proxy")
STRANGER = pki.new_client_cert(OTHER_CA, "mallory")
SERVER_ONLY = pki.new_serving_cert(CLIENT_CA, ["localhost"])  # no clientAuth usage

TOKENS = authentication.parse_token_file(
    '# static tokens\ntok-bob,bob,1001,"editors,viewers"\ntok-carol,carol,1002\n'
)

AUTHN = authentication.Authenticator(
    client_cas=(CLIENT_CA.cert,),
    request_header=authentication.RequestHeaderConfig(
        client_cas=(PROXY_CA.cert,), allowed_names=("front-proxy-client",)
    ),
    tokens=TOKENS,
)

PROXIED: Sequence[tuple[str, str]] = [
    ("X-Remote-User", "dave"),
    ("X-Remote-Group", "g1"),
    ("X-Remote-Group", "g2"),
    ("X-Remote-Extra-Acme.com%2Fproject", "p1"),
    ("X-Remote-Extra-Scopes", "a"),
    ("X-Remote-Extra-Scopes", "b"),
    ("X-Remote-Uid", "u-1"),
]


def test_client_certificate_user_and_groups() -> None:
    info = AUTHN.authenticate(ALICE.cert, [])
    assert info is not None
    assert (info.name, info.groups) == ("alice", ("dev", "ops", user.ALL_AUTHENTICATED))


def test_front_proxy_headers_from_the_front_proxy() -> None:
    info = AUTHN.authenticate(PROXY.cert, PROXIED)
    assert info is not None
    assert (info.name, info.uid) == ("dave", "u-1")
    assert info.groups == ("g1", "g2", user.ALL_AUTHENTICATED)
    assert dict(info.extra) == {"acme.com/project": ("p1",), "scopes": ("a", "b")}


@pytest.mark.parametrize(
    "cert",
    [
        pytest.param(ALICE, id="client-ca-cert"),
        pytest.param(ROGUE_PROXY, id="proxy-ca-cert-with-other-cn"),
        pytest.param(STRANGER, id="unknown-ca"),
    ],
)
def test_front_proxy_headers_are_never_trusted_from_other_certificates(
    cert: pki.CertKey,
) -> None:
    info = AUTHN.authenticate(cert.cert, PROXIED)
    assert info is None or info.name != "dave"


def test_a_client_certificate_with_proxy_headers_is_its_own_user() -> None:
    info = AUTHN.authenticate(ALICE.cert, PROXIED)
    assert info is not None
    assert info.name == "alice"


def test_a_rogue_proxy_certificate_authenticates_nobody() -> None:
    assert AUTHN.authenticate(ROGUE_PROXY.cert, PROXIED) is None


def test_the_front_proxy_without_a_user_header_is_not_a_user() -> None:
    assert AUTHN.authenticate(PROXY.cert, [("X-Remote-Group", "system:masters")]) is None


def test_any_cn_is_allowed_when_allowed_names_is_empty() -> None:
    authn = authentication.Authenticator(
        request_header=authentication.RequestHeaderConfig(client_cas=(PROXY_CA.cert,))
    )
    info = authn.authenticate(ROGUE_PROXY.cert, PROXIED)
    assert info is not None
    assert info.name == "dave"


def test_a_certificate_without_client_auth_usage_is_refused() -> None:
    assert AUTHN.authenticate(SERVER_ONLY.cert, []) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("Bearer tok-bob", ("bob", "1001", ("editors", "viewers")), id="groups"),
        pytest.param("bearer  tok-carol ", ("carol", "1002", ()), id="case-and-spaces"),
    ],
)
def test_bearer_tokens(header: str, expected: tuple[str, str, tuple[str, ...]]) -> None:
    info = AUTHN.authenticate(None, [("Authorization", header)])
    assert info is not None
    name, uid, groups = expected
    assert (info.name, info.uid, info.groups) == (name, uid, (*groups, user.ALL_AUTHENTICATED))


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([], id="nothing"),
        pytest.param([("Authorization", "Bearer nope")], id="unknown-token"),
        pytest.param([("Authorization", "Basic dTpw")], id="basic-auth"),
        pytest.param(PROXIED, id="proxy-headers-without-certificate"),
    ],
)
def test_everything_else_is_unauthenticated(headers: Sequence[tuple[str, str]]) -> None:
    assert AUTHN.authenticate(None, headers) is None


def test_trusted_cas_include_both_bundles() -> None:
    assert AUTHN.trusted_cas == (CLIENT_CA.cert, PROXY_CA.cert)


def test_token_file_errors_name_the_line_but_never_the_token() -> None:
    with pytest.raises(authentication.TokenFileError) as caught:
        authentication.parse_token_file("tok-ok,ok,1\nsecret-token,only-user\n", "tokens.csv")
    assert "tokens.csv, line 2" in str(caught.value)
    assert "secret-token" not in str(caught.value)
