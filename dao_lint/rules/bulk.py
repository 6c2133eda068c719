"""Bulk rules (DAO7xx): one statement for many rows, one query for many items."""
from __future__ import annotations

import libcst as cst

from ..analysis import Action, DaoFacts, SessionFacts
from ..analysis.cascade import manual_cascades
from ..analysis.dao import dao_call
from ..analysis.dao_methods import DAO_READS, DAO_WRITES, OwnMethods, dao_method_call, named
from ..analysis.names import dotted_name
from ..analysis.persistence import PersistenceFacts
from ..analysis.structure import StructureFacts
from ..rule import Invalid, Rule, Valid
from ..analysis.walk import contains, visit_in_place

__all__ = ["WriteInLoop", "ReadInLoop"]


def _production(scope) -> bool:  # noqa: ANN001
    return scope is not None and not scope.in_test and not scope.migration_module


# query methods that build SQL for another query instead of running one
_BUILDS = frozenset({"subquery", "scalar_subquery", "cte", "exists", "label", "as_scalar", "statement", "alias", "lateral"})
# ... and those that run it
_RUNS = frozenset({"all", "first", "one", "one_or_none", "scalar", "scalars", "count", "get", "fetchall", "fetchone", "first_or_404", "get_or_404", "one_or_404", "paginate"})


def _runs_once_or_batched(line, loop: cst.For, node: cst.Call) -> bool:  # noqa: ANN001 - a statement line
    """The read in this statement is not one query per item: it is returned (runs once), it
    only builds a subquery, or it reads a whole batch with `in_(<the loop's variable>)`."""
    if line is None:
        return False
    if any(isinstance(small, cst.Return) for small in line.body):
        return True
    # the loop's variable is a batch (`in_(batch)`); in a loop over batches, so is what its
    # body computes from one (`in_(keys_found)`)
    bound = {n.value for n in _names(loop.target)}
    over_batches = any(word in n.value.lower() for n in _names(loop.target) + _names(loop.iter) for word in ("batch", "chunk", "page"))
    if over_batches:
        bound |= _assigned(loop.body)
    kept = _assigned(line)  # names this statement binds the query to
    found = []
    runs = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            func = call.func
            if not isinstance(func, cst.Attribute):
                return
            if func.attr.value in _BUILDS and contains(func.value, node):
                found.append(call)
            if func.attr.value == "in_" and any(n.value in bound for a in call.args for n in _names(a.value)):
                found.append(call)
            if func.attr.value in _RUNS and (call is node or contains(func.value, node)):
                runs.append(call)

    visit_in_place(line, Finder())
    if found:
        return True
    # `query = session.query(Model).filter(...)` kept for later (a chain of queries): nothing
    # runs in this statement, nor in the loop unless the loop iterates it or asks it for rows.
    # `session.get()`/`execute()`/`scalars()` always run.
    method = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
    if method in _RUNS or method == "execute" or runs or not _is_query_chain(node):
        return False
    return not _consumed(line, node) and not (kept and _consumed(loop.body, None, kept))


def _consumed(tree: cst.CSTNode, node, names=frozenset()) -> bool:  # noqa: ANN001
    """Rows are asked of the query `node` (or of a name in `names`) in `tree`: iterated,
    turned into a collection, or asked for a result."""
    found = []

    def is_it(expr: cst.BaseExpression) -> bool:
        return (node is not None and (expr is node or contains(expr, node))) or (isinstance(expr, cst.Name) and expr.value in names)

    class Finder(cst.CSTVisitor):
        def visit_For(self, loop: cst.For) -> None:
            if is_it(loop.iter):
                found.append(loop)

        def visit_CompFor(self, loop: cst.CompFor) -> None:
            if is_it(loop.iter):
                found.append(loop)

        def visit_Call(self, call: cst.Call) -> None:
            func = call.func
            if isinstance(func, cst.Name) and func.value in ("list", "set", "tuple", "sorted", "len", "dict", "frozenset") and call.args and is_it(call.args[0].value):
                found.append(call)
            if isinstance(func, cst.Attribute) and func.attr.value in _RUNS and isinstance(func.value, cst.Name) and func.value.value in names:
                found.append(call)

    visit_in_place(tree, Finder())
    return bool(found)


def _is_query_chain(node: cst.Call) -> bool:
    """`session.query(...)` or `Model.query.<method>(...)`: a Query object, run when its
    results are asked for."""
    func = node.func
    if not isinstance(func, cst.Attribute):
        return False
    if func.attr.value == "query":
        return True
    receiver = func.value
    return isinstance(receiver, cst.Attribute) and receiver.attr.value == "query"


def _assigned(node: cst.CSTNode) -> set:
    names = set()

    class Finder(cst.CSTVisitor):
        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            names.update(n.value for n in _names(target.target))

    visit_in_place(node, Finder())
    return names


