"""Forgiveness rule (DAO601): let the database's constraints decide, do not ask first."""
from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from ..analysis import Action, DaoFacts, SessionFacts
from ..analysis.dao import dao_call, dao_entity
from ..analysis.names import callee_name, dotted_name
from ..analysis.walk import visit_in_place
from ..rule import Invalid, Rule, Valid

__all__ = ["CheckThenWrite"]

_CHECK_METHODS = ("find", "exists", "get_by", "validate")
_ENTITY_WRITES = ("create", "upsert", "insert", "add")


def _first_capitalized(node: cst.CSTNode) -> Optional[str]:
    """The first capitalized name in an expression: `User` in `User.email == email`."""
    found: List[str] = []

    class Finder(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            if not found and name.value[:1].isupper() and name.value not in ("True", "False", "None"):
                found.append(name.value)

    visit_in_place(node, Finder())
    return found[0] if found else None


def _last(dotted: Optional[str]) -> Optional[str]:
    return dotted.rsplit(".", 1)[-1] if dotted else None


class CheckThenWrite(Rule):
    """Flags an existence check that guards a write of the same entity, and get-or-create via `NoResultFound`.

    Between the check and the write another request can insert the same row: the check
    passes twice and the second write fails anyway, or duplicates data where no constraint
    exists. Put the rule in the schema (a unique constraint) and try the write: catch
    `IntegrityError`, or upsert (`on_conflict_do_update` on PostgreSQL and SQLite,
    `on_duplicate_key_update` on MySQL).
    """

    code = "DAO601"
    name = "check-then-write"
    seed = "R6"
    message = "checks whether `{entity}` exists before writing it (race-prone); add a unique constraint and catch `IntegrityError`, or upsert (`on_conflict_do_update` / `on_duplicate_key_update`)"
    requires = "any"
    needs = (SessionFacts, DaoFacts)
    valid = [
        Valid(
            """
            def upgrade():
                session = Session(bind=op.get_bind())
                if session.query(Role).filter_by(name="Admin").first() is None:
                    session.add(Role(name="Admin"))
                session.commit()
            """,
            path="app/migrations/versions/0042_admin_role.py",
            title="a migration runs once, alone: no race",
        ),
        Valid(
            """
            def register(email):
                try:
                    with db.session.begin_nested():
                        db.session.add(User(email=email))
                except IntegrityError:
                    raise EmailTakenError(email)
            """,
            path="app/commands/register.py",
        ),
        Valid(
            """
            def register(email, team_id):
                if not db.session.get(Team, team_id):
                    raise UnknownTeamError(team_id)
                db.session.add(User(email=email, team_id=team_id))
            """,
            path="app/commands/register.py",
            title="checks another entity",
        ),
    ]
    invalid = [
        Invalid(
            """
            def register(email):
                if db.session.query(User).filter_by(email=email).first():
                    raise EmailTakenError(email)
                db.session.add(User(email=email))
            """,
            path="app/commands/register.py",
            expect="DAO601 at 2:8",
        ),
        Invalid(
            """
            def get_or_create_tag(name):
                try:
                    return db.session.query(Tag).filter_by(name=name).one()
                except NoResultFound:
                    tag = Tag(name=name)
                    db.session.add(tag)
                    return tag
            """,
            path="app/services/tags.py",
            expect="DAO601 at 3:16",
            title="get-or-create",
        ),
        Invalid(
            """
            class CreateChartCommand(BaseCommand):
                def run(self):
                    if ChartDAO.find_by_name(self._name) is None:
                        ChartDAO.create({"name": self._name})
            """,
            path="app/commands/chart.py",
            expect="DAO601 at 3:12",
            title="through DAOs",
        ),
    ]

    def __init__(self, context) -> None:  # noqa: ANN001
        super().__init__(context)
        self.constructed: Dict[str, str] = {}  # local name -> entity it was built as

    # -- entities ------------------------------------------------------------------------------
    def _checked(self, expr: cst.CSTNode) -> Optional[Tuple[cst.Call, str]]:
        """(check call, entity) for the first existence check inside `expr`."""
        found: List[Tuple[cst.Call, str]] = []
        rule = self

        class Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> Optional[bool]:
                if found:
                    return False
                entity = rule._read_entity(call)
                if entity is not None:
                    found.append((call, entity))
                    return False
                return None

        visit_in_place(expr, Finder())
        return found[0] if found else None

    def _read_entity(self, call: cst.Call) -> Optional[str]:
        use = self.fact(SessionFacts, call)
        if use is not None and use.action is Action.READ:
            if use.session.endswith(".query"):
                return use.session[: -len(".query")].rsplit(".", 1)[-1]
            if call.args:
                return _first_capitalized(call.args[0].value)
            return None
        dao = dao_call(self.config, call)
        if dao is not None and dao[1].startswith(_CHECK_METHODS):
            return dao_entity(dao[0])
        return None

    def _written(self, node: cst.CSTNode) -> Set[str]:
        """Entities created by statements under `node`."""
        entities: Set[str] = set()
        rule = self

        class Finder(cst.CSTVisitor):
            def visit_Assign(self, assign: cst.Assign) -> None:
                if isinstance(assign.value, cst.Call):
                    built = _last(dotted_name(assign.value.func))
                    if built and built[:1].isupper():
                        for target in assign.targets:
                            if isinstance(target.target, cst.Name):
                                rule.constructed[target.target.value] = built

            def visit_Call(self, call: cst.Call) -> None:
                use = rule.fact(SessionFacts, call)
                if use is not None and use.action is Action.WRITE and call.args:
                    value = call.args[0].value
                    if isinstance(value, cst.Call):
                        entity = _last(dotted_name(value.func))
                        if use.method in ("execute", "exec") and callee_name(value) == "insert" and value.args:
                            entity = _first_capitalized(value.args[0].value)
                        if entity:
                            entities.add(entity)
                    elif isinstance(value, cst.Name) and value.value in rule.constructed:
                        entities.add(rule.constructed[value.value])
                dao = dao_call(rule.config, call)
                if dao is not None and dao[1].startswith(_ENTITY_WRITES):
                    entities.add(dao_entity(dao[0]))

        visit_in_place(node, Finder())
        return entities

    # -- shapes --------------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.constructed = {}

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        statements = list(node.body)
        for number, statement in enumerate(statements):
            if isinstance(statement, cst.If):
                self._if(statement, statements[number + 1 :])
            elif isinstance(statement, cst.Try):
                self._try(statement)

    def _if(self, node: cst.If, after: List[cst.BaseStatement]) -> None:
        checked = self._checked(node.test)
        if checked is None:
            return
        call, entity = checked
        scope = self.fact(DaoFacts, call)
        if scope is None or scope.in_test:
            return
        written = self._written(node.body)
        if node.orelse is not None:
            written |= self._written(node.orelse)
        if entity not in written and _exits(node.body):
            for statement in after:
                written |= self._written(statement)
        if entity in written:
            self.report(call, entity=entity)

    def _try(self, node: cst.Try) -> None:
        catches = any(
            handler.type is not None and _last(dotted_name(handler.type)) in ("NoResultFound", "DoesNotExist")
            for handler in node.handlers
        )
        if not catches:
            return
        checked = self._checked(node.body)
        if checked is None:
            return
        call, entity = checked
        if any(entity in self._written(h.body) for h in node.handlers):
            self.report(call, entity=entity)


def _exits(body: cst.BaseSuite) -> bool:
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
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and _last(dotted_name(small.value.func)) == "abort":
            return True
    return False
