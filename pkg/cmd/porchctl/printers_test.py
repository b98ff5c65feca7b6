"""porchctl's printers produce kubectl's exact text for tables, columns, paths and objects."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
import yaml

from api.meta import v1 as metav1
from pkg.cmd.porchctl import printers

PR_COLUMNS = [
    ("Name", "string", "name", 0),
    ("Package", "string", "", 0),
    ("WorkspaceName", "string", "", 0),
    ("Revision", "integer", "", 0),
    ("Latest", "boolean", "", 0),
    ("Lifecycle", "string", "", 0),
    ("Repository", "string", "", 0),
]


def _table(
    rows: list[tuple[list[Any], dict[str, Any] | None]], columns: Any = PR_COLUMNS
) -> metav1.Table:
    return metav1.Table.model_validate(
        {
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {},
            "columnDefinitions": [
                {"name": n, "type": t, "format": f, "description": "", "priority": p}
                for n, t, f, p in columns
            ],
            "rows": [
                {
                    "cells": cells,
                    **(
                        {"object": {"kind": "PartialObjectMetadata", "metadata": meta}}
                        if meta is not None
                        else {}
                    ),
                }
                for cells, meta in rows
            ],
        }
    )


def _print_tables(tables: list[metav1.Table], **flags: Any) -> str:
    out = io.StringIO()
    printer = printers.printer_for(printers.PrintFlags(**flags), kind_of=lambda _o: "x", out=out)
    for table in tables:
        printer.print_table(table, "packagerevision.porch.kpt.dev")
    printer.flush()
    return out.getvalue()


def _row(name: str, rev: int, latest: bool, lifecycle: str = "Published") -> list[Any]:
    _, package, workspace = name.split(".")
    return [name, package, workspace, rev, latest, lifecycle, "test-blueprints"]


def test_table_matches_porchs_golden_layout() -> None:
    """Column widths, upper-cased headers and no trailing spaces: rpkg-get's golden text."""
    table = _table(
        [
            (_row("test-blueprints.basens.main", -1, False), {"name": "x"}),
            (_row("test-blueprints.basens.v4", 4, True), {"name": "y"}),
        ]
    )
    assert _print_tables([table]).splitlines() == [
        "NAME                          PACKAGE   WORKSPACENAME   REVISION   LATEST   "
        "LIFECYCLE   REPOSITORY",
        "test-blueprints.basens.main   basens    main            -1         false    "
        "Published   test-blueprints",
        "test-blueprints.basens.v4     basens    v4              4          true     "
        "Published   test-blueprints",
    ]


def test_empty_table_prints_nothing() -> None:
    assert _print_tables([_table([])]) == ""


def test_headers_once_across_tables_and_columns_aligned() -> None:
    first = _table([(_row("b.a.v1", 1, False), None)])
    second = _table([(_row("b.longer-name.v2", 2, True), None)])
    lines = _print_tables([first, second]).splitlines()
    assert lines[0].startswith("NAME ")
    assert sum(1 for line in lines if line.startswith("NAME")) == 1
    # One tabwriter for both tables: the second, wider name widens the first row too.
    assert _column_starts(lines[1]) == _column_starts(lines[2])


def _column_starts(line: str) -> list[int]:
    return [m.start() for m in re.finditer(r"(?<=   )\S", line)]


def test_no_headers() -> None:
    out = _print_tables([_table([(_row("b.a.v1", 1, False), None)])], no_headers=True)
    # Without the header row the columns are only as wide as the cells (min. 6, padding 3).
    assert out == "b.a.v1   a     v1    1     false   Published   test-blueprints\n"


def test_wide_shows_priority_columns() -> None:
    columns = [("Name", "string", "name", 0), ("Extra", "string", "", 1)]
    table = _table([(["n", "e"], None)], columns)
    assert _print_tables([table]) == "NAME\nn\n"
    assert _print_tables([table], output="wide") == "NAME   EXTRA\nn      e\n"


def test_namespace_labels_and_label_columns() -> None:
    columns = [("Name", "string", "name", 0)]
    table = _table(
        [
            (
                ["a"],
                {
                    "name": "a",
                    "namespace": "ns1",
                    "labels": {"kpt.dev/latest-revision": "true", "b": "2"},
                },
            ),
            (["b"], {"name": "b", "namespace": "ns2"}),
        ],
        columns,
    )
    out = _print_tables(
        [table],
        with_namespace=True,
        show_labels=True,
        label_columns=["kpt.dev/latest-revision"],
    )
    assert out == (
        "NAMESPACE   NAME   LATEST-REVISION   LABELS\n"
        "ns1         a      true              b=2,kpt.dev/latest-revision=true\n"
        "ns2         b                        <none>\n"
    )


def test_show_kind_prefixes_the_name_column() -> None:
    out = _print_tables([_table([(["a"], None)], [("Name", "string", "name", 0)])], show_kind=True)
    assert out == "NAME\npackagerevision.porch.kpt.dev/a\n"
    # Porch's tables do not mark the Name column with format "name".
    unmarked = [("Package", "string", "", 0), ("Name", "string", "", 0)]
    out = _print_tables([_table([(["p", "a"], None)], unmarked)], show_kind=True)
    assert out == "PACKAGE   NAME\np         packagerevision.porch.kpt.dev/a\n"


def test_sort_by_uses_row_objects() -> None:
    columns = [("Name", "string", "name", 0)]
    table = _table(
        [(["b"], {"name": "b", "generation": 10}), (["a"], {"name": "a", "generation": 9})],
        columns,
    )
    assert _print_tables([table], sort_by="{.metadata.generation}") == "NAME\na\nb\n"


