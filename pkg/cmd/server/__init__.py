"""The ``porch-server`` command: options -> complete -> validate -> config -> run.

:mod:`~pkg.cmd.server.main` (click flags), :mod:`~pkg.cmd.server.options` (the flags, their
defaults and checks), :mod:`~pkg.cmd.server.config` (certificates and the authentication
chain), :mod:`~pkg.cmd.server.certs` (standalone PKI, kubeconfig),
:mod:`~pkg.cmd.server.telemetry` (the OpenTelemetry SDK, configured only here) and
:mod:`~pkg.cmd.server.server` (wiring storages into the API server and serving until SIGTERM).
"""
