"""porch.kpt.dev/v1alpha1 storage: packagerevisions, packagerevisionresources, packages."""
