"""porch-server's options: the parsed flags, completed with defaults, then validated.

Where this sits: step one of ``options -> complete -> validate -> config -> run``. The
click command in :mod:`pkg.cmd.server.main` fills a :class:`ServerOptions` from the
command line; :meth:`ServerOptions.complete` derives what depends on other flags
(ports and paths that differ in standalone mode); :meth:`ServerOptions.validate` returns
every problem at once, so the operator fixes them in one go;
:mod:`pkg.cmd.server.config` turns valid options into the objects the server runs with.

Flags of the layers below the API server (:class:`RuntimeOptions`) are read by
:mod:`pkg.cmd.server.enginestack` (metadata store, git cache and options, repository cache,
engine, repository controller) and :mod:`pkg.cmd.server.functions` (the KRM function
runtime): ``--cache-directory``, ``--repo-sync-frequency``, ``--max-concurrent-syncs``,
``--repo-operation-retry-attempts``, ``--retryable-git-errors``,
``--list-timeout-per-repo``, ``--default-image-prefix``, ``--function-exec``,
``--local-repository-root`` and ``--use-user-cabundle``.

Where data lives: ``--data-dir`` holds the package revision metadata (``metadata.db``)
and, standalone, the Repository and Secret objects (``objects.db``) and the PKI
(``pki/``); ``--cache-directory`` (default ``<data-dir>/cache``) the git clones. An
aggregated server without ``--data-dir`` uses ``<tmp>/porch-server``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from pkg.apiserver import authentication, config

__all__ = [
    "AUTHORIZATION_MODES",
    "DEFAULT_IMAGE_PREFIX",
    "RuntimeOptions",
    "ServerOptions",
    "parse_duration",
]

AuthorizationMode = Literal["AlwaysAllow", "Webhook"]
AUTHORIZATION_MODES: Final[tuple[AuthorizationMode, ...]] = ("AlwaysAllow", "Webhook")
DEFAULT_IMAGE_PREFIX: Final = "ghcr.io/kptdev/krm-functions-catalog/"
STANDALONE_PORT: Final = 9443
AGGREGATED_PORT: Final = 4443
_DURATION_RE: Final = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS: Final = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_duration(text: str) -> float:
    """Seconds in a Go duration (``10m``, ``1h30m``, ``20s``, ``500ms``); ValueError if bad."""
    text = text.strip()
    if text == "0":
        return 0.0
    pos = 0
    total = 0.0
    for match in _DURATION_RE.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"invalid duration {text!r} (use e.g. 20s, 10m, 1h30m)")
    return total


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "porch-server"


@dataclass
class RuntimeOptions:
    """Options of the layers below the API server (cache, sync, git, functions)."""

    cache_directory: Path | None = None
    repo_sync_frequency: float = 600.0
    max_concurrent_syncs: int = 50
    repo_operation_retry_attempts: int = 3
    retryable_git_errors: tuple[str, ...] = ()
    list_timeout_per_repo: float = 20.0
    default_image_prefix: str = DEFAULT_IMAGE_PREFIX
    function_exec: Path | None = None
    local_repository_roots: tuple[Path, ...] = ()
    # https repositories of namespace N also trust the CAs in Secret N-ca-bundle, key ca.crt.
    use_user_cabundle: bool = False


@dataclass
class ServerOptions:
    """Every flag of porch-server (see ``porch-server --help``)."""

    standalone: bool = False
    data_dir: Path | None = None
    bind_address: str = "0.0.0.0"  # noqa: S104 - a server listens everywhere unless told
    secure_port: int | None = None
    cert_dir: Path | None = None
    tls_cert_file: Path | None = None
    tls_private_key_file: Path | None = None
    client_ca_file: Path | None = None
    token_auth_file: Path | None = None
    requestheader_client_ca_file: Path | None = None
    requestheader_allowed_names: tuple[str, ...] = ()
    requestheader_username_headers: tuple[str, ...] = authentication.DEFAULT_USERNAME_HEADERS
    requestheader_group_headers: tuple[str, ...] = authentication.DEFAULT_GROUP_HEADERS
    requestheader_extra_headers_prefix: tuple[str, ...] = (
        authentication.DEFAULT_EXTRA_HEADER_PREFIXES
    )
    requestheader_uid_headers: tuple[str, ...] = authentication.DEFAULT_UID_HEADERS
    # Aggregated mode: how long the cluster's TokenReview answers are reused (denials for at
    # most authentication.DEFAULT_TOKEN_FAILURE_CACHE_TTL); 0 asks every time.
    authentication_token_webhook_cache_ttl: float = authentication.DEFAULT_TOKEN_CACHE_TTL
    authorization_mode: AuthorizationMode | None = None
    kubeconfig: Path | None = None
    write_kubeconfig: Path | None = None
    max_request_body_size: int = config.DEFAULT_MAX_REQUEST_BODY_SIZE
    # Not a flag: SIGTERM must end the process within 10 s, this leaves 2 s for the rest.
    shutdown_timeout: float = 8.0
    verbosity: int = 0
    runtime: RuntimeOptions = field(default_factory=RuntimeOptions)

    def complete(self) -> ServerOptions:
        """A copy with every default that depends on other options filled in."""
        done = dataclasses.replace(self, runtime=dataclasses.replace(self.runtime))
        if done.standalone:
            done.data_dir = (done.data_dir or _default_data_dir()).expanduser().absolute()
            done.secure_port = done.secure_port if done.secure_port is not None else STANDALONE_PORT
            done.cert_dir = (done.cert_dir or done.data_dir / "pki").expanduser().absolute()
            done.authorization_mode = done.authorization_mode or "AlwaysAllow"
            if not done.runtime.local_repository_roots:
                done.runtime.local_repository_roots = (done.data_dir / "repositories",)
        else:
            done.secure_port = done.secure_port if done.secure_port is not None else AGGREGATED_PORT
            # kube's generic apiserver default for self-signed serving certificates.
            done.cert_dir = (
                (done.cert_dir or Path("apiserver.local.config/certificates"))
                .expanduser()
                .absolute()
            )
            done.authorization_mode = done.authorization_mode or "Webhook"
            done.data_dir = (
                (done.data_dir or Path(tempfile.gettempdir()) / "porch-server")
                .expanduser()
                .absolute()
            )
        done.runtime.cache_directory = (
            (done.runtime.cache_directory or done.data_dir / "cache").expanduser().absolute()
        )
        prefix = done.runtime.default_image_prefix.strip()
        # Porch's flag takes the registry path with or without the trailing slash.
        done.runtime.default_image_prefix = (
            prefix if not prefix or prefix.endswith("/") else prefix + "/"
        )
        if done.runtime.function_exec is not None:
            done.runtime.function_exec = done.runtime.function_exec.expanduser().absolute()
        if done.write_kubeconfig is not None:
            done.write_kubeconfig = done.write_kubeconfig.expanduser().absolute()
        done.runtime.local_repository_roots = tuple(
            p.expanduser().absolute() for p in done.runtime.local_repository_roots
        )
        return done

    def validate(self) -> list[str]:
        """Every problem with these (completed) options, as messages naming the flag."""
        problems: list[str] = []
        try:
            ipaddress.ip_address(self.bind_address)
        except ValueError:
            problems.append(f"--bind-address: {self.bind_address!r} is not an IP address")
        if self.secure_port is None or not 0 < self.secure_port < 65536:
            problems.append(f"--secure-port: {self.secure_port} is not a port (1-65535)")
        if (self.tls_cert_file is None) != (self.tls_private_key_file is None):
            problems.append("--tls-cert-file and --tls-private-key-file must be given together")
        for flag, path in (
            ("--tls-cert-file", self.tls_cert_file),
            ("--tls-private-key-file", self.tls_private_key_file),
            ("--client-ca-file", self.client_ca_file),
            ("--token-auth-file", self.token_auth_file),
            ("--requestheader-client-ca-file", self.requestheader_client_ca_file),
            ("--kubeconfig", self.kubeconfig),
            ("--function-exec", self.runtime.function_exec),
        ):
            if path is not None and not path.is_file():
                problems.append(f"{flag}: {path} is not a readable file")
        if self.authorization_mode not in AUTHORIZATION_MODES:
            problems.append(
                f"--authorization-mode: {self.authorization_mode!r} is not one of "
                + ", ".join(AUTHORIZATION_MODES)
            )
        if self.authentication_token_webhook_cache_ttl < 0:
            problems.append("--authentication-token-webhook-cache-ttl must not be negative")
        if self.write_kubeconfig is not None and not self.standalone:
            problems.append(
                "--write-kubeconfig needs --standalone (only a standalone server has an admin "
                "client certificate to put in it)"
            )
        if self.max_request_body_size <= 0:
            problems.append("--max-request-body-size must be positive")
        runtime = self.runtime
        if runtime.repo_sync_frequency <= 0:
            problems.append("--repo-sync-frequency must be positive")
        if runtime.max_concurrent_syncs < 1:
            problems.append("--max-concurrent-syncs must be at least 1")
        if runtime.repo_operation_retry_attempts < 0:
            problems.append("--repo-operation-retry-attempts must not be negative")
        if runtime.list_timeout_per_repo <= 0:
            problems.append("--list-timeout-per-repo must be positive")
        return problems
