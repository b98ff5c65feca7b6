"""Core v1 ``secrets`` for standalone mode: strategy (``strategy``) and storage (``storage``)."""