def test_multiline_cell_is_cut() -> None:
    table = _table([(["a\nsecond line"], None)], [("Name", "string", "name", 0)])
    assert _print_tables([table]) == "NAME\na...\n"


def _print_objects(objects: list[dict[str, Any]], **flags: Any) -> str:
    out = io.StringIO()
    printer = printers.printer_for(
        printers.PrintFlags(**flags),
        kind_of=lambda _o: "packagerevision.porch.kpt.dev",
        out=out,
    )
    for obj in objects:
        printer.print_object(obj)
    printer.flush()
    return out.getvalue()


OBJ_A = {
    "apiVersion": "porch.kpt.dev/v1alpha1",
    "kind": "PackageRevision",
    "metadata": {"name": "git.lifecycle-package.lifecycle", "managedFields": [{"manager": "x"}]},
    "spec": {"packageName": "lifecycle-package", "lifecycle": "Proposed"},
    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
}
OBJ_B = {
    "apiVersion": "porch.kpt.dev/v1alpha1",
    "kind": "PackageRevision",
    "metadata": {"name": "b"},
    "spec": {"packageName": "p", "revision": -1, "lifecycle": "Published"},
}


def test_custom_columns_golden() -> None:
    """rpkg-lifecycle's golden: a draft has no revision, printed <none>."""
    out = _print_objects(
        [OBJ_A],
        output="custom-columns=NAME:.metadata.name,PKG:.spec.packageName,REV:.spec.revision,"
        "LIFECYCLE:.spec.lifecycle",
    )
    assert out == (
        "NAME                              PKG                 REV      LIFECYCLE\n"
        "git.lifecycle-package.lifecycle   lifecycle-package   <none>   Proposed\n"
    )


def test_custom_columns_filters_and_values() -> None:
    out = _print_objects(
        [OBJ_A, OBJ_B],
        output="custom-columns=N:metadata.name,READY:.status.conditions[?(@.type=='Ready')].status,"
        "R:{.spec.revision},C:.status.conditions",
        no_headers=True,
    )
    assert out.splitlines() == [
        "git.lifecycle-package.lifecycle   True     <none>   [map[status:True type:Ready]]",
        "b                                 <none>   -1       <none>",
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("custom-columns=", "custom-columns format specified but no custom columns given"),
        (
            "custom-columns=NAME",
            "unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>",
        ),
        ("table2", 'unable to match a printer suitable for the output format "table2"'),
    ],
)
def test_bad_output_formats(spec: str, message: str) -> None:
    with pytest.raises(printers.UnsupportedFormatError, match=message):
        printers.printer_for(printers.PrintFlags(output=spec), kind_of=lambda _o: "")


def test_jsonpath_per_object_without_newline() -> None:
    """rpkg-clone's golden: porchctl applies the template to each object on its own."""
    assert _print_objects([OBJ_A], output="jsonpath={.metadata.name}") == (
        "git.lifecycle-package.lifecycle"
    )
    assert _print_objects([OBJ_A, OBJ_B], output='jsonpath={.metadata.name}{"\\n"}') == (
        "git.lifecycle-package.lifecycle\nb\n"
    )


def test_jsonpath_as_json() -> None:
    out = _print_objects([OBJ_B], output="jsonpath-as-json={.spec.revision}")
    assert json.loads(out) == [-1]


def test_name_output() -> None:
    assert _print_objects([OBJ_A, OBJ_B], output="name") == (
        "packagerevision.porch.kpt.dev/git.lifecycle-package.lifecycle\n"
        "packagerevision.porch.kpt.dev/b\n"
    )


def test_yaml_output_sorted_separated_and_without_managed_fields() -> None:
    out = _print_objects([OBJ_A, OBJ_B], output="yaml")
    documents = list(yaml.safe_load_all(out))
    assert len(documents) == 2
    assert "managedFields" not in documents[0]["metadata"]
    assert out.splitlines()[:2] == ["apiVersion: porch.kpt.dev/v1alpha1", "kind: PackageRevision"]
    assert "\n---\n" in out
    shown = yaml.safe_load(_print_objects([OBJ_A], output="yaml", show_managed_fields=True))
    assert shown["metadata"]["managedFields"] == [{"manager": "x"}]


def test_json_output() -> None:
    out = _print_objects([OBJ_B], output="json")
    assert out.startswith('{\n    "apiVersion": "porch.kpt.dev/v1alpha1",\n')
    assert json.loads(out) == OBJ_B


def test_wants_table() -> None:
    assert printers.PrintFlags().wants_table
    assert printers.PrintFlags(output="wide").wants_table
    for output in ("yaml", "json", "name", "jsonpath={.a}", "custom-columns=A:.a"):
        assert not printers.PrintFlags(output=output).wants_table


def test_tabwriter_blocks_like_go() -> None:
    """Lines with fewer cells end a column block, as Go's text/tabwriter does."""
    out = io.StringIO()
    writer = printers.TabWriter(out)
    writer.write_row(["PACKAGE REVISION", "UPSTREAM REPOSITORY", "UPSTREAM UPDATES"])
    writer.write_row(["git.upgrade-downstream.main", "git", "v2"])
    writer.write_row(["git.upgrade-orig.main", "", "No update available"])
    writer.write_row(["single"])
    writer.write_row(["a", "b"])
    writer.flush()
    assert out.getvalue() == (
        "PACKAGE REVISION              UPSTREAM REPOSITORY   UPSTREAM UPDATES\n"
        "git.upgrade-downstream.main   git                   v2\n"
        "git.upgrade-orig.main                               No update available\n"
        "single\n"
        "a     b\n"
    )


def test_format_labels() -> None:
    assert printers.format_labels({}) == "<none>"
    assert printers.format_labels({"b": "2", "a": "1"}) == "a=1,b=2"
