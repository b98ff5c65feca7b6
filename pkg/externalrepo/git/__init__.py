"""Git package repositories in Porch's layout, on pygit2 (libgit2).

Where it sits: `pkg/cache` opens repositories with `git.open_repository(repository,
options)`; the engine then works through the `pkg/repository` contracts. Modules:

- `git`: `GitRepository` (the contract implementation), drafts, snapshots, opening;
- `cache`: `GitCache`, the shared bare clones (or local repositories used in place), their
  executor threads, background `git gc`;
- `discovery`: what refs and trees mean (packages, revisions, tasks, publish info), memoised;
- `transport`: fetch (libgit2), atomic conditional push (git CLI), credentials, retries,
  error mapping;
- `reftransaction`: atomic compare-and-swap of several refs in a local repository;
- `urls`: which URLs are accepted (`check_url`), where local ones live (`local_path`);
- `upstream`: `read_package`, one package of an unregistered repository (clone from git);
- `refs`, `annotation`, `commit`: ref names, `kpt:` commit annotations, tree/commit writing;
- `bench_list`: the listing/lifecycle benchmark (a script, not a test).
"""
