"""Vocabulary rules (DAO3xx): DAO methods speak create / update / delete / upsert."""
from __future__ import annotations

from typing import Dict, List, Set, Tuple

import libcst as cst

from ..analysis import DaoFacts, SessionFacts
from ..analysis.dao import action_verb, dao_call, local_base
from ..analysis.names import dotted_name
from .base import Invalid, Rule, Valid

__all__ = ["ActionMethodName"]

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
    fix_scope = "project"
    migration_modules = "dao"
    name = "action-method-name"
    seed = "R2"
    message = "DAO method `{method}` is named for the action `{verb}`; name it for what it does to the data: {crud}"
    fix_title = "Rename the method and its resolved call sites, as mapped in `[tool.dao-lint.rename]`"
    fix_safety = "unsafe"
    needs = (DaoFacts, SessionFacts)
    options = ("action-verbs", "rename")
    valid = [
        Valid(
            """
            class ChartDAO:
                @classmethod
                def upsert(cls, chart):
                    return db.session.merge(chart)

                @classmethod
                def bulk_delete(cls, charts):
                    db.session.execute(delete(Chart).where(Chart.id.in_([c.id for c in charts])))

                def _save_thumbnail(self, chart):
                    db.session.add(chart.thumbnail)
            """
        ),
        Valid(
            """
            class ChartDAO:
                @classmethod
                def store_key(cls, chart):
                    return f"chart:{chart.id}"
            """,
            title="no database work",
        ),
        Valid(
            """
            class BaseDAO:
                @classmethod
                def save(cls, item):  # noqa: DAO301 - the base keeps its name for now
                    db.session.add(item)


            class ChartDAO(BaseDAO):
                @classmethod
                def save(cls, chart):
                    chart.slug = slugify(chart.name)
                    super().save(chart)
            """,
            title="an override is reported at its base",
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
            class ChartDAO:
                @classmethod
                def save(cls, chart):
                    db.session.add(chart)

                @classmethod
                def overwrite(cls, chart):
                    return cls._replace(chart)

                @classmethod
                def _replace(cls, chart):
                    return db.session.merge(chart)
            """,
            expect=("DAO301 at 3:9", "DAO301 at 7:9"),
            remedy="""
            class ChartDAO:
                @classmethod
                def create(cls, chart):
                    db.session.add(chart)

                @classmethod
                def update(cls, chart):
                    return cls._replace(chart)

                @classmethod
                def _replace(cls, chart):
                    return db.session.merge(chart)
            """,
        ),
        Invalid(
            """
            def remove_owner(chart, user):
                chart.owners.remove(user)
                db.session.flush()
            """,
            path="app/daos/chart_owners.py",
            expect="DAO301 at 1:5",
            title="module-level DAO function",
        ),
        Invalid(
            """
            class Datastore:
                def put(self, model):
                    raise NotImplementedError


            class UserDatastore:
                if TYPE_CHECKING:
                    def put(self, model): ...

                def put_user(self, user):
                    self.put(user)


            class SQLAlchemyDatastore(Datastore):
                def put(self, model):
                    db.session.add(model)
            """,
            path="app/daos/datastore.py",
            expect=("DAO301 at 2:9", "DAO301 at 10:9"),
            title="an interface method does what its implementations in the file do; reported once, at the interface",
        ),
        Invalid(
            """
            class ChartDAO:
                @classmethod
                def save(cls, chart):
                    db.session.add(chart)
                    return chart


            def duplicate_chart(chart):
                return ChartDAO.save(chart.copy())
            """,
            expect="DAO301 at 3:9",
            options={"rename": {"ChartDAO.save": "create"}},
            title="renamed through the configuration",
            after="""
            class ChartDAO:
                @classmethod
                def create(cls, chart):
                    db.session.add(chart)
                    return chart


            def duplicate_chart(chart):
                return ChartDAO.create(chart.copy())
            """,
        ),
        Invalid(
            """
            class Topic(db.Model, UserMixin):
                def remove(self):
                    db.session.delete(self)
                    db.session.commit()
            """,
            path="app/models/topic.py",
            options={"dao-modules": ["app/models/**"]},
            expect="DAO301 at 2:9",
            title="an active record: db.Model has no method of that name",
        ),
    ]

    def __init__(self, context) -> None:  # noqa: ANN001
        super().__init__(context)
        # per function: does database work itself, names the own methods it calls
        self.work: Dict[cst.FunctionDef, bool] = {}
        self.own_calls: Dict[cst.FunctionDef, Set[str]] = {}
        self.functions: List[cst.FunctionDef] = []
        self.candidates: List[Tuple[cst.FunctionDef, object, Tuple[str, str]]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)
        self.work[node] = False
        self.own_calls[node] = set()
        name = node.name.value
        if name.startswith("_"):
            return
        scope = self.fact(DaoFacts, node)
        if scope is None or not scope.in_dao:
            return
        if not scope.is_method and (scope.class_name is not None or scope.qualname != name):
            return  # nested helper functions are not part of the DAO's interface
        if any(_is_property(d.decorator) for d in node.decorators):
            return
        found = action_verb(self.config, name)
        if found is not None:
            self.candidates.append((node, scope, found))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()

    def visit_Call(self, node: cst.Call) -> None:
        if not self.functions:
            return
        current = self.functions[-1]
        if self.fact(SessionFacts, node) is not None or dao_call(self, node) is not None:
            self.work[current] = True
            return
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            self.own_calls[current].add(func.attr.value)
        elif isinstance(func, cst.Name):
            self.own_calls[current].add(func.value)

    def leave_Module(self, original_node: cst.Module) -> None:
        classes = {s.name.value: s for s in original_node.body if isinstance(s, cst.ClassDef)}
        module_functions = {s.name.value: s for s in original_node.body if isinstance(s, cst.FunctionDef)}
        # (`self` may be any class of the file: an interface method that raises
        # NotImplementedError, or a stub declared for type checkers, does what the classes
        # defining that name do; reported once, at the first of them)
        elsewhere: Dict[str, List[cst.FunctionDef]] = {}
        for other in classes.values():
            for name, method in _methods(other, classes).items():
                elsewhere.setdefault(name, []).append(method)
        stubs: Set[str] = set()
        for node, scope, (verb, crud) in self.candidates:
            owner = classes.get(scope.class_name) if scope.is_method else None
            if scope.is_method and (owner is None or not _local(owner, classes)):
                continue  # an imported base may define it: the project phase decides (summary)
            if owner is not None and _defined_in_bases(owner, node.name.value, classes):
                continue  # an override: reported once, at the base
            siblings = _methods(owner, classes) if owner is not None else module_functions
            if not self._does_work(node, siblings, elsewhere, set()):
                name = node.name.value
                others = [m for m in elsewhere.get(name, ()) if m is not node]
                if name in stubs or not any(self._does_work(m, siblings, elsewhere, set()) for m in others):
                    continue
                stubs.add(name)
            self.report(node.name, method=scope.qualname, verb=verb, crud=_crud(crud))

    def _does_work(self, node: cst.FunctionDef, siblings: Dict[str, cst.FunctionDef], elsewhere: Dict[str, List[cst.FunctionDef]], seen: Set[str]) -> bool:
        """It uses a session or a DAO, directly or through the class's (module's) own functions."""
        if self.work.get(node):
            return True
        for name in self.own_calls.get(node, ()):
            if name in seen:
                continue
            seen.add(name)
            targets = [siblings[name]] if name in siblings else []
            targets += [m for m in elsewhere.get(name, ()) if m not in targets]
            if any(self._does_work(target, siblings, elsewhere, seen) for target in targets):
                return True
        return False


def _bases(node: cst.ClassDef) -> List[str]:
    out = []
    for base in node.bases:
        expr = base.value.value if isinstance(base.value, cst.Subscript) else base.value
        out.append(dotted_name(expr) or "?")
    return out


def _local(node: cst.ClassDef, classes: Dict[str, cst.ClassDef], depth: int = 0) -> bool:
    """Every base class is defined in this file (or adds no methods): the file can judge it."""
    if depth > 8:
        return False
    for base in _bases(node):
        if local_base(base):
            continue
        if base not in classes or not _local(classes[base], classes, depth + 1):
            return False
    return True


def _methods(node: cst.ClassDef, classes: Dict[str, cst.ClassDef], depth: int = 0) -> Dict[str, cst.FunctionDef]:
    found: Dict[str, cst.FunctionDef] = {}
    for base in _bases(node):
        if base in classes and depth < 8:
            found.update(_methods(classes[base], classes, depth + 1))
    found.update({s.name.value: s for s in getattr(node.body, "body", ()) if isinstance(s, cst.FunctionDef)})
    return found


def _defined_in_bases(node: cst.ClassDef, name: str, classes: Dict[str, cst.ClassDef]) -> bool:
    return any(base in classes and name in _methods(classes[base], classes) for base in _bases(node))


def _is_property(decorator: cst.BaseExpression) -> bool:
    if isinstance(decorator, cst.Name):
        return decorator.value in ("property", "cached_property", "hybrid_property")
    if isinstance(decorator, cst.Attribute):
        return decorator.attr.value in ("setter", "getter", "deleter", "cached_property", "hybrid_property")
    return False
