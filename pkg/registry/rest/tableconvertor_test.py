"""Table conversion: kubectl's age format and the rows' embedded objects."""

from __future__ import annotations

import datetime

from api.core import v1 as corev1
from api.meta import v1 as metav1
from pkg.apimachinery import user
from pkg.registry.rest import rest, tableconvertor

HOUR = datetime.timedelta(hours=1)


def _secret() -> corev1.Secret:
    return corev1.Secret(
        api_version="v1",
        kind="Secret",
        metadata=metav1.ObjectMeta(
            name="s",
            namespace="ns",
            labels={"app": "x"},
            creation_timestamp=datetime.datetime.now(datetime.UTC) - 5 * HOUR,
        ),
        data={"k": "dg=="},
    )


CTX = rest.RequestContext(namespace="ns", user=user.UserInfo(name="alice"))
TABLE = tableconvertor.TableConvertor([tableconvertor.name_column(), tableconvertor.age_column()])


def test_rows_carry_partial_object_metadata_by_default() -> None:
    table = TABLE.convert_to_table(CTX, [_secret()], "Metadata")
    assert table.kind == "Table" and table.api_version == "meta.k8s.io/v1"
    assert table.column_definitions[0].format == "name"
    assert table.rows[0].cells == ["s", "5h"]
    assert table.rows[0].object is not None
    embedded = table.rows[0].object.model_dump()
    assert embedded["kind"] == "PartialObjectMetadata"
    assert embedded["metadata"]["labels"] == {"app": "x"}
    assert "data" not in embedded


def test_include_object_none_and_object() -> None:
    assert TABLE.convert_to_table(CTX, [_secret()], "None").rows[0].object is None
    full = TABLE.convert_to_table(CTX, [_secret()], "Object").rows[0].object
    assert full is not None
    assert full.model_dump()["data"] == {"k": "dg=="}
    assert full.model_dump()["kind"] == "Secret"


def test_age_of_an_object_without_timestamp_is_unknown() -> None:
    obj = _secret()
    assert obj.metadata is not None
    obj.metadata.creation_timestamp = None
    assert TABLE.convert_to_table(CTX, [obj], "None").rows[0].cells == ["s", "<unknown>"]
