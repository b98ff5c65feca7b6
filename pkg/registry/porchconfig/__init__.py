"""Storage of config.porch.kpt.dev resources porch-server serves itself in standalone mode."""
