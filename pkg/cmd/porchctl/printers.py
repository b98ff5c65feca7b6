"""porchctl's output formats, printed the way kubectl prints them.

Where this sits: ``rpkg get``, ``repo get`` and ``upgrade --discover`` hand objects (server
JSON) or server-side Tables to a :class:`Printer` chosen by :func:`printer_for` from the
``-o`` flag; everything goes through one :class:`TabWriter`, flushed once at the end, so
columns line up across several objects as with kubectl's shared ``tabwriter``.

* table (default) and ``wide``: kubectl's ``HumanReadablePrinter`` over the server's Table:
  upper-cased headers (printed once, and not at all when there are no rows), ``-o wide``
  columns with priority > 0, NAMESPACE first with ``-A``, ``-L`` label columns and LABELS
  (``k=v,...`` or ``<none>``) with ``--show-labels``;
* ``custom-columns=H:expr,...``: a header row and one row per object, ``<none>`` for
  missing values, Go's ``%v`` for others;
* ``jsonpath=TEMPLATE``: the template per object (:mod:`pkg.cmd.porchctl.jsonpath`);
* ``name``: ``<kind>.<group>/<name>``; ``yaml`` and ``json``: each object, keys sorted as
  Go's encoders sort them, ``---`` between YAML documents, managedFields hidden unless
  ``--show-managed-fields``.

Porch's porchctl prints each object on its own (it flattens lists), so ``jsonpath`` and
``custom-columns`` expressions address one object (``{.metadata.name}``), not a List.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from api.meta import v1 as metav1
from pkg.apimachinery import codec, gojson
from pkg.cmd.porchctl import jsonpath

__all__ = [
    "OUTPUT_FORMATS",
    "PrintFlags",
    "Printer",
    "TabWriter",
    "UnsupportedFormatError",
    "format_labels",
    "printer_for",
]

OUTPUT_FORMATS: Final = (
    "custom-columns",
    "custom-columns-file",
    "json",
    "jsonpath",
    "jsonpath-as-json",
    "jsonpath-file",
    "name",
    "wide",
    "yaml",
)


class UnsupportedFormatError(ValueError):
    """``-o`` names a format porchctl cannot print (kubectl's message)."""


# -- tabwriter -------------------------------------------------------------------------

_MIN_WIDTH: Final = 6
_PADDING: Final = 3


class TabWriter:
    """Go's ``text/tabwriter`` as kubectl configures it (minwidth 6, padding 3, spaces).

    Lines are buffered; :meth:`flush` aligns every block of consecutive lines that have a
    cell in the same column, exactly as Go does (the last cell of a line is not aligned).
    """

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._lines: list[list[str]] = []

    def write_row(self, cells: Sequence[str]) -> None:
        """One tab-separated line."""
        self._lines.append([_sanitize(c) for c in cells])

    def write_text(self, text: str) -> None:
        """Text that may contain tabs and newlines (one row per line)."""
        for line in text.splitlines():
            self._lines.append(line.split("\t"))

    def flush(self) -> None:
        if not self._lines:
            return
        rendered: list[str] = []
        self._format(0, len(self._lines), [], rendered)
        self._out.write("".join(rendered))
        self._lines = []
        self._out.flush()

    def _format(self, line0: int, line1: int, widths: list[int], out: list[str]) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(self._lines[this]) - 1:
                this += 1
                continue
            # A column block starts here: print the lines before it, then size the column.
            self._write_lines(line0, this, widths, out)
            line0 = this
            width = _MIN_WIDTH
            while this < line1 and column < len(self._lines[this]) - 1:
                width = max(width, _display_width(self._lines[this][column]) + _PADDING)
                this += 1
            self._format(line0, this, [*widths, width], out)
            line0 = this
        self._write_lines(line0, line1, widths, out)

    def _write_lines(self, line0: int, line1: int, widths: list[int], out: list[str]) -> None:
        for line in self._lines[line0:line1]:
            for j, cell in enumerate(line):
                out.append(cell)
                if j < len(widths) and j < len(line) - 1:
                    out.append(" " * (widths[j] - _display_width(cell)))
            out.append("\n")


def _display_width(text: str) -> int:
    # tabwriter counts runes; combining marks take no cell.
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def _sanitize(cell: str) -> str:
    # A tab or newline inside a value would break the table; kubectl cuts at the first
    # line break and marks the cut.
    for i, ch in enumerate(cell):
        if ch in "\n\r\f":
            return cell[:i] + "..."
    return cell.replace("\t", " ")


# -- print flags -----------------------------------------------------------------------


@dataclass
class PrintFlags:
    """kubectl's get print flags."""

    output: str = ""
    no_headers: bool = False
    show_labels: bool = False
    label_columns: list[str] = field(default_factory=list)
    show_kind: bool = False
    show_managed_fields: bool = False
    sort_by: str = ""
    with_namespace: bool = False

    @property
    def wants_table(self) -> bool:
        """Whether to ask the server for a Table (porchctl's rule, plus ``name``)."""
        out = self.output
        return not ("custom-columns" in out or out == "yaml" or "json" in out or out == "name")


class Printer:
    """Prints objects (server JSON) and Tables; call :meth:`flush` once at the end."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.writer = TabWriter(out)

    def print_table(self, table: metav1.Table, kind: str = "") -> None:
        raise UnsupportedFormatError("this output format does not print tables")

    def print_object(self, obj: Mapping[str, Any]) -> None:
        raise UnsupportedFormatError("this output format prints tables only")

    def flush(self) -> None:
        self.writer.flush()
        self.out.flush()


class _HumanReadablePrinter(Printer):
    def __init__(self, out: IO[str], flags: PrintFlags) -> None:
        super().__init__(out)
        self.flags = flags
        self.wide = flags.output == "wide"
        self._last_columns: list[metav1.TableColumnDefinition] | None = None
        self._printed_headers = False

    def print_table(self, table: metav1.Table, kind: str = "") -> None:
        no_headers = self.flags.no_headers
        # Headers once while the columns stay the same (kubectl's HumanReadablePrinter).
        if self._printed_headers and table.column_definitions == self._last_columns:
            no_headers = True
        if table.column_definitions != self._last_columns:
            self._last_columns = list(table.column_definitions)
            self._printed_headers = False
        if table.rows:
            self._printed_headers = True
        columns, rows = _decorate(table, self.flags, kind)
        visible = [i for i, c in enumerate(columns) if self.wide or c.priority == 0]
        if not no_headers:
            if not rows:
                return
            self.writer.write_row([columns[i].name.upper() for i in visible])
        for cells in rows:
            self.writer.write_row([_cell_text(cells[i]) if i < len(cells) else "" for i in visible])


@dataclass
class _Column:
    name: str
    priority: int = 0


def _decorate(
    table: metav1.Table, flags: PrintFlags, kind: str
) -> tuple[list[_Column], list[list[Any]]]:
    """kubectl's ``decorateTable``: NAMESPACE, -L columns, LABELS, kind/name."""
    columns = [_Column(c.name, c.priority) for c in table.column_definitions]
    name_column = -1
    if flags.show_kind and kind:
        definitions = table.column_definitions
        name_column = next(
            (i for i, c in enumerate(definitions) if c.format == "name" and c.type == "string"),
            # Porch's own tables do not mark their Name column; use it by its name.
            next((i for i, c in enumerate(definitions) if c.name.lower() == "name"), -1),
        )
    if flags.with_namespace:
        columns.insert(0, _Column("Namespace"))
    columns.extend(_Column(key.split("/")[-1]) for key in flags.label_columns)
    if flags.show_labels:
        columns.append(_Column("Labels"))
    rows: list[list[Any]] = []
    for row in table.rows:
        cells = list(row.cells)
        if name_column >= 0:
            cells[name_column] = f"{kind.lower()}/{cells[name_column]}"
        meta = _row_metadata(row)
        if flags.with_namespace:
            cells.insert(0, meta.get("namespace", "") if meta is not None else None)
        labels: Mapping[str, str] = (meta.get("labels") or {}) if meta is not None else {}
        if meta is not None:
            cells.extend(labels.get(key, "") for key in flags.label_columns)
            if flags.show_labels:
                cells.append(format_labels(labels))
        rows.append(cells)
    if flags.sort_by:
        rows = _sorted_rows(table, rows, flags.sort_by)
    return columns, rows


def _row_metadata(row: metav1.TableRow) -> dict[str, Any] | None:
    if row.object is None:
        return None
    raw = codec.to_dict(row.object)
    meta = raw.get("metadata")
    return meta if isinstance(meta, dict) else None


def _sorted_rows(table: metav1.Table, rows: list[list[Any]], sort_by: str) -> list[list[Any]]:
    expression = jsonpath.relaxed_expression(sort_by)
    keyed = []
    for row, cells in zip(table.rows, rows, strict=True):
        obj = codec.to_dict(row.object) if row.object is not None else {}
        values = jsonpath.find_results(expression, obj)
        keyed.append((_sort_key(values[0] if values else None), cells))
    keyed.sort(key=lambda pair: pair[0])
    return [cells for _, cells in keyed]


def _sort_key(value: Any) -> tuple[int, Any]:
    # Numbers before strings, each in natural order; missing values first, as kubectl.
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value)
    return (2, jsonpath.format_value(value))


