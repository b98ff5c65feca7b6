"""kpt in Python: Kptfile handling, package I/O, the KRM function runtime and `fn render`."""
