"""Errors of the package updater (`pkg.kpt.update`).

The `upgrade` task turns them into the task's failure; they know nothing of HTTP. ::

    UpdateError                  the update could not be done (bad input, merge impossible)
    ├── LocalChangesError        fast-forward refused: the local package was changed
    └── MergeError               two versions cannot be merged (node kinds, list keys, duplicates)
"""

from __future__ import annotations


class UpdateError(Exception):
    """The package could not be updated; the message says which file and why."""


class LocalChangesError(UpdateError):
    """The `fast-forward` strategy found local modifications (kpt's message)."""

    def __init__(self, modified: list[str]) -> None:
        self.modified = modified
        super().__init__(
            f"local package files have been modified: [{' '.join(modified)}].\n"
            "  use a different update --strategy."
        )


class MergeError(UpdateError):
    """The versions of a resource (or of the package's resource list) cannot be merged."""
