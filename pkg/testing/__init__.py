"""Shared test support for porch-py's own tests (never imported by production code).

`gitserver` serves bare git repositories over loopback smart HTTP(S) through the real
`git http-backend`; `fixtures` wraps it in pytest fixtures. Unit tests of the git backend,
the server's end-to-end tests and porchctl golden tests use them to talk to a real remote.
"""
