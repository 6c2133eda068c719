"""Forgiveness rule (DAO601): let the database's constraints decide, do not ask first."""
from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from ..analysis import Action, DaoFacts, SessionFacts
from ..analysis.dao import dao_call, dao_entity, entity_of
from ..analysis.names import callee_name, dotted_name, entity_key, first_capitalized
from ..analysis.conflicts import ConflictCover
from ..analysis.conditions import alias_of, guard_clause, assigned_names, tested_name, tested_names
from ..analysis.walk import visit_in_place
from .base import Invalid, Rule, Valid

__all__ = ["CheckThenWrite"]

_CHECK_METHODS = ("find", "exists", "get_by", "validate")
_ENTITY_WRITES = ("create", "upsert", "insert", "add", "bulk_create", "bulk_insert")


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
        Valid(
            """
            @contextmanager
            def scoped_session(ignore_conflict=False):
                session = Session()
                try:
                    yield session
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    if not ignore_conflict:
                        raise

            def set_attribute(study_id, key, value):
                with scoped_session(ignore_conflict=True) as session:
                    attribute = session.query(Attribute).filter_by(study_id=study_id, key=key).first()
                    if attribute is None:
                        session.add(Attribute(study_id=study_id, key=key, value=value))
            """,
            path="app/storage.py",
            title="the conflict is already caught (here by the session scope the write runs in)",
        ),
        Valid(
            """
            def follow(user_id, board_id):
                try:
                    with db.session.begin_nested():
                        if db.session.query(Follow).filter_by(user_id=user_id, board_id=board_id).first() is None:
                            db.session.add(Follow(user_id=user_id, board_id=board_id))
                except IntegrityError:
                    pass  # followed meanwhile: the same outcome
            """,
            path="app/daos/follow.py",
            title="the conflict is caught where the check runs",
        ),
        Valid(
            """
            def rename(user_id, name):
                user = db.session.get(User, user_id)
                if user is None:
                    raise UnknownUserError(user_id)
                user.name = name
            """,
            path="app/commands/users.py",
            title="a lookup that guards an update of the row it found",
        ),
        Valid(
            """
            def ensure_profile(user_id):
                user = db.session.get(User, user_id)
                if not user:
                    db.session.add(Profile(user_id=user_id))
            """,
            path="app/commands/users.py",
            title="the name is checked, another entity is written",
        ),
        Valid(
            """
            def favorite(pk):
                chart = ChartDAO.find_by_id(pk)
                if not chart:
                    return response_404()
                ChartDAO.add_favorite(chart)
            """,
            path="app/charts/api.py",
            title="a 404 guard before writing something else about the row found",
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
            remedy="""
            def register(email):
                try:
                    with db.session.begin_nested():
                        UserDAO.create({"email": email})
                except IntegrityError:
                    raise EmailTakenError(email)
            """,
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
        Invalid(
            """
            def follow(user_id, board_id):
                follow = db.session.query(Follow).filter_by(user_id=user_id, board_id=board_id).first()
                if not follow:
                    db.session.add(Follow(user_id=user_id, board_id=board_id))
                return follow
            """,
            path="app/services/follows.py",
            expect="DAO601 at 2:14",
            title="the check's result kept in a name",
        ),
        Invalid(
            """
            class EnsureTagCommand(BaseCommand):
                def run(self):
                    tag = TagDAO.find_by_name(self._name)
                    if tag is None:
                        tag = TagDAO.create({"name": self._name})
                    return tag
            """,
            path="app/commands/tags.py",
            expect="DAO601 at 3:15",
            title="kept in a name, through DAOs",
        ),
        Invalid(
            """
            def save_resource(data, session):
                obj = None
                if data.get("id"):
                    obj = session.query(Resource).get(data["id"])
                if not obj:
                    obj = Resource()
                obj.from_dict(data)
                session.add(obj)
                return obj
            """,
            path="app/logic/resources.py",
            expect="DAO601 at 4:15",
            title="a lookup in a branch; the new row built in the `if`, added after it",
        ),
        Invalid(
            """
            class SecurityManager(BaseSecurityManager):
                def add_role(self, name):
                    role = self.find_role(name)
                    if role is None:
                        role = self.role_model()
                        role.name = name
                        self.session.add(role)
                    return role
            """,
            path="app/security/manager.py",
            options={"dao-modules": ["app/security/**"]},
            expect="DAO601 at 3:16",
            title="the DAO's own lookup; the model class kept in an attribute",
        ),
        Invalid(
            """
            def import_person(email, data):
                person = PersonDAO.where_email(email)
                created = person is None
                if created:
                    person = PersonDAO.create(email=email, **data)
                return person
            """,
            path="app/services/persons.py",
            expect="DAO601 at 2:14",
            title="any DAO read kept in a name is a lookup; the test kept in a name too",
        ),
        Invalid(
            """
            def update_setting(key, value, overwrite):
                setting = Setting.query.filter_by(key=key).first()
                if (setting is not None and overwrite) or setting is None:
                    if setting is None:
                        setting = Setting(key=key)
                    setting.value = value
                    setting.save()
            """,
            path="app/utils/populate.py",
            expect="DAO601 at 2:15",
            title="a compound test; an active record built and saved",
        ),
    ]

    def __init__(self, context) -> None:  # noqa: ANN001
        super().__init__(context)
        self.constructed: Dict[str, str] = {}  # local name -> entity it was built as
        self.cover = ConflictCover()  # the remedy already in place: the conflict is caught

    def visit_Module(self, node: cst.Module) -> None:
        self.cover.module(node)

    def visit_With(self, node: cst.CSTNode) -> None:  # (and `try`)
        self.cover.enter(node)

    def leave_With(self, original_node: cst.CSTNode) -> None:
        self.cover.leave(original_node)

    visit_Try, leave_Try = visit_With, leave_With

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.cover.leave(original_node)

    def visit_Call(self, node: cst.Call) -> None:
        self.cover.call(node)

    def report(self, node: cst.CSTNode, fix: object = None, fix_target: Optional[cst.CSTNode] = None, **fields: object) -> None:
        if self.cover.stands((node, fix, fix_target, fields)):
            super().report(node, fix, fix_target, **fields)

    def leave_Module(self, original_node: cst.Module) -> None:
        for node, fix, fix_target, fields in self.cover.released():
            super().report(node, fix, fix_target, **fields)

    # -- entities ------------------------------------------------------------------------------
    def _checked(self, expr: cst.CSTNode, held: bool = False) -> Optional[Tuple[cst.Call, str]]:
        """(check call, entity) for the first existence check inside `expr` (`held`: its
        result is kept in a name, so any DAO read is a lookup: `TaskStatus.get_by(...)`,
        `cls.get(pk)`, `TrialHeartbeatModel.where_trial_id(...)`)."""
        found: List[Tuple[cst.Call, str]] = []
        rule = self

        class Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> Optional[bool]:
                if found:
                    return False
                entity = rule._read_entity(call, held)
                if entity is not None:
                    found.append((call, entity))
                    return False
                return None

        visit_in_place(expr, Finder())
        return found[0] if found else None

    def _read_entity(self, call: cst.Call, held: bool = False) -> Optional[str]:
        use = self.fact(SessionFacts, call)
        if use is not None and use.action is Action.READ:
            if use.session.endswith(".query"):
                return use.session[: -len(".query")].rsplit(".", 1)[-1]
            if call.args:
                return first_capitalized(call.args[0].value)
            return None
        dao = dao_call(self, call) or self._own_dao(call)
        # (`get_user_by_email`: a lookup by another key than the primary one, as `find_by`)
        if dao is not None and (held or dao[1].startswith(_CHECK_METHODS) or (dao[1].startswith("get_") and "_by_" in dao[1])):
            return dao_entity(dao[0])
        return None

    def _own_dao(self, call: cst.Call) -> Optional[Tuple[str, str]]:
        """(entity, method) for `self.find_role(...)` / `self.create_role(...)` in a class of
        the DAO layer: the entity its name gives (`Role`)."""
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            scope = self.fact(DaoFacts, call)
            if scope is not None and scope.in_dao and scope.class_name:
                method = func.attr.value
                return entity_of(method, scope.class_name), method
        return None

    def _written(self, node: cst.CSTNode) -> Set[str]:
        """Entities created by statements under `node` (their `_key`s)."""
        entities: Set[str] = set()
        rule = self

        class Finder(cst.CSTVisitor):
            def visit_Assign(self, assign: cst.Assign) -> None:
                if isinstance(assign.value, cst.Call):
                    built = _last(dotted_name(assign.value.func))
                    # `Role(...)`, or a model class kept in an attribute: `self.role_model()`
                    if built and (built[:1].isupper() or built.endswith("_model")):
                        for target in assign.targets:
                            if isinstance(target.target, cst.Name):
                                rule.constructed[target.target.value] = built

            def visit_Call(self, call: cst.Call) -> None:
                func = call.func
                if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in rule.constructed:
                    if func.attr.value in _ENTITY_WRITES or func.attr.value == "save":
                        # an active record built here, saved: `setting = Setting(...)`, `setting.save()`
                        entities.add(entity_key(rule.constructed[func.value.value]))
                use = rule.fact(SessionFacts, call)
                if use is not None and use.action is Action.WRITE and call.args:
                    value = call.args[0].value
                    if isinstance(value, cst.Call):
                        entity = _last(dotted_name(value.func))
                        if use.method in ("execute", "exec") and callee_name(value) == "insert" and value.args:
                            entity = first_capitalized(value.args[0].value)
                        if entity:
                            entities.add(entity_key(entity))
                    elif isinstance(value, cst.Name) and value.value in rule.constructed:
                        entities.add(entity_key(rule.constructed[value.value]))
                dao = dao_call(rule, call) or rule._own_dao(call)
                # a new row of the DAO's entity: `create(...)`, `create_chart(...)`; not
                # `add_favorite(chart)`, which writes something else about the row it is given
                if dao is not None and (dao[1] in _ENTITY_WRITES or dao[1].startswith("create")):
                    entities.add(entity_key(dao_entity(dao[0])))

        visit_in_place(node, Finder())
        return entities

    # -- shapes --------------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.constructed = {}
        self.cover.enter(node)

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        statements = list(node.body)
        results: Dict[str, Tuple[cst.Call, str]] = {}  # name -> the existence check it holds
        for number, statement in enumerate(statements):
            if isinstance(statement, cst.If):
                self._if(statement, statements[number + 1 :], results)
            elif isinstance(statement, cst.Try):
                self._try(statement)
            else:
                self._or_create(statement)
            for name in assigned_names(statement):
                results.pop(name, None)
            held = self._held_check(statement)
            if held is not None:
                results[held[0]] = held[1]
            alias = alias_of(statement)
            if alias is not None and alias[1] in results:
                results[alias[0]] = results[alias[1]]  # `created = user is None`, then `if created:`
            elif isinstance(statement, cst.If):
                # `if pk: x = session.get(M, pk)`: x may hold the check after the `if` (the
                # first check of x, not a second lookup of the same row by another key)
                branches = [statement.body, statement.orelse.body if isinstance(statement.orelse, cst.Else) else None]
                for inner in (s for branch in branches if branch is not None for s in getattr(branch, "body", ())):
                    held = self._held_check(inner)
                    if held is not None:
                        results.setdefault(held[0], held[1])

    def _or_create(self, statement: cst.CSTNode) -> None:
        """`return find_role(name) or create_role(name)`: the `or` is the `if`."""
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return
        value = getattr(statement.body[0], "value", None)
        if not isinstance(value, cst.BooleanOperation) or not isinstance(value.operator, cst.Or):
            return
        checked = self._checked(value.left, held=True)
        if checked is not None and entity_key(checked[1]) in self._written(value.right):
            scope = self.fact(DaoFacts, checked[0])
            if scope is not None and not scope.in_test:
                self.report(checked[0], entity=checked[1])

    def _held_check(self, statement: cst.CSTNode) -> Optional[Tuple[str, Tuple[cst.Call, str]]]:
        """`x = <existence check>` (`q.first()`, `session.get(M, pk)`, `SomeDAO.find_by_name(...)`)."""
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        small = statement.body[0]
        if not isinstance(small, cst.Assign) or len(small.targets) != 1 or not isinstance(small.targets[0].target, cst.Name):
            return None
        value = small.value.expression if isinstance(small.value, cst.Await) else small.value
        if not isinstance(value, cst.Call):
            return None
        dao = dao_call(self, value) or self._own_dao(value)
        if not isinstance(value.func, cst.Attribute) and dao is None:
            return None  # (a plain function is a check only when it is a DAO function)
        method = callee_name(value) or ""
        lookup = method.startswith("get_") and "_by_" in method
        if dao is None and method not in _EXISTENCE and not method.startswith(_CHECK_METHODS) and method != "get" and not lookup:
            return None
        checked = self._checked(value, held=dao is not None)
        return (small.targets[0].target.value, checked) if checked is not None else None

    def _if(self, node: cst.If, after: List[cst.BaseStatement], results: Dict[str, Tuple[cst.Call, str]]) -> None:
        checked = self._checked(node.test)
        if checked is None:
            # `if x is None:`, or a compound test (`if (x is not None and overwrite) or x is None:`)
            checked = next((results[name] for name in tested_names(node.test) if name in results), None)
        if checked is None:
            return
        call, entity = checked
        scope = self.fact(DaoFacts, call)
        if scope is None or scope.in_test:
            return
        written = self._written(node.body)
        if node.orelse is not None:
            written |= self._written(node.orelse)
        # what comes after the `if` writes too: after a guard clause, or where the branch
        # built the new row into the tested name (`if not x: x = M()`, then `session.add(x)`)
        tested = tested_name(node.test)
        if entity_key(entity) not in written and (guard_clause(node.body) or (tested is not None and entity_key(self.constructed.get(tested, "")) == entity_key(entity))):
            for statement in after:
                written |= self._written(statement)
        if entity_key(entity) in written:
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
        if any(entity_key(entity) in self._written(h.body) for h in node.handlers):
            self.report(call, entity=entity)


_EXISTENCE = ("first", "one_or_none", "scalar", "scalar_one_or_none", "count", "exists")
