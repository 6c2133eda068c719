"""Statement-level pieces of the SAVEPOINT rewrite: what a removed statement leaves behind
(its comments), which blocks are SAVEPOINTs already, the `flush()` a commit becomes, and
the record of a commit whose writes still need a SAVEPOINT."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import List

import libcst as cst

__all__ = ["WRITE_WORDS", "State", "Owed", "comment_lines", "removed_lines", "is_nested_block", "pure_test", "flush_statement", "body_of"]


# words of a call that may change state (a helper, a method of another object)
WRITE_WORDS = frozenset(
    {
        "create", "update", "delete", "upsert", "bulk", "save", "add", "remove", "set", "insert",
        "overwrite", "override", "merge", "persist", "store", "put", "destroy", "erase", "modify",
        "edit", "copy", "import", "clear", "append", "extend", "discard", "pop",
    }
)


class State(enum.Enum):
    NONE = 0  # nothing changes database state
    COVERED = 1  # changes happen only inside SAVEPOINT blocks
    UNCOVERED = 2  # something changes state outside a SAVEPOINT


@dataclass
class Owed:
    """A removed commit whose writes still need a SAVEPOINT in an enclosing block."""

    session: cst.BaseExpression
    awaited: bool
    #: the commit became `flush()` inside a `try`: the SAVEPOINT must enclose that `try`
    with_try: bool = False


def comment_lines(node: cst.CSTNode) -> List[cst.EmptyLine]:
    """The comments written inside a statement that is going away, as comment lines."""
    found: List[cst.EmptyLine] = []

    class Collector(cst.CSTVisitor):
        def visit_Comment(self, comment: cst.Comment) -> None:
            found.append(cst.EmptyLine(indent=True, whitespace=cst.SimpleWhitespace(""), comment=comment))

    node.visit(Collector())  # (comments sit in trivia, which visit_in_place skips)
    return found


def removed_lines(statement: cst.BaseStatement) -> List[cst.EmptyLine]:
    """What a removed statement leaves behind: its leading blank lines and all its comments."""
    leading = list(statement.leading_lines)
    inner = comment_lines(statement.with_changes(leading_lines=()))
    return leading + inner


def is_nested_block(statement: cst.CSTNode) -> bool:
    # structural on purpose: blocks this rewrite just made have no metadata
    if not isinstance(statement, cst.With):
        return False
    return any(
        isinstance(item.item, cst.Call)
        and isinstance(item.item.func, cst.Attribute)
        and item.item.func.attr.value == "begin_nested"
        for item in statement.items
    )


def pure_test(test: cst.BaseExpression) -> bool:
    """A test with no side effects (`commit`, `not commit`, `self.commit`)."""
    if isinstance(test, cst.UnaryOperation):
        return pure_test(test.expression)
    return isinstance(test, (cst.Name, cst.Attribute))


def flush_statement(owed: Owed) -> cst.SimpleStatementLine:
    call: cst.BaseExpression = cst.Call(func=cst.Attribute(value=owed.session.deep_clone(), attr=cst.Name("flush")))
    if owed.awaited:
        call = cst.Await(expression=call)
    return cst.SimpleStatementLine(body=[cst.Expr(value=call)])


def body_of(statement: cst.CSTNode) -> List[cst.BaseStatement]:
    body = getattr(statement, "body", None)
    return list(body.body) if isinstance(body, cst.IndentedBlock) else []
