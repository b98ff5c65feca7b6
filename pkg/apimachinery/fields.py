"""Field selectors (k8s.io/apimachinery/pkg/fields): parse, match, print.

The API server parses the ``fieldSelector`` query parameter with :func:`parse`; each
resource's storage decides which fields it supports (``metadata.name`` and
``metadata.namespace`` at least, because ``kubectl get NAME -w``, ``kubectl wait`` and
``kubectl delete`` send them), converts them with :meth:`Selector.transform`, and filters
with :meth:`Selector.matches` over a flat ``{field: value}`` map of the object.

Syntax, as Go's ``fields.ParseSelector``: terms joined by ``,``; each term is
``field=value``, ``field==value`` or ``field!=value``; in values ``\\,``, ``\\=`` and
``\\\\`` stand for a literal comma, equals sign and backslash. Errors raise a 400
BadRequest :class:`~pkg.apimachinery.errors.StatusError` with Go's text, e.g.
``invalid selector: 'x'; can't understand 'x'``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from pkg.apimachinery import errors, selection

__all__ = [
    "Requirement",
    "Selector",
    "TransformFunc",
    "escape_value",
    "everything",
    "nothing",
    "one_term_equal_selector",
    "one_term_not_equal_selector",
    "parse",
    "selector_from_set",
    "unescape_value",
]

_Op = selection.Operator

TransformFunc = Callable[[str, str], tuple[str, str]]
"""Maps (field, value) to a new (field, value), e.g. to accept a field label alias; raise a
StatusError to reject the field. Returning ("", "") drops the term."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One term: ``field`` compared with ``value`` by ``operator`` (``=`` or ``!=``)."""

    field: str
    operator: selection.Operator
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        """Compare with the object's field value; a missing field reads as ``""`` (Go)."""
        have = fields.get(self.field, "")
        if self.operator == _Op.NOT_EQUALS:
            return have != self.value
        return have == self.value

    def __str__(self) -> str:
        op = "!=" if self.operator == _Op.NOT_EQUALS else "="
        return f"{self.field}{op}{escape_value(self.value)}"


class Selector:
    """A conjunction of field requirements, in the order parsing sorted them."""

    __slots__ = ("_requirements",)

    def __init__(self, requirements: Iterable[Requirement] = ()) -> None:
        self._requirements: tuple[Requirement, ...] = tuple(requirements)

    def requirements(self) -> tuple[Requirement, ...]:
        return self._requirements

    @property
    def selectable(self) -> bool:
        """False for :func:`nothing`."""
        return True

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(req.matches(fields) for req in self._requirements)

    def empty(self) -> bool:
        """True when the selector does not restrict anything."""
        return not self._requirements

    def requires_exact_match(self, field: str) -> str | None:
        """The value ``field`` must equal, when some ``=`` term names it."""
        for req in self._requirements:
            if req.field == field and req.operator != _Op.NOT_EQUALS:
                return req.value
        return None

    def transform(self, fn: TransformFunc) -> Selector:
        """A copy with every term passed through ``fn`` (field label conversion)."""
        out: list[Requirement] = []
        for req in self._requirements:
            new_field, new_value = fn(req.field, req.value)
            if new_field or new_value:
                out.append(Requirement(new_field, req.operator, new_value))
        return Selector(out)

    def __str__(self) -> str:
        return ",".join(str(req) for req in self._requirements)

    def __repr__(self) -> str:
        return f"fields.Selector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Selector)
            and self.selectable == other.selectable
            and self._requirements == other._requirements
        )

    def __hash__(self) -> int:
        return hash((self.selectable, self._requirements))


class _NothingSelector(Selector):
    __slots__ = ()

    @property
    def selectable(self) -> bool:
        return False

    def matches(self, fields: Mapping[str, str]) -> bool:
        return False

    def empty(self) -> bool:
        return False

    def requires_exact_match(self, field: str) -> str | None:
        return None

    def transform(self, fn: TransformFunc) -> Selector:
        return self

    def __repr__(self) -> str:
        return "fields.nothing()"


