"""Metadata git cannot hold (labels, annotations, finalizers, owners) per package revision."""