def _names(node: cst.CSTNode) -> list:
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

    visit_in_place(node, Finder())
    return found


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
        if not _production(self.fact(DaoFacts, node)):
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


class ReadInLoop(Rule):
    """Flags a session query or a DAO `find_*`/`get_*` per item inside a `for` loop (N+1).

    Each iteration is a round trip: a hundred items, a hundred queries. Read once before
    the loop (`Model.id.in_(ids)`), or load the relationship eagerly (`selectinload`).
    """

    requires = "any"
    code = "DAO702"
    name = "read-in-loop"
    seed = "R7"
    message = "`{call}` queries once per item of the loop (N+1); read once with `in_(...)` or eager loading"
    needs = (SessionFacts, DaoFacts, StructureFacts)
    valid = [
        Valid(
            """
            def owners_of(charts):
                ids = [chart.owner_id for chart in charts]
                return db.session.query(User).filter(User.id.in_(ids)).all()
            """,
            path="app/services/owners.py",
        ),
        Valid(
            """
            def owners_of(owner_ids):
                owners = []
                for batch in chunks(owner_ids, 500):
                    owners += db.session.query(User).filter(User.id.in_(batch)).all()
                return owners
            """,
            path="app/services/owners.py",
            title="a batch per iteration",
        ),
        Valid(
            """
            def search(filters):
                query = db.session.query(Run)
                for key, value in filters:
                    latest = db.session.query(Metric.run_id).filter(Metric.key == key).subquery()
                    query = query.join(latest, Run.id == latest.c.run_id)
                return query.all()
            """,
            path="app/services/search.py",
            title="building one query",
        ),
        Valid(
            """
            def dependents(obj, classes):
                queries = []
                for model in classes:
                    query = db.session.query(model).filter(model.owner_id == obj.id)
                    queries.append(query)
                return queries
            """,
            path="app/services/dependents.py",
            title="queries built, run later by the caller",
        ),
        Valid(
            """
            class HealthCheck:
                TABLES = ("users", "charts")

                def run(self, session: Session):
                    for table in self.TABLES:
                        session.execute(select(func.count()).select_from(table_of(table)))
            """,
            path="app/services/health.py",
            title="a literal collection kept on the class",
        ),
    ]
    invalid = [
        Invalid(
            """
            def owners_of(charts):
                owners = []
                for chart in charts:
                    owners.append(db.session.get(User, chart.owner_id))
                    owners.append(UserDAO.find_by_id(chart.reviewer_id))
                return owners
            """,
            path="app/services/owners.py",
            expect=("DAO702 at 4:23", "DAO702 at 5:23"),
            remedy="""
            def owners_of(charts):
                owners = UserDAO.find_by_ids([chart.owner_id for chart in charts])
                reviewers = UserDAO.find_by_ids([chart.reviewer_id for chart in charts])
                return owners + reviewers
            """,
        ),
        Invalid(
            """
            def owners_by_id(charts):
                ids = []
                for chart in charts:
                    ids.append(chart.owner_id)
                owners = {}
                for owner_id in ids:
                    owners[owner_id] = db.session.get(User, owner_id)
                return owners
            """,
            path="app/services/owners.py",
            expect="DAO702 at 7:28",
            title="a list built empty and filled is data, not a literal",
        ),
        Invalid(
            """
            def rename_schema(datasets, name):
                for dataset in datasets:
                    charts = db.session.query(Chart).filter(Chart.dataset_id == dataset.id)
                    for chart in charts:
                        chart.schema = name
            """,
            path="app/services/schemas.py",
            expect="DAO702 at 3:18",
            title="a query kept, then iterated in the loop",
        ),
    ]

    def __init__(self, context) -> None:  # noqa: ANN001
        super().__init__(context)
        self.pending: list = []  # (call, text, own method): calls of the class's own methods
        self.own = OwnMethods()

    def visit_Call(self, node: cst.Call) -> None:
        use = self.fact(SessionFacts, node)
        if use is not None and use.action is Action.READ:
            call = f"{use.session}.{use.method}()"
        else:
            dao = dao_method_call(self, node)
            if dao is None or not named(dao[1], DAO_READS):
                return
            call = f"{dao[0]}.{dao[1]}()"
        if not _production(self.fact(DaoFacts, node)):
            return
        place = self.fact(StructureFacts, node)
        loop = place.item_for_loop
        if loop is None or _runs_once_or_batched(place.line, loop, node):
            return
        if use is None and dao[2]:
            self.pending.append((node, call, (dao[0], dao[1])))  # decided once the file is walked
            return
        self.report(node, call=call)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.own.note(node)

    def leave_Module(self, node: cst.Module) -> None:
        for call_node, call, own in self.pending:
            if self.own.does(self, *own, Action.READ):  # `self.get_related_model(...)` reads nothing
                self.report(call_node, call=call)
