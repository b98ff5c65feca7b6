"""The Kubernetes API server of porch-py: the only package (besides ``pkg.cmd``) that imports Sanic.

Request flow, top to bottom: :mod:`~pkg.apiserver.server` (app factory, the per-request
pipeline: tracing, authentication, authorization, errors as Status) ->
:mod:`~pkg.apiserver.handlers` (one function per verb, calling one capability of a storage
from :mod:`pkg.registry.rest.rest`) -> the storages. Around them:

* what is served: :mod:`~pkg.apiserver.groups` (group-versions of storages),
  :mod:`~pkg.apiserver.discovery`, :mod:`~pkg.apiserver.openapi`, :mod:`~pkg.apiserver.health`;
* the wire: :mod:`~pkg.apiserver.negotiation`, :mod:`~pkg.apiserver.params`,
  :mod:`~pkg.apiserver.requestinfo`, :mod:`~pkg.apiserver.responses`,
  :mod:`~pkg.apiserver.patch`, :mod:`~pkg.apiserver.fieldmanager`,
  :mod:`~pkg.apiserver.protobuf`, :mod:`~pkg.apiserver.watch`;
* security: :mod:`~pkg.apiserver.authentication`, :mod:`~pkg.apiserver.authorization`,
  :mod:`~pkg.apiserver.pki`, :mod:`~pkg.apiserver.serving` (TLS, start, graceful shutdown);
* :mod:`~pkg.apiserver.config` (what ``pkg.cmd.server`` passes in) and
  :mod:`~pkg.apiserver.apiservertesting` (test support only).
"""
