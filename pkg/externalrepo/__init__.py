"""Repository backends: implementations of the `pkg/repository` contracts.

`git/` stores packages in git repositories exactly as Porch lays them out (pygit2). Other
backends (OCI, PostgreSQL) would sit beside it. The cache (`pkg/cache`) picks a backend from
the Repository's `spec.type` and owns the opened repositories.
"""
