from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from kubernetes import client as k8s_client

from pkg.apimachinery import user
from pkg.apiserver import apiservertesting, authentication, pki

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


# --- TokenReview ------------------------------------------------------------------------------

SA_TOKEN = "eyJhbGciOiJSUzI1NiJ9.service-account.s3cr3t"
SA_STATUS: dict[str, Any] = {
    "authenticated": True,
    "user": {
        "username": "system:serviceaccount:porch-system:controller",
        "uid": "8d7b-uid",
        "groups": ["system:serviceaccounts", "system:serviceaccounts:porch-system"],
        "extra": {"authentication.kubernetes.io/pod-name": ["controller-0"]},
    },
}
DENIED_STATUS: dict[str, Any] = {"authenticated": False, "error": "invalid bearer token"}


class _KubeAPI(apiservertesting.ReviewHandler):
    """kube-apiserver's TokenReview endpoint, which we cannot run here: it answers from
    ``answers`` (token -> status), or fails with ``code`` and a Status that echoes the token,
    and waits for ``gate`` first when one is set."""

    reviews: ClassVar[list[dict[str, Any]]]
    paths: ClassVar[list[str]]
    answers: ClassVar[dict[str, dict[str, Any]]]
    code: ClassVar[int]
    gate: ClassVar[threading.Event | None]
    arrived: ClassVar[threading.Event]

    def do_POST(self) -> None:
        body = self.read_json()
        type(self).reviews.append(body)
        type(self).paths.append(self.path)
        self.arrived.set()
        if self.gate is not None:
            self.gate.wait(10)
        token = body["spec"]["token"]
        if self.code == 201:
            reply: dict[str, Any] = {**body, "status": self.answers.get(token, DENIED_STATUS)}
        else:
            reply = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "message": f"cannot review {token}",
                "code": self.code,
            }
        self.reply_json(self.code, reply)


@dataclass
class KubeAPI:
    handler: type[_KubeAPI]
    client: k8s_client.ApiClient

    def authenticator(self, **options: Any) -> authentication.Authenticator:
        """The chain with static tokens and this cluster's TokenReview."""
        return authentication.Authenticator(
            client_cas=(CLIENT_CA.cert,),
            tokens=TOKENS,
            token_review=authentication.TokenReviewAuthenticator(
                authentication.kubernetes_token_review(self.client, timeout_seconds=10),
                **options,
            ),
        )


@pytest.fixture
def kube_api() -> Iterator[KubeAPI]:
    class Handler(_KubeAPI):
        reviews: ClassVar[list[dict[str, Any]]] = []
        paths: ClassVar[list[str]] = []
        answers: ClassVar[dict[str, dict[str, Any]]] = {SA_TOKEN: SA_STATUS}
        code: ClassVar[int] = 201
        gate: ClassVar[threading.Event | None] = None
        arrived: ClassVar[threading.Event] = threading.Event()

    handler: type[_KubeAPI] = Handler
    try:
        with apiservertesting.kube_review_endpoint(handler) as api_client:
            yield KubeAPI(handler, api_client)
    finally:
        if handler.gate is not None:
            handler.gate.set()


def _our_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == authentication.__name__ and r.levelno >= logging.WARNING
    ]


def _bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


async def test_a_token_the_cluster_vouches_for_is_its_user(kube_api: KubeAPI) -> None:
    info = await kube_api.authenticator().authenticate_request(None, _bearer(SA_TOKEN))
    assert info is not None
    assert (info.name, info.uid) == ("system:serviceaccount:porch-system:controller", "8d7b-uid")
    assert info.groups == (
        "system:serviceaccounts",
        "system:serviceaccounts:porch-system",
        user.ALL_AUTHENTICATED,
    )
    assert dict(info.extra) == {"authentication.kubernetes.io/pod-name": ("controller-0",)}
    assert kube_api.handler.paths == ["/apis/authentication.k8s.io/v1/tokenreviews"]
    assert kube_api.handler.reviews == [
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": SA_TOKEN},
        }
    ]


async def test_a_token_the_cluster_denies_authenticates_nobody(kube_api: KubeAPI) -> None:
    authn = kube_api.authenticator()
    assert await authn.authenticate_request(None, _bearer("expired-token")) is None
    assert len(kube_api.handler.reviews) == 1


