"""Typed client for the porch.kpt.dev and config.porch.kpt.dev APIs (porchctl, controllers).

Build a :class:`~pkg.client.client.Client` from a resolved configuration and use its
per-resource accessors; every failure is one of :mod:`pkg.client.errors`::

    from pkg.client import client, config, errors

    porch = client.Client(config.load(config.Overrides(context="kind-porch")))
    try:
        pr = porch.package_revisions.get("blueprints.basens.v1")
    except errors.NotFoundError:
        ...

Modules: ``config`` (kubeconfig, in-cluster, overrides), ``client`` (the Client and the
readiness / conflict-retry helpers), ``resources`` (typed verbs per resource), ``rest``
(transport), ``errors`` (the exception tree).
"""
