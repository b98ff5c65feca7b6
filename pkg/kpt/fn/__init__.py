"""KRM function runtime: images to implementations, errors, the builtin functions."""
