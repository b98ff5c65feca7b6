"""`kpt:` annotations are written as Porch (Go) writes them and read leniently."""

from __future__ import annotations

from api.porch import v1alpha1 as porchv1alpha1
from pkg.externalrepo.git import annotation


def test_annotate_writes_porch_json() -> None:
    task = porchv1alpha1.Task.model_validate(
        {"type": "init", "init": {"description": "a <b> & c", "keywords": ["x"]}}
    )
    message = annotation.annotate(
        annotation.human_message("init"),
        package="catalog/pkg",
        workspace_name="ws",
        revision=0,
        task=annotation.task_json(task),
    )
    assert message == (
        "Creating new empty revision\n\n"
        'kpt:{"package":"catalog/pkg","workspaceName":"ws","revision":"0","task":'
        '{"type":"init","init":{"description":"a \\u003cb\\u003e \\u0026 c","keywords":["x"]}}}\n'
    )
    assert annotation.annotate(
        annotation.approval_message("pkg", 3), package="pkg", workspace_name="ws", revision=3
    ) == (
        'Approving package revision pkg/3\n\nkpt:{"package":"pkg","workspaceName":"ws",'
        '"revision":"3"}\n'
    )


def test_extract_is_lenient() -> None:
    message = (
        "Intermediate commit: eval\n\n"
        "kpt:{invalid:annotation}\n"
        ' kpt:{"package":"p","revision":"v1","task":{"type":"eval","eval":{"image":"x"}}}\n'
        'kpt:{"package":"p","workspaceName":"w","extra":1}\n'
    )
    notes = annotation.extract(message)
    assert [(n.package, n.workspace_name, n.revision, n.task_type) for n in notes] == [
        ("p", "", "v1", "eval"),
        ("p", "w", "", ""),
    ]
    assert annotation.extract("no annotations here") == []


def test_parse_task_keeps_only_creation_tasks() -> None:
    edit = annotation.parse_task({"type": "edit", "edit": {"sourceRef": {"name": "r.p.v1"}}})
    assert edit is not None and edit.edit is not None
    assert edit.edit.source_ref is not None and edit.edit.source_ref.name == "r.p.v1"
    assert annotation.parse_task({"type": "render"}) is None
    assert annotation.parse_task({"type": "patch", "patch": {}}) is None
    assert annotation.parse_task({"type": "init", "init": {"keywords": "not-a-list"}}) is None
    assert annotation.human_message("eval") == "Rendering package"
    assert annotation.human_message("mystery") == "Intermediate commit: mystery"
