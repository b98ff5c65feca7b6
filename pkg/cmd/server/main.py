"""The ``porch-server`` command line (console script and the ``cmd/porch-server`` shim).

Where this sits: the entry point. Click parses the flags into
:class:`~pkg.cmd.server.options.ServerOptions`, logging is configured from ``-v``, and
:func:`pkg.cmd.server.server.run` does the rest (complete, validate, config, run).
Flag names and defaults follow porch-server's and kube-apiserver's where they exist.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from pkg.apiserver import authentication
from pkg.apiserver import config as apiconfig
from pkg.cmd.server import options, server

__all__ = ["command", "main", "options_from"]

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    """Repeatable flags that also take comma-separated lists, like kube's string slices."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return options.parse_duration(value)
    except ValueError as err:
        raise click.BadParameter(str(err), ctx=ctx, param=param) from None


def configure_logging(verbosity: int) -> None:
    """``-v 0``: info (startup, one line per request); ``-v 2`` and up: debug."""
    level = logging.DEBUG if verbosity >= 2 else logging.INFO
    logging.basicConfig(level=level, format=_LOG_FORMAT, stream=sys.stderr, force=True)
    # Sanic's own loggers repeat what our access log says.
    for name in ("sanic.access", "sanic.root", "sanic.server"):
        logging.getLogger(name).setLevel(logging.WARNING if verbosity < 3 else logging.DEBUG)


_PATH = click.Path(path_type=Path)


@click.command(
    name="porch-server",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--standalone",
    is_flag=True,
    help="Serve without a Kubernetes cluster: repositories and secrets are stored under "
    "--data-dir.",
)
@click.option(
    "--data-dir",
    type=_PATH,
    help="Where the server keeps package revision metadata and, standalone, its Repository and "
    "Secret objects and PKI [default: ~/.local/share/porch-server standalone, "
    "<tmp>/porch-server otherwise].",
)
@click.option(
    "--bind-address",
    default="0.0.0.0",  # noqa: S104 - a server listens everywhere unless told
    show_default=True,
    help="IP address to listen on.",
)
@click.option(
    "--secure-port", type=int, help="HTTPS port [default: 9443 standalone, 4443 otherwise]."
)
@click.option(
    "--cert-dir",
    type=_PATH,
    help="Where generated certificates are written [default: <data-dir>/pki standalone, "
    "apiserver.local.config/certificates otherwise].",
)
@click.option(
    "--tls-cert-file", type=_PATH, help="Serving certificate (PEM); generated when not given."
)
@click.option("--tls-private-key-file", type=_PATH, help="Key of --tls-cert-file (PEM).")
@click.option(
    "--client-ca-file",
    type=_PATH,
    help="CA bundle for client certificates (CN = user, O = groups).",
)
@click.option(
    "--token-auth-file",
    type=_PATH,
    help='Static bearer tokens, CSV: token,user,uid,"group1,group2".',
)
@click.option(
    "--authentication-token-webhook-cache-ttl",
    default="10s",
    show_default=True,
    callback=_duration,
    help="Aggregated mode: how long the cluster's TokenReview answers for bearer tokens that "
    "no --token-auth-file token matches are cached (denials at most 1s).",
)
@click.option(
    "--requestheader-client-ca-file",
    type=_PATH,
    help="CA bundle of the front proxy (kube-apiserver's --proxy-client-cert-file issuer).",
)
@click.option(
    "--requestheader-allowed-names",
    multiple=True,
    help="Front-proxy certificate CNs to trust (any CN when empty). Repeatable or comma-separated.",
)
@click.option(
    "--requestheader-username-headers",
    multiple=True,
    help="Headers carrying the user name [default: X-Remote-User].",
)
@click.option(
    "--requestheader-group-headers",
    multiple=True,
    help="Headers carrying groups [default: X-Remote-Group].",
)
@click.option(
    "--requestheader-extra-headers-prefix",
    multiple=True,
    help="Header prefixes carrying extra user info [default: X-Remote-Extra-].",
)
@click.option(
    "--requestheader-uid-headers",
    multiple=True,
    help="Headers carrying the user's UID [default: X-Remote-Uid].",
)
@click.option(
    "--authorization-mode",
    type=click.Choice(options.AUTHORIZATION_MODES),
    help="AlwaysAllow, or Webhook (SubjectAccessReview) "
    "[default: AlwaysAllow standalone, Webhook otherwise].",
)
@click.option(
    "--kubeconfig",
    type=_PATH,
    help="Kubeconfig of the cluster this server belongs to (default: in-cluster config).",
)
@click.option(
    "--write-kubeconfig",
    type=_PATH,
    help="Standalone: write an admin kubeconfig for this server here.",
)
@click.option(
    "--local-repository-root",
    type=_PATH,
    multiple=True,
    help="Directory under which file:// repositories are allowed (repeatable) "
    "[default: <data-dir>/repositories].",
)
@click.option(
    "--max-request-body-size",
    type=int,
    default=apiconfig.DEFAULT_MAX_REQUEST_BODY_SIZE,
    show_default=True,
    help="Largest request body in bytes (413 above).",
)
@click.option(
    "--cache-directory",
    type=_PATH,
    help="Git cache directory (bare clones of registered repositories) "
    "[default: <data-dir>/cache].",
)
@click.option(
    "--repo-sync-frequency",
    default="10m",
    show_default=True,
    callback=_duration,
    help="How often every repository is synced with its remote (unless its spec.sync.schedule "
    "says otherwise); each sync is delayed by a random jitter of up to a tenth of this, at most "
    "30s.",
)
@click.option(
    "--max-concurrent-syncs",
    type=int,
    default=50,
    show_default=True,
    help="Repository syncs running at once (the others wait their turn).",
)
@click.option(
    "--repo-operation-retry-attempts",
    type=int,
    default=3,
    show_default=True,
    help="How often a git fetch or push is tried in all when it fails with a retryable error.",
)
@click.option(
    "--retryable-git-errors",
    multiple=True,
    help="Extra git error message substrings to retry (repeatable or comma-separated).",
)
@click.option(
    "--list-timeout-per-repo",
    default="20s",
    show_default=True,
    callback=_duration,
    help="Time limit of one repository's part of a list across repositories.",
)
@click.option(
    "--default-image-prefix",
    default=options.DEFAULT_IMAGE_PREFIX,
    show_default=True,
    help="Prefix of KRM function images named without a registry (e.g. set-labels).",
)
@click.option(
    "--function-exec",
    type=_PATH,
    metavar="CONFIG",
    help="YAML file mapping KRM function images to local executables, one entry per image: "
    "'IMAGE: [PROGRAM, ARG...]' or 'IMAGE: PROGRAM ARG...'. An IMAGE without '/' gets "
    "--default-image-prefix; without a tag it serves every tag. PROGRAM is looked up on PATH "
    "unless it contains '/' (relative: to CONFIG's directory). The program reads the "
    "ResourceList on stdin and writes the result on stdout. Builtin functions take "
    "precedence.",
)
@click.option(
    "--use-user-cabundle",
    is_flag=True,
    default=False,
    help="https repositories of a namespace N also trust the CA certificates (PEM) in key "
    "ca.crt of the Secret N-ca-bundle, when it exists; other namespaces do not.",
)
@click.option(
    "-v",
    "--v",
    "verbosity",
    type=int,
    default=0,
    show_default=True,
    help="Log verbosity (2: debug).",
)
def command(**values: Any) -> None:
    """Serve the Porch API (porch.kpt.dev, config.porch.kpt.dev) over HTTPS."""
    configure_logging(values["verbosity"])
    raise SystemExit(server.run(options_from(values)))


