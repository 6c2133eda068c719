"""Direct tests of the DAO/test/boundary decisions."""
import textwrap

import libcst as cst
from libcst.metadata import MetadataWrapper

from dao_lint.analysis import DaoFacts, FileContext, FileContextProvider
from dao_lint.foundations.config import Config


def scopes(source, path, config=None):
    module = cst.parse_module(textwrap.dedent(source))
    context = FileContext.for_path(path, config or Config())
    wrapper = MetadataWrapper(module, cache={FileContextProvider: context})
    return {
        scope.qualname: scope
        for node, scope in wrapper.resolve(DaoFacts).items()
        if isinstance(node, cst.FunctionDef)
    }


def test_dao_by_class_name_base_and_module():
    source = """
    class ChartDAO:
        def a(self): ...
    class Reports(BaseDAO[Report]):
        def b(self): ...
    class Special(Reports):
        def c(self): ...
    class Form:
        def d(self): ...
    """
    found = scopes(source, "app/views.py")
    assert found["ChartDAO.a"].in_dao and found["ChartDAO.a"].dao_class
    assert found["Reports.b"].in_dao
    assert found["Special.c"].in_dao  # derives from a DAO defined in the same file
    assert not found["Form.d"].in_dao
    assert scopes("def e(): ...", "app/daos/chart.py")["e"].in_dao
    assert scopes("def e(): ...", "app/repositories/chart.py")["e"].in_dao
    assert not scopes("def e(): ...", "app/services/chart.py")["e"].in_dao


def test_configured_dao_patterns():
    config = Config(dao_classes=("*Store",), dao_base_classes=("Repository",), dao_modules=("app/data/**",))
    found = scopes("class ChartStore:\n    def a(self): ...\nclass X(Repository):\n    def b(self): ...", "app/x.py", config)
    assert found["ChartStore.a"].in_dao and found["X.b"].in_dao
    assert scopes("def e(): ...", "app/data/x.py", config)["e"].in_dao
    assert not scopes("def e(): ...", "app/daos/x.py", config)["e"].in_dao


def test_boundaries_by_pattern_and_decorator():
    source = """
    from app.utils import transaction

    class CreateChartCommand:
        def run(self): ...
        def validate(self): ...

    @transaction()
    def import_dashboards(): ...
    """
    config = Config(transaction_decorator="app.utils.transaction")
    found = scopes(source, "app/commands/chart.py", config)
    assert found["CreateChartCommand.run"].in_boundary
    assert not found["CreateChartCommand.validate"].in_boundary
    assert found["import_dashboards"].in_boundary
    assert not scopes(source, "app/commands/chart.py")["import_dashboards"].in_boundary


def test_tests_and_migration_modules():
    assert scopes("def test_a(): ...", "tests/test_a.py")["test_a"].in_test
    assert scopes("def test_a(): ...", "pkg/test_a.py")["test_a"].in_test
    assert not scopes("def a(): ...", "pkg/a.py")["a"].in_test
    assert scopes("def upgrade(): ...", "app/migrations/versions/1.py")["upgrade"].migration_module
