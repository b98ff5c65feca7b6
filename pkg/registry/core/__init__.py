"""Storage of the core ("") API group resources porch-server serves itself in standalone mode."""
