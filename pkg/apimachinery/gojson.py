"""JSON text byte for byte as Go's ``encoding/json`` writes it.

Kubernetes and kpt are Go programs; texts they produce that users (and conformance goldens)
compare — kubectl's ``-o json``, JSONPath output, the ``kpt:`` line of Porch's commit
messages, managedFields keys, function result messages — are ``json.Marshal`` output:
compact (or ``MarshalIndent``), UTF-8 kept, and ``<``, ``>``, ``&``, U+2028, U+2029
escaped for safe embedding in HTML. Go sorts map keys but keeps struct fields in
declaration order, so sorting is the caller's choice (``sort_keys`` for maps).
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = ["escape_html", "marshal"]

_HTML_ESCAPES: Final = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


def escape_html(text: str) -> str:
    """Go's escaping of JSON text (``json.HTMLEscape`` plus U+2028/U+2029, which
    ``encoding/json`` always escapes)."""
    return text.translate(_HTML_ESCAPES)


def marshal(value: Any, *, sort_keys: bool = False, indent: int | None = None) -> str:
    """``json.Marshal(value)`` (``json.MarshalIndent`` with ``indent`` spaces)."""
    separators = (",", ":") if indent is None else (",", ": ")
    return escape_html(
        json.dumps(
            value, separators=separators, sort_keys=sort_keys, ensure_ascii=False, indent=indent
        )
    )
