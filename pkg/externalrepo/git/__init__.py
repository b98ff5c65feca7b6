"""Git package repositories in Porch's layout, on pygit2 (libgit2).

Where it sits: `pkg/cache` opens repositories with `git.open_repository(repository,
options)`; the engine then works through the `pkg/repository` contracts. Modules:

- `git`: `GitRepository` (the contract implementation), drafts, snapshots, opening;
- `cache`: `GitCache`, the shared bare clones and their executor threads;
- `discovery`: what refs and trees mean (packages, revisions, tasks, publish info), memoised;
- `transport`: fetch, conditional push, credentials, retries, error mapping;
- `refs`, `annotation`, `commit`: ref names, `kpt:` commit annotations, tree/commit writing;
- `bench_list`: the listing/approval benchmark (a script, not a test).
"""
