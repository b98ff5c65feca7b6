"""Who is calling: the authentication chain every request passes (apiserver's authenticators).

Where this sits: :mod:`pkg.apiserver.server` calls :meth:`Authenticator.authenticate_request`
for each request with the TLS peer certificate and the headers, before authorization and
before any storage is touched. The resulting :class:`~pkg.apimachinery.user.UserInfo`
travels in ``RequestContext.user`` down to the engine (git author, ``publishedBy``).
``pkg.cmd.server`` builds the :class:`Authenticator` from the command-line flags.

The chain, in Kubernetes' order (kubernetes-api-contract.md §9.5, §9.6, §8 pitfall 11):

1. **Front proxy** (request headers): only when the client certificate was issued by a
   ``--requestheader-client-ca-file`` CA *and* its CN is in ``--requestheader-allowed-names``
   (any CN when that list is empty). Then the user is the first non-empty
   ``X-Remote-User``, groups every ``X-Remote-Group`` value, extras every
   ``X-Remote-Extra-<key>`` (key lower-cased and percent-unescaped), uid ``X-Remote-Uid``.
   Without a user header the chain goes on. ``X-Remote-*`` headers on any other request are
   ignored, never trusted.
2. **x509 client certificate** issued by a ``--client-ca-file`` CA (with the clientAuth
   usage when the certificate restricts usages): user = CN, groups = O.
3. **Bearer token** from ``--token-auth-file`` (kube's CSV: ``token,user,uid,"g1,g2"``).
4. **Bearer token reviewed by the cluster** (aggregated mode only,
   :class:`TokenReviewAuthenticator`): a token no static token matches is sent in an
   ``authentication.k8s.io/v1`` ``TokenReview``; the user is ``status.user`` when
   ``status.authenticated`` is true. This is how a pod calling the porch Service directly
   with its service-account token is authenticated (kube-apiserver's proxy sends a
   front-proxy certificate instead).
5. Nothing matched: not authenticated (None); the server answers 401, except on the
   health endpoints, which anonymous probes may call.

Steps 1-3 need no I/O (:meth:`Authenticator.authenticate`); step 4 runs the blocking
``kubernetes`` client in a thread, as k8s.io/apiserver's delegating authenticator
(``authenticatorfactory/delegating.go``, ``token/cache``, ``authenticator/token/webhook``)
does it:

* answers are cached under an HMAC of the token with a per-process random key (the token
  itself is never kept as a key, never logged): authenticated users for
  ``--authentication-token-webhook-cache-ttl`` (10 s), denials for at most
  :data:`DEFAULT_TOKEN_FAILURE_CACHE_TTL` (1 s), at most :data:`TOKEN_CACHE_SIZE` tokens
  (least recently used go first). Go caches a denial for the full TTL when the review
  carries no ``status.error`` and not at all when it does (kube-apiserver sets one on
  nearly every rejection); one short TTL for every denial keeps a client that retries a bad
  token from costing a review per request, and lets a token the cluster learns about a
  moment later work within a second;
* a review that gets no answer (cluster unreachable, 5xx, 403 because the server's
  ServiceAccount may not create tokenreviews) authenticates nobody, is logged once as a
  warning without the token, and is not cached: the next request asks again;
* concurrent requests with the same token share one review (Go's singleflight);
* with audiences configured, the answer must name one of them (Go's intersection rule).

Python's ``ssl`` verifies the peer against all loaded CAs at once and aborts the handshake
for an unknown one, so a certificate that reaches us was issued by *some* CA we trust; we
attribute it with :func:`pkg.apiserver.pki.issued_by`. Every authenticated user also gets
the ``system:authenticated`` group. Tokens and certificates are never logged.
"""

from __future__ import annotations

import asyncio
import csv
import hmac
import io
import json
import logging
import secrets
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, cast

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from pkg.apimachinery import user
from pkg.apiserver import clusterreview, pki

__all__ = [
    "DEFAULT_EXTRA_HEADER_PREFIXES",
    "DEFAULT_GROUP_HEADERS",
    "DEFAULT_TOKEN_CACHE_TTL",
    "DEFAULT_TOKEN_FAILURE_CACHE_TTL",
    "DEFAULT_TOKEN_REVIEW_TIMEOUT",
    "DEFAULT_UID_HEADERS",
    "DEFAULT_USERNAME_HEADERS",
    "TOKEN_CACHE_SIZE",
    "Authenticator",
    "RequestHeaderConfig",
    "TokenFileError",
    "TokenReviewAuthenticator",
    "TokenReviewError",
    "TokenReviewFunc",
    "kubernetes_token_review",
    "load_token_file",
    "parse_token_file",
]

