"""End-to-end tests of porch-server itself: kubectl, the Python client, security, lifecycle."""
