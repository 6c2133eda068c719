"""Bulk reads (DAO702): one query for many items, not one per item (N+1)."""
from __future__ import annotations

import libcst as cst

from ..analysis import Action, DaoFacts, SessionFacts
from ..analysis.dao_methods import DAO_READS, OwnMethods, dao_method_call, named
from ..analysis.structure import StructureFacts
from .base import Invalid, Rule, Valid
from ..analysis.walk import contains, visit_in_place
from .bulk import production

__all__ = ["ReadInLoop"]


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
        if not production(self.fact(DaoFacts, node)):
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