async def test_local_credentials_win_without_a_review(kube_api: KubeAPI) -> None:
    authn = kube_api.authenticator()
    bob = await authn.authenticate_request(None, _bearer("tok-bob"))
    assert bob is not None and bob.name == "bob"
    alice = await authn.authenticate_request(ALICE.cert, _bearer(SA_TOKEN))
    assert alice is not None and alice.name == "alice"
    assert kube_api.handler.reviews == []


async def test_without_a_bearer_token_nothing_is_reviewed(kube_api: KubeAPI) -> None:
    authn = kube_api.authenticator()
    assert await authn.authenticate_request(None, [("Authorization", "Basic dTpw")]) is None
    assert await authn.authenticate_request(STRANGER.cert, PROXIED) is None
    assert kube_api.handler.reviews == []


@pytest.mark.parametrize(
    ("code", "logged"),
    [
        pytest.param(403, "HTTP 403: cannot review <token>", id="rbac-forbids-tokenreviews"),
        pytest.param(500, "HTTP 500: cannot review <token>", id="server-error"),
    ],
)
async def test_a_failed_review_authenticates_nobody_and_is_asked_again(
    kube_api: KubeAPI, caplog: pytest.LogCaptureFixture, code: int, logged: str
) -> None:
    caplog.set_level(logging.DEBUG)
    kube_api.handler.code = code
    authn = kube_api.authenticator()
    assert await authn.authenticate_request(None, _bearer(SA_TOKEN)) is None
    assert _our_warnings(caplog) == [
        f"TokenReview failed, the bearer token authenticates nobody: {logged}"
    ]
    assert SA_TOKEN not in caplog.text
    # Failures are not cached: once the cluster answers again, so does the server.
    kube_api.handler.code = 201
    info = await authn.authenticate_request(None, _bearer(SA_TOKEN))
    assert info is not None and info.name == "system:serviceaccount:porch-system:controller"
    assert len(kube_api.handler.reviews) == 2


