"""The generic store: simple namespaced resources in memory, persisted in SQLite."""
