"""The `init` task: a new, empty kpt package, exactly as `kpt pkg init` writes it.

Where it sits: the engine (`pkg.engine`) calls `init_package` when it creates a package revision
with an `init` task (or with no task: it then synthesizes one, porch.md §3.4), before merging
`spec.packageMetadata` into the Kptfile and rendering. Porch runs kpt's `DefaultInitializer` on
an empty in-memory file system; this module writes the same three files:

- `Kptfile`: apiVersion/kind, `metadata.name` and the local-config annotation, `info` with site,
  description and keywords (kpt's Go struct order, kyaml's encoder: 2-space indent, compact
  sequences, empty fields left out);
- `README.md`: kpt's man-page template, with the name and description HTML-escaped (kpt renders
  it with Go's `html/template`) and the template's quotes turned into backticks;
- `package-context.yaml`: kpt's abstract package context, a local-config ConfigMap named
  `kptfile.kpt.dev` with `data.name: example`.

With `subpackage`, the files go into that directory instead of the package root.
"""

from __future__ import annotations

from typing import Final

from opentelemetry import trace
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from api.porch import v1alpha1 as porchv1alpha1
from pkg.kpt import yamlutil
from pkg.task import taskerrors

__all__ = [
    "LOCAL_CONFIG_ANNOTATION",
    "PACKAGE_CONTEXT_FILE",
    "PACKAGE_CONTEXT_NAME",
    "README_FILE",
    "abstract_package_context",
    "default_init_task",
    "init_package",
]

tracer = trace.get_tracer("task")

LOCAL_CONFIG_ANNOTATION: Final = "config.kubernetes.io/local-config"
PACKAGE_CONTEXT_FILE: Final = "package-context.yaml"
PACKAGE_CONTEXT_NAME: Final = "kptfile.kpt.dev"
README_FILE: Final = "README.md"
KPTFILE: Final = "Kptfile"

# kpt's manTemplate (pkg/kptpkg/init.go) after its `'` -> backtick replacement.
_README_TEMPLATE: Final = """# {name}

## Description
{description}

## Usage

### Fetch the package
`kpt pkg get REPO_URI[.git]/PKG_PATH[@VERSION] {name}`
Details: https://kpt.dev/reference/cli/pkg/get/

### View package content
`kpt pkg tree {name}`
Details: https://kpt.dev/reference/cli/pkg/tree/

### Apply the package
```
kpt live init {name}
kpt live apply {name} --reconcile-timeout=2m --output=table
```
Details: https://kpt.dev/reference/cli/live/
"""

# Go html/template's escaping of values in HTML text (htmlReplacementTable).
_HTML_ESCAPES: Final = {
    "\x00": "\ufffd",
    '"': "&#34;",
    "&": "&amp;",
    "'": "&#39;",
    "+": "&#43;",
    "<": "&lt;",
    ">": "&gt;",
}


def _html_escape(text: str) -> str:
    return "".join(_HTML_ESCAPES.get(char, char) for char in text)


def abstract_package_context() -> str:
    """kpt's `AbstractPkgContext()`: the package context of an abstract blueprint."""
    return (
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        f"  name: {PACKAGE_CONTEXT_NAME}\n"
        "  annotations:\n"
        f'    {LOCAL_CONFIG_ANNOTATION}: "true"\n'
        "data:\n"
        "  name: example\n"
    )


def default_init_task(package_name: str) -> porchv1alpha1.Task:
    """The task Porch synthesizes for a create request without tasks (porch.md §3.4)."""
    return porchv1alpha1.Task(
        type="init",
        init=porchv1alpha1.PackageInitTaskSpec(description=f"{package_name} description"),
    )


def _kptfile(name: str, spec: porchv1alpha1.PackageInitTaskSpec) -> str:
    doc = CommentedMap()
    doc["apiVersion"] = "kpt.dev/v1"
    doc["kind"] = "Kptfile"
    metadata = CommentedMap()
    if name:
        metadata["name"] = yamlutil.new_string(name)
    annotations = CommentedMap()
    annotations[LOCAL_CONFIG_ANNOTATION] = yamlutil.new_string("true")
    metadata["annotations"] = annotations
    doc["metadata"] = metadata
    info = CommentedMap()
    if spec.site:
        info["site"] = yamlutil.new_string(spec.site)
    if spec.description:
        info["description"] = yamlutil.new_string(spec.description)
    if spec.keywords:
        keywords = CommentedSeq()
        keywords.extend(yamlutil.new_string(k) for k in spec.keywords)
        info["keywords"] = keywords
    # kpt always sets Info (a pointer): an empty one is written as `info: {}`.
    doc["info"] = info
    return yamlutil.dump(doc, seq_indent_style=yamlutil.COMPACT)


def _check_subpackage(subpackage: str) -> str:
    cleaned = subpackage.strip("/")
    parts = cleaned.split("/")
    if any(part in ("", ".", "..") for part in parts) or "\\" in cleaned or "\x00" in cleaned:
        raise taskerrors.InvalidFieldError(
            "spec.tasks[0].init.subpackage",
            subpackage,
            f"invalid subpackage directory {subpackage!r}: must be a relative path inside the "
            "package",
        )
    return cleaned


def init_package(package_name: str, spec: porchv1alpha1.PackageInitTaskSpec) -> dict[str, str]:
    """The files of a new package named `package_name` (Porch passes `spec.packageName`).

    Raises `InvalidFieldError` for a `subpackage` that is not a relative path.
    """
    with tracer.start_as_current_span(
        "initPackageMutation::apply", attributes={"package": package_name}
    ):
        prefix = ""
        if spec.subpackage:
            prefix = _check_subpackage(spec.subpackage) + "/"
        readme = _README_TEMPLATE.format(
            name=_html_escape(package_name), description=_html_escape(spec.description or "")
        )
        return {
            prefix + KPTFILE: _kptfile(package_name, spec),
            prefix + README_FILE: readme,
            prefix + PACKAGE_CONTEXT_FILE: abstract_package_context(),
        }
