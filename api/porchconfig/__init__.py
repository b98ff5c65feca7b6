"""config.porch.kpt.dev: Porch's configuration API group, Repository (see v1alpha1)."""
