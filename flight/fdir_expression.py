"""Actionpoint expressions: boolean combinations of watchpoint names.

Grammar (``not`` binds tighter than ``and``, which binds tighter than ``or``)::

    expr    := and_expr ("or" and_expr)*
    and_expr:= not_expr ("and" not_expr)*
    not_expr:= "not" not_expr | atom
    atom    := NAME | "(" expr ")"

A small recursive-descent parser builds a tree; nothing is ever passed to ``eval``. Evaluation uses
three-valued (Kleene) logic: a watchpoint that is stale or in error is *unknown* (``None``), so
``x or unknown`` is true when ``x`` is true, ``x and unknown`` is false when ``x`` is false, and
anything else involving an unknown stays unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flight.errors import FlightError

#: A watchpoint name usable in an expression.
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEYWORDS = frozenset({"and", "or", "not"})
_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[()])|(?P<bad>\S))")
#: Deepest nesting accepted, so a hostile expression cannot exhaust the Python stack.
MAX_DEPTH = 64

Truth = bool | None


class ExpressionError(FlightError, ValueError):
    """An expression is malformed; ``position`` is the 0-based character offset of the problem."""

    def __init__(self, expected: str, found: str, position: int) -> None:
        super().__init__(f"expected {expected} at character {position}, found {found}")
        self.expected = expected
        self.found = found
        self.position = position


@dataclass(frozen=True)
class Name:
    """A reference to a watchpoint."""

    name: str


@dataclass(frozen=True)
class Not:
    """Logical negation."""

    operand: Node


@dataclass(frozen=True)
class And:
    """Logical conjunction of two or more operands."""

    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Logical disjunction of two or more operands."""

    operands: tuple[Node, ...]


Node = Name | Not | And | Or


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:  # only trailing whitespace is left
            break
        if match.group("bad") is not None:
            start = match.start("bad")
            raise ExpressionError("a watchpoint name, 'and', 'or', 'not' or a parenthesis", repr(text[start]), start)
        if match.group("name") is not None:
            word = match.group("name")
            kind = word if word in KEYWORDS else "name"
            tokens.append((kind, word, match.start("name")))
        else:
            tokens.append((match.group("punct"), match.group("punct"), match.start("punct")))
        position = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.index]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expression(self) -> Node:
        operands = [self.and_expression()]
        while self.peek()[0] == "or":
            self.take()
            operands.append(self.and_expression())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expression(self) -> Node:
        operands = [self.not_expression()]
        while self.peek()[0] == "and":
            self.take()
            operands.append(self.not_expression())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def not_expression(self) -> Node:
        kind, _, position = self.peek()
        if kind == "not":
            self.take()
            self._descend(position)
            try:
                return Not(self.not_expression())
            finally:
                self.depth -= 1
        return self.atom()

    def atom(self) -> Node:
        kind, text, position = self.take()
        if kind == "name":
            return Name(text)
        if kind == "(":
            self._descend(position)
            try:
                inner = self.expression()
            finally:
                self.depth -= 1
            closing, found, where = self.take()
            if closing != ")":
                raise ExpressionError("')'", _show(closing, found), where)
            return inner
        raise ExpressionError("a watchpoint name, 'not' or '('", _show(kind, text), position)

    def _descend(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"at most {MAX_DEPTH} levels of nesting", "deeper nesting", position)


def _show(kind: str, text: str) -> str:
    return "the end of the expression" if kind == "end" else repr(text)


def parse(text: str) -> Node:
    """Parse ``text`` into an expression tree; raises :class:`ExpressionError`."""
    parser = _Parser(text)
    tree = parser.expression()
    kind, found, position = parser.peek()
    if kind != "end":
        raise ExpressionError("'and', 'or' or the end of the expression", _show(kind, found), position)
    return tree


def names(tree: Node) -> set[str]:
    """Every watchpoint name the expression refers to."""
    if isinstance(tree, Name):
        return {tree.name}
    if isinstance(tree, Not):
        return names(tree.operand)
    found: set[str] = set()
    for operand in tree.operands:
        found |= names(operand)
    return found


def evaluate(tree: Node, values: Mapping[str, Truth] | Callable[[str], Truth]) -> Truth:
    """The expression's truth with three-valued logic (``None`` = unknown).

    ``values`` maps a watchpoint name to True, False or None (stale/error), or is a function doing so.
    """
    lookup = values if callable(values) else values.__getitem__
    return _evaluate(tree, lookup)


def _evaluate(tree: Node, lookup: Callable[[str], Truth]) -> Truth:
    if isinstance(tree, Name):
        return lookup(tree.name)
    if isinstance(tree, Not):
        inner = _evaluate(tree.operand, lookup)
        return None if inner is None else not inner
    decisive = isinstance(tree, Or)  # True decides an "or", False decides an "and"
    unknown = False
    for operand in tree.operands:
        value = _evaluate(operand, lookup)
        if value is None:
            unknown = True
        elif bool(value) == decisive:
            return decisive
    return None if unknown else not decisive
