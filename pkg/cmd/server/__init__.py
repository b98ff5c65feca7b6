"""The ``porch-server`` command: options -> complete -> validate -> config -> run.

:mod:`~pkg.cmd.server.main` (click flags), :mod:`~pkg.cmd.server.options` (the flags, their
defaults and checks), :mod:`~pkg.cmd.server.config` (certificates, the authentication chain,
the function runtime), :mod:`~pkg.cmd.server.certs` (standalone PKI, kubeconfig),
:mod:`~pkg.cmd.server.delegation` (front-proxy settings from the cluster),
:mod:`~pkg.cmd.server.functions` (builtin and ``--function-exec`` KRM functions),
:mod:`~pkg.cmd.server.telemetry` (the OpenTelemetry SDK, configured only here),
:mod:`~pkg.cmd.server.enginestack` (metadata store, git cache, repository cache, CaD engine,
repository controller), :mod:`~pkg.cmd.server.repositorysource` (Repository finalizer and
git credentials over wherever Repositories and Secrets live),
:mod:`~pkg.cmd.server.standalone` (the server's own stores) and
:mod:`~pkg.cmd.server.cluster` (the Kubernetes API), and :mod:`~pkg.cmd.server.server`
(wiring it all into the API server and serving until SIGTERM).
:mod:`~pkg.cmd.server.servertesting` is test support only.
"""
