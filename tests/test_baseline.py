"""Baselines: only new findings fail; edits elsewhere keep entries; the file only shrinks."""
import json


from dao_lint.frontends.cli import cli
from .conftest import cli_runner

DAO = """\
class ChartDAO:
    def create(self, chart):
        db.session.add(chart)
        db.session.commit()

    def delete(self, chart):
        db.session.delete(chart)
        db.session.commit()
"""


def run(*args):
    result = cli_runner().invoke(cli, ["check", "app", "--format", "json", "--jobs", "1", *args])
    assert result.exit_code in (0, 1), result.stderr
    found = {(r["path"], r["line"], r["code"]) for r in json.loads(result.stdout)}
    return result.exit_code, found, result.stderr


def project(root):
    (root / "app" / "daos").mkdir(parents=True)
    target = root / "app" / "daos" / "chart.py"
    target.write_text(DAO)
    return target


def test_write_then_check_exits_zero_and_new_findings_fail(in_tmp):
    target = project(in_tmp)
    code, found, _ = run("--write-baseline", "baseline.json")
    assert code == 0 and found == set()
    data = json.loads((in_tmp / "baseline.json").read_text())
    assert [(f["code"], f["function"], f["text"], f["count"]) for f in data["findings"]] == [
        ("DAO101", "ChartDAO.create", "db.session.commit()", 1),
        ("DAO101", "ChartDAO.delete", "db.session.commit()", 1),
    ]
    assert run("--baseline", "baseline.json")[:2] == (0, set())
    # a new commit in a DAO: only that one is reported
    target.write_text(DAO + "\n    def update(self, chart):\n        db.session.merge(chart)\n        db.session.commit()\n")
    assert run("--baseline", "baseline.json")[:2] == (1, {("app/daos/chart.py", 12, "DAO101")})


def test_inserting_lines_above_keeps_the_baseline_valid(in_tmp):
    target = project(in_tmp)
    run("--write-baseline", "baseline.json")
    target.write_text('"""Charts."""\nimport logging\n\nlog = logging.getLogger(__name__)\n\n\n' + DAO.replace("    def delete", "    # removes a chart\n    def delete"))
    assert run("--baseline", "baseline.json")[:2] == (0, set())


def test_the_same_statement_twice_is_counted(in_tmp):
    target = project(in_tmp)
    run("--write-baseline", "baseline.json")
    target.write_text(DAO.replace("        db.session.commit()\n\n    def delete", "        db.session.commit()\n        db.session.commit()\n\n    def delete"))
    code, found, _ = run("--baseline", "baseline.json")
    # one of the two commits is known; the other is new (and makes a split unit of work)
    assert code == 1 and found == {("app/daos/chart.py", 5, "DAO101"), ("app/daos/chart.py", 5, "DAO107")}


def test_a_fixed_finding_is_announced_and_write_baseline_only_shrinks(in_tmp):
    target = project(in_tmp)
    run("--write-baseline", "baseline.json")
    target.write_text(DAO.replace("        db.session.delete(chart)\n        db.session.commit()\n", "        db.session.delete(chart)\n"))
    code, _, stderr = run("--baseline", "baseline.json")
    assert code == 0 and "1 baselined finding(s) no longer occur" in stderr
    # a new finding appears too: shrinking drops the fixed entry and does not add the new one
    target.write_text(target.read_text() + "\n    def update(self, chart):\n        db.session.merge(chart)\n        db.session.commit()\n")
    code, found, stderr = run("--write-baseline", "baseline.json")
    assert code == 1 and found == {("app/daos/chart.py", 11, "DAO101")}
    assert "1 finding(s) removed, 1 kept" in stderr
    assert len(json.loads((in_tmp / "baseline.json").read_text())["findings"]) == 1
    # `dao-lint baseline` records everything on purpose
    result = cli_runner().invoke(cli, ["baseline", "baseline.json", "app", "--jobs", "1"])
    assert result.exit_code == 0 and "recorded 2 finding(s)" in result.output
    assert run("--baseline", "baseline.json")[:2] == (0, set())


def test_the_configured_baseline_applies_and_sarif_marks_states(in_tmp):
    target = project(in_tmp)
    run("--write-baseline", "baseline.json")
    (in_tmp / "pyproject.toml").write_text('[tool.dao-lint]\nbaseline = "baseline.json"\n')
    assert run()[:2] == (0, set())
    target.write_text(DAO + "\n    def update(self, chart):\n        db.session.merge(chart)\n        db.session.commit()\n")
    result = cli_runner().invoke(cli, ["check", "app", "--format", "sarif", "--jobs", "1"])
    assert result.exit_code == 1
    states = sorted((r["locations"][0]["physicalLocation"]["region"]["startLine"], r["baselineState"]) for r in json.loads(result.stdout)["runs"][0]["results"])
    assert states == [(4, "unchanged"), (8, "unchanged"), (12, "new")]


def test_a_broken_baseline_is_a_clear_error(in_tmp):
    project(in_tmp)
    (in_tmp / "baseline.json").write_text("{not json")
    result = cli_runner().invoke(cli, ["check", "app", "--baseline", "baseline.json"])
    assert result.exit_code == 2
    assert "baseline.json: not a dao-lint baseline" in result.stderr and "Traceback" not in result.stderr


def test_checking_some_files_neither_drops_nor_announces_the_others(in_tmp):
    project(in_tmp)
    (in_tmp / "app" / "views.py").write_text("def show():\n    return db.session.query(Chart).all()\n")
    run("--write-baseline", "baseline.json")
    assert len(json.loads((in_tmp / "baseline.json").read_text())["findings"]) == 3
    only = cli_runner().invoke(cli, ["check", "app/views.py", "--write-baseline", "baseline.json", "--jobs", "1"])
    assert only.exit_code == 0 and "0 finding(s) removed, 3 kept" in only.stderr
    assert "no longer occur" not in cli_runner().invoke(cli, ["check", "app/views.py", "--baseline", "baseline.json"]).stderr
