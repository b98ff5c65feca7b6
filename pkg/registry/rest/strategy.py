"""Strategies: the per-resource hooks a storage runs on create and update.

After k8s.io/apiserver's ``RESTCreateStrategy``/``RESTUpdateStrategy``. A resource's
strategy (``pkg/registry/<group>/<resource>/strategy.py``) holds its validation and
defaulting rules as pure functions; storages never call the hooks one by one, they call
the drivers :func:`before_create` and :func:`before_update`, which run them in a fixed
order: prepare, validate (collect every field error), raise one Invalid (422),
warnings, canonicalize.

The protocols and drivers live in :mod:`pkg.registry.rest.create` and
:mod:`pkg.registry.rest.update` (split as in Go, where each driver also owns the metadata
steps common to every resource); this module names them together for strategies that
implement both.
"""

from __future__ import annotations

from pkg.registry.rest.create import CreateStrategy, before_create
from pkg.registry.rest.update import UpdateStrategy, before_update

__all__ = ["CreateStrategy", "UpdateStrategy", "before_create", "before_update"]
