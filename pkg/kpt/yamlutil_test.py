"""Reading and writing YAML as kyaml does (expected texts were checked against kpt 1.0's kyaml)."""

from __future__ import annotations

import pytest
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from pkg.kpt import yamlutil

ROUND_TRIPS = {
    "blank-lines-and-comment-spacing": (
        "# c1\n\n# c2\napiVersion: v1 # lc\nkind: A\nmetadata:   # on metadata\n"
        "  name: x      # spaced\n",
        "# c1\n# c2\napiVersion: v1 # lc\nkind: A\nmetadata: # on metadata\n  name: x # spaced\n",
    ),
    "key-line-comment-and-flow-comments": (
        "spec:\n  images: # kpt-set: ${images}\n  - a\n  roles: [dev, prod] # kpt-set: ${roles}\n"
        '  m: {a: 1, b: "2"}  # flow map\n',
        "spec:\n  images: # kpt-set: ${images}\n  - a\n  roles: [dev, prod] # kpt-set: ${roles}\n"
        '  m: {a: 1, b: "2"} # flow map\n',
    ),
    "foot-comments-keep-their-depth": (
        "spec:\n  deep:\n    k: v\n    # foot deep\n  # before after\n  after: 1\n",
        "spec:\n  deep:\n    k: v\n    # foot deep\n  # before after\n  after: 1\n",
    ),
    "scalar-spellings-survive": (
        "a: null\nb: ~\nc:\nd: True\ne: 0x1F\nf: 1.50\ng: 2021-01-01\nh: yes\ni: 'q'\n"
        'j: "true"\n',
        "a: null\nb: ~\nc:\nd: True\ne: 0x1F\nf: 1.50\ng: 2021-01-01\nh: yes\ni: 'q'\n"
        'j: "true"\n',
    ),
    "literal-blocks-and-header-comment": (
        "a: |  # lit\n  line1\n    indented\n\n  after blank\nb: |-\n  x\nc: |+\n  keep\n\n",
        "a: | # lit\n  line1\n    indented\n\n  after blank\nb: |-\n  x\nc: |+\n  keep\n\n",
    ),
    "folded-becomes-double-quoted": (
        "f: >\n  folded text\n  more\n",
        'f: "folded text more\\n"\n',
    ),
    "trailing-comment-copied-to-deepest-entry": (
        "kind: A\nm:\n  a:\n    b: 1\n# t\n",
        "kind: A\nm:\n  a:\n    b: 1\n    # t\n# t\n",
    ),
    "trailing-comment-after-metadata-stays-single": (
        "kind: A\nmetadata:\n  name: x\n# t\n",
        "kind: A\nmetadata:\n  name: x\n# t\n",
    ),
    "blank-separated-trailing-comment-moves-to-next-document": (
        "kind: A\nm: 1\n\n# t\n---\nkind: B\n---\nkind: C\n\n# gone\n",
        "kind: A\nm: 1\n---\n# t\nkind: B\n---\nkind: C\n",
    ),
    "long-lines-are-not-wrapped": (
        "k: " + "x" * 90 + " " + "y" * 30 + "\n",
        "k: " + "x" * 90 + " " + "y" * 30 + "\n",
    ),
    "multi-line-plain-is-joined": (
        "k: this is\n  a multi line\n  plain\n",
        "k: this is a multi line plain\n",
    ),
    "special-characters-escaped": (
        'u: "é ✓"\nt: "a\\tb"\nw: "multi\\nline"\ne: "emoji 😀"\n',
        'u: "é ✓"\nt: "a\\tb"\nw: "multi\\nline"\ne: "emoji \\U0001F600"\n',
    ),
}


