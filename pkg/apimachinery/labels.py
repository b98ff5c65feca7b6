"""Label selectors (k8s.io/apimachinery/pkg/labels): parse, match, print.

The API server parses the ``labelSelector`` query parameter of list, watch and
deletecollection requests with :func:`parse`; storages filter objects with
:meth:`Selector.matches` and may push single requirements down to a cheaper filter
(:meth:`Selector.requirements_for_key`, :meth:`Selector.requires_exact_match`, e.g. for
``kpt.dev/latest-revision=true``). Objects that carry a ``metav1.LabelSelector`` convert it
with :func:`label_selector_as_selector`.

The grammar and every error text are Go's (``kubectl get -l`` users see them)::

    <selector>    ::= <requirement> | <requirement> "," <selector>
    <requirement> ::= [!] KEY [ <set-based> | <exact-match> | <numeric> ]
    <set-based>   ::= ("in" | "notin") "(" VALUE { "," VALUE } ")"
    <exact-match> ::= ("=" | "==" | "!=") VALUE
    <numeric>     ::= (">" | "<") INTEGER

KEY is a qualified name (``[prefix/]name``), VALUE a label value (possibly empty);
whitespace (space, tab, CR, LF) separates tokens. A bad selector raises a 400 BadRequest
:class:`~pkg.apimachinery.errors.StatusError` whose message is Go's parse error, e.g.
``unable to parse requirement: found '', expected: identifier``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from api.meta import v1 as metav1
from pkg.apimachinery import errors, field, selection, strconv, validation

__all__ = [
    "Requirement",
    "Selector",
    "everything",
    "label_selector_as_selector",
    "new_requirement",
    "nothing",
    "parse",
    "selector_from_set",
    "validated_selector_from_set",
]

_Op = selection.Operator

_BINARY_OPERATORS: Final = (
    _Op.IN,
    _Op.NOT_IN,
    _Op.EQUALS,
    _Op.DOUBLE_EQUALS,
    _Op.NOT_EQUALS,
    _Op.GREATER_THAN,
    _Op.LESS_THAN,
)
_VALID_OPERATORS: Final = (*_BINARY_OPERATORS, _Op.EXISTS, _Op.DOES_NOT_EXIST)

_INT64_RE: Final = re.compile(r"[+-]?[0-9]+")
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


def _parse_int64(s: str) -> int | None:
    """``s`` as Go's ``strconv.ParseInt(s, 10, 64)`` reads it, or None.

    Python's int() is laxer (whitespace, ``_``, non-ASCII digits), so match Go's syntax first.
    """
    if not _INT64_RE.fullmatch(s):
        return None
    n = int(s)
    return n if _INT64_MIN <= n <= _INT64_MAX else None


@dataclass(frozen=True, slots=True)
class Requirement:
    """One term of a selector: a key, an operator and its values.

    Build validated requirements with :func:`new_requirement`; the constructor itself does
    not validate (Go's struct literal, used for sets known to be valid).
    """

    key: str
    operator: selection.Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this requirement.

        ``in``/``=``/``==`` need the key with one of the values; ``notin``/``!=`` hold when
        the key is absent or has another value; ``gt``/``lt`` need an integer value.
        """
        op = self.operator
        if op in (_Op.IN, _Op.EQUALS, _Op.DOUBLE_EQUALS):
            value = labels.get(self.key)
            return value is not None and value in self.values
        if op in (_Op.NOT_IN, _Op.NOT_EQUALS):
            value = labels.get(self.key)
            return value is None or value not in self.values
        if op == _Op.EXISTS:
            return self.key in labels
        if op == _Op.DOES_NOT_EXIST:
            return self.key not in labels
        # gt / lt: both sides must be integers.
        value = labels.get(self.key)
        if value is None or len(self.values) != 1:
            return False
        have, want = _parse_int64(value), _parse_int64(self.values[0])
        if have is None or want is None:
            return False
        return have > want if op == _Op.GREATER_THAN else have < want

    def __str__(self) -> str:
        op = self.operator
        if op == _Op.EXISTS:
            return self.key
        if op == _Op.DOES_NOT_EXIST:
            return "!" + self.key
        # Several values print sorted, so equal selectors print equally.
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in (_Op.IN, _Op.NOT_IN):
            return f"{self.key} {op.value} ({values})"
        return f"{self.key}{_OPERATOR_TEXT[op]}{values}"


_OPERATOR_TEXT: Final = {
    _Op.EQUALS: "=",
    _Op.DOUBLE_EQUALS: "==",
    _Op.NOT_EQUALS: "!=",
    _Op.GREATER_THAN: ">",
    _Op.LESS_THAN: "<",
}


def _child(path: field.Path | None, name: str) -> field.Path:
    # Go's (*Path)(nil).Child(name) is a path starting at name.
    return field.new_path(name) if path is None else path.child(name)


def _validate_label_key(key: str, path: field.Path | None) -> field.FieldError | None:
    errs = validation.is_qualified_name(key)
    return field.invalid(path, key, "; ".join(errs)) if errs else None


def _requirement_errors(
    key: str, operator: str, values: Sequence[str] | None, path: field.Path | None
) -> tuple[selection.Operator | None, field.ErrorList]:
    errs = field.ErrorList()
    key_err = _validate_label_key(key, _child(path, "key"))
    if key_err is not None:
        errs.append(key_err)
    vals = list(values or ())
    # A nil slice prints as null, an empty one as []: keep Go's distinction in messages.
    shown: object = None if values is None else vals
    values_path = _child(path, "values")
    try:
        op: selection.Operator | None = selection.Operator(operator)
    except ValueError:
        op = None
    if op in (_Op.IN, _Op.NOT_IN):
        if not vals:
            errs.append(
                field.invalid(
                    values_path, shown, "for 'in', 'notin' operators, values set can't be empty"
                )
            )
    elif op in (_Op.EQUALS, _Op.DOUBLE_EQUALS, _Op.NOT_EQUALS):
        if len(vals) != 1:
            errs.append(
                field.invalid(
                    values_path, shown, "exact-match compatibility requires one single value"
                )
            )
    elif op in (_Op.EXISTS, _Op.DOES_NOT_EXIST):
        if vals:
            errs.append(
                field.invalid(
                    values_path, shown, "values set must be empty for exists and does not exist"
                )
            )
    elif op in (_Op.GREATER_THAN, _Op.LESS_THAN):
        if len(vals) != 1:
            errs.append(
                field.invalid(
                    values_path, shown, "for 'Gt', 'Lt' operators, exactly one value is required"
                )
            )
        for i, value in enumerate(vals):
            if _parse_int64(value) is None:
                errs.append(
                    field.invalid(
                        values_path.index(i),
                        value,
                        "for 'Gt', 'Lt' operators, the value must be an integer",
                    )
                )
    else:
        errs.append(
            field.not_supported(
                _child(path, "operator"), operator, [str(o) for o in _VALID_OPERATORS]
            )
        )
    for i, value in enumerate(vals):
        value_errs = validation.is_valid_label_value(value)
        if value_errs:
            errs.append(field.invalid(values_path.index(i).key(key), value, "; ".join(value_errs)))
    return op, errs


def new_requirement(
    key: str,
    operator: str,
    values: Sequence[str] | None = (),
    path: field.Path | None = None,
) -> Requirement:
    """A validated requirement; raises a 400 StatusError naming every problem.

    The key must be a qualified name and each value a label value; ``in``/``notin`` need at
    least one value, ``=``/``==``/``!=`` exactly one, ``exists``/``!`` none, ``gt``/``lt``
    exactly one integer. ``path`` prefixes the field paths in the messages.
    """
    op, errs = _requirement_errors(key, operator, values, path)
    message = errs.to_aggregate()
    if message is not None:
        raise errors.new_bad_request(message)
    assert op is not None  # an unknown operator is one of the errors above
    return Requirement(key, op, tuple(values or ()))


class Selector:
    """A conjunction of requirements, kept sorted by key (stable for equal keys).

    Immutable; :meth:`add` returns a new selector. An empty selector matches everything;
    :func:`nothing` is the one selector that matches nothing.
    """

    __slots__ = ("_requirements",)

    def __init__(self, requirements: Iterable[Requirement] = ()) -> None:
        self._requirements: tuple[Requirement, ...] = tuple(
            sorted(requirements, key=lambda r: r.key)
        )

    def requirements(self) -> tuple[Requirement, ...]:
        """The requirements, sorted by key; empty for :func:`everything` and :func:`nothing`
        (tell those apart with :attr:`selectable`)."""
        return self._requirements

    @property
    def selectable(self) -> bool:
        """False for :func:`nothing`, whose (empty) requirements must not be read as
        "select everything"."""
        return True

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Whether an object with ``labels`` (None: no labels) satisfies every requirement."""
        have = labels if labels is not None else {}
        return all(req.matches(have) for req in self._requirements)

    def empty(self) -> bool:
        """True when the selector does not restrict anything."""
        return not self._requirements

    def add(self, *requirements: Requirement) -> Selector:
        return Selector((*self._requirements, *requirements))

    def requirements_for_key(self, key: str) -> tuple[Requirement, ...]:
        """The requirements on ``key``, for pushing them down to a cheaper filter."""
        return tuple(req for req in self._requirements if req.key == key)

    def requires_exact_match(self, label: str) -> str | None:
        """The one value ``label`` must have (``=``, ``==`` or a one-value ``in``), if the
        first requirement on ``label`` demands one."""
        for req in self._requirements:
            if req.key == label:
                if req.operator in (_Op.EQUALS, _Op.DOUBLE_EQUALS, _Op.IN) and len(req.values) == 1:
                    return req.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(req) for req in self._requirements)

    def __repr__(self) -> str:
        return f"labels.Selector({str(self)!r})"

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

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        return False

    def empty(self) -> bool:
        return False

    def add(self, *requirements: Requirement) -> Selector:
        return self

    def requires_exact_match(self, label: str) -> str | None:
        return None

    def __repr__(self) -> str:
        return "labels.nothing()"


_EVERYTHING: Final = Selector()
_NOTHING: Final = _NothingSelector()


def everything() -> Selector:
    """The selector that matches every object."""
    return _EVERYTHING


def nothing() -> Selector:
    """The selector that matches no object (a null ``metav1.LabelSelector``)."""
    return _NOTHING


def selector_from_set(labels: Mapping[str, str] | None) -> Selector:
    """The selector ``k1=v1,k2=v2`` matching exactly ``labels``; not validated."""
    if not labels:
        return _EVERYTHING
    return Selector(Requirement(k, _Op.EQUALS, (v,)) for k, v in labels.items())


def validated_selector_from_set(labels: Mapping[str, str] | None) -> Selector:
    """Like :func:`selector_from_set`, but raises 400 for an invalid key or value."""
    if not labels:
        return _EVERYTHING
    return Selector(new_requirement(k, _Op.EQUALS, [v]) for k, v in sorted(labels.items()))


_LABEL_SELECTOR_OPERATORS: Final = {
    "In": _Op.IN,
    "NotIn": _Op.NOT_IN,
    "Exists": _Op.EXISTS,
    "DoesNotExist": _Op.DOES_NOT_EXIST,
}


def label_selector_as_selector(selector: metav1.LabelSelector | None) -> Selector:
    """The selector a ``metav1.LabelSelector`` describes (Go's ``LabelSelectorAsSelector``).

    None selects nothing; an empty selector selects everything. Raises 400 for an unknown
    operator or an invalid key or value.
    """
    if selector is None:
        return _NOTHING
    if not selector.match_labels and not selector.match_expressions:
        return _EVERYTHING
    reqs: list[Requirement] = []
    # Go ranges over the map in random order; sorted keys make the first error reported
    # the same every time.
    for key, value in sorted((selector.match_labels or {}).items()):
        reqs.append(new_requirement(key, _Op.EQUALS, [value]))
    for expr in selector.match_expressions or ():
        op = _LABEL_SELECTOR_OPERATORS.get(expr.operator)
        if op is None:
            raise errors.new_bad_request(
                f"{strconv.quote(expr.operator)} is not a valid label selector operator"
            )
        reqs.append(new_requirement(expr.key, op, list(expr.values) if expr.values else None))
    return Selector(reqs)


# --- parsing: a direct port of Go's lexer and recursive-descent parser --------------------


class _Token(enum.Enum):
    END_OF_STRING = enum.auto()
    CLOSED_PAR = enum.auto()
    COMMA = enum.auto()
    DOES_NOT_EXIST = enum.auto()
    DOUBLE_EQUALS = enum.auto()
    EQUALS = enum.auto()
    GREATER_THAN = enum.auto()
    IDENTIFIER = enum.auto()
    IN = enum.auto()
    LESS_THAN = enum.auto()
    NOT_EQUALS = enum.auto()
    NOT_IN = enum.auto()
    OPEN_PAR = enum.auto()


_STRING_TO_TOKEN: Final = {
    ")": _Token.CLOSED_PAR,
    ",": _Token.COMMA,
    "!": _Token.DOES_NOT_EXIST,
    "==": _Token.DOUBLE_EQUALS,
    "=": _Token.EQUALS,
    ">": _Token.GREATER_THAN,
    "in": _Token.IN,
    "<": _Token.LESS_THAN,
    "!=": _Token.NOT_EQUALS,
    "notin": _Token.NOT_IN,
    "(": _Token.OPEN_PAR,
}
_SPECIAL: Final = frozenset("=!(),><")
_WHITESPACE: Final = frozenset(" \t\r\n")
# Go's lexer reads byte 0 at the end of the input (and stops at an embedded NUL, too).
_EOF: Final = "\x00"


class _ParseError(Exception):
    """A selector syntax error; its text is Go's."""


class _Lexer:
    __slots__ = ("_pos", "_s")

    def __init__(self, s: str) -> None:
        self._s = s
        self._pos = 0

    def _read(self) -> str:
        if self._pos < len(self._s):
            ch = self._s[self._pos]
            self._pos += 1
            return ch
        return _EOF

    def _unread(self) -> None:
        self._pos -= 1

    def _scan_id_or_keyword(self) -> tuple[_Token, str]:
        chars: list[str] = []
        while True:
            ch = self._read()
            if ch == _EOF:
                break
            if ch in _SPECIAL or ch in _WHITESPACE:
                self._unread()
                break
            chars.append(ch)
        literal = "".join(chars)
        return _STRING_TO_TOKEN.get(literal, _Token.IDENTIFIER), literal

    def _scan_special_symbol(self) -> tuple[_Token, str]:
        buffer = ""
        last: tuple[_Token, str] | None = None
        while True:
            ch = self._read()
            if ch == _EOF:
                break
            if ch in _SPECIAL:
                buffer += ch
                token = _STRING_TO_TOKEN.get(buffer)
                if token is not None:
                    last = (token, buffer)
                elif last is not None:
                    self._unread()
                    break
            else:
                self._unread()
                break
        # Every single special character is a token, so ``last`` is always set here.
        assert last is not None
        return last

    def lex(self) -> tuple[_Token, str]:
        ch = self._read()
        while ch in _WHITESPACE:
            ch = self._read()
        if ch == _EOF:
            return _Token.END_OF_STRING, ""
        self._unread()
        if ch in _SPECIAL:
            return self._scan_special_symbol()
        return self._scan_id_or_keyword()


class _Parser:
    __slots__ = ("_items", "_path", "_position")

    def __init__(self, selector: str, path: field.Path | None) -> None:
        lexer = _Lexer(selector)
        self._items: list[tuple[_Token, str]] = []
        while True:
            item = lexer.lex()
            self._items.append(item)
            if item[0] is _Token.END_OF_STRING:
                break
        self._position = 0
        self._path = path

    @staticmethod
    def _in_values(token: _Token, values: bool) -> _Token:
        # In a value position "in" and "notin" are ordinary identifiers: "x in (in)".
        if values and token in (_Token.IN, _Token.NOT_IN):
            return _Token.IDENTIFIER
        return token

    def _lookahead(self, values: bool = True) -> tuple[_Token, str]:
        token, literal = self._items[self._position]
        return self._in_values(token, values), literal

    def _consume(self, values: bool = True) -> tuple[_Token, str]:
        token, literal = self._items[self._position]
        self._position += 1
        return self._in_values(token, values), literal

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            token, literal = self._lookahead()
            if token in (_Token.IDENTIFIER, _Token.DOES_NOT_EXIST):
                try:
                    requirements.append(self._parse_requirement())
                except _ParseError as err:
                    raise _ParseError(f"unable to parse requirement: {err}") from None
                token, literal = self._consume()
                if token is _Token.END_OF_STRING:
                    return requirements
                if token is _Token.COMMA:
                    token2, literal2 = self._lookahead()
                    if token2 not in (_Token.IDENTIFIER, _Token.DOES_NOT_EXIST):
                        raise _ParseError(f"found '{literal2}', expected: identifier after ','")
                else:
                    raise _ParseError(f"found '{literal}', expected: ',' or 'end of string'")
            elif token is _Token.END_OF_STRING:
                return requirements
            else:
                raise _ParseError(f"found '{literal}', expected: !, identifier, or 'end of string'")

    def _parse_requirement(self) -> Requirement:
        key, operator = self._parse_key_and_infer_operator()
        if operator in (_Op.EXISTS, _Op.DOES_NOT_EXIST):
            return self._new_requirement(key, operator, [])
        operator = self._parse_operator()
        if operator in (_Op.IN, _Op.NOT_IN):
            values = self._parse_values()
        else:
            values = self._parse_exact_value()
        return self._new_requirement(key, operator, sorted(values))

    def _new_requirement(
        self, key: str, operator: selection.Operator, values: list[str]
    ) -> Requirement:
        _, errs = _requirement_errors(key, operator, values, self._path)
        message = errs.to_aggregate()
        if message is not None:
            raise _ParseError(message)
        return Requirement(key, operator, tuple(values))

    def _parse_key_and_infer_operator(self) -> tuple[str, selection.Operator | None]:
        operator: selection.Operator | None = None
        token, literal = self._consume()
        if token is _Token.DOES_NOT_EXIST:
            operator = _Op.DOES_NOT_EXIST
            token, literal = self._consume()
        if token is not _Token.IDENTIFIER:
            raise _ParseError(f"found '{literal}', expected: identifier")
        key_err = _validate_label_key(literal, self._path)
        if key_err is not None:
            raise _ParseError(str(key_err))
        following, _ = self._lookahead()
        if following in (_Token.END_OF_STRING, _Token.COMMA) and operator is None:
            operator = _Op.EXISTS
        return literal, operator

    def _parse_operator(self) -> selection.Operator:
        token, literal = self._consume(values=False)
        operator = _TOKEN_TO_OPERATOR.get(token)
        if operator is None:
            expected = ", ".join(str(op) for op in _BINARY_OPERATORS)
            raise _ParseError(f"found '{literal}', expected: {expected}")
        return operator

    def _parse_values(self) -> set[str]:
        token, literal = self._consume()
        if token is not _Token.OPEN_PAR:
            raise _ParseError(f"found '{literal}' expected: '('")
        token, literal = self._lookahead()
        if token in (_Token.IDENTIFIER, _Token.COMMA):
            values = self._parse_identifiers_list()
            self._consume()  # the list ends only where ")" is next
            return values
        if token is _Token.CLOSED_PAR:
            self._consume()
            return {""}
        raise _ParseError(f"found '{literal}', expected: ',', ')' or identifier")

    def _parse_identifiers_list(self) -> set[str]:
        values: set[str] = set()
        while True:
            token, literal = self._consume()
            if token is _Token.IDENTIFIER:
                values.add(literal)
                token2, literal2 = self._lookahead()
                if token2 is _Token.COMMA:
                    continue
                if token2 is _Token.CLOSED_PAR:
                    return values
                raise _ParseError(f"found '{literal2}', expected: ',' or ')'")
            if token is _Token.COMMA:
                # Empty values: "(,a)", "(a,)" and "(a,,b)" all include "".
                if not values:
                    values.add("")
                token2, _ = self._lookahead()
                if token2 is _Token.CLOSED_PAR:
                    values.add("")
                    return values
                if token2 is _Token.COMMA:
                    self._consume()
                    values.add("")
                continue
            raise _ParseError(f"found '{literal}', expected: ',', or identifier")

    def _parse_exact_value(self) -> set[str]:
        token, _ = self._lookahead()
        if token in (_Token.END_OF_STRING, _Token.COMMA):
            return {""}
        token, literal = self._consume()
        if token is _Token.IDENTIFIER:
            return {literal}
        raise _ParseError(f"found '{literal}', expected: identifier")


_TOKEN_TO_OPERATOR: Final = {
    _Token.IN: _Op.IN,
    _Token.EQUALS: _Op.EQUALS,
    _Token.DOUBLE_EQUALS: _Op.DOUBLE_EQUALS,
    _Token.GREATER_THAN: _Op.GREATER_THAN,
    _Token.LESS_THAN: _Op.LESS_THAN,
    _Token.NOT_IN: _Op.NOT_IN,
    _Token.NOT_EQUALS: _Op.NOT_EQUALS,
}


def parse(selector: str, path: field.Path | None = None) -> Selector:
    """Parse a label selector string (the ``labelSelector`` query parameter).

    Raises a 400 BadRequest StatusError with Go's message for a malformed selector. ``path``
    prefixes field paths in messages about invalid keys and values (Go leaves it unset,
    which prints as ``<nil>``).
    """
    try:
        requirements = _Parser(selector, path).parse()
    except _ParseError as err:
        raise errors.new_bad_request(str(err)) from None
    return Selector(requirements)
