"""The generic store: simple namespaced resources in memory, persisted in SQLite.

``sqlite``: the one database file of a server and its resourceVersion counter; ``store``:
the REST storage (and ``/status`` storage, and typed in-process client) over it;
``strategy``: what the store needs from a resource's strategy, with defaults;
``watchcache``: event history and watch streams.
"""
