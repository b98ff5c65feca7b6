"""The `kpt:` commit annotations and commit messages of Porch's git layout (porch.md §4.2).

Every commit porch writes ends with a line `kpt:{"package":…,"workspaceName":…,"revision":…,
"task":…}` naming the package (full path), workspace, revision (a string) and the task that
caused it. Discovery (`discovery.py`) reads them back to recover a revision's workspace, its
creation task and publishing information; writes (`git.py`) produce them.

The JSON is written the way Go's encoding/json writes Porch's struct (field order, empty
fields omitted, no spaces, `<`, `>`, `&`, U+2028/9 escaped) so commits look the same whichever
server wrote them. Reading is lenient: unknown fields are ignored, invalid JSON is skipped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pydantic

from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import gojson

_log = logging.getLogger(__name__)

PREFIX = "kpt:"

CREATION_TASK_TYPES = frozenset({"init", "clone", "edit", "upgrade"})
"""Task types that create a revision; the history walk for tasks stops at one of them."""

RENDER_TASK_TYPE = "render"

# Porch's human lines (pkg/externalrepo/git/git.go formatCommitMessage).
_MESSAGES = {
    "init": "Creating new empty revision",
    "clone": "Creating new revision by cloning",
    "edit": "Creating new revision by copying previous revision",
    "upgrade": "Upgrading revision",
    "render": "Rendering package",
    "eval": "Rendering package",
    "patch": "Applying patch to package",
}

INITIAL_COMMIT_MESSAGE = "Initial commit: Creating main branch"


@dataclasses.dataclass(frozen=True, slots=True)
class Annotation:
    """One parsed `kpt:` line. `task` is the raw JSON object (any task type)."""

    package: str = ""
    workspace_name: str = ""
    revision: str = ""
    task: dict[str, Any] | None = None

    @property
    def task_type(self) -> str:
        return str(self.task.get("type", "")) if self.task else ""


def human_message(task_type: str) -> str:
    """The first line of a commit for a change of `task_type`."""
    return _MESSAGES.get(task_type, f"Intermediate commit: {task_type}")


def approval_message(full_path: str, revision: int) -> str:
    return f"Approving package revision {full_path}/{revision}"


def delete_message(full_path: str) -> str:
    return f"Delete {full_path}"


def task_json(task: porchv1alpha1.Task) -> dict[str, Any]:
    """A Task as Porch stores it: camelCase keys, absent fields omitted, `type` first."""
    dumped: dict[str, Any] = task.model_dump(by_alias=True, exclude_none=True, mode="json")
    return dumped


def annotate(
    human_line: str,
    *,
    package: str,
    workspace_name: str,
    revision: int,
    task: dict[str, Any] | None = None,
) -> str:
    """A full commit message: the human line, a blank line, the `kpt:` line."""
    body: dict[str, Any] = {"package": package}
    if workspace_name:
        body["workspaceName"] = workspace_name
    body["revision"] = str(revision)
    if task is not None:
        body["task"] = task
    return f"{human_line}\n\n{PREFIX}{gojson.marshal(body)}\n"


def extract(message: str) -> list[Annotation]:
    """All `kpt:` annotations of a commit message; invalid ones are skipped."""
    found: list[Annotation] = []
    if PREFIX not in message:
        return found
    for raw_line in message.splitlines():
        line = raw_line.strip()
        if not line.startswith(PREFIX):
            continue
        try:
            data = json.loads(line[len(PREFIX) :])
        except ValueError:
            _log.debug("ignoring invalid kpt annotation %r", line)
            continue
        if not isinstance(data, dict):
            continue
        task = data.get("task")
        found.append(
            Annotation(
                package=str(data.get("package") or ""),
                workspace_name=str(data.get("workspaceName") or ""),
                revision=str(data.get("revision") or ""),
                task=task if isinstance(task, dict) else None,
            )
        )
    return found


def parse_task(raw: dict[str, Any]) -> porchv1alpha1.Task | None:
    """The API Task for a recorded creation task; None for internal or unreadable ones."""
    if raw.get("type") not in CREATION_TASK_TYPES:
        return None
    try:
        return porchv1alpha1.Task.model_validate(raw)
    except pydantic.ValidationError as err:
        _log.debug("ignoring unreadable %s task in commit annotation: %s", raw.get("type"), err)
        return None
