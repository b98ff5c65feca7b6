"""Tests of the 3-way merge of one resource (kyaml merge3 semantics).

The first cases are kyaml's own (``kyaml/yaml/merge3/element_test.go``), compared as text.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest

from pkg.kpt import yamlutil
from pkg.kpt.update import errors, merge3


def _doc(text: str) -> object:
    text = textwrap.dedent(text).strip("\n")
    return yamlutil.load(text) if text else merge3.MISSING


def _merge(origin: str, update: str, local: str, *, infer: bool = True) -> str:
    result = merge3.merge(_doc(local), _doc(origin), _doc(update), infer_associative_lists=infer)
    return yamlutil.dump(result) if result is not merge3.MISSING else ""


@dataclass(frozen=True)
class Case:
    id: str
    origin: str
    update: str
    local: str
    expected: str
    infer: bool = True


DEPLOYMENT = "apiVersion: apps/v1\nkind: Deployment\n"

CASES = [
    Case(
        "kyaml: add an element to an existing list (schema key, sorted new fields)",
        origin=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:1\n",
        update=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:1\n      - name: baz\n        image: baz:2\n",
        local=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:1\n",
        expected=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:1\n      - image: baz:2\n        name: baz\n",
    ),
    Case(
        "kyaml: add an element to a list missing locally",
        origin=DEPLOYMENT,
        update=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n",
        local=DEPLOYMENT,
        expected=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - image: foo:bar\n        name: foo\n",
    ),
    Case(
        "kyaml: add an element to a list only local has",
        origin=DEPLOYMENT,
        update=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n",
        local=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: baz\n        image: baz:bar\n",
        expected=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: baz\n        image: baz:bar\n      - image: foo:bar\n        name: foo\n",
    ),
    Case(
        "kyaml: element missing locally gets only the fields upstream added",
        origin=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n",
        update=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n        command:\n        - run.sh\n",
        local=DEPLOYMENT,
        expected=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - command:\n        - run.sh\n        name: foo\n",
    ),
    Case(
        "kyaml: upstream change of a plain list field wins",
        origin=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n        command: ['run.sh']\n",
        update=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n        command: ['run2.sh']\n",
        local=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n        command: ['run.sh']\n",
        expected=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n        command: ['run2.sh']\n",
    ),
    Case(
        "kyaml: a field deleted on both sides stays deleted",
        origin=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n",
        update=DEPLOYMENT,
        local=DEPLOYMENT,
        expected=DEPLOYMENT,
    ),
    Case(
        "kyaml: list removed upstream is removed with local changes to its elements",
        origin=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n",
        update=DEPLOYMENT + "spec:\n  template:\n    spec: {}\n",
        local=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n        command: ['run.sh']\n",
        expected=DEPLOYMENT + "spec:\n  template:\n    spec: {}\n",
    ),
    Case(
        "kyaml: element removed upstream keeps the fields local added",
        origin=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n      - name: baz\n        image: baz:bar\n",
        update=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n",
        local=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n        command: ['run.sh']\n"
        "      - name: baz\n        image: baz:bar\n",
        expected=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n        command: ['run.sh']\n",
    ),
    Case(
        "kyaml: merge key inferred from name without a schema",
        origin="kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n",
        update="kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        command: ['run2.sh']\n",
        local="kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n",
        expected="kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
        "      - name: foo\n        image: foo:bar\n        command: ['run2.sh']\n",
    ),
    Case(
        "scalar changed locally only: local wins",
        origin="a: 1\nb: x\n",
        update="a: 1\nb: x\n",
        local="a: 2\nb: x\n",
        expected="a: 2\nb: x\n",
    ),
    Case(
        "scalar changed upstream only: upstream wins",
        origin="a: 1\n",
        update="a: 3\n",
        local="a: 1\n",
        expected="a: 3\n",
    ),
    Case(
        "scalar changed on both sides: upstream wins",
        origin="a: 1\n",
        update="a: 3\n",
        local="a: 2\n",
        expected="a: 3\n",
    ),
    Case(
        "field deleted upstream is deleted even if changed locally",
        origin="a: 1\nb: 1\n",
        update="b: 1\n",
        local="a: 2\nb: 1\n",
        expected="b: 1\n",
    ),
    Case(
        "field added locally stays, field added upstream is appended",
        origin="a: 1\n",
        update="a: 1\nz: up\n",
        local="a: 1\nlocal: yes\n",
        expected="a: 1\nlocal: yes\nz: up\n",
    ),
    Case(
        "explicit null upstream removes the field",
        origin="a: 1\nb: 1\n",
        update="a: null\nb: 1\n",
        local="a: 2\nb: 1\n",
        expected="b: 1\n",
    ),
    Case(
        "a list the schema does not merge (RoleBinding subjects) follows upstream whole",
        origin="apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nsubjects:\n"
        "- name: a\n  kind: Group\n",
        update="apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nsubjects:\n"
        "- name: b\n  kind: Group\n",
        local="apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nsubjects:\n"
        "- name: a\n  kind: Group\n- name: mine\n  kind: User\n",
        expected="apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nsubjects:\n"
        "- name: b\n  kind: Group\n",
    ),
    Case(
        "a plain list unchanged upstream keeps the local version",
        origin="args: [a, b]\n",
        update="args: [a, b]\n",
        local="args: [a, b, c]\n",
        expected="args: [a, b, c]\n",
    ),
    Case(
        "ports merged on containerPort (schema list-map keys)",
        origin=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: app\n        ports:\n        - containerPort: 80\n",
        update=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: app\n        ports:\n        - containerPort: 80\n          name: http\n"
        "        - containerPort: 443\n",
        local=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: app\n        ports:\n        - containerPort: 80\n"
        "        - containerPort: 9090\n",
        expected=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: app\n        ports:\n        - containerPort: 80\n          name: http\n"
        "        - containerPort: 9090\n        - containerPort: 443\n",
    ),
    Case(
        "ports with and without protocol are not duplicated",
        origin=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: app\n        ports:\n        - containerPort: 80\n"
        "        - containerPort: 53\n          protocol: UDP\n",
        update=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: app\n        ports:\n        - containerPort: 80\n          name: http\n"
        "        - containerPort: 53\n          protocol: UDP\n",
        local=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: app\n        ports:\n        - containerPort: 80\n"
        "        - containerPort: 53\n          protocol: UDP\n",
        expected=DEPLOYMENT + "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: app\n        ports:\n        - containerPort: 80\n          name: http\n"
        "        - containerPort: 53\n          protocol: UDP\n",
    ),
    Case(
        "finalizers merged by value",
        origin="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  finalizers:\n"
        "  - a\n  - b\n",
        update="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  finalizers:\n"
        "  - a\n  - up\n",
        local="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  finalizers:\n"
        "  - a\n  - b\n  - mine\n",
        expected="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  finalizers:\n"
        "  - a\n  - mine\n  - up\n",
    ),
    Case(
        "comments: kept on untouched lines, a changed value takes upstream's",
        origin="a: 1 # old\n# about b\nb: x # keep\n",
        update="a: 2\n# about b\nb: x # keep\n",
        local="a: 1 # old\n# about b\nb: x # keep\n",
        expected="a: 2\n# about b\nb: x # keep\n",
    ),
    Case(
        "without inference a named list is replaced, not merged",
        origin="items:\n- name: a\n  v: 1\n",
        update="items:\n- name: a\n  v: 2\n",
        local="items:\n- name: a\n  v: 1\n- name: mine\n",
        expected="items:\n- name: a\n  v: 2\n",
        infer=False,
    ),
    Case(
        "with inference a named list is merged",
        origin="items:\n- name: a\n  v: 1\n",
        update="items:\n- name: a\n  v: 2\n",
        local="items:\n- name: a\n  v: 1\n- name: mine\n",
        expected="items:\n- name: a\n  v: 2\n- name: mine\n",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_merge(case: Case) -> None:
    assert _merge(case.origin, case.update, case.local, infer=case.infer) == case.expected


@pytest.mark.parametrize(
    ("origin", "update", "local", "message"),
    [
        pytest.param(
            "spec: {a: 1}\n",
            "spec: [1]\n",
            "spec: {a: 1}\n",
            "cannot merge field spec: a seq in one version and a map in another",
            id="map against list",
        ),
        pytest.param(
            "l:\n- name: a\n",
            "l:\n- id: b\n",
            "l:\n- name: a\n",
            "conflicting merge keys [name,] for field l",
            id="elements with and without a name",
        ),
    ],
)
def test_merge_errors(origin: str, update: str, local: str, message: str) -> None:
    with pytest.raises(errors.MergeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _merge(origin, update, local)


def test_merge_does_not_change_upstream_versions() -> None:
    origin, update = _doc("a: 1\nl:\n- name: x\n"), _doc("a: 2\nl:\n- name: x\n  v: 1\n")
    before = (yamlutil.dump(origin), yamlutil.dump(update))
    merge3.merge(_doc("a: 1\nl:\n- name: x\n"), origin, update)
    assert (yamlutil.dump(origin), yamlutil.dump(update)) == before
