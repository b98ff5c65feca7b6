"""Tests of the init task: kpt's exact files, and Porch's golden after render."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.porch import v1alpha1 as porchv1alpha1
from pkg.kpt.fn import runtime as fnruntime
from pkg.task import init, render, taskerrors, tasktesting

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
PORCHCTL = SHARED / "conformance" / "porchctl"

SPEC = porchv1alpha1.PackageInitTaskSpec(
    description="Test Package Description",
    keywords=["test", "package"],
    site="http://kpt.dev/init-package",
)


def test_files_are_kpts() -> None:
    files = init.init_package("init-package", SPEC)
    assert sorted(files) == ["Kptfile", "README.md", "package-context.yaml"]
    assert files["Kptfile"] == (
        "apiVersion: kpt.dev/v1\n"
        "kind: Kptfile\n"
        "metadata:\n"
        "  name: init-package\n"
        "  annotations:\n"
        '    config.kubernetes.io/local-config: "true"\n'
        "info:\n"
        "  site: http://kpt.dev/init-package\n"
        "  description: Test Package Description\n"
        "  keywords:\n"
        "  - test\n"
        "  - package\n"
    )
    assert files["README.md"].startswith(
        "# init-package\n\n## Description\nTest Package Description\n\n## Usage\n"
    )
    assert "`kpt pkg get REPO_URI[.git]/PKG_PATH[@VERSION] init-package`\n" in files["README.md"]
    assert "```\nkpt live init init-package\n" in files["README.md"]
    assert files["package-context.yaml"] == (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kptfile.kpt.dev\n"
        '  annotations:\n    config.kubernetes.io/local-config: "true"\ndata:\n  name: example\n'
    )


def test_readme_escapes_like_go_html_template() -> None:
    files = init.init_package(
        "p", porchv1alpha1.PackageInitTaskSpec(description="a<b> & 'c'+\"d\"")
    )
    assert "\na&lt;b&gt; &amp; &#39;c&#39;&#43;&#34;d&#34;\n" in files["README.md"]


def test_empty_info_is_written_as_kpt_writes_it() -> None:
    kptfile = init.init_package("p", porchv1alpha1.PackageInitTaskSpec())["Kptfile"]
    assert kptfile.endswith("info: {}\n")


def test_subpackage_goes_into_its_directory() -> None:
    files = init.init_package("p", porchv1alpha1.PackageInitTaskSpec(subpackage="sub/dir"))
    assert sorted(files) == ["sub/dir/Kptfile", "sub/dir/README.md", "sub/dir/package-context.yaml"]


@pytest.mark.parametrize("subpackage", ["../x", "a//b", "./a", "a\\b"])
def test_subpackage_outside_the_package_is_refused(subpackage: str) -> None:
    with pytest.raises(taskerrors.InvalidFieldError) as err:
        init.init_package("p", porchv1alpha1.PackageInitTaskSpec(subpackage=subpackage))
    assert err.value.field == "spec.tasks[0].init.subpackage"


@pytest.mark.parametrize(
    ("case", "name", "package", "site"),
    [
        ("rpkg-init", "git.init-package.init-1", "init-package", "http://kpt.dev/init-package"),
        (
            "rpkg-init-deploy",
            "git.deploy-package.deploy",
            "deploy-package",
            "http://kpt.dev/deploy-package",
        ),
    ],
)
async def test_rendered_package_matches_porchctl_golden(
    case: str, name: str, package: str, site: str
) -> None:
    spec = SPEC.model_copy(update={"site": site})
    outcome = await render.render_package(
        init.init_package(package, spec), runtime=fnruntime.BuiltinRuntime()
    )
    assert not outcome.failed
    expected = tasktesting.pulled_items(PORCHCTL / case / "config.yaml", name)
    assert tasktesting.package_items(outcome.files) == expected


def test_default_task_is_porchs() -> None:
    task = init.default_init_task("a/b")
    assert task.type == "init"
    assert task.init is not None and task.init.description == "a/b description"
