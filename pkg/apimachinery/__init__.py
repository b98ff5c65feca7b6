"""Kubernetes API machinery every layer of porch-py uses, mirroring k8s.io/apimachinery.

``errors`` (Status errors), ``field`` (field paths and validation errors), ``validation``
(name and label formats), ``labels`` and ``fields`` (selectors), ``codec`` (the one place
models are encoded and decoded), plus small helpers (``selection``, ``strconv``, ``user``).
Sits at the bottom of the import graph: it imports only ``api``.
"""
