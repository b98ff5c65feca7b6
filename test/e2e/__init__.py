"""End-to-end tests against real processes (porch-server, git, kubectl, porchctl)."""
