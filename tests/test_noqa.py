"""`# noqa` with flake8's semantics."""
from dao_lint.api import lint_source
from dao_lint.foundations.suppress import NoqaMap


def codes(source, path="app/daos/chart.py"):
    return [(d.code, d.line) for d in lint_source(source, path) if d.code in ("DAO101", "DAO103")]


BASE = "class ChartDAO:\n    def create(self, chart, commit=True):\n        db.session.commit(){}\n        chart.saved = True\n"


def test_blanket_and_specific_noqa():
    assert codes(BASE.format("")) == [("DAO103", 2), ("DAO101", 3)]
    assert codes(BASE.format("  # noqa")) == [("DAO103", 2)]
    assert codes(BASE.format("  # noqa: DAO101")) == [("DAO103", 2)]
    assert codes(BASE.format("  # NOQA:DAO101,DAO103")) == [("DAO103", 2)]
    assert codes(BASE.format("  # noqa: DAO1")) == [("DAO103", 2)]
    assert codes(BASE.format("  # noqa: DAO102")) == [("DAO103", 2), ("DAO101", 3)]
    assert codes(BASE.format("  # noqa: E501")) == [("DAO103", 2), ("DAO101", 3)]


def test_multi_line_statement_is_suppressed_from_its_first_line():
    source = (
        "class ChartDAO:\n"
        "    def create(  # noqa: DAO103\n"
        "        self,\n"
        "        chart,\n"
        "        commit=True,\n"
        "    ):\n"
        "        x = foo(  # noqa: DAO101\n"
        "            db.session.commit()\n"
        "        )\n"
        "        y = foo(\n"
        "            db.session.commit()\n"
        "        )  # noqa\n"
        "        db.session.commit()\n"
    )
    # a comment on the statement's last line covers only that line, as in flake8
    assert codes(source) == [("DAO101", 11), ("DAO101", 13)]


def test_noqa_map_lines():
    noqa = NoqaMap("x = (  # noqa: A1\n  1,\n)\ny = 2\ns = \"\"\"\nabc\n\"\"\"  # noqa: B2\n")
    assert noqa.suppresses(1, "A1") and noqa.suppresses(2, "A1") and noqa.suppresses(3, "A1")
    assert not noqa.suppresses(4, "A1")
    assert not noqa.suppresses(1, "B1")
    assert noqa.suppresses(5, "B2") and noqa.suppresses(6, "B2") and noqa.suppresses(7, "B2")
