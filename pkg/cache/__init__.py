"""Repository cache: cached package revisions per repository, background sync, WatcherManager."""
