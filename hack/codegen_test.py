"""Tests of hack/codegen.py: verify-codegen catches stale or hand-edited models."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_codegen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("codegen", ROOT / "hack" / "codegen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A scratch copy of everything code generation reads and writes."""
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "hack").mkdir()
    shutil.copy2(ROOT / "hack" / "boilerplate.py.txt", tmp_path / "hack" / "boilerplate.py.txt")
    shutil.copytree(ROOT / "api", tmp_path / "api", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_checked_in_models_are_current(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    codegen = load_codegen()
    assert codegen.verify(tree) == 0
    assert "up to date" in capsys.readouterr().out


def test_hand_edit_of_generated_file_fails_verify(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codegen = load_codegen()
    generated = tree / "api" / "meta" / "v1" / "zz_generated_models.py"
    generated.write_text(generated.read_text() + "\nHAND_EDIT = 1\n")

    assert codegen.verify(tree) == 1
    captured = capsys.readouterr()
    assert "+HAND_EDIT = 1" not in captured.out  # the diff shows the edit being removed
    assert "-HAND_EDIT = 1" in captured.out
    assert "run hack/update-codegen.sh" in captured.err


def test_openapi_change_without_regeneration_fails_until_generate(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    codegen = load_codegen()
    document = tree / "api" / "openapi" / "meta" / "v1.yaml"
    text = document.read_text()
    assert "  schemas:\n" in text
    document.write_text(
        text.replace(
            "  schemas:\n",
            "  schemas:\n    AddedByTest:\n      type: object\n"
            "      properties:\n        field: {type: string}\n",
            1,
        )
    )

    assert codegen.verify(tree) == 1
    assert "class AddedByTest" in capsys.readouterr().out

    codegen.generate(tree)
    assert codegen.verify(tree) == 0
