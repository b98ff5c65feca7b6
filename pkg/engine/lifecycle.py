"""The lifecycle state machine of package revisions, written once as a table (porch.md §3.2).

Where it sits: the engine (`pkg.engine.engine`) checks every lifecycle change against
`check_transition` before it touches a repository; the registry's strategies may call the
same function to validate early. Two endpoints change the lifecycle:

- `Endpoint.MAIN`: update of `packagerevisions` (PUT/PATCH, server-side apply);
- `Endpoint.APPROVAL`: update of `packagerevisions/approval` (what separates approvers from
  authors in RBAC).

`TRANSITIONS[endpoint][old]` is the set of lifecycles a revision in `old` may be given through
that endpoint (keeping the same value counts as a transition where it is listed). Anything
else is refused with Porch's message for that case, as a field error on `spec.lifecycle`.
Creation is not a transition: a revision is created as Draft (`CREATE_LIFECYCLES`).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Final

from pkg.apimachinery import field
from pkg.repository import repository as repo_api

__all__ = [
    "CREATE_LIFECYCLES",
    "TRANSITIONS",
    "Endpoint",
    "check_transition",
    "parse_lifecycle",
]

Lifecycle = repo_api.Lifecycle
DRAFT, PROPOSED, PUBLISHED, DELETION_PROPOSED = (
    Lifecycle.DRAFT,
    Lifecycle.PROPOSED,
    Lifecycle.PUBLISHED,
    Lifecycle.DELETION_PROPOSED,
)


class Endpoint(enum.StrEnum):
    MAIN = "packagerevisions"
    APPROVAL = "packagerevisions/approval"


@dataclasses.dataclass(frozen=True, slots=True)
class _Rule:
    """Allowed targets from one lifecycle, and Porch's words when the target is not one."""

    allowed: frozenset[Lifecycle]
    refusal: str  # formatted with {old}


_MAIN_EDITABLE = _Rule(frozenset({DRAFT, PROPOSED}), "value can be only updated to Draft,Proposed")
_MAIN_PUBLISHED = _Rule(
    frozenset({PUBLISHED, DELETION_PROPOSED}),
    "spec can only update package with lifecycle value one of Draft,Proposed",
)

TRANSITIONS: Final[Mapping[Endpoint, Mapping[Lifecycle, _Rule]]] = {
    Endpoint.MAIN: {
        DRAFT: _MAIN_EDITABLE,
        PROPOSED: _MAIN_EDITABLE,
        PUBLISHED: _MAIN_PUBLISHED,
        DELETION_PROPOSED: _MAIN_PUBLISHED,
    },
    Endpoint.APPROVAL: {
        DRAFT: _Rule(
            frozenset(),
            "cannot approve package with {old} lifecycle value; only Proposed packages can "
            "be approved",
        ),
        PROPOSED: _Rule(
            frozenset({DRAFT, PUBLISHED}), "value for approval can be only one of Draft,Published"
        ),
        PUBLISHED: _Rule(
            frozenset({DELETION_PROPOSED}),
            "package with {old} lifecycle value can only be updated to 'ProposeDeletion'",
        ),
        DELETION_PROPOSED: _Rule(
            frozenset({PUBLISHED}),
            "package with {old} lifecycle value can only be updated to 'Published'",
        ),
    },
}
"""Allowed lifecycle changes per endpoint and current lifecycle (porch.md §3.2)."""

CREATE_LIFECYCLES: Final = frozenset({DRAFT})
"""What `spec.lifecycle` may say on create (absent means Draft)."""

_LIFECYCLE_PATH = field.new_path("spec", "lifecycle")
_ALL = "Draft,Proposed,Published,DeletionProposed"


def parse_lifecycle(value: str | None) -> Lifecycle | None:
    """`spec.lifecycle` as a `Lifecycle` (absent/empty means Draft); None when unknown."""
    if not value:
        return DRAFT
    try:
        return Lifecycle(value)
    except ValueError:
        return None


def check_transition(endpoint: Endpoint, old: Lifecycle, new_value: str | None) -> field.ErrorList:
    """Field errors (empty when allowed) for changing a revision in `old` to `new_value`.

    Messages and bad values are Porch's strategies' (`ValidateUpdate` of packagerevisions and
    of packagerevisions/approval).
    """
    errs = field.ErrorList()
    new = parse_lifecycle(new_value)
    if new is None:
        detail = (
            f"value can be only updated to {_ALL}"
            if endpoint is Endpoint.MAIN
            else "value for approval can be only one of Draft,Published"
        )
        errs.append(field.invalid(_LIFECYCLE_PATH, new_value, detail))
        return errs
    rule = TRANSITIONS[endpoint][old]
    if new in rule.allowed:
        return errs
    if endpoint is Endpoint.MAIN and old.is_published:
        errs.append(field.invalid(field.new_path("spec"), new.value, rule.refusal))
        return errs
    if endpoint is Endpoint.APPROVAL and old is PROPOSED:
        errs.append(field.invalid(_LIFECYCLE_PATH, new.value, rule.refusal))
        return errs
    errs.append(field.invalid(_LIFECYCLE_PATH, old.value, rule.refusal.format(old=old.value)))
    if endpoint is Endpoint.APPROVAL and new is DELETION_PROPOSED:
        errs.append(
            field.invalid(
                _LIFECYCLE_PATH,
                new.value,
                f"cannot update lifecycle {new.value}; only Published packages require "
                "approval for deletion",
            )
        )
    elif endpoint is Endpoint.APPROVAL and new is PROPOSED:
        errs.append(
            field.invalid(
                _LIFECYCLE_PATH, new.value, "value for approval can be only one of Draft,Published"
            )
        )
    return errs
