"""The plumbing under porch-server's embedded SQLite files, written once.

``sqlitedb`` opens one file for one owner: a dedicated worker thread for every blocking
sqlite3 call, an exclusive lock held while the file is open (a second server on the same
data directory is refused), WAL with ``synchronous=FULL``, mode 0600, schema creation and
in-place migration by SQLite's ``user_version``, one-transaction writes, and close.

Its callers own the tables and what the rows mean: ``pkg.meta.sqlite`` (package revision
metadata, ``metadata.db``) and ``pkg.registry.generic.sqlite`` (the standalone server's
objects, ``objects.db``). It imports the standard library only.
"""
