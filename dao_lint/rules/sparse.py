"""Sparse-update rule (DAO801): an update changes only what it was given."""
from __future__ import annotations

from typing import Dict, List, Optional, Set

import libcst as cst

from ..analysis import Action, DaoFacts, SessionFacts
from ..analysis.dao import dao_call
from ..analysis.names import dotted_name
from ..analysis.structure import statement_call
from ..analysis.walk import visit_in_place
from .base import Invalid, Rule, Valid

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


def _guarded_keys(test: cst.BaseExpression) -> Set[str]:
    """Keys whose presence a condition checks: `"name" in data`, `data.get("name")`,
    `data.get("name") is not None`, and those joined with `and`."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return _guarded_keys(test.left) | _guarded_keys(test.right)
    if isinstance(test, cst.NamedExpr):
        test = test.value
    key = _defaulting_get(test)
    if key is not None:
        return {key}
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        if isinstance(target.operator, cst.In) and isinstance(test.left, cst.SimpleString):
            value = test.left.evaluated_value
            return {value} if isinstance(value, str) else set()
        if isinstance(target.operator, (cst.IsNot, cst.NotEqual)):
            left = test.left.value if isinstance(test.left, cst.NamedExpr) else test.left
            key = _defaulting_get(left)
            return {key} if key is not None else set()
    return set()


class DenseUpdate(Rule):
    """Flags a DAO function that sets a given or loaded entity's attributes from `mapping.get("key")`
    (or an empty default), or from every field of an input model.

    Whatever the function is called (`update`, `set_dash_metadata`, `update_cost_model`): when the caller does not send a key, `.get()` returns `None` (or the empty default) and
    the update overwrites the stored value with it: a PATCH of one field erases the others.
    An update changes only the attributes it is given: iterate over the given items, or
    test `if "key" in mapping`, or dump the input model with `exclude_unset=True`.
    """

    code = "DAO801"
    migration_modules = "dao"
    name = "dense-update"
    seed = "R8"
    message = "{what}; update only the attributes given"
    absent = "`{target}` is overwritten even when `{key}` is absent (`.get()` gives an empty value)"
    every_field = "`{target}` gets every field of `{source}`, the ones the caller did not send too (`exclude_unset=True` sends only those given)"
    requires = "dao"
    needs = (DaoFacts, SessionFacts)
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
        ),
        Valid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def create(cls, properties):
                    chart = Chart()
                    chart.name = properties.get("name")
                    chart.description = properties.get("description", "")
                    db.session.add(chart)
                    return chart
            """,
            title="a new object has no stored value to overwrite",
        ),
        Valid(
            """
            class UserDAO(BaseDAO):
                @classmethod
                def update(cls, user, data):
                    if "name" in data:
                        user.name = data.get("name")
                    if data.get("email") is not None:
                        user.email = data.get("email")
                    return user
            """,
            title="every assignment guarded by the key's presence",
        ),
        Valid(
            """
            class ItemDAO(BaseDAO):
                def update(self, item, item_in):
                    for field, value in item_in.model_dump(exclude_unset=True).items():
                        setattr(item, field, value)
            """,
            title="only the fields the caller sent",
        ),
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
            remedy="""
            class ChartDAO(BaseDAO):
                @classmethod
                def update(cls, chart, properties):
                    for key in ("name", "description", "params"):
                        if key in properties:
                            setattr(chart, key, properties[key])
                    return chart
            """,
        ),
        Invalid(
            """
            class CostModelDAO(BaseDAO):
                @classmethod
                def set_rates(cls, model_id, payload):
                    model = db.session.get(CostModel, model_id)
                    model.rates = payload.get("rates", [])
                    return model
            """,
            expect="DAO801 at 5:9",
            title="whatever the name, on a loaded entity",
        ),
        Invalid(
            """
            class ItemDAO(BaseDAO):
                def update(self, item, item_in):
                    for field, value in item_in.model_dump().items():
                        setattr(item, field, value)
                    self.session.add(item)
            """,
            expect="DAO801 at 4:13",
            title="every field of an input model",
        ),
    ]

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        # on leaving: the session facts of the body's calls exist by then
        scope = self.fact(DaoFacts, node)
        if scope is None or not scope.in_dao or scope.in_test:
            return
        # entities the function updates: the ones it is given and the ones it loads (an
        # object it builds itself has no stored value to overwrite)
        entities = {p.name.value for p in (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params)} - {"self", "cls"}
        locals_from_get: Dict[str, str] = {}
        dumps: Set[str] = set()  # names holding every field of an input model (`data = obj_in.dict()`)
        rule = self

        guarded: List[Set[str]] = []  # keys the enclosing `if`s check are present

        def unguarded(key: str) -> bool:
            return not any(key in keys for keys in guarded)

        class Walker(cst.CSTVisitor):
            def visit_FunctionDef(self, inner: cst.FunctionDef) -> bool:
                return inner is node

            def visit_If_body(self, statement: cst.If) -> None:
                guarded.append(_guarded_keys(statement.test))

            def leave_If_body(self, statement: cst.If) -> None:
                guarded.pop()

            def visit_Assign(self, assign: cst.Assign) -> None:
                key = _defaulting_get(assign.value)
                if key is None and isinstance(assign.value, cst.Name):
                    key = locals_from_get.get(assign.value.value)
                for target in assign.targets:
                    if isinstance(target.target, cst.Name):
                        name = target.target.value
                        locals_from_get.pop(name, None)
                        dumps.discard(name)
                        if key is not None and _defaulting_get(assign.value) is not None:
                            locals_from_get[name] = key
                        if _every_field(assign.value):
                            dumps.add(name)
                        if rule._loads(assign.value):
                            entities.add(name)
                        elif _constructs(assign.value):
                            entities.discard(name)
                    elif isinstance(target.target, cst.Attribute) and key is not None and _base(target.target) in entities and unguarded(key):
                        rule.report(assign, what=rule.absent.format(target=cst.Module([]).code_for_node(target.target), key=key))

            def visit_For(self, loop: cst.For) -> None:
                # `for key, value in obj_in.dict().items(): setattr(entity, key, value)`
                iterable = loop.iter
                if not (isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Attribute) and iterable.func.attr.value == "items"):
                    return
                source = iterable.func.value
                if not (_every_field(source) or (isinstance(source, cst.Name) and source.value in dumps)):
                    return
                for statement in getattr(loop.body, "body", ()):
                    found = statement_call(statement)
                    call = found[0] if found is not None else None
                    if call is not None and dotted_name(call.func) == "setattr" and len(call.args) == 3 and _base(call.args[0].value) in entities:
                        target = cst.Module([]).code_for_node(call.args[0].value)
                        rule.report(call, what=rule.every_field.format(target=target, source=cst.Module([]).code_for_node(source)))

            def visit_Call(self, call: cst.Call) -> None:
                if isinstance(call.func, cst.Name) and call.func.value == "setattr" and len(call.args) == 3:
                    value = call.args[2].value
                    key = _defaulting_get(value)
                    if key is None and isinstance(value, cst.Name):
                        key = locals_from_get.get(value.value)
                    if key is not None and _base(call.args[0].value) in entities and unguarded(key):
                        target = cst.Module([]).code_for_node(call.args[0].value)
                        attribute = call.args[1].value
                        shown = attribute.evaluated_value if isinstance(attribute, cst.SimpleString) else key
                        rule.report(call, what=rule.absent.format(target=f"{target}.{shown}", key=key))

        visit_in_place(node.body, Walker())

    def _loads(self, value: cst.BaseExpression) -> bool:
        """A session read or a DAO lookup (`session.get(M, pk)`, `q.first()`, `SomeDAO.find_by_id(...)`)."""
        found: List[bool] = []
        rule = self

        class Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> Optional[bool]:
                use = rule.fact(SessionFacts, call)
                dao = dao_call(rule, call)
                if (use is not None and use.action is Action.READ) or (dao is not None and dao[1].startswith(("find", "get"))):
                    found.append(True)
                return not found

        visit_in_place(value, Finder())
        return bool(found)


def _base(node: cst.BaseExpression) -> Optional[str]:
    """`chart` for `chart.name`, `chart`."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _constructs(value: cst.BaseExpression) -> bool:
    """`Chart(...)`, `cls.model_cls()`: a new object."""
    if not isinstance(value, cst.Call):
        return False
    name = (dotted_name(value.func) or "").rsplit(".", 1)[-1]
    return name[:1].isupper() or name == "model_cls"


def _every_field(value: cst.BaseExpression) -> bool:
    """`obj_in.dict()` / `obj_in.model_dump()` without `exclude_unset`/`exclude_none`: every
    field of an input model, the ones the caller did not send included."""
    if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Attribute) or value.func.attr.value not in ("dict", "model_dump"):
        return False
    if isinstance(value.func.value, cst.Name) and value.func.value.value in ("dict",):
        return False
    return not any(arg.keyword is not None and arg.keyword.value in ("exclude_unset", "exclude_none", "exclude_defaults") for arg in value.args)
