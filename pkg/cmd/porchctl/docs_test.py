"""porchctl's help texts as a user sees them: every command's ``--help``, rendered by click.

Each command's help is printed through :func:`pkg.cmd.porchctl.main.main`; every paragraph of
its examples (and every ``\\b`` block of its description) must come out line for line as
written, indented by click's two spaces, never re-wrapped into one run-on paragraph.
"""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from pkg.cmd.porchctl import docs
from pkg.cmd.porchctl import main as porchctl


def _commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


COMMANDS = list(_commands(porchctl.cli))


def _verbatim_blocks(command: click.Command) -> list[list[str]]:
    """The paragraphs click must print as written: all of the epilog (the examples) and the
    ``\\b`` blocks of the description; each as its lines, without the ``\\b`` marker."""
    blocks = []
    for text, all_paragraphs in ((command.epilog, True), (command.help, False)):
        for paragraph in (text or "").split("\n\n"):
            lines = paragraph.split("\n")
            marked = lines[0] == "\b"
            if marked:
                lines = lines[1:]
            if (marked or all_paragraphs) and any(lines):
                blocks.append(lines)
    return blocks


def test_every_command_with_examples_is_covered() -> None:
    with_examples = {" ".join(path) for path, cmd in COMMANDS if cmd.epilog}
    assert {"rpkg get", "repo reg", "fn render", "fn eval", "rpkg upgrade"} <= with_examples


@pytest.mark.parametrize(
    ("path", "command"), [pytest.param(p, c, id=" ".join(p)) for p, c in COMMANDS]
)
def test_help_prints_examples_as_written(
    capsys: pytest.CaptureFixture[str], path: tuple[str, ...], command: click.Command
) -> None:
    code = porchctl.main([*path, "--help"])
    out, _ = capsys.readouterr()
    assert code == 0
    for lines in _verbatim_blocks(command):
        printed = "\n".join(f"  {line}" if line else "" for line in lines)
        assert f"\n{printed}\n" in out, f"re-wrapped in `porchctl {' '.join(path)} --help`"


def test_examples_marks_every_paragraph() -> None:
    text = docs.examples("Examples:\n  # one\n  cmd one\n\n  # two\n  cmd two")
    assert text == "\b\nExamples:\n  # one\n  cmd one\n\n\b\n  # two\n  cmd two"
