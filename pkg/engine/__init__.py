"""The CaD (configuration as data) engine: every package operation of the API goes through it.

`engine.CaDEngine` is what the registry calls (create/update/approve/delete package revisions,
update their resources, list and watch, packages, repositories); `errors` says which HTTP
status each failure deserves; `lifecycle` is the state machine (one table); `validation` the
request checks the registry's strategies can share; `locks` the per-object try-locks.
Test support: `enginetesting` (an engine over fake repositories), `gitsetup` (over real git);
`enginebench` measures the engine's cost above git.
"""
