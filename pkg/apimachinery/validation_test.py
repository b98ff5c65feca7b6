"""Name and label format checks: which values pass and the exact Go texts for those that fail."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pkg.apimachinery import validation

_NAME_PART_REGEX = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_SUBDOMAIN_REGEX = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_REGEX = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_VALUE_REGEX = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
_DNS1035_REGEX = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)

Check = Callable[[str], list[str]]


@pytest.mark.parametrize(
    ("check", "value", "want"),
    [
        # qualified names (label keys)
        pytest.param(validation.is_qualified_name, "app", [], id="key-simple"),
        pytest.param(validation.is_qualified_name, "kpt.dev/latest-revision", [], id="key-prefix"),
        pytest.param(validation.is_qualified_name, "My_Name.1", [], id="key-mixed"),
        pytest.param(
            validation.is_qualified_name,
            "",
            ["name part must be non-empty", _NAME_PART_REGEX],
            id="key-empty",
        ),
        pytest.param(validation.is_qualified_name, "a_", [_NAME_PART_REGEX], id="key-bad-end"),
        pytest.param(
            validation.is_qualified_name,
            "x" * 64,
            ["name part must be no more than 63 bytes"],
            id="key-too-long",
        ),
        pytest.param(
            validation.is_qualified_name,
            "/a",
            ["prefix part must be non-empty"],
            id="key-empty-prefix",
        ),
        pytest.param(
            validation.is_qualified_name,
            "Kpt.dev/a",
            ["prefix part " + _SUBDOMAIN_REGEX],
            id="key-uppercase-prefix",
        ),
        pytest.param(
            validation.is_qualified_name,
            "a/b/c",
            [
                "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and "
                "must start and end with an alphanumeric character (e.g. 'MyName',  or "
                "'my.name',  or '123-abc', regex used for validation is "
                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
                "prefix and '/' (e.g. 'example.com/MyName')"
            ],
            id="key-two-slashes",
        ),
        pytest.param(validation.is_qualified_name, "a\n", [_NAME_PART_REGEX], id="key-newline"),
        # label values
        pytest.param(validation.is_valid_label_value, "", [], id="value-empty-ok"),
        pytest.param(validation.is_valid_label_value, "v1.2_x-y", [], id="value-ok"),
        pytest.param(validation.is_valid_label_value, "-x", [_VALUE_REGEX], id="value-bad-start"),
        pytest.param(
            validation.is_valid_label_value,
            "é",
            [_VALUE_REGEX],
            id="value-non-ascii",
        ),
        pytest.param(
            validation.is_valid_label_value,
            "a" * 64,
            ["must be no more than 63 bytes"],
            id="value-too-long",
        ),
        # DNS-1123 labels
        pytest.param(validation.is_dns1123_label, "my-ws-1", [], id="label-ok"),
        pytest.param(
            validation.is_dns1123_label, "a.b", ["must not contain dots"], id="label-dots"
        ),
        pytest.param(validation.is_dns1123_label, "A", [_LABEL_REGEX], id="label-uppercase"),
        pytest.param(
            validation.is_dns1123_label,
            "a" * 64,
            ["must be no more than 63 bytes"],
            id="label-too-long",
        ),
        # DNS-1123 subdomains
        pytest.param(validation.is_dns1123_subdomain, "repo.pkg.v1", [], id="subdomain-ok"),
        pytest.param(
            validation.is_dns1123_subdomain, "a_b", [_SUBDOMAIN_REGEX], id="subdomain-bad"
        ),
        pytest.param(
            validation.is_dns1123_subdomain,
            "a" * 254,
            ["must be no more than 253 bytes"],
            id="subdomain-too-long",
        ),
        # DNS-1035 labels
        pytest.param(validation.is_dns1035_label, "svc-1", [], id="dns1035-ok"),
        pytest.param(validation.is_dns1035_label, "1svc", [_DNS1035_REGEX], id="dns1035-digit"),
    ],
)
def test_checks_report_go_texts(check: Check, value: str, want: list[str]) -> None:
    assert check(value) == want
