"""porchctl's command-line surface on click, behaving like Porch's cobra/pflag one.

Where this sits: every porchctl command is a :class:`PorchCommand` in a :class:`PorchGroup`;
the decorators here add the flag sets Porch's porchctl has (``global_flags`` on every
command, ``kube_flags`` = client-go's ``ConfigFlags``, ``print_flags`` = kubectl's get print
flags, ``all_namespaces_flag``) and store their values in the :class:`Runtime` the command
reads (:func:`runtime`).

pflag differs from click in ways scripts depend on, so :class:`PorchCommand` adapts:

* boolean flags take ``--flag``, ``--flag=true`` and ``--flag=false`` (never a separate
  value, so ``--deployment URL`` keeps the URL as an argument);
* short flags take ``-n=value`` as well as ``-n value`` and ``-nvalue``;
* string-slice flags (``--keywords a,b``) split on commas and may repeat;
* commands have aliases (``rpkg`` = ``rpackage``, ``get`` = ``list``);
* a flag can have alias names that help does not list (``repo reg --user``).
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

import click

from pkg.client import client as porchclient
from pkg.client import config as clientconfig
from pkg.cmd.porchctl import cmdutil, printers

__all__ = [
    "PorchCommand",
    "PorchGroup",
    "Runtime",
    "all_namespaces_flag",
    "api_version_flag",
    "bool_flag",
    "command",
    "global_flags",
    "kube_flags",
    "option",
    "print_flags",
    "runtime",
    "string_slice",
    "usage_without_subcommand",
]

F = TypeVar("F", bound=Callable[..., Any])

_TRUE: Final = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE: Final = frozenset({"0", "f", "F", "false", "FALSE", "False"})
_NEGATION_PREFIX: Final = "--porchctl-unset-"


@dataclasses.dataclass
class Runtime:
    """Everything the flags of one invocation decided, and the client built from them."""

    verbosity: int = 0
    stack_trace: bool = False
    kube: dict[str, Any] = dataclasses.field(default_factory=dict)
    namespace_flag: str | None = None
    all_namespaces: bool = False
    print: printers.PrintFlags = dataclasses.field(default_factory=printers.PrintFlags)
    user_agent: str = "porchctl"
    _client: porchclient.Client | None = None
    _request_log: _RequestLog | None = None

    def overrides(self) -> clientconfig.Overrides:
        return clientconfig.Overrides(namespace=self.namespace_flag or None, **self.kube)

    def client(self) -> porchclient.Client:
        """The Porch client, built on first use from the kubeconfig flags."""
        if self._client is None:
            if self.verbosity >= _REQUEST_LOG_LEVEL and self._request_log is None:
                self._request_log = _RequestLog()
                self._request_log.install()
            loaded = clientconfig.load(self.overrides()).with_user_agent(self.user_agent)
            self._client = porchclient.Client(loaded)
        return self._client

    def namespace(self) -> str:
        """The namespace commands act in: ``-n``, kubeconfig, $NAMESPACE or ``default``."""
        return self.client().namespace

    def check_namespace_flag(self, *, plain: bool = False) -> None:
        """Porch's check that ``-n`` / ``--namespace`` was not given an empty value.

        ``rpkg get`` reports it as a plain error, the other rpkg commands as kpt errors.
        """
        if self.namespace_flag == "":
            message = (
                "namespace flag specified without a value; please provide a value for "
                "--namespace/-n or omit the flag"
            )
            raise cmdutil.PlainError(message) if plain else cmdutil.KptError(message)

    def close(self) -> None:
        """Release the client and undo the request log (main calls it at the end)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._request_log is not None:
            self._request_log.remove()
            self._request_log = None


_REQUEST_LOG_LEVEL: Final = 6  # kubectl logs each request from -v=6 on


class _RequestLog(logging.StreamHandler):  # type: ignore[type-arg]
    """``-v 6``: the client's request log on whatever sys.stderr is at the time."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname).1s %(name)s] %(message)s"))
        self._logger = logging.getLogger("pkg.client")

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)

    def install(self) -> None:
        self._logger.addHandler(self)
        self._logger.setLevel(logging.DEBUG)

    def remove(self) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(logging.NOTSET)


def usage_without_subcommand() -> None:
    """Group callbacks call this: cobra prints the usage when a group runs on its own."""
    ctx = click.get_current_context()
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


def runtime() -> Runtime:
    """The current invocation's Runtime."""
    return click.get_current_context().ensure_object(Runtime)


# -- click classes -------------------------------------------------------------------


