"""porch.kpt.dev: the aggregated API group porch-server serves (see v1alpha1)."""
