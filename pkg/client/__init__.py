"""Typed client for the porch.kpt.dev and config.porch.kpt.dev APIs (porchctl, controllers)."""