class PorchOption(click.Option):
    """An option whose help shows only its first long name (the rest are aliases), and
    which may be a Go-style boolean (``--flag[=true|false]``)."""

    def __init__(self, *args: Any, go_bool: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.go_bool = go_bool

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None:
            return None
        shorts = [o for o in self.opts if not o.startswith("--")]
        longs = [o for o in self.opts if o.startswith("--")]
        names = ", ".join([*shorts, *longs[:1]])
        if not self.is_flag and not self.go_bool:
            names += f" {self.make_metavar(ctx)}"
        return names, record[1]


class PorchCommand(click.Command):
    """A command that parses its arguments the way pflag does (see module docstring)."""

    def __init__(self, *args: Any, aliases: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aliases = tuple(aliases)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _normalize(self, args))

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_usage(ctx, formatter)
        if self.aliases:
            formatter.write_paragraph()
            formatter.write_text(f"Aliases: {', '.join([self.name or '', *self.aliases])}")


class PorchGroup(click.Group):
    """A command group with command aliases and cobra's behaviour without a subcommand."""

    command_class = PorchCommand

    def __init__(self, *args: Any, aliases: Sequence[str] = (), **kwargs: Any) -> None:
        kwargs.setdefault("invoke_without_command", True)
        kwargs.setdefault("no_args_is_help", False)
        super().__init__(*args, **kwargs)
        self.aliases = tuple(aliases)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _normalize(self, args))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        for candidate in self.commands.values():
            if cmd_name in getattr(candidate, "aliases", ()):
                return candidate
        return None

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        command = self.get_command(ctx, name)
        if command is None and not name.startswith("-"):
            # cobra's wording, printed as a plain (kubectl-style) error.
            raise cmdutil.PlainError(f'unknown command "{name}" for "{ctx.command_path}"')
        return super().resolve_command(ctx, args)


def _normalize(command: click.Command, args: list[str]) -> list[str]:
    """pflag's spellings -> click's: ``--b=false``, ``-n=ns`` (see module docstring)."""
    bools: dict[str, click.Option] = {}
    shorts: set[str] = set()
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        for opt in param.opts:
            if isinstance(param, PorchOption) and param.go_bool:
                bools[opt] = param
            elif not opt.startswith("--") and not param.is_flag:
                shorts.add(opt)
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            out.extend(args[i:])
            break
        name, eq, value = arg.partition("=")
        if eq and name in bools:
            param = bools[name]
            if value in _TRUE:
                out.append(param.opts[0])
            elif value in _FALSE:
                out.append(param.secondary_opts[0])
            else:
                raise click.UsageError(
                    f'invalid argument "{value}" for "{name}" flag: strconv.ParseBool: '
                    f'parsing "{value}": invalid syntax'
                )
        elif eq and name in shorts:
            out.extend([name, value])
        else:
            out.append(arg)
    return out


# -- option helpers --------------------------------------------------------------------


def option(*names: str, **kwargs: Any) -> Callable[[F], F]:
    """click.option with :class:`PorchOption`."""
    kwargs.setdefault("cls", PorchOption)
    return click.option(*names, **kwargs)


def bool_flag(*names: str, default: bool = False, **kwargs: Any) -> Callable[[F], F]:
    """A Go-style boolean flag: ``--x``, ``--x=true``, ``--x=false``.

    click spells a boolean with an "off" switch as ``--x/--off``; the off switch here is
    internal (only ``--x=false`` is rewritten to it) and help shows just ``--x``.
    """
    decls = list(names)
    primary = next(n for n in names if n.startswith("--"))
    decls[decls.index(primary)] = f"{primary}/{_NEGATION_PREFIX}{primary[2:]}"
    return click.option(
        *decls, cls=PorchOption, go_bool=True, default=default, show_default=False, **kwargs
    )


def string_slice(values: Sequence[str]) -> list[str]:
    """pflag's StringSlice: each value is CSV; repeated flags append."""
    out: list[str] = []
    for value in values:
        if value == "":
            continue
        out.extend(next(csv.reader([value])))
    return out


