"""kpt.dev: the Kptfile and kpt's function result types (see v1)."""
