"""Where the conflict is already caught, a check-then-write has R6's remedy (analysis/conflicts.py):
a private helper counts as caught only when every caller in the module runs it that way."""
import textwrap

from dao_lint.testing import found_in

SCOPE = '''
@contextmanager
def scoped(ignore_conflict=False):
    session = Session()
    try:
        yield session
        session.commit()
    except IntegrityError:
        session.rollback()


class Storage:
    def _set_value(self, session, trial_id, value):
        row = session.query(Value).filter_by(trial_id=trial_id).first()
        if row is None:
            session.add(Value(trial_id=trial_id, value=value))
'''


def _dao601(source):
    return [f for f in found_in(textwrap.dedent(source), "app/storage.py") if f.startswith("DAO601")]


def test_a_helper_every_caller_runs_where_the_conflict_is_caught():
    assert _dao601(SCOPE + '''
    def set_value(self, trial_id, value):
        with scoped(True) as session:
            self._set_value(session, trial_id, value)

    def create_trial(self, value):
        with scoped() as session:
            self._create(session, value)

    def _create(self, session, value):
        self._set_value(session, 1, value)
''') == []


def test_a_helper_with_one_caller_outside_the_catch_is_reported():
    assert _dao601(SCOPE + '''
    def set_value(self, trial_id, value):
        with scoped(True) as session:
            self._set_value(session, trial_id, value)

    def set_value_plainly(self, session, trial_id, value):
        self._set_value(session, trial_id, value)
''') == ["DAO601 at 14:15"]


def test_a_helper_no_one_in_the_module_calls_is_reported():
    # no caller found is not every caller covered
    assert _dao601(SCOPE) == ["DAO601 at 14:15"]


def test_a_scope_that_does_not_catch_the_conflict_is_no_remedy():
    source = SCOPE.replace("except IntegrityError:", "except OperationalError:") + '''
    def set_value(self, trial_id, value):
        with scoped(True) as session:
            self._set_value(session, trial_id, value)
'''
    assert _dao601(source) == ["DAO601 at 14:15"]
