"""Vocabulary rules (DAO3xx): DAO methods speak create / update / delete / upsert."""
from __future__ import annotations

import re
from typing import Optional, Tuple

import libcst as cst

from ..analysis import DaoFacts
from ..rule import Invalid, Rule, Valid

__all__ = ["ActionMethodName"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _words(name: str) -> Tuple[str, ...]:
    return tuple(w.lower() for w in _CAMEL.sub("_", name).split("_") if w)


def _crud(words: str) -> str:
    return " or ".join(f"`{w.strip()}`" for w in words.split("/"))


class ActionMethodName(Rule):
    """Flags public DAO methods named with an action verb (save, overwrite, remove...).

    `save` may insert or update, `override` may replace or merge, `remove` may delete
    or detach: callers cannot tell what such a method does to the database. DAO methods
    use the four words whose meaning is fixed: create, update, delete, upsert (and their
    `bulk_` forms).
    """

    requires = "dao"
    code = "DAO301"
    boundary_modules = "dao"
    name = "action-method-name"
    seed = "R2"
    message = "DAO method `{method}` is named for the action `{verb}`; name it for what it does to the data: {crud}"
    fix_title = "Rename the method and its resolved call sites, as mapped in `[tool.dao-lint.rename]`"
    fix_safety = "unsafe"
    needs = (DaoFacts,)
    options = ("action-verbs", "rename")
    valid = [
        Valid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def upsert(cls, chart): ...

                @classmethod
                def bulk_delete(cls, charts): ...

                def _save_thumbnail(self, chart): ...
            """
        ),
        Valid(
            """
            class ChartForm(FlaskForm):
                def save(self):
                    ...
            """,
            path="app/forms.py",
            title="not a DAO",
        ),
    ]
    invalid = [
        Invalid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def save(cls, chart): ...

                @classmethod
                def overwrite(cls, chart): ...
            """,
            expect=("DAO301 at 3:9", "DAO301 at 6:9"),
        ),
        Invalid(
            """
            def remove_owner(chart, user):
                chart.owners.remove(user)
            """,
            path="app/daos/chart_owners.py",
            expect="DAO301 at 1:5",
            title="module-level DAO function",
        ),
        Invalid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def save(cls, chart):
                    return chart


            def duplicate_chart(chart):
                return ChartDAO.save(chart.copy())
            """,
            expect="DAO301 at 3:9",
            options={"rename": {"ChartDAO.save": "create"}},
            title="renamed through the configuration",
            after="""
            class ChartDAO(BaseDAO):
                @classmethod
                def create(cls, chart):
                    return chart


            def duplicate_chart(chart):
                return ChartDAO.create(chart.copy())
            """,
        ),
    ]

    def _verb(self, name: str) -> Optional[Tuple[str, str]]:
        verbs = dict(self.config.action_verbs)
        lowered = name.lower()
        if lowered in verbs:
            return lowered, verbs[lowered]
        words = _words(name)
        for size in (2, 1):  # `save_as` before `save`
            head = "_".join(words[:size])
            if len(words) >= size and head in verbs:
                return head, verbs[head]
        return None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        name = node.name.value
        if name.startswith("_"):
            return
        scope = self.fact(DaoFacts, node)
        if scope is None or not scope.in_dao:
            return
        if scope.is_method:
            if not scope.dao_class and not scope.in_dao:
                return
        elif scope.class_name is not None or scope.qualname != name:
            return  # nested helper functions are not part of the DAO's interface
        if any(_is_property(d.decorator) for d in node.decorators):
            return
        found = self._verb(name)
        if found is not None:
            verb, crud = found
            self.report(node.name, method=scope.qualname, verb=verb, crud=_crud(crud))


def _is_property(decorator: cst.BaseExpression) -> bool:
    if isinstance(decorator, cst.Name):
        return decorator.value in ("property", "cached_property", "hybrid_property")
    if isinstance(decorator, cst.Attribute):
        return decorator.attr.value in ("setter", "getter", "deleter", "cached_property", "hybrid_property")
    return False
