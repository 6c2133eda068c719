"""Bulk writes (DAO701): one statement for many rows."""
from __future__ import annotations

import libcst as cst

from ..analysis import Action, DaoFacts, SessionFacts
from ..analysis.cascade import manual_cascades
from ..analysis.dao import dao_call
from ..analysis.dao_methods import DAO_WRITES, OwnMethods, dao_method_call, named
from ..analysis.names import dotted_name
from ..analysis.persistence import PersistenceFacts
from ..analysis.structure import StructureFacts
from .base import Invalid, Rule, Valid

__all__ = ["WriteInLoop", "production"]


def production(scope) -> bool:  # noqa: ANN001
    return scope is not None and not scope.in_test and not scope.migration_module


class WriteInLoop(Rule):
    """Flags `add`, `delete`, `merge` or a DAO create/update/delete per item inside a loop.

    One statement per row is one round trip per row, and one flush of one object at a
    time. `add_all()`, `bulk_` DAO methods, or an `insert()`/`update()`/`delete()` with many
    rows do the same work in one go.
    """

    requires = "any"
    code = "DAO701"
    name = "write-in-loop"
    seed = "R7"
    message = "`{call}` runs once per item of the loop; write in bulk ({bulk})"
    fix_title = "Replace `for x in xs: session.add(x)` with `session.add_all(xs)`"
    fix_safety = "safe"
    needs = (SessionFacts, DaoFacts, StructureFacts, PersistenceFacts)
    valid = [
        Valid(
            """
            def retitle(chart_ids):
                for chart_id in chart_ids:
                    chart = db.session.get(Chart, chart_id)
                    chart.title = chart.title.strip()
                    db.session.merge(chart)
            """,
            path="app/daos/chart.py",
            title="a redundant merge is DAO401's, not a write to bulk",
        ),
        Valid(
            """
            class DashboardDAO(BaseDAO):
                @classmethod
                def delete(cls, dashboard):
                    for tag in dashboard.tags:
                        db.session.delete(tag)
                    db.session.delete(dashboard)
            """,
            title="children deleted before their parent are DAO501's (declare the cascade)",
        ),
        Valid(
            """
            class TagDAO(BaseDAO):
                @classmethod
                def bulk_create(cls, tags):
                    db.session.add_all(tags)
            """
        ),
        Valid(
            """
            def create_defaults():
                for name in ("draft", "published", "archived"):
                    StatusDAO.create({"name": name})
            """,
            path="app/commands/setup.py",
            title="a fixed literal collection",
        ),
        Valid(
            """
            def save_with_retry(chart):
                for attempt in range(3):
                    try:
                        ChartDAO.update(chart, {"state": "saved"})
                        break
                    except OperationalError:
                        time.sleep(attempt)
            """,
            path="app/commands/save.py",
            title="a retry",
        ),
        Valid(
            """
            def rename_tag(tags, tag_id, name):
                for tag in tags:
                    if tag.id == tag_id:
                        TagDAO.update(tag, {"name": name})
                        return tag
                raise TagNotFound(tag_id)
            """,
            path="app/commands/tags.py",
            title="in a block that leaves the function: once per run of the loop, not per item",
        ),
        Valid(
            """
            class Tag(Base):
                @classmethod
                def get_by_name(cls, session, name):
                    tag = session.query(cls).filter_by(name=name).one_or_none()
                    if tag is None:
                        tag = cls(name=name)
                        session.add(tag)
                    return tag

            def tags_for(session, names):
                return [Tag.get_by_name(session, name) for name in names]

            def tag_all(session, names):
                for name in names:
                    Tag.get_by_name(session, name)
            """,
            path="app/models/tag.py",
            options={"dao-modules": ["app/models/**"]},
            title="a read that may create, per item, is a read per item (DAO702's), not a write",
        ),
    ]
    invalid = [
        Invalid(
            """
            class TagDAO(BaseDAO):
                @classmethod
                def bulk_create(cls, tags):
                    for tag in tags:
                        db.session.add(tag)
            """,
            expect="DAO701 at 5:13",
            after="""
            class TagDAO(BaseDAO):
                @classmethod
                def bulk_create(cls, tags):
                    db.session.add_all(tags)
            """,
        ),
        Invalid(
            """
            def import_charts(rows):
                for row in rows:
                    ChartDAO.create(row)
            """,
            path="app/commands/importer.py",
            expect="DAO701 at 3:9",
            title="DAO call per row",
        ),
        Invalid(
            """
            def leave_group(user_id):
                memberships = db.session.query(Member).filter(Member.user_id == user_id)
                for membership in memberships.all():
                    membership.delete()
            """,
            path="app/commands/groups.py",
            expect="DAO701 at 4:9",
            title="an active record's own delete, on each row a query loaded",
        ),
        Invalid(
            """
            class TrialParam(Base):
                def check_and_add(self, session):
                    session.add(self)

            def copy_params(session, params):
                for name, value in params.items():
                    param = TrialParam(name=name, value=value)
                    param.check_and_add(session)
            """,
            path="app/models/trial.py",
            options={"dao-modules": ["app/models/**"]},
            expect="DAO701 at 8:9",
            title="a DAO-layer method that writes, whatever its name (found through the project index)",
        ),
        Invalid(
            """
            class BaseMixin:
                @classmethod
                def create(cls, **data):
                    row = cls(**data)
                    db.session.add(row)
                    return row

                @classmethod
                def create_from_import(cls, data):
                    return cls.get(data["id"]) or cls.create(**data)

                @classmethod
                def create_from_import_list(cls, rows):
                    for data in rows:
                        cls.create_from_import(data)

                @classmethod
                def get_pk_name(cls):
                    return "id"

                @classmethod
                def get_pk_names(cls, names):
                    return [cls.get_pk_name() for name in names]
            """,
            path="app/models/base.py",
            options={"dao-modules": ["app/models/**"]},
            expect=("DAO701 at 15:13", "DAO601 at 10:16"),
            title="an active record's own method that writes through another (get_pk_name per item reads nothing)",
        ),
    ]

    def __init__(self, context) -> None:  # noqa: ANN001
        super().__init__(context)
        self.cascade_loops: set = set()  # ids of loops that are steps of a hand-made cascade
        self.pending: list = []  # (loop, report arguments, own method): reported when the module is left
        self.own = OwnMethods()

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        # the session facts of a block's calls exist once the block has been walked
        dao = lambda call: (dao_call(self, call) or (None, None))[1]  # noqa: E731
        for cascade in manual_cascades(node.body, lambda call: self.fact(SessionFacts, call), dao):
            self.cascade_loops.update(id(loop) for loop in cascade.loops)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.own.note(node)

    def leave_Module(self, node: cst.Module) -> None:
        for loop, (args, fields), own in self.pending:
            if own is not None and not self.own.does(self, *own, Action.WRITE):
                continue  # `self.add_tab(...)`: only a method seen to write is a write
            if id(loop) not in self.cascade_loops:  # a hand-made cascade is DAO501's: the cascade is the answer
                self.report(*args, **fields)

    def visit_Call(self, node: cst.Call) -> None:
        use = self.fact(SessionFacts, node)
        dao = None
        if use is None or use.action is not Action.WRITE or use.method not in ("add", "delete", "merge"):
            use = None
            dao = dao_method_call(self, node)
            if dao is None or not named(dao[1], DAO_WRITES):
                return
        if not production(self.fact(DaoFacts, node)):
            return
        if use is not None and self.fact(PersistenceFacts, node) is not None:
            return  # DAO401's finding: the call goes, there is nothing to bulk
        loop = self.fact(StructureFacts, node).item_loop
        if loop is None:
            return
        if use is not None:
            call, bulk = f"{use.session}.{use.method}()", f"`{use.session}.add_all()` or one DML statement" if use.method == "add" else "one DML statement"
        else:
            call, bulk = f"{dao[0]}.{dao[1]}()", f"a `bulk_` method of `{dao[0]}`"
        fix = self._fix(loop, node, use)
        own = (dao[0], dao[1]) if dao is not None and dao[2] else None
        self.pending.append((loop, ((node,), dict(fix=fix, fix_target=loop if fix is not None else None, call=call, bulk=bulk)), own))

    def _fix(self, loop: cst.CSTNode, node: cst.Call, use) -> object:  # noqa: ANN001
        if use is None or use.method != "add" or not isinstance(loop, cst.For) or loop.asynchronous or loop.orelse:
            return None
        if not isinstance(loop.target, cst.Name) or not isinstance(loop.body, cst.IndentedBlock):
            return None
        if len(loop.body.body) != 1 or len(node.args) != 1 or dotted_name(node.args[0].value) != loop.target.value:
            return None
        line = loop.body.body[0]
        if not (isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 and isinstance(line.body[0], cst.Expr) and line.body[0].value is node):
            return None
        call = node.with_changes(
            func=node.func.with_changes(attr=cst.Name("add_all")),
            args=[cst.Arg(loop.iter)],
        )
        return cst.SimpleStatementLine(body=[cst.Expr(call)], leading_lines=loop.leading_lines)
