"""Who is calling: the authentication chain every request passes (apiserver's authenticators).

Where this sits: :mod:`pkg.apiserver.server` calls :meth:`Authenticator.authenticate` for
each request with the TLS peer certificate and the headers, before authorization and
before any storage is touched. The resulting :class:`~pkg.apimachinery.user.UserInfo`
travels in ``RequestContext.user`` down to the engine (git author, ``publishedBy``).
``pkg.cmd.server`` builds the :class:`Authenticator` from the command-line flags.

The chain, in Kubernetes' order (kubernetes-api-contract.md §9.5, §8 pitfall 11):

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
4. Nothing matched: not authenticated (None); the server answers 401, except on the
   health endpoints, which anonymous probes may call.

Python's ``ssl`` verifies the peer against all loaded CAs at once and aborts the handshake
for an unknown one, so a certificate that reaches us was issued by *some* CA we trust; we
attribute it with :func:`pkg.apiserver.pki.issued_by`. Every authenticated user also gets
the ``system:authenticated`` group. Tokens and certificates are never logged.
"""

from __future__ import annotations

import csv
import hmac
import io
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Final

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from pkg.apimachinery import user
from pkg.apiserver import pki

__all__ = [
    "DEFAULT_EXTRA_HEADER_PREFIXES",
    "DEFAULT_GROUP_HEADERS",
    "DEFAULT_UID_HEADERS",
    "DEFAULT_USERNAME_HEADERS",
    "Authenticator",
    "RequestHeaderConfig",
    "TokenFileError",
    "load_token_file",
    "parse_token_file",
]

DEFAULT_USERNAME_HEADERS: Final = ("X-Remote-User",)
DEFAULT_UID_HEADERS: Final = ("X-Remote-Uid",)
DEFAULT_GROUP_HEADERS: Final = ("X-Remote-Group",)
DEFAULT_EXTRA_HEADER_PREFIXES: Final = ("X-Remote-Extra-",)

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


@dataclass(frozen=True)
class Authenticator:
    """The authentication chain of one server (module docstring).

    ``client_cas`` are the ``--client-ca-file`` CAs, ``request_header`` the front-proxy
    settings (None: no front proxy trusted), ``tokens`` the static bearer tokens.
    """

    client_cas: tuple[x509.Certificate, ...] = ()
    request_header: RequestHeaderConfig | None = None
    tokens: Mapping[str, user.UserInfo] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def trusted_cas(self) -> tuple[x509.Certificate, ...]:
        """Every CA a client certificate may come from (load all into the TLS context)."""
        proxy = self.request_header.client_cas if self.request_header else ()
        return (*self.client_cas, *proxy)

    def authenticate(
        self, peer_cert: x509.Certificate | None, headers: Headers
    ) -> user.UserInfo | None:
        """The user the request authenticates as, or None (answer 401)."""
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
