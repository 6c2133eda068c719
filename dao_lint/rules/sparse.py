"""Sparse-update rule (DAO801): an update changes only what it was given."""
from __future__ import annotations

from typing import Dict, Optional

import libcst as cst

from ..analysis import DaoFacts
from ..analysis.walk import visit_in_place
from ..rule import Invalid, Rule, Valid

__all__ = ["DenseUpdate"]


def _empty(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Name):
        return node.value == "None"
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value in ("", b"")
    if isinstance(node, (cst.List, cst.Dict, cst.Tuple, cst.Set)):
        return not node.elements
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
        return node.func.value in ("list", "dict", "set", "tuple") and not node.args
    return False


def _defaulting_get(node: cst.BaseExpression) -> Optional[str]:
    """The key of `mapping.get("key")` or `mapping.get("key", <empty>)`, else None."""
    if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute) or node.func.attr.value != "get":
        return None
    args = [a for a in node.args if a.keyword is None]
    if not args or len(args) > 2 or not isinstance(args[0].value, cst.SimpleString):
        return None
    if len(args) == 2 and not _empty(args[1].value):
        return None
    key = args[0].value.evaluated_value
    return key if isinstance(key, str) else None


class DenseUpdate(Rule):
    """Flags a DAO update that assigns attributes from `mapping.get("key")` (or an empty default).

    When the caller does not send a key, `.get()` returns `None` (or the empty default) and
    the update overwrites the stored value with it: a PATCH of one field erases the others.
    An update changes only the attributes it is given: iterate over the given items, or
    test `if "key" in mapping`.
    """

    code = "DAO801"
    migration_modules = "dao"
    name = "dense-update"
    seed = "R8"
    message = "`{target}` is overwritten even when `{key}` is absent (`.get()` gives an empty value); update only the attributes given"
    requires = "dao"
    needs = (DaoFacts,)
    valid = [
        Valid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def update(cls, chart, properties):
                    for key, value in properties.items():
                        setattr(chart, key, value)
                    if "owners" in properties:
                        chart.owners = properties["owners"]
                    chart.description = properties.get("description", chart.description)
                    return chart
            """
        )
    ]
    invalid = [
        Invalid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def update(cls, chart, properties):
                    chart.name = properties.get("name")
                    description = properties.get("description", "")
                    chart.description = description
                    setattr(chart, "params", properties.get("params"))
                    return chart
            """,
            expect=("DAO801 at 4:9", "DAO801 at 6:9", "DAO801 at 7:9"),
        )
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.fact(DaoFacts, node)
        if scope is None or not scope.in_dao or scope.in_test or not node.name.value.lstrip("_").startswith("update"):
            return
        locals_from_get: Dict[str, str] = {}
        rule = self

        class Walker(cst.CSTVisitor):
            def visit_FunctionDef(self, inner: cst.FunctionDef) -> bool:
                return inner is node

            def visit_Assign(self, assign: cst.Assign) -> None:
                key = _defaulting_get(assign.value)
                if key is None and isinstance(assign.value, cst.Name):
                    key = locals_from_get.get(assign.value.value)
                for target in assign.targets:
                    if isinstance(target.target, cst.Name):
                        if key is not None and _defaulting_get(assign.value) is not None:
                            locals_from_get[target.target.value] = key
                        else:
                            locals_from_get.pop(target.target.value, None)
                    elif isinstance(target.target, cst.Attribute) and key is not None:
                        rule.report(assign, target=cst.Module([]).code_for_node(target.target), key=key)

            def visit_Call(self, call: cst.Call) -> None:
                if isinstance(call.func, cst.Name) and call.func.value == "setattr" and len(call.args) == 3:
                    value = call.args[2].value
                    key = _defaulting_get(value)
                    if key is None and isinstance(value, cst.Name):
                        key = locals_from_get.get(value.value)
                    if key is not None:
                        target = cst.Module([]).code_for_node(call.args[0].value)
                        rule.report(call, target=f"{target}.<{key}>", key=key)

        visit_in_place(node.body, Walker())
