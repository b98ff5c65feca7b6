from __future__ import annotations

import pytest

from pkg.apimachinery import errors
from pkg.apiserver import params


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("0", False),
        ("false", False),
        ("False", False),
        ("FALSE", False),
        ("true", True),
        ("True", True),
        ("1", True),
        ("", True),
        ("yes", True),
    ],
)
def test_parse_bool_is_false_only_for_absent_zero_or_false(
    value: str | None, expected: bool
) -> None:
    assert params.parse_bool(value) is expected


def test_parse_query_keeps_blank_values_and_form_decoding() -> None:
    query = params.parse_query("verbose&labelSelector=app+in+%28a%2Cb%29&x=1&x=2")
    assert query == {"verbose": [""], "labelSelector": ["app in (a,b)"], "x": ["1", "2"]}


def test_list_options_reads_every_parameter() -> None:
    query = params.parse_query(
        "labelSelector=app%3Ddemo&fieldSelector=metadata.name%3Dx&limit=2&continue=tok"
        "&resourceVersion=7&resourceVersionMatch=NotOlderThan&timeoutSeconds=3"
        "&allowWatchBookmarks=true&sendInitialEvents=false&timeout=32s"
    )
    options = params.list_options(query)
    assert options.label_selector is not None
    assert options.label_selector.matches({"app": "demo"})
    assert options.field_selector is not None
    assert options.field_selector.requires_exact_match("metadata.name") == "x"
    assert (options.limit, options.continue_token, options.resource_version) == (2, "tok", "7")
    assert options.resource_version_match == "NotOlderThan"
    assert options.timeout_seconds == 3
    assert options.allow_watch_bookmarks is True
    assert options.send_initial_events is False


@pytest.mark.parametrize(
    "query",
    ["limit=ten", "limit=-1", "timeoutSeconds=1.5", "labelSelector=a%20in", "fieldSelector=x"],
)
def test_list_options_reject_malformed_values(query: str) -> None:
    with pytest.raises(errors.StatusError) as caught:
        params.list_options(params.parse_query(query))
    assert caught.value.code == 400


def test_dry_run_accepts_only_all() -> None:
    assert params.dry_run(None) is False
    assert params.dry_run(["All"]) is True
    with pytest.raises(errors.StatusError) as caught:
        params.dry_run(["Some"])
    assert caught.value.code == 400
    assert '"Some"' in caught.value.message


def test_field_validation_defaults_to_warn_and_rejects_unknown() -> None:
    assert params.field_validation({}) == "Warn"
    assert params.field_validation({"fieldValidation": ["Strict"]}) == "Strict"
    with pytest.raises(errors.StatusError) as caught:
        params.field_validation({"fieldValidation": ["strict"]})
    assert caught.value.code == 400


def test_include_object() -> None:
    assert params.include_object({}) == "Metadata"
    assert params.include_object({"includeObject": ["Object"]}) == "Object"
    with pytest.raises(errors.StatusError):
        params.include_object({"includeObject": ["All"]})
