"""REST storage for every resource porch-server serves (see pkg.registry.rest for the contracts)."""