async def test_an_unreachable_cluster_authenticates_nobody(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    configuration = k8s_client.Configuration()
    configuration.host = "http://127.0.0.1:9"  # discard port: nothing listens
    api_client = k8s_client.ApiClient(configuration)
    try:
        authn = authentication.Authenticator(
            token_review=authentication.TokenReviewAuthenticator(
                authentication.kubernetes_token_review(api_client, timeout_seconds=2)
            )
        )
        assert await authn.authenticate_request(None, _bearer(SA_TOKEN)) is None
    finally:
        api_client.close()  # type: ignore[no-untyped-call]
    (warning,) = _our_warnings(caplog)
    assert warning.startswith("TokenReview failed, the bearer token authenticates nobody: ")
    assert "MaxRetryError" in warning and "Connection refused" in warning
    assert SA_TOKEN not in caplog.text


async def test_answers_are_cached_for_the_ttl(kube_api: KubeAPI) -> None:
    authn = kube_api.authenticator(cache_ttl=0.3)
    first = await authn.authenticate_request(None, _bearer(SA_TOKEN))
    second = await authn.authenticate_request(None, _bearer(SA_TOKEN))
    assert first == second and first is not None
    assert len(kube_api.handler.reviews) == 1
    await asyncio.sleep(0.35)
    assert await authn.authenticate_request(None, _bearer(SA_TOKEN)) == first
    assert len(kube_api.handler.reviews) == 2


async def test_denials_are_cached_for_a_shorter_time(kube_api: KubeAPI) -> None:
    authn = kube_api.authenticator(cache_ttl=10, failure_cache_ttl=0.2)
    for _ in range(2):
        assert await authn.authenticate_request(None, _bearer("bad-token")) is None
        assert await authn.authenticate_request(None, _bearer(SA_TOKEN)) is not None
    assert len(kube_api.handler.reviews) == 2
    await asyncio.sleep(0.25)
    assert await authn.authenticate_request(None, _bearer("bad-token")) is None
    assert await authn.authenticate_request(None, _bearer(SA_TOKEN)) is not None
    # Only the denial was asked again; the user is still cached.
    assert [r["spec"]["token"] for r in kube_api.handler.reviews] == [
        "bad-token",
        SA_TOKEN,
        "bad-token",
    ]


async def test_concurrent_requests_with_one_token_share_one_review(kube_api: KubeAPI) -> None:
    kube_api.handler.gate = threading.Event()
    authn = kube_api.authenticator()
    requests = [
        asyncio.ensure_future(authn.authenticate_request(None, _bearer(SA_TOKEN))) for _ in range(5)
    ]
    assert await asyncio.to_thread(kube_api.handler.arrived.wait, 10)
    await asyncio.sleep(0.05)  # time for any second review to arrive
    assert len(kube_api.handler.reviews) == 1
    kube_api.handler.gate.set()
    users = await asyncio.gather(*requests)
    assert {u.name if u else None for u in users} == {
        "system:serviceaccount:porch-system:controller"
    }
    assert len(kube_api.handler.reviews) == 1


async def test_a_caller_that_goes_away_does_not_cancel_the_shared_review(
    kube_api: KubeAPI,
) -> None:
    kube_api.handler.gate = threading.Event()
    authn = kube_api.authenticator()
    leaving = asyncio.ensure_future(authn.authenticate_request(None, _bearer(SA_TOKEN)))
    staying = asyncio.ensure_future(authn.authenticate_request(None, _bearer(SA_TOKEN)))
    await asyncio.sleep(0.05)
    leaving.cancel()
    kube_api.handler.gate.set()
    info = await staying
    assert info is not None
    assert leaving.cancelled()
    assert len(kube_api.handler.reviews) == 1


async def test_a_cluster_that_does_not_answer_leaves_the_default_executor_free(
    kube_api: KubeAPI,
) -> None:
    """Reviews wait on threads of their own: asyncio's default executor (which renders
    packages) keeps working while more reviews hang than it has threads."""
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(max_workers=2)
    )
    kube_api.handler.gate = threading.Event()
    authn = kube_api.authenticator()
    hanging = [
        asyncio.ensure_future(authn.authenticate_request(None, _bearer(f"hung-{i}")))
        for i in range(4)
    ]
    await asyncio.sleep(0.1)  # every review has been handed to its executor
    assert await asyncio.wait_for(asyncio.to_thread(str, "free"), timeout=5) == "free"
    kube_api.handler.gate.set()
    assert await asyncio.gather(*hanging) == [None] * 4


async def test_the_cache_is_bounded(kube_api: KubeAPI) -> None:
    kube_api.handler.answers = {f"t{i}": SA_STATUS for i in range(3)}
    authn = kube_api.authenticator(cache_size=2)
    for token in ("t0", "t1", "t2", "t0"):
        assert await authn.authenticate_request(None, _bearer(token)) is not None
    # t0 was the least recently used when t2 came: it was reviewed again.
    assert [r["spec"]["token"] for r in kube_api.handler.reviews] == ["t0", "t1", "t2", "t0"]


@pytest.mark.parametrize(
    ("answered", "authenticated"),
    [
        pytest.param(["porch"], True, id="our-audience"),
        pytest.param([], True, id="the-clusters-own-audience"),
        pytest.param(["vault"], False, id="another-audience"),
    ],
)
async def test_audiences_are_asked_for_and_checked(
    kube_api: KubeAPI, answered: list[str], authenticated: bool
) -> None:
    kube_api.handler.answers = {SA_TOKEN: {**SA_STATUS, "audiences": answered}}
    authn = kube_api.authenticator(audiences=("porch",))
    info = await authn.authenticate_request(None, _bearer(SA_TOKEN))
    assert (info is not None) == authenticated
    assert kube_api.handler.reviews[0]["spec"] == {"token": SA_TOKEN, "audiences": ["porch"]}


async def test_a_nameless_user_is_not_authenticated(kube_api: KubeAPI) -> None:
    kube_api.handler.answers = {SA_TOKEN: {"authenticated": True, "user": {"groups": ["g"]}}}
    assert await kube_api.authenticator().authenticate_request(None, _bearer(SA_TOKEN)) is None
