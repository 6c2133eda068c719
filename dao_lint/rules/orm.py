"""ORM-use and schema rules: redundant merges (DAO401) and hand-made cascades (DAO501)."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from ..analysis import DaoFacts, SessionFacts
from ..analysis.cascade import manual_cascades
from ..analysis.dao import dao_call
from ..analysis.persistence import PersistenceFacts
from ..analysis.structure import StructureFacts, statement_call
from .base import Invalid, Rule, Valid

__all__ = ["RedundantMerge", "ManualCascade"]


def _session_write(rule: Rule, statement: cst.CSTNode, methods) -> Optional[cst.Call]:  # noqa: ANN001
    """The session call of a one-call statement line, when it is one of `methods`."""
    found = statement_call(statement)
    if found is None:
        return None
    value = found[0]
    use = rule.fact(SessionFacts, value)
    if use is None or use.method not in methods:
        return None
    return value


class RedundantMerge(Rule):
    """Flags `merge(obj)` or `add(obj)` of an object loaded through the session in the same function.

    An object the session loaded is already persistent in it: changes to it are flushed
    anyway. `merge()` copies its state onto... itself, after a lookup; `add()` does nothing.
    Both suggest the code does not know which objects its session tracks (SIP-98A: merge
    sparingly).
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return ".merge(" in text or ".add(" in text

    code = "DAO401"
    migration_modules = "check"  # R10 and R5 hold in migrations too (RULES.md)
    name = "redundant-merge"
    seed = "R10"
    message = "`{session}.{method}({name})`: `{name}` was loaded through the session on line {line} and is already persistent"
    fix_title = "Delete the call when its result is unused"
    fix_safety = "safe"
    needs = (SessionFacts, DaoFacts, StructureFacts, PersistenceFacts)
    valid = [
        Valid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def update(cls, chart_id, attributes):
                    chart = db.session.get(Chart, chart_id)
                    for key, value in attributes.items():
                        setattr(chart, key, value)
                    return chart
            """
        )
    ]
    invalid = [
        Invalid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def update(cls, chart_id, attributes):
                    chart = db.session.query(Chart).filter_by(id=chart_id).one()
                    for key, value in attributes.items():
                        setattr(chart, key, value)
                    db.session.merge(chart)
                    return chart
            """,
            expect="DAO401 at 7:9",
            after="""
            class ChartDAO(BaseDAO):
                @classmethod
                def update(cls, chart_id, attributes):
                    chart = db.session.query(Chart).filter_by(id=chart_id).one()
                    for key, value in attributes.items():
                        setattr(chart, key, value)
                    return chart
            """,
        ),
        Invalid(
            """
            class Setting(db.Model):
                @classmethod
                def reset(cls, keys):
                    for setting in db.session.scalars(select(Setting).where(Setting.key.in_(keys))):
                        setting.value = setting.default
                        db.session.add(setting)
            """,
            path="app/daos/settings.py",
            expect="DAO401 at 6:13",
            title="each row of a query is loaded",
        ),
    ]

    def leave_SimpleStatementLine(self, line: cst.SimpleStatementLine) -> None:
        call = _session_write(self, line, ("merge", "add"))
        loaded = self.fact(PersistenceFacts, call) if call is not None else None
        if loaded is None:
            return
        use = self.fact(SessionFacts, call)
        name = call.args[0].value.value
        self.report(call, fix=_removal(self, line), fix_target=line, session=use.session, method=use.method, name=name, line=self.line_of(loaded))


def _removal(rule: Rule, line: cst.SimpleStatementLine) -> object:
    """Remove a statement line, or leave `pass` when it is alone in its block."""
    place = rule.get_metadata(StructureFacts, line, None)
    block = place.block if place is not None else None
    if isinstance(block, cst.IndentedBlock) and len(block.body) == 1:
        return line.with_changes(body=[cst.Pass()])
    return cst.RemovalSentinel.REMOVE


