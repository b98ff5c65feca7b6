"""Selector operators shared by label and field selectors (k8s.io/apimachinery/pkg/selection)."""

from __future__ import annotations

import enum

__all__ = ["Operator"]


class Operator(enum.StrEnum):
    """How a selector requirement relates a key to its values; values are Go's strings."""

    DOES_NOT_EXIST = "!"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    IN = "in"
    NOT_EQUALS = "!="
    NOT_IN = "notin"
    EXISTS = "exists"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"
