"""Tests of the comment heal of resources updates."""

from __future__ import annotations

from pkg.task import heal

OLD = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm # the config
data:
  # head comment
  a: "1" # kpt-set: ${a}
"""


def test_comments_come_back_on_the_same_resource() -> None:
    new = {"cm.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: "2"\n'}
    healed = heal.heal_comments({"cm.yaml": OLD}, new)["cm.yaml"]
    assert healed == OLD.replace('"1"', '"2"')


def test_other_resources_and_files_are_untouched() -> None:
    other = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  a: "2"\n'
    new = {"other.yaml": other, "README.md": "# hi\n", "broken.yaml": "a: [\n"}
    assert heal.heal_comments({"cm.yaml": OLD}, new) == new


def test_template_comments_are_code_and_left_alone() -> None:
    new_text = (
        '#@ load("@ytt:data", "data")\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n'
    )
    assert heal.heal_comments({"cm.yaml": OLD}, {"cm.yaml": new_text}) == {"cm.yaml": new_text}
