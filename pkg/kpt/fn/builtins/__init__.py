"""The KRM functions porch-py runs in-process instead of in containers.

Where it sits: the function runtime (`pkg.kpt.fn`) looks a step's image up here after it has
resolved the image name to a bare catalog function name, and calls the function with the KRM
`ResourceList` it would have sent to the container. Each function behaves like the catalog
function of the same name (reference: shared/reference/krm-functions.md):

    set-namespace       set_namespace.run
    set-labels          set_labels.run
    set-annotations     set_annotations.run
    apply-setters       apply_setters.run
    apply-replacements  apply_replacements.run
    starlark            starlark.run

Contract of every function: `run(resource_list) -> resource_list`. The input (ruamel.yaml
round-trip nodes) is never changed; the output is a new ResourceList with the items changed,
added or removed and the function's `results`. A failing function raises
`pkg.kpt.fn.fnerrors.FunctionError(stderr, results=...)`. Text a function writes to stderr
while succeeding (starlark's `print`) is collected by `call`, or by `capture_stderr` around a
direct call.

A function whose catalog versions behave differently also has a version-aware entry point,
listed in `VERSIONED_BUILTINS`: `run_versioned(resource_list, tag) -> resource_list`, where
`tag` is the tag of the step's image (`v0.2`, `v0.3.0`, `latest`; `""` when the image has
none) and `run(resource_list)` is `run_versioned(resource_list, "")`, the newest behaviour:

    apply-setters       apply_setters.run_versioned   (v0.2 or v0.3 results)
"""

from __future__ import annotations

from collections.abc import Callable

from ruamel.yaml.comments import CommentedMap

from pkg.kpt.fn.builtins import (
    _krm,
    apply_replacements,
    apply_setters,
    set_annotations,
    set_labels,
    set_namespace,
    starlark,
)

__all__ = ["BUILTINS", "VERSIONED_BUILTINS", "call", "capture_stderr"]

BUILTINS: dict[str, Callable[[CommentedMap], CommentedMap]] = {
    "set-namespace": set_namespace.run,
    "set-labels": set_labels.run,
    "set-annotations": set_annotations.run,
    "apply-setters": apply_setters.run,
    "apply-replacements": apply_replacements.run,
    "starlark": starlark.run,
}

VERSIONED_BUILTINS: dict[str, Callable[[CommentedMap, str], CommentedMap]] = {
    "apply-setters": apply_setters.run_versioned,
}

capture_stderr = _krm.capture_stderr


def call(name: str, resource_list: CommentedMap, *, tag: str = "") -> tuple[CommentedMap, str]:
    """Run builtin `name` as the image tag `tag` (`""`: untagged) would behave; returns the
    output ResourceList and what it wrote to stderr.

    Raises KeyError for an unknown name and `FunctionError` (whose `stderr` is the whole
    stderr text) when the function fails.
    """
    function = BUILTINS[name]
    versioned = VERSIONED_BUILTINS.get(name)
    with _krm.capture_stderr() as stderr:
        output = versioned(resource_list, tag) if versioned else function(resource_list)
    return output, "".join(stderr)
