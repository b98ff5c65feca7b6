from __future__ import annotations

from pkg.apimachinery import gojson


def test_marshal_writes_what_go_writes() -> None:
    value = {"b": "<a href='x'>&</a>", "a": "\u2028ü", "n": [1, 2.5, None, True]}
    # Byte for byte what json.Marshal of the equivalent map[string]any prints.
    assert gojson.marshal(value, sort_keys=True) == (
        '{"a":"\\u2028ü","b":"\\u003ca href=\'x\'\\u003e\\u0026\\u003c/a\\u003e",'
        '"n":[1,2.5,null,true]}'
    )
    # Struct order is kept unless the caller sorts.
    assert gojson.marshal({"z": 1, "a": 2}) == '{"z":1,"a":2}'


def test_marshal_indent() -> None:
    assert (
        gojson.marshal({"k": ["<v>"]}, indent=4)
        == '{\n    "k": [\n        "\\u003cv\\u003e"\n    ]\n}'
    )