_EVERYTHING: Final = Selector()
_NOTHING: Final = _NothingSelector()


def everything() -> Selector:
    """The selector that matches every object."""
    return _EVERYTHING


def nothing() -> Selector:
    """The selector that matches no object."""
    return _NOTHING


def one_term_equal_selector(field: str, value: str) -> Selector:
    """``field=value``."""
    return Selector([Requirement(field, _Op.EQUALS, value)])


def one_term_not_equal_selector(field: str, value: str) -> Selector:
    """``field!=value``."""
    return Selector([Requirement(field, _Op.NOT_EQUALS, value)])


def selector_from_set(fields: Mapping[str, str] | None) -> Selector:
    """The selector matching exactly ``fields`` (terms sorted by field)."""
    if fields is None:
        return _EVERYTHING
    return Selector(Requirement(k, _Op.EQUALS, v) for k, v in sorted(fields.items()))


_ESCAPES: Final = str.maketrans({"\\": "\\\\", ",": "\\,", "=": "\\="})


def escape_value(value: str) -> str:
    """Escape ``\\``, ``,`` and ``=`` so ``value`` can stand in a selector term."""
    return value.translate(_ESCAPES)


def unescape_value(value: str) -> str:
    """Undo :func:`escape_value`; raises 400 for a bad escape or a bare ``,`` or ``=``."""
    if "\\" not in value and "," not in value and "=" not in value:
        return value
    out: list[str] = []
    in_slash = False
    for ch in value:
        if in_slash:
            if ch not in "\\,=":
                raise errors.new_bad_request(
                    f"invalid field selector: invalid escape sequence: \\{ch}"
                )
            out.append(ch)
            in_slash = False
        elif ch == "\\":
            in_slash = True
        elif ch in ",=":
            # Go formats the rune with %v, which prints its code point (61 for "=").
            raise errors.new_bad_request(
                f"invalid field selector: unescaped character in value: {ord(ch)}"
            )
        else:
            out.append(ch)
    if in_slash:
        raise errors.new_bad_request("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(selector: str) -> list[str]:
    # Split at commas that are not escaped; the escapes stay in the terms.
    if not selector:
        return []
    terms: list[str] = []
    start = 0
    in_slash = False
    for i, ch in enumerate(selector):
        if in_slash:
            in_slash = False
        elif ch == "\\":
            in_slash = True
        elif ch == ",":
            terms.append(selector[start:i])
            start = i + 1
    terms.append(selector[start:])
    return terms


# "==" before "=", so that "a==b" does not leave "=b" as the value.
_TERM_OPERATORS: Final = (("!=", _Op.NOT_EQUALS), ("==", _Op.DOUBLE_EQUALS), ("=", _Op.EQUALS))


def _split_term(term: str) -> tuple[str, selection.Operator, str] | None:
    # The field cannot contain escapes: the first operator anywhere splits the term.
    for i in range(len(term)):
        for text, op in _TERM_OPERATORS:
            if term.startswith(text, i):
                return term[:i], op, term[i + len(text) :]
    return None


def parse(selector: str) -> Selector:
    """Parse a field selector string (the ``fieldSelector`` query parameter).

    Terms are sorted by their text, as Go sorts them, so ``str()`` is canonical; ``==``
    reads as ``=``. Raises 400 BadRequest for a term without an operator or a bad escape.
    """
    requirements: list[Requirement] = []
    for term in sorted(_split_terms(selector)):
        if not term:
            continue
        split = _split_term(term)
        if split is None:
            raise errors.new_bad_request(
                f"invalid selector: '{selector}'; can't understand '{term}'"
            )
        lhs, op, rhs = split
        value = unescape_value(rhs)
        requirements.append(
            Requirement(lhs, _Op.NOT_EQUALS if op == _Op.NOT_EQUALS else _Op.EQUALS, value)
        )
    return Selector(requirements)