DEFAULT_USERNAME_HEADERS: Final = ("X-Remote-User",)
DEFAULT_UID_HEADERS: Final = ("X-Remote-Uid",)
DEFAULT_GROUP_HEADERS: Final = ("X-Remote-Group",)
DEFAULT_EXTRA_HEADER_PREFIXES: Final = ("X-Remote-Extra-",)
DEFAULT_TOKEN_CACHE_TTL: Final = 10.0
"""Seconds an authenticated TokenReview answer is reused (Go's default of
``--authentication-token-webhook-cache-ttl``)."""
DEFAULT_TOKEN_FAILURE_CACHE_TTL: Final = 1.0
"""Seconds a denial is reused (never longer than the success TTL; module docstring)."""
DEFAULT_TOKEN_REVIEW_TIMEOUT: Final = 10.0
"""Seconds one TokenReview may take (Go's ``TokenAccessReviewTimeout``)."""
TOKEN_CACHE_SIZE: Final = 4096
"""Tokens whose answers are kept at most (Go: 32 stripes of 128 entries)."""

_log = logging.getLogger(__name__)

Headers = Sequence[tuple[str, str]]
"""Every request header as (name, value) pairs, repeated headers included."""


class TokenFileError(ValueError):
    """The token file is malformed; the message names the line (never the token)."""


@dataclass(frozen=True)
class RequestHeaderConfig:
    """Front-proxy authentication settings (the ``--requestheader-*`` flags)."""

    client_cas: tuple[x509.Certificate, ...]
    allowed_names: tuple[str, ...] = ()
    username_headers: tuple[str, ...] = DEFAULT_USERNAME_HEADERS
    uid_headers: tuple[str, ...] = DEFAULT_UID_HEADERS
    group_headers: tuple[str, ...] = DEFAULT_GROUP_HEADERS
    extra_header_prefixes: tuple[str, ...] = DEFAULT_EXTRA_HEADER_PREFIXES


def parse_token_file(text: str, source: str = "token file") -> dict[str, user.UserInfo]:
    """Token -> user from kube's static token CSV (``token,user,uid[,"group1,group2"]``).

    Blank lines and lines starting with ``#`` are skipped; fewer than three fields is an
    error naming the line. A later line with the same token wins, as in Kubernetes.
    """
    tokens: dict[str, user.UserInfo] = {}
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    for record in reader:
        if not record or not "".join(record).strip() or record[0].lstrip().startswith("#"):
            continue
        if len(record) < 3:
            raise TokenFileError(
                f"{source}, line {reader.line_num}: expected at least 3 fields "
                "(token,user,uid), found "
                f"{len(record)}"
            )
        token, name, uid = (f.strip() for f in record[:3])
        if not token or not name:
            raise TokenFileError(f"{source}, line {reader.line_num}: token and user must be set")
        groups: tuple[str, ...] = ()
        if len(record) >= 4 and record[3].strip():
            groups = tuple(g.strip() for g in record[3].split(",") if g.strip())
        tokens[token] = user.UserInfo(name=name, uid=uid, groups=groups)
    return tokens


def load_token_file(path: Path) -> dict[str, user.UserInfo]:
    """:func:`parse_token_file` of a file."""
    return parse_token_file(path.read_text(encoding="utf-8"), str(path))


def _with_authenticated(info: user.UserInfo) -> user.UserInfo:
    if user.ALL_AUTHENTICATED in info.groups:
        return info
    return user.UserInfo(
        name=info.name,
        uid=info.uid,
        groups=(*info.groups, user.ALL_AUTHENTICATED),
        extra=info.extra,
    )


def _values(headers: Headers, names: Iterable[str]) -> list[str]:
    wanted = [n.lower() for n in names]
    found: list[str] = []
    for name in wanted:
        found.extend(value for key, value in headers if key.lower() == name)
    return found


def _allows_client_auth(cert: x509.Certificate) -> bool:
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return (
        ExtendedKeyUsageOID.CLIENT_AUTH in usages
        or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages
    )


class TokenReviewError(Exception):
    """A TokenReview that got no answer: the message names the cause, never the token."""


TokenReviewFunc = Callable[[dict[str, Any]], dict[str, Any]]
"""Posts a TokenReview body and returns the response body (blocking; raises when no answer)."""


def _api_error_message(err: Any) -> str:
    """``HTTP <code>: <Status message>`` of a ``kubernetes`` ApiException, whose own ``str``
    carries the whole response (headers and body) and may echo the request."""
    message = str(getattr(err, "reason", "") or "")
    try:
        body = json.loads(getattr(err, "body", None) or "")
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        message = str(body["message"])
    return f"HTTP {getattr(err, 'status', '?')}: {message}"


