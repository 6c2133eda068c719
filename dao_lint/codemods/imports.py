"""Add `from module import name` to a module with the smallest edit that reads naturally."""
from __future__ import annotations

from typing import List

import libcst as cst

from ..analysis.names import dotted_name

__all__ = ["add_import"]


def _is_import_line(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body
    )


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def add_import(module: cst.Module, module_name: str, name: str) -> cst.Module:
    """Import `name` from `module_name` unless the module already binds it at the top level.

    An existing `from module_name import ...` gets the name appended (parenthesised lists
    keep their layout); otherwise a new line goes after the last top-level import (or after
    the docstring and `__future__` imports).
    """
    body: List[cst.CSTNode] = list(module.body)
    for number, statement in enumerate(body):
        if not _is_import_line(statement):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and not small.relative and not isinstance(small.names, cst.ImportStar):
                if dotted_name(small.module) != module_name if small.module is not None else True:
                    continue
                names = list(small.names)
                if any((a.asname is None and dotted_name(a.name) == name) for a in names):
                    return module
            elif isinstance(small, cst.Import):
                continue
    for number, statement in enumerate(body):
        if not _is_import_line(statement) or len(statement.body) != 1:
            continue
        small = statement.body[0]
        if (
            isinstance(small, cst.ImportFrom)
            and not small.relative
            and small.module is not None
            and dotted_name(small.module) == module_name
            and not isinstance(small.names, cst.ImportStar)
        ):
            names = list(small.names)
            last = names[-1]
            if small.lpar is not None and isinstance(last.comma, cst.Comma):
                # a parenthesised list with a trailing comma: keep one name per line
                names.append(cst.ImportAlias(name=cst.Name(name), comma=last.comma))
            else:
                names[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                names.append(cst.ImportAlias(name=cst.Name(name)))
            body[number] = statement.with_changes(body=[small.with_changes(names=names)])
            return module.with_changes(body=body)
    new = cst.SimpleStatementLine(
        body=[cst.ImportFrom(module=cst.parse_expression(module_name), names=[cst.ImportAlias(name=cst.Name(name))])]
    )
    position = 0
    for number, statement in enumerate(body):
        if _is_import_line(statement) or (number == 0 and _is_docstring(statement)):
            position = number + 1
        elif isinstance(statement, cst.If) and number == position:  # `if TYPE_CHECKING:` block right after imports
            continue
        else:
            if position or not _is_docstring(statement):
                break
    if position == 0 and body:
        new = new.with_changes(leading_lines=body[0].leading_lines)
        body[0] = body[0].with_changes(leading_lines=[])
    elif position == 1 and _is_docstring(body[0]) and (len(body) < 2 or not _is_import_line(body[1])):
        new = new.with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(position, new)
    following = position + 1
    if following < len(body) and not _is_import_line(body[following]):
        after = body[following]
        if not any(isinstance(line, cst.EmptyLine) and line.comment is None for line in after.leading_lines[:1]):
            blank = 2 if isinstance(after, (cst.ClassDef, cst.FunctionDef)) else 1
            body[following] = after.with_changes(leading_lines=[cst.EmptyLine()] * blank + list(after.leading_lines))
    return module.with_changes(body=body)
