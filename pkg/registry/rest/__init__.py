"""Generic REST machinery: per-verb capability protocols, strategies and their drivers."""