def _cell_text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell
    return jsonpath.go_sprint(cell)


def format_labels(labels: Mapping[str, str]) -> str:
    """apimachinery's ``labels.FormatLabels``: ``a=1,b=2`` sorted, ``<none>`` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


class _CustomColumnsPrinter(Printer):
    def __init__(self, out: IO[str], spec: str, no_headers: bool) -> None:
        super().__init__(out)
        if not spec:
            raise UnsupportedFormatError(
                "custom-columns format specified but no custom columns given"
            )
        self.columns: list[tuple[str, str]] = []
        for part in spec.split(","):
            header, sep, path = part.partition(":")
            if not sep:
                raise UnsupportedFormatError(
                    f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"
                )
            expression = jsonpath.relaxed_expression(path)
            jsonpath.find_results(expression, {})  # parse now: a bad column fails up front
            self.columns.append((header, expression))
        self.no_headers = no_headers
        self._printed_header = False

    def print_object(self, obj: Mapping[str, Any]) -> None:
        if not self.no_headers and not self._printed_header:
            self.writer.write_row([header for header, _ in self.columns])
            self._printed_header = True
        cells = []
        for _, expression in self.columns:
            values = jsonpath.find_results(expression, obj)
            cells.append(",".join(jsonpath.go_sprint(v) for v in values) if values else "<none>")
        self.writer.write_row(cells)


class _JSONPathPrinter(Printer):
    def __init__(self, out: IO[str], template: str, as_json: bool = False) -> None:
        super().__init__(out)
        self.template = jsonpath.Template(template)
        self.as_json = as_json

    def print_object(self, obj: Mapping[str, Any]) -> None:
        self.out.write(self.template.execute(obj, as_json=self.as_json))


class _NamePrinter(Printer):
    def __init__(self, out: IO[str], kind_of: Callable[[Mapping[str, Any]], str]) -> None:
        super().__init__(out)
        self._kind_of = kind_of

    def print_object(self, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        self.out.write(f"{self._kind_of(obj)}/{meta.get('name', '')}\n")


class _YAMLPrinter(Printer):
    def __init__(self, out: IO[str], show_managed_fields: bool) -> None:
        super().__init__(out)
        self.show_managed_fields = show_managed_fields
        self._count = 0

    def print_object(self, obj: Mapping[str, Any]) -> None:
        self._count += 1
        if self._count > 1:
            self.out.write("---\n")
        data = _sorted(_strip_managed_fields(obj, self.show_managed_fields))
        self.out.write(codec.encode_yaml(data).decode("utf-8"))


class _JSONPrinter(Printer):
    def __init__(self, out: IO[str], show_managed_fields: bool) -> None:
        super().__init__(out)
        self.show_managed_fields = show_managed_fields

    def print_object(self, obj: Mapping[str, Any]) -> None:
        data = _strip_managed_fields(obj, self.show_managed_fields)
        self.out.write(gojson.marshal(data, sort_keys=True, indent=4) + "\n")


def _strip_managed_fields(obj: Mapping[str, Any], show: bool) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    if show or not isinstance(meta, Mapping) or "managedFields" not in meta:
        return obj
    return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}


def _sorted(value: Any) -> Any:
    # Go's YAML and JSON encoders of maps sort keys; kubectl's output follows them.
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def printer_for(
    flags: PrintFlags,
    *,
    kind_of: Callable[[Mapping[str, Any]], str],
    out: IO[str] | None = None,
) -> Printer:
    """The printer for ``-o`` (and friends); UnsupportedFormatError for unknown formats."""
    stream = out if out is not None else sys.stdout
    output = flags.output
    name, _, argument = output.partition("=")
    if output in ("", "wide", "table"):
        return _HumanReadablePrinter(stream, flags)
    if output == "yaml":
        return _YAMLPrinter(stream, flags.show_managed_fields)
    if output == "json":
        return _JSONPrinter(stream, flags.show_managed_fields)
    if output == "name":
        return _NamePrinter(stream, kind_of)
    if name == "custom-columns":
        return _CustomColumnsPrinter(stream, argument, flags.no_headers)
    if name == "custom-columns-file":
        return _CustomColumnsPrinter(stream, _read_columns_file(argument), flags.no_headers)
    if name in ("jsonpath", "jsonpath-as-json"):
        if not argument:
            raise UnsupportedFormatError("template format specified but no template given")
        return _JSONPathPrinter(stream, argument, as_json=name == "jsonpath-as-json")
    if name == "jsonpath-file":
        return _JSONPathPrinter(stream, _read_file(argument))
    raise UnsupportedFormatError(
        f'unable to match a printer suitable for the output format "{output}", '
        f"allowed formats are: {','.join(OUTPUT_FORMATS)}"
    )


def _read_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise UnsupportedFormatError(f"error reading template {path}, {err}") from err


def _read_columns_file(path: str) -> str:
    # kubectl's file format: a header line and a line of expressions, whitespace separated.
    lines = [line.split() for line in _read_file(path).splitlines() if line.strip()]
    if len(lines) != 2 or len(lines[0]) != len(lines[1]):
        raise UnsupportedFormatError(f"expected 2 lines of equal width in {path}")
    return ",".join(f"{h}:{p}" for h, p in zip(lines[0], lines[1], strict=True))