def options_from(values: dict[str, Any]) -> options.ServerOptions:
    """The ServerOptions of the click command's parsed values (``ctx.params``)."""
    return options.ServerOptions(
        standalone=values["standalone"],
        data_dir=values["data_dir"],
        bind_address=values["bind_address"],
        secure_port=values["secure_port"],
        cert_dir=values["cert_dir"],
        tls_cert_file=values["tls_cert_file"],
        tls_private_key_file=values["tls_private_key_file"],
        client_ca_file=values["client_ca_file"],
        token_auth_file=values["token_auth_file"],
        authentication_token_webhook_cache_ttl=values["authentication_token_webhook_cache_ttl"],
        requestheader_client_ca_file=values["requestheader_client_ca_file"],
        requestheader_allowed_names=_split(values["requestheader_allowed_names"]),
        requestheader_username_headers=_split(values["requestheader_username_headers"])
        or authentication.DEFAULT_USERNAME_HEADERS,
        requestheader_group_headers=_split(values["requestheader_group_headers"])
        or authentication.DEFAULT_GROUP_HEADERS,
        requestheader_extra_headers_prefix=_split(values["requestheader_extra_headers_prefix"])
        or authentication.DEFAULT_EXTRA_HEADER_PREFIXES,
        requestheader_uid_headers=_split(values["requestheader_uid_headers"])
        or authentication.DEFAULT_UID_HEADERS,
        authorization_mode=values["authorization_mode"],
        kubeconfig=values["kubeconfig"],
        write_kubeconfig=values["write_kubeconfig"],
        max_request_body_size=values["max_request_body_size"],
        verbosity=values["verbosity"],
        runtime=options.RuntimeOptions(
            cache_directory=values["cache_directory"],
            repo_sync_frequency=values["repo_sync_frequency"],
            max_concurrent_syncs=values["max_concurrent_syncs"],
            repo_operation_retry_attempts=values["repo_operation_retry_attempts"],
            retryable_git_errors=_split(values["retryable_git_errors"]),
            list_timeout_per_repo=values["list_timeout_per_repo"],
            default_image_prefix=values["default_image_prefix"],
            function_exec=values["function_exec"],
            local_repository_roots=tuple(values["local_repository_root"]),
            use_user_cabundle=values["use_user_cabundle"],
        ),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns its exit code (for the console script and tests)."""
    try:
        command.main(args=argv, prog_name="porch-server", standalone_mode=False)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    except click.exceptions.Abort:
        return 1
    except click.ClickException as err:
        err.show()
        return err.exit_code
    return 0
