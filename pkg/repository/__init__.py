"""Package repository contracts (`repository`), domain errors (`errors`), credentials
(`credentials`) and an in-memory implementation for tests (`fake`).

Backends live in `pkg/externalrepo`; the engine and cache program against these modules.
"""
