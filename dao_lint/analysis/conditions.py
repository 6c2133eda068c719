"""What an `if` tests and what a statement binds: `x` in `if x is None:`, in `if not x:`,
in each operand of `and`/`or`; `created` in `created = x is None`."""
from __future__ import annotations

from typing import List, Optional, Tuple

import libcst as cst

from .names import dotted_name

__all__ = ["alias_of", "assigned_names", "guard_clause", "tested_name", "tested_names", "truth"]


def truth(test: cst.BaseExpression) -> Optional[Tuple[str, bool]]:
    """(`x`, True) for `x` / `x is not None`, (`x`, False) for `not x` / `x is None`."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = truth(test.expression)
        return (inner[0], not inner[1]) if inner is not None else None
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        if isinstance(target.comparator, cst.Name) and target.comparator.value == "None" and isinstance(test.left, cst.Name):
            if isinstance(target.operator, cst.Is):
                return test.left.value, False
            if isinstance(target.operator, cst.IsNot):
                return test.left.value, True
        return None
    return (test.value, True) if isinstance(test, cst.Name) else None


def tested_name(test: cst.BaseExpression) -> Optional[str]:
    """`x` for the tests `x`, `not x`, `x is None`, `x is not None`."""
    found = truth(test)
    return found[0] if found is not None else None


def tested_names(test: cst.BaseExpression) -> List[str]:
    """The names a test checks: `x` for `x is None`, `not x`, `x`; each operand's of `and` / `or`."""
    if isinstance(test, cst.BooleanOperation):
        return tested_names(test.left) + tested_names(test.right)
    name = tested_name(test)
    return [name] if name is not None else []


def alias_of(statement: cst.CSTNode) -> Optional[Tuple[str, str]]:
    """(`created`, `user`) for `created = user is None` (or `not user`)."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1 or not isinstance(small.targets[0].target, cst.Name):
        return None
    if not isinstance(small.value, (cst.Comparison, cst.UnaryOperation)):
        return None
    tested = tested_name(small.value)
    return (small.targets[0].target.value, tested) if tested is not None else None


def assigned_names(statement: cst.CSTNode) -> List[str]:
    names: List[str] = []
    if isinstance(statement, cst.SimpleStatementLine):
        for small in statement.body:
            targets = small.targets if isinstance(small, cst.Assign) else [small] if isinstance(small, (cst.AnnAssign, cst.AugAssign)) else []
            for target in targets:
                if isinstance(target.target, cst.Name):
                    names.append(target.target.value)
    return names


def guard_clause(body: cst.BaseSuite) -> bool:
    """The block ends with `raise` or `return` (a guard clause)."""
    statements = list(getattr(body, "body", ()))
    if not statements:
        return False
    last = statements[-1]
    if not isinstance(last, cst.SimpleStatementLine):
        return False
    for small in last.body:
        if isinstance(small, (cst.Raise, cst.Return)):
            return True
        # Flask's and Werkzeug's `abort(409)` raises
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and (dotted_name(small.value.func) or "").rsplit(".", 1)[-1] == "abort":
            return True
    return False