def _store(field_name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        # The same flag exists on the root and on each command (cobra's persistent flags);
        # only a value the user gave may replace one given higher up.
        if param.name and ctx.get_parameter_source(param.name) in (
            None,
            click.core.ParameterSource.DEFAULT,
        ):
            return
        rt = ctx.ensure_object(Runtime)
        if field_name.startswith("kube."):
            key = field_name[len("kube.") :]
            if value not in (None, (), ""):
                rt.kube[key] = value
        elif field_name.startswith("print."):
            setattr(rt.print, field_name[len("print.") :], value)
        else:
            setattr(rt, field_name, value)

    return callback


def _apply(f: F, decorators: Sequence[Callable[[F], F]]) -> F:
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


# -- flag sets -------------------------------------------------------------------------


def global_flags(f: F) -> F:
    """porchctl's persistent root flags (klog's -v, --truncate-output, --stack-trace)."""
    return _apply(
        f,
        [
            option(
                "-v",
                "--v",
                type=int,
                default=0,
                expose_value=False,
                is_eager=True,
                callback=_store("verbosity"),
                help="number for the log level verbosity (6 logs every request)",
            ),
            bool_flag(
                "--truncate-output",
                default=True,
                expose_value=False,
                help="Enable the truncation for output (accepted for compatibility: Porch's "
                "porchctl no longer truncates anything either)",
            ),
            bool_flag(
                "--stack-trace",
                expose_value=False,
                hidden=True,
                callback=_store("stack_trace"),
                help="Print a stack-trace on failure",
            ),
            option(
                "--log-flush-frequency",
                default="5s",
                expose_value=False,
                hidden=True,
                help="Maximum number of seconds between log flushes (accepted for compatibility)",
            ),
        ],
    )


def _request_timeout(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> float | None:
    if value in (None, "", "0"):
        return None
    assert value is not None
    try:
        return cmdutil.parse_go_duration(value) if not value.isdigit() else float(value)
    except ValueError as err:
        raise click.BadParameter(
            "Invalid timeout value. Timeout must be a single integer in seconds, or an "
            "integer followed by a corresponding time unit (e.g. 1s | 2m | 3h)"
        ) from err


def kube_flags(*, with_user_flags: bool = True) -> Callable[[F], F]:
    """client-go's ConfigFlags: kubeconfig, context, namespace, server and credentials.

    ``with_user_flags=False`` leaves out ``--user``, ``--username`` and ``--password`` for
    commands that use those words themselves (``repo reg``).
    """

    def kube(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
        return _store(f"kube.{name}")

    def kube_option(*names: str, field: str, **kwargs: Any) -> Callable[[F], F]:
        """A flag whose value only goes to the client configuration (``Runtime.kube``)."""
        return option(*names, expose_value=False, callback=kube(field), **kwargs)

    def timeout_callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        kube("request_timeout")(ctx, param, _request_timeout(ctx, param, value))

    decorators: list[Callable[[F], F]] = [
        kube_option(
            "--kubeconfig",
            field="kubeconfig",
            help="Path to the kubeconfig file to use for CLI requests.",
        ),
        kube_option(
            "--context",
            field="context",
            help="The name of the kubeconfig context to use",
        ),
        kube_option(
            "--cluster",
            field="cluster",
            help="The name of the kubeconfig cluster to use",
        ),
        option(
            "-n",
            "--namespace",
            expose_value=False,
            callback=_store("namespace_flag"),
            help="If present, the namespace scope for this CLI request",
        ),
        kube_option(
            "-s",
            "--server",
            field="server",
            help="The address and port of the Kubernetes API server",
        ),
        kube_option(
            "--tls-server-name",
            field="tls_server_name",
            help="Server name to use for server certificate validation.",
        ),
        kube_option(
            "--as",
            "impersonate_user",
            field="impersonate_user",
            hidden=True,
            help="Username to impersonate for the operation.",
        ),
        kube_option(
            "--as-group",
            field="impersonate_groups",
            multiple=True,
            hidden=True,
            help="Group to impersonate (repeatable).",
        ),
        kube_option(
            "--as-uid",
            field="impersonate_uid",
            help="UID to impersonate for the operation.",
        ),
        kube_option(
            "--certificate-authority",
            field="certificate_authority",
            hidden=True,
            help="Path to a cert file for the certificate authority",
        ),
        kube_option(
            "--client-certificate",
            field="client_certificate",
            hidden=True,
            help="Path to a client certificate file",
        ),
        kube_option(
            "--client-key",
            field="client_key",
            hidden=True,
            help="Path to a client key file for TLS",
        ),
        kube_option(
            "--token",
            field="token",
            hidden=True,
            help="Bearer token for authentication to the API server",
        ),
        bool_flag(
            "--insecure-skip-tls-verify",
            default=False,
            expose_value=False,
            hidden=True,
            callback=_insecure_callback,
            help="If true, the server's certificate will not be checked for validity.",
        ),
        option(
            "--request-timeout",
            expose_value=False,
            hidden=True,
            default="0",
            callback=timeout_callback,
            help="The length of time to wait before giving up on a single server request.",
        ),
        bool_flag(
            "--disable-compression",
            expose_value=False,
            help="If true, opt-out of response compression for all requests to the "
            "server (porchctl never asks for compressed responses)",
        ),
        option(
            "--cache-dir",
            expose_value=False,
            hidden=True,
            help="Default cache directory (porchctl keeps no discovery cache)",
        ),
        bool_flag(
            "--match-server-version",
            expose_value=False,
            hidden=True,
            help="Require server version to match client version",
        ),
    ]
    if with_user_flags:
        decorators += [
            kube_option(
                "--user",
                field="user",
                help="The name of the kubeconfig user to use",
            ),
            kube_option(
                "--username",
                field="username",
                hidden=True,
                help="Username for basic authentication to the API server",
            ),
            kube_option(
                "--password",
                field="password",
                hidden=True,
                help="Password for basic authentication to the API server",
            ),
        ]

    def decorate(f: F) -> F:
        return _apply(f, decorators)

    return decorate


def _insecure_callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    _store("kube.insecure_skip_tls_verify")(ctx, param, value)


_API_VERSIONS: Final = ("v1alpha1", "v1alpha2")


def _api_version(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if value == "v1alpha2":
        # Porch's CRD-based porch.kpt.dev/v1alpha2 is not served by porch-py (yet).
        raise cmdutil.KptError(
            "porch.kpt.dev/v1alpha2 is not served by this Porch; use --api-version=v1alpha1"
        )
    return value


def api_version_flag(f: F) -> F:
    """The rpkg commands' ``--api-version`` (env ``PORCHCTL_API_VERSION``)."""
    return option(
        "--api-version",
        type=click.Choice(_API_VERSIONS),
        default="v1alpha1",
        envvar="PORCHCTL_API_VERSION",
        show_default=True,
        expose_value=False,
        callback=_api_version,
        help="API version of PackageRevisions to manage (v1alpha2 is not served).",
    )(f)


def all_namespaces_flag(f: F) -> F:
    """``-A/--all-namespaces``."""
    return bool_flag(
        "-A",
        "--all-namespaces",
        expose_value=False,
        callback=_store("all_namespaces"),
        help="If present, list the requested object(s) across all namespaces. Namespace "
        "in current context is ignored even if specified with --namespace.",
    )(f)


def _label_columns(ctx: click.Context, param: click.Parameter, value: Sequence[str]) -> None:
    _store("print.label_columns")(ctx, param, string_slice(value))


def print_flags(f: F) -> F:
    """kubectl's get print flags."""
    return _apply(
        f,
        [
            option(
                "-o",
                "--output",
                default="",
                expose_value=False,
                callback=_store("print.output"),
                help="Output format. One of: (" + ", ".join(printers.OUTPUT_FORMATS) + ").",
            ),
            bool_flag(
                "--no-headers",
                expose_value=False,
                callback=_store("print.no_headers"),
                help="When using the default or custom-column output format, don't "
                "print headers (default print headers).",
            ),
            bool_flag(
                "--show-labels",
                expose_value=False,
                callback=_store("print.show_labels"),
                help="When printing, show all labels as the last column (default hide "
                "labels column)",
            ),
            option(
                "-L",
                "--label-columns",
                multiple=True,
                expose_value=False,
                callback=_label_columns,
                help="Accepts a comma separated list of labels that are going to be "
                "presented as columns.",
            ),
            bool_flag(
                "--show-kind",
                expose_value=False,
                callback=_store("print.show_kind"),
                help="If present, list the resource type for the requested object(s).",
            ),
            option(
                "--sort-by",
                default="",
                expose_value=False,
                callback=_store("print.sort_by"),
                help="If non-empty, sort list types using this field specification "
                "(a JSONPath expression, e.g. '{.metadata.name}').",
            ),
            bool_flag(
                "--show-managed-fields",
                expose_value=False,
                callback=_store("print.show_managed_fields"),
                help="If true, keep the managedFields when printing objects in JSON or "
                "YAML format.",
            ),
        ],
    )


def command(
    name: str, *, aliases: Sequence[str] = (), **kwargs: Any
) -> Callable[[F], PorchCommand]:
    """A :class:`PorchCommand` with the global flags."""

    def decorate(f: F) -> PorchCommand:
        cmd = click.command(name, cls=PorchCommand, aliases=aliases, **kwargs)(global_flags(f))
        assert isinstance(cmd, PorchCommand)
        return cmd

    return decorate