def kubernetes_token_review(
    api_client: Any, timeout_seconds: float = DEFAULT_TOKEN_REVIEW_TIMEOUT
) -> TokenReviewFunc:
    """A :data:`TokenReviewFunc` over a ``kubernetes.client.ApiClient`` (kubeconfig or
    in-cluster): ``POST /apis/authentication.k8s.io/v1/tokenreviews``."""
    from kubernetes import client as k8s_client

    api = k8s_client.AuthenticationV1Api(api_client)

    def review(body: dict[str, Any]) -> dict[str, Any]:
        try:
            # The client serializes plain dicts as they are; its annotations only name models.
            result = api.create_token_review(cast(Any, body), _request_timeout=timeout_seconds)
        except k8s_client.ApiException as err:
            raise TokenReviewError(_api_error_message(err)) from None
        data = api_client.sanitize_for_serialization(result)
        return data if isinstance(data, dict) else {}

    return review


def _reviewed_user(status: Mapping[str, Any], audiences: tuple[str, ...]) -> user.UserInfo | None:
    """The user a TokenReview ``status`` vouches for, or None."""
    if status.get("authenticated") is not True:
        return None
    if audiences:
        # The token must be meant for us: the answer's audiences (the cluster's own when it
        # lists none) must include one we asked for.
        answered = status.get("audiences") or audiences
        if not set(audiences) & {str(a) for a in answered}:
            return None
    found = status.get("user") or {}
    name = str(found.get("username") or "")
    if not name:
        # Go would accept a nameless user; nothing can be authorized or audited for one.
        return None
    extra = found.get("extra") or {}
    return user.UserInfo(
        name=name,
        uid=str(found.get("uid") or ""),
        groups=tuple(str(g) for g in found.get("groups") or ()),
        extra=MappingProxyType(
            {str(k): tuple(str(v) for v in vs or ()) for k, vs in extra.items()}
        ),
    )


@dataclass(frozen=True, slots=True)
class _Reviewed:
    """A cached TokenReview answer: the user, or None for a denial."""

    info: user.UserInfo | None


class TokenReviewAuthenticator:
    """Bearer tokens the cluster vouches for, through a cached, shared TokenReview per token
    (module docstring). Use it from one event loop."""

    def __init__(
        self,
        review: TokenReviewFunc,
        *,
        cache_ttl: float = DEFAULT_TOKEN_CACHE_TTL,
        failure_cache_ttl: float = DEFAULT_TOKEN_FAILURE_CACHE_TTL,
        audiences: Sequence[str] = (),
        cache_size: int = TOKEN_CACHE_SIZE,
    ) -> None:
        self._review = review
        self._success_ttl = cache_ttl
        self._failure_ttl = min(failure_cache_ttl, cache_ttl)
        self._audiences = tuple(audiences)
        # Cache keys are HMACs under a key that never leaves this object, so the cache holds
        # nothing a token could be recovered or checked from.
        self._key = secrets.token_bytes(32)
        self._cache: clusterreview.AnswerCache[bytes, _Reviewed] = clusterreview.AnswerCache(
            cache_size
        )
        self._reviewing: dict[bytes, asyncio.Task[user.UserInfo | None]] = {}

    async def authenticate_token(self, token: str) -> user.UserInfo | None:
        """The user the cluster says ``token`` belongs to (as the cluster names it, without
        ``system:authenticated`` added), or None: denied, or the review failed."""
        key = hmac.digest(self._key, token.encode(), "sha256")
        cached = self._cache.get(key)
        if cached is not None:
            return cached.info
        task = self._reviewing.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._ask(key, token))
            self._reviewing[key] = task
            task.add_done_callback(lambda _: self._reviewing.pop(key, None))
        # Shielded: a caller that goes away must not cancel the review others wait for.
        return await asyncio.shield(task)

    async def _ask(self, key: bytes, token: str) -> user.UserInfo | None:
        spec: dict[str, Any] = {"token": token}
        if self._audiences:
            spec["audiences"] = list(self._audiences)
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec}
        try:
            # The kubernetes client blocks (urllib3): off the event loop, on review threads.
            response = await clusterreview.run(self._review, body)
        except Exception as err:
            # Logged here, once per review, however many requests shared it. Not cached:
            # the next request asks again, as in Go.
            reason = (
                str(err) if isinstance(err, TokenReviewError) else f"{type(err).__name__}: {err}"
            )
            reason = reason.replace(token, "<token>")
            _log.warning("TokenReview failed, the bearer token authenticates nobody: %s", reason)
            return None
        status = response.get("status") or {}
        info = _reviewed_user(status, self._audiences)
        if info is None and status.get("error"):
            _log.debug(
                "TokenReview denied the bearer token: %s",
                str(status["error"]).replace(token, "<token>"),
            )
        ttl = self._success_ttl if info is not None else self._failure_ttl
        self._cache.put(key, _Reviewed(info), ttl)
        return info