@pytest.mark.parametrize(("source", "expected"), ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_round_trip_matches_kyaml(source: str, expected: str) -> None:
    docs = yamlutil.load_all(source)
    assert yamlutil.dump_all(docs, seq_indent_style=yamlutil.derive_seq_indent(source)) == expected


def test_sequence_indentation_follows_style() -> None:
    doc = yamlutil.load("spec:\n  items:\n  - name: a\n    v: 1\n")
    assert yamlutil.dump(doc, seq_indent_style=yamlutil.COMPACT) == (
        "spec:\n  items:\n  - name: a\n    v: 1\n"
    )
    assert yamlutil.dump(doc, seq_indent_style=yamlutil.WIDE) == (
        "spec:\n  items:\n    - name: a\n      v: 1\n"
    )


@pytest.mark.parametrize(
    ("text", "style"),
    [
        ("a:\n- x\n", yamlutil.COMPACT),
        ("a:\n  - x\n", yamlutil.WIDE),
        ("a: 1\n", yamlutil.COMPACT),
    ],
)
def test_derive_seq_indent(text: str, style: str) -> None:
    assert yamlutil.derive_seq_indent(text) == style


def test_documents_are_separated_and_a_leading_separator_dropped() -> None:
    docs = yamlutil.load_all("---\na: 1\n---\n# two\nb: 2\n")
    assert len(docs) == 2
    assert yamlutil.dump_all(docs) == "a: 1\n---\n# two\nb: 2\n"


def test_new_values_are_quoted_when_ambiguous() -> None:
    node = CommentedMap()
    node["bool"] = "true"
    node["num"] = "1"
    node["empty"] = ""
    node["colon"] = "a: b"
    node["lines"] = "x\ny\n"
    node["plain"] = "nginx:1.2"
    assert yamlutil.dump(node) == (
        'bool: "true"\nnum: "1"\nempty: ""\ncolon: \'a: b\'\nlines: |\n  x\n  y\nplain: nginx:1.2\n'
    )


def test_new_string_styles() -> None:
    assert isinstance(yamlutil.new_string("true"), DoubleQuotedScalarString)
    assert isinstance(yamlutil.new_string("a\nb"), LiteralScalarString)
    assert type(yamlutil.new_string("plain")) is str


def test_line_comment_helpers() -> None:
    doc = yamlutil.load(
        "spec:\n  image: nginx # kpt-set: ${image}\n  list: # kpt-set: ${l}\n  - a\n"
    )
    spec = doc["spec"]
    assert yamlutil.get_line_comment(spec, "image") == "# kpt-set: ${image}"
    assert yamlutil.get_line_comment(spec, "list") == "# kpt-set: ${l}"
    spec["image"] = "httpd"
    yamlutil.set_line_comment(spec, "replicas", "kpt-set: ${n}")
    spec["replicas"] = 3
    assert yamlutil.dump(doc) == (
        "spec:\n  image: httpd # kpt-set: ${image}\n  list: # kpt-set: ${l}\n  - a\n"
        "  replicas: 3 # kpt-set: ${n}\n"
    )


def test_changed_scalar_drops_its_original_spelling() -> None:
    doc = yamlutil.load("a: True\nb: 0x10\n")
    doc["a"] = False
    assert yamlutil.dump(doc) == "a: false\nb: 0x10\n"


def test_copy_node_is_independent_and_keeps_comments() -> None:
    doc = yamlutil.load("# head\na:\n  b: 1 # c\nl: [x, y]\n")
    copy = yamlutil.copy_node(doc)
    copy["a"]["b"] = 2
    assert doc["a"]["b"] == 1
    assert yamlutil.dump(copy) == "# head\na:\n  b: 2 # c\nl: [x, y]\n"


def test_comments_and_order_restored_on_a_recreated_item() -> None:
    source = yamlutil.load("# head\nkind: A\nmetadata:\n  name: x # the name\nspec: 1\n")
    recreated = yamlutil.from_plain({"spec": 1, "kind": "A", "metadata": {"name": "x"}, "z": 2})
    yamlutil.copy_comments(source, recreated)
    yamlutil.sync_order(source, recreated)
    assert yamlutil.dump(recreated) == (
        "# head\nkind: A\nmetadata:\n  name: x # the name\nspec: 1\nz: 2\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# head\napiVersion: v1\nkslsls\n;s;s;s\n", "yaml: line 3: could not find expected ':'"),
        ("a:\n  - b\n  c: d\n", "yaml: line 1: did not find expected '-' indicator"),
        ("a: b\n c: d\n", "yaml: line 2: mapping values are not allowed in this context"),
        ('a: "b\n', "yaml: line 2: found unexpected end of stream"),
    ],
)
def test_syntax_errors_read_like_go_yaml(text: str, message: str) -> None:
    with pytest.raises(yamlutil.YAMLError) as err:
        yamlutil.load_all(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "null"),
        ("~", "null"),
        ("True", "bool"),
        ("yes", "str"),
        ("012", "int"),
        ("0x1F", "int"),
        ("1_000", "int"),
        ("1.5e3", "float"),
        (".inf", "float"),
        ("2021-01-02", "timestamp"),
        ("1.2.3", "str"),
        ("~0.2", "str"),
    ],
)
def test_resolve_plain_like_go_yaml(text: str, kind: str) -> None:
    assert yamlutil.resolve_plain(text) == kind


def test_paths_helpers() -> None:
    doc = CommentedMap()
    yamlutil.set_path(doc, ["spec", "selector", "app"], "x")
    assert yamlutil.get_path(doc, "spec", "selector", "app") == "x"
    assert yamlutil.get_path(doc, "spec", "missing") is None
    seq = CommentedSeq([CommentedMap({"a": 1})])
    assert yamlutil.get_path(seq, 0, "a") == 1