class ManualCascade(Rule):
    """Flags emptying a relationship, or deleting children one by one, right before deleting the parent.

    The schema (foreign keys with `ON DELETE CASCADE`) and the ORM (`cascade="all,
    delete-orphan"`, or `passive_deletes`) already know how to remove what belongs to a
    row. Doing it by hand first is slower, easy to get wrong when a relationship is added,
    and hides a schema that does not say what it means.
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return "delete(" in text or "purge(" in text  # every shape ends with a delete

    code = "DAO501"
    requires = "any"  # a DAO's delete may be the only database call in the file
    migration_modules = "check"  # R10 and R5 hold in migrations too (RULES.md)
    name = "manual-cascade"
    seed = "R5"
    message = "what belongs to `{parent}` is removed by hand (relationships emptied, children deleted one by one) before `{parent}` is deleted; declare the cascade in the schema and the relationship"
    needs = (SessionFacts, DaoFacts)
    valid = [
        Valid(
            """
            class DashboardDAO(BaseDAO):
                @classmethod
                def delete(cls, dashboard):
                    with db.session.begin_nested():
                        db.session.delete(dashboard)
            """
        ),
        Valid(
            """
            class ReportDAO(BaseDAO):
                @staticmethod
                def archive(reports, stale_ids):
                    for report in reports:
                        report.recipients = []
                    db.session.query(Log).filter(Log.report_id.in_(stale_ids)).delete()
            """,
            title="the bulk delete removes other rows",
        ),
        Valid(
            """
            def reassign(board, new_board):
                board.moderators = []
                new_board.moderators = [current_user]
                db.session.delete(board)
            """,
            path="app/commands/boards.py",
            title="more than the clearing stands between it and the delete",
        ),
        Valid(
            """
            def leave_group(group, user):
                for membership in db.session.query(Member).filter(Member.group_id == group.id, Member.user_id == user.id):
                    db.session.delete(membership)
                group.touched = True
            """,
            path="app/commands/groups.py",
            title="the children found by the parent's key, but the parent stays",
        ),
    ]
    invalid = [
        Invalid(
            """
            class DashboardDAO(BaseDAO):
                @classmethod
                def delete(cls, dashboard):
                    dashboard.slices = []
                    dashboard.owners.clear()
                    for tag in dashboard.tags:
                        db.session.delete(tag)
                    db.session.delete(dashboard)
            """,
            expect=("DAO501 at 4:9", "DAO501 at 5:9", "DAO501 at 6:9"),
            remedy="""
            class DashboardDAO(BaseDAO):
                # Dashboard.slices, .owners and .tags declare cascade="all, delete-orphan" (and the
                # foreign keys ON DELETE CASCADE): deleting the dashboard removes what belongs to it
                @classmethod
                def delete(cls, dashboard):
                    db.session.delete(dashboard)
            """,
        ),
        Invalid(
            """
            class ReportDAO(BaseDAO):
                @staticmethod
                def bulk_delete(reports):
                    ids = [report.id for report in reports]
                    for report in reports:
                        report.recipients = []
                        report.owners = []
                        db.session.merge(report)
                    db.session.query(Report).filter(Report.id.in_(ids)).delete(synchronize_session="fetch")
            """,
            expect=("DAO501 at 6:13", "DAO501 at 7:13"),
            title="cleared in a loop, then deleted in bulk",
        ),
        Invalid(
            """
            def remove_board(board):
                board.moderators.clear()
                BoardDAO.delete(board)
            """,
            path="app/commands/boards.py",
            expect="DAO501 at 2:5",
            title="then deleted by a DAO",
        ),
        Invalid(
            """
            def purge_group(group_id):
                group = Group.get(group_id)
                members = db.session.query(Member).filter(Member.group_id == group.id)
                if members.count() > 0:
                    for member in members.all():
                        member.purge()
                    db.session.commit()
                group = Group.get(group_id)
                group.purge()
            """,
            path="app/commands/groups.py",
            expect="DAO501 at 6:13",
            title="the children found by their own query on the parent's key, deleted one by one, then the parent",
        ),
    ]

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        for cascade in manual_cascades(node.body, self._use, self._dao_method):
            for step in cascade.steps:
                self.report(step, parent=cascade.parent)

    def _use(self, call: cst.Call):  # noqa: ANN202
        return self.fact(SessionFacts, call)

    def _dao_method(self, call: cst.Call) -> Optional[str]:
        found = dao_call(self, call)
        return found[1] if found is not None else None
