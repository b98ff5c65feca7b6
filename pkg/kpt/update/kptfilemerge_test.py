"""Tests of the Kptfile merge; most cases are kpt's own (``kptfileutil`` TestMerge and
TestUpdateKptfile), compared as data because kpt writes the Kptfile from its Go struct."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest

from pkg.kpt import yamlutil
from pkg.kpt.update import errors, kptfilemerge

HEAD = "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pipeline\n"
CATALOG = "ghcr.io/kptdev/krm-functions-catalog"


def _data(text: str) -> object:
    return yamlutil.to_plain(yamlutil.load(text))


@dataclass(frozen=True)
class Case:
    id: str
    origin: str
    update: str
    local: str
    expected: str
    update_upstream: bool = False


CASES = [
    Case(
        "unnamed functions added on both sides: local first, then upstream's",
        origin=HEAD,
        update=HEAD + f"pipeline:\n  mutators:\n  - image: {CATALOG}/generate-folders\n",
        local=HEAD + f"pipeline:\n  mutators:\n  - image: {CATALOG}/folder-ref\n",
        expected=HEAD + f"pipeline:\n  mutators:\n  - image: {CATALOG}/folder-ref\n"
        f"  - image: {CATALOG}/generate-folders\n",
    ),
    Case(
        "exec functions are keyed by their command",
        origin=HEAD,
        update=HEAD + "pipeline:\n  mutators:\n  - exec: gen-folders\n",
        local=HEAD + "pipeline:\n  mutators:\n  - exec: folder-ref\n",
        expected=HEAD + "pipeline:\n  mutators:\n  - exec: folder-ref\n  - exec: gen-folders\n",
    ),
    Case(
        "setter added upstream and setter changed locally both kept",
        origin=HEAD + f"pipeline:\n  mutators:\n    - image: {CATALOG}/apply-setters:latest\n"
        "      configMap:\n        image: nginx\n        tag: 1.0.1\n",
        update=HEAD + f"pipeline:\n  mutators:\n    - image: {CATALOG}/apply-setters:latest\n"
        "      configMap:\n        image: nginx\n        tag: 1.0.1\n        new-setter: v\n",
        local=HEAD + f"pipeline:\n  mutators:\n    - image: {CATALOG}/apply-setters:latest\n"
        "      configMap:\n        image: nginx\n        tag: 1.2.0\n",
        expected=HEAD + f"pipeline:\n  mutators:\n  - image: {CATALOG}/apply-setters:latest\n"
        "    configMap:\n      image: nginx\n      new-setter: v\n      tag: 1.2.0\n",
    ),
    Case(
        "configPath changed on both sides: upstream wins",
        origin=HEAD + f"pipeline:\n  mutators:\n    - image: {CATALOG}/apply-setters:latest\n"
        "      configPath: setters.yaml\n",
        update=HEAD + f"pipeline:\n  mutators:\n    - image: {CATALOG}/apply-setters:latest\n"
        "      configPath: setters-updated.yaml\n",
        local=HEAD + f"pipeline:\n  mutators:\n    - image: {CATALOG}/apply-setters:latest\n"
        "      configPath: setters-local.yaml\n",
        expected=HEAD + f"pipeline:\n  mutators:\n  - image: {CATALOG}/apply-setters:latest\n"
        "    configPath: setters-updated.yaml\n",
    ),
    Case(
        "function added upstream goes after local additions",
        origin=HEAD + f"pipeline:\n  mutators:\n  - image: {CATALOG}/apply-setters:latest\n",
        update=HEAD + f"pipeline:\n  mutators:\n  - image: {CATALOG}/apply-setters:latest\n"
        f"  - image: {CATALOG}/generate-folders:latest\n",
        local=HEAD + f"pipeline:\n  mutators:\n  - image: {CATALOG}/apply-setters:latest\n"
        f"  - image: {CATALOG}/set-namespace:latest\n    configMap:\n      namespace: foo\n",
        expected=HEAD + f"pipeline:\n  mutators:\n  - image: {CATALOG}/apply-setters:latest\n"
        f"  - image: {CATALOG}/set-namespace:latest\n    configMap:\n      namespace: foo\n"
        f"  - image: {CATALOG}/generate-folders:latest\n",
    ),
    Case(
        "function deleted upstream is deleted locally when unchanged",
        origin=HEAD + f"pipeline:\n  validators:\n  - image: {CATALOG}/apply-setters:latest\n"
        f"  - image: {CATALOG}/generate-folders:latest\n",
        update=HEAD + f"pipeline:\n  validators:\n  - image: {CATALOG}/apply-setters:latest\n",
        local=HEAD + f"pipeline:\n  validators:\n  - image: {CATALOG}/apply-setters:latest\n"
        f"  - image: {CATALOG}/generate-folders:latest\n"
        f"  - image: {CATALOG}/set-namespace:latest\n",
        expected=HEAD + f"pipeline:\n  validators:\n  - image: {CATALOG}/apply-setters:latest\n"
        f"  - image: {CATALOG}/set-namespace:latest\n",
    ),
    Case(
        "the same unnamed function twice: no merge key, upstream's list wins",
        origin=HEAD + f"pipeline:\n  mutators:\n  - image: {CATALOG}/search-replace:latest\n"
        "    configMap: {by-value: foo}\n"
        f"  - image: {CATALOG}/search-replace:latest\n    configMap: {{by-value: abc}}\n",
        update=HEAD + f"pipeline:\n  mutators:\n  - image: {CATALOG}/search-replace:latest\n"
        "    configMap: {by-value: new}\n"
        f"  - image: {CATALOG}/search-replace:latest\n    configMap: {{by-value: abc}}\n",
        local=HEAD + f"pipeline:\n  mutators:\n  - image: {CATALOG}/generate-folders:latest\n"
        f"  - image: {CATALOG}/search-replace:latest\n    configMap: {{by-value: foo}}\n",
        expected=HEAD + f"pipeline:\n  mutators:\n  - image: {CATALOG}/search-replace:latest\n"
        "    configMap: {by-value: new}\n"
        f"  - image: {CATALOG}/search-replace:latest\n    configMap: {{by-value: abc}}\n",
    ),
    Case(
        "named functions: merged by name, local additions keep their place",
        origin=HEAD + "pipeline:\n  mutators:\n  - name: sr1\n    image: sr\n"
        "    configMap: {put-value: bar}\n",
        update=HEAD + "pipeline:\n  mutators:\n  - name: sr1\n    image: sr\n"
        "    configMap: {put-value: bar-new}\n",
        local=HEAD + "pipeline:\n  mutators:\n  - name: gf1\n    image: gf\n"
        "  - name: sr1\n    image: sr\n    configMap: {put-value: bar}\n",
        expected=HEAD + "pipeline:\n  mutators:\n  - name: gf1\n    image: gf\n"
        "  - name: sr1\n    image: sr\n    configMap: {put-value: bar-new}\n",
    ),
    Case(
        "same named function added on both sides is merged, not duplicated",
        origin=HEAD,
        update=HEAD + "pipeline:\n  mutators:\n  - name: gen-up\n    image: gen\n"
        "  - name: ref\n    image: ref\n    configMap:\n      foo: bar\n",
        local=HEAD + "pipeline:\n  mutators:\n  - name: ref\n    image: ref\n    configMap:\n"
        "      bar: foo\n  - name: gen-local\n    image: gen\n",
        expected=HEAD + "pipeline:\n  mutators:\n  - name: ref\n    image: ref\n    configMap:\n"
        "      bar: foo\n      foo: bar\n  - name: gen-local\n    image: gen\n"
        "  - name: gen-up\n    image: gen\n",
    ),
    Case(
        "upstream and upstreamLock are kept local without update_upstream",
        origin=HEAD + "upstream:\n  type: git\n  git: {repo: r, directory: /, ref: v1}\n",
        update=HEAD + "upstream:\n  type: git\n  git: {repo: r, directory: /, ref: v2}\n",
        local=HEAD,
        expected=HEAD,
    ),
    Case(
        "upstream and upstreamLock are taken from upstream with update_upstream",
        origin=HEAD + "upstream:\n  type: git\n  git: {repo: r, directory: /, ref: v1}\n",
        update=HEAD + "upstream:\n  type: git\n  git: {repo: r, directory: /, ref: v2}\n"
        "upstreamLock:\n  type: git\n  git: {repo: r, directory: /, ref: v2, commit: abc123}\n",
        local=HEAD,
        expected=HEAD + "upstream:\n  type: git\n  git: {repo: r, directory: /, ref: v2}\n"
        "upstreamLock:\n  type: git\n  git: {repo: r, directory: /, ref: v2, commit: abc123}\n",
        update_upstream=True,
    ),
    Case(
        "pipeline removed upstream empties the local pipeline",
        origin=HEAD + "pipeline:\n  mutators:\n  - image: foo:bar\n",
        update=HEAD,
        local=HEAD + "pipeline:\n  mutators:\n  - image: my:image\n  - image: foo:bar\n",
        expected=HEAD + "pipeline: {}\n",
    ),
    Case(
        "readiness gates and conditions follow upstream (plain lists)",
        origin=HEAD + "info:\n  readinessGates:\n  - conditionType: foo\n"
        "status:\n  conditions:\n  - type: foo\n    status: 'True'\n",
        update=HEAD + "info:\n  readinessGates:\n  - conditionType: foo\n  - conditionType: bar\n"
        "status:\n  conditions:\n  - type: foo\n    status: 'True'\n"
        "  - type: bar\n    status: 'False'\n",
        local=HEAD + "info:\n  readinessGates:\n  - conditionType: foo\n"
        "status:\n  conditions:\n  - type: foo\n    status: 'True'\n",
        expected=HEAD + "info:\n  readinessGates:\n  - conditionType: foo\n"
        "  - conditionType: bar\nstatus:\n  conditions:\n  - type: foo\n    status: 'True'\n"
        "  - type: bar\n    status: 'False'\n",
    ),
    Case(
        "local name and annotations kept; upstream label added",
        origin="apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: base\n",
        update="apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: base\n"
        "  labels:\n    tier: backend\n",
        local="apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: mine\n"
        "  annotations:\n    config.kubernetes.io/local-config: 'true'\n",
        expected="apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: mine\n"
        "  annotations:\n    config.kubernetes.io/local-config: 'true'\n"
        "  labels:\n    tier: backend\n",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_merge_kptfile(case: Case) -> None:
    merged = kptfilemerge.merge_kptfile(
        case.local, case.update, case.origin, update_upstream=case.update_upstream
    )
    assert merged is not None
    assert _data(merged) == _data(case.expected)


def test_unchanged_kptfile_keeps_its_text() -> None:
    local = HEAD + "# my pipeline\npipeline:\n    mutators:\n        - image: a:1 # pinned\n"
    upstream = HEAD + "pipeline:\n  mutators:\n  - image: a:1\n"
    assert kptfilemerge.merge_kptfile(local, upstream, upstream, update_upstream=False) == local


def test_merged_kptfile_keeps_comments_and_order() -> None:
    local = textwrap.dedent(
        """\
        # package comment
        apiVersion: kpt.dev/v1 # api comment
        kind: Kptfile
        metadata: # kpt-merge: /base
          name: mine
        info:
          description: mine # local description
        pipeline:
          mutators:
            - image: set-labels:v1 # labels
              configMap:
                app: mine
        """
    )
    original = HEAD + "info:\n  description: base\npipeline:\n  mutators:\n"
    original += "  - image: set-labels:v1\n    configMap:\n      app: base\n"
    upstream = HEAD + "info:\n  description: base\n  site: https://example.com\n"
    upstream += (
        "pipeline:\n  mutators:\n  - image: set-labels:v2\n    configMap:\n      app: base\n"
    )
    merged = kptfilemerge.merge_kptfile(local, upstream, original, update_upstream=False)
    assert merged == textwrap.dedent(
        """\
        # package comment
        apiVersion: kpt.dev/v1 # api comment
        kind: Kptfile
        metadata: # kpt-merge: /base
          name: mine
        info:
          description: mine # local description
          site: https://example.com
        pipeline:
          mutators:
            - image: set-labels:v2
              configMap:
                app: mine
        """
    )


def test_invalid_kptfile_is_reported() -> None:
    with pytest.raises(errors.UpdateError, match="cannot read local Kptfile"):
        kptfilemerge.merge_kptfile("metadata: [bad\n", HEAD, HEAD, update_upstream=False)


def test_no_kptfile_anywhere_gives_none() -> None:
    assert kptfilemerge.merge_kptfile(None, None, HEAD, update_upstream=False) is None
