"""Design suppression: a condition on other tags ("line stopped") that hides an alarm (state G).

Why not `eval`: the expression comes from a project file an operator may edit. It is parsed once
with Python's `ast` and only a whitelist of node types is accepted (boolean operators, `not`,
comparisons, numbers, strings, true/false, tag names); anything else is a load-time error.
Dotted tag names (`Line1.Filler.Running`) parse as attribute chains and are folded back into one
name. The compiled form is a plain closure over a `{tag: value}` lookup, so evaluating it costs a
few Python calls, not a parse.

An expression over a tag whose value is unknown (BAD or never read) is False: suppression
needs positive evidence; an alarm is never hidden because a device stopped answering.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_CONSTANTS = {"true": True, "false": False, "True": True, "False": False}


class ExpressionError(ValueError):
    """The text is not a valid suppression expression; the message says what is wrong."""


class _Unknown(Exception):
    """A referenced tag has no usable value: the whole expression evaluates to False."""


Lookup = Callable[[str], Any]  # tag -> value; raises KeyError when unknown
Evaluator = Callable[[Lookup], Any]


@dataclass(frozen=True)
class Condition:
    """A parsed expression: the tags it reads and a function that evaluates it."""

    text: str
    tags: frozenset[str]
    _fn: Evaluator

    def evaluate(self, values: Mapping[str, Any]) -> bool:
        """True only if the expression holds on known values; unknown tags make it False."""

        def lookup(name: str) -> Any:
            value = values.get(name)
            if value is None:
                raise _Unknown(name)
            return value

        try:
            return bool(self._fn(lookup))
        except (_Unknown, TypeError):
            return False


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _compile(node: ast.expr, tags: set[str]) -> Evaluator:
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, tags) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda look: all(p(look) for p in parts)
        return lambda look: any(p(look) for p in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _compile(node.operand, tags)
        return lambda look: not inner(look)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _compile(node.operand, tags)
        return lambda look: -inner(look)
    if isinstance(node, ast.Compare):
        left = _compile(node.left, tags)
        steps = [(_COMPARE[type(op)], _compile(right, tags))
                 for op, right in zip(node.ops, node.comparators, strict=True)
                 if type(op) in _COMPARE]
        if len(steps) != len(node.ops):
            raise ExpressionError("only ==, !=, <, <=, >, >= comparisons are allowed")

        def compare(look: Lookup) -> bool:
            current = left(look)
            for op, right in steps:
                other = right(look)
                if not op(current, other):
                    return False
                current = other
            return True

        return compare
    if isinstance(node, ast.Constant) and isinstance(node.value, bool | int | float | str):
        value = node.value
        return lambda look: value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        value = _CONSTANTS[node.id]
        return lambda look: value
    name = _dotted(node) if isinstance(node, ast.Name | ast.Attribute) else None
    if name is not None:
        tags.add(name)
        return lambda look: look(name)
    raise ExpressionError(f"{type(node).__name__} is not allowed here (use tag names, numbers, "
                          "true/false, comparisons, and/or/not)")


def parse_condition(text: str) -> Condition:
    """Parse and check `text`; raises ExpressionError with a one-line reason."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {text!r}: {exc.msg}") from None
    tags: set[str] = set()
    fn = _compile(tree.body, tags)
    if not tags:
        raise ExpressionError(f"{text!r} reads no tag")
    return Condition(text, frozenset(tags), fn)