@dataclass(frozen=True)
class Authenticator:
    """The authentication chain of one server (module docstring).

    ``client_cas`` are the ``--client-ca-file`` CAs, ``request_header`` the front-proxy
    settings (None: no front proxy trusted), ``tokens`` the static bearer tokens,
    ``token_review`` the cluster's TokenReview (aggregated mode; None: no delegation).
    """

    client_cas: tuple[x509.Certificate, ...] = ()
    request_header: RequestHeaderConfig | None = None
    tokens: Mapping[str, user.UserInfo] = field(default_factory=lambda: MappingProxyType({}))
    token_review: TokenReviewAuthenticator | None = None

    @property
    def trusted_cas(self) -> tuple[x509.Certificate, ...]:
        """Every CA a client certificate may come from (load all into the TLS context)."""
        proxy = self.request_header.client_cas if self.request_header else ()
        return (*self.client_cas, *proxy)

    async def authenticate_request(
        self, peer_cert: x509.Certificate | None, headers: Headers
    ) -> user.UserInfo | None:
        """The user the request authenticates as through the whole chain, or None (answer
        401). A bearer token no static token matches is reviewed by the cluster."""
        info = self.authenticate(peer_cert, headers)
        if info is not None or self.token_review is None:
            return info
        token = self._bearer_token(headers)
        if token is None:
            return None
        reviewed = await self.token_review.authenticate_token(token)
        return _with_authenticated(reviewed) if reviewed is not None else None

    def authenticate(
        self, peer_cert: x509.Certificate | None, headers: Headers
    ) -> user.UserInfo | None:
        """The user the request authenticates as by the credentials this server knows itself
        (steps 1-3 of the chain, no I/O), or None."""
        if peer_cert is not None:
            proxied = self._front_proxy(peer_cert, headers)
            if proxied is not None:
                return _with_authenticated(proxied)
            if _allows_client_auth(peer_cert) and any(
                pki.issued_by(peer_cert, ca) for ca in self.client_cas
            ):
                name = pki.common_name(peer_cert)
                if name:
                    return _with_authenticated(
                        user.UserInfo(name=name, groups=pki.organizations(peer_cert))
                    )
        token = self._bearer_token(headers)
        if token is not None:
            info = self._lookup_token(token)
            if info is not None:
                return _with_authenticated(info)
        return None

    def _front_proxy(self, cert: x509.Certificate, headers: Headers) -> user.UserInfo | None:
        config = self.request_header
        if config is None or not any(pki.issued_by(cert, ca) for ca in config.client_cas):
            return None
        if not _allows_client_auth(cert):
            return None
        if config.allowed_names and pki.common_name(cert) not in config.allowed_names:
            return None
        name = next((v.strip() for v in _values(headers, config.username_headers) if v.strip()), "")
        if not name:
            return None
        uid = next((v.strip() for v in _values(headers, config.uid_headers) if v.strip()), "")
        groups = tuple(_values(headers, config.group_headers))
        extra: dict[str, list[str]] = {}
        prefixes = [p.lower() for p in config.extra_header_prefixes]
        for key, value in headers:
            lowered = key.lower()
            for prefix in prefixes:
                if lowered.startswith(prefix) and len(lowered) > len(prefix):
                    extra_key = urllib.parse.unquote(lowered[len(prefix) :])
                    extra.setdefault(extra_key, []).append(value)
                    break
        return user.UserInfo(
            name=name,
            uid=uid,
            groups=groups,
            extra=MappingProxyType({k: tuple(v) for k, v in extra.items()}),
        )

    @staticmethod
    def _bearer_token(headers: Headers) -> str | None:
        for key, value in headers:
            if key.lower() == "authorization":
                scheme, _, token = value.strip().partition(" ")
                if scheme.lower() == "bearer" and token.strip():
                    return token.strip()
        return None

    def _lookup_token(self, token: str) -> user.UserInfo | None:
        # Compare every entry in constant time so the response time does not reveal how
        # much of a guessed token matched.
        found: user.UserInfo | None = None
        encoded = token.encode()
        for known, info in self.tokens.items():
            if hmac.compare_digest(known.encode(), encoded):
                found = info
        return found
