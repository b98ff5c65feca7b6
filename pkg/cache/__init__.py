"""Repository cache: cached package revisions per repository, background sync, WatcherManager.

Contracts in `cachetypes` (what the engine calls); `repocache` implements the cache,
`packagerevision` assembles API objects, `watchermanager` fans events out, `sync` and
`repositorycontroller` keep repositories open and current, `backends` opens them by type.
`cachetesting` builds caches over fake repositories for upper layers' tests.
"""
