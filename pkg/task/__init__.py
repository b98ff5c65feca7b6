"""Task handlers of the CaD engine: init, clone, edit, upgrade, and render of a package revision."""
