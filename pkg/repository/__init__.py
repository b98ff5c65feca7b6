"""Package repository contracts (`repository`), domain errors (`errors`), credentials
(`credentials`), the resource path rule every backend enforces (`paths`) and an in-memory
implementation for upper layers' tests (`fake`).

Backends live in `pkg/externalrepo`; the engine and cache program against these modules.
"""
