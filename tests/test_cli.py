"""The command line: formats, options, exit codes, bad input."""
import json
import sys

import pytest
from click.testing import CliRunner

from dao_lint import __version__
from dao_lint.frontends.cli import cli

DAO = "class ChartDAO:\n    def create(self, chart):\n        db.session.add(chart)\n        db.session.commit()\n"
CLEAN = "def double(x):\n    return 2 * x\n"


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def project(in_tmp):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "chart_dao.py").write_text(DAO)
    (in_tmp / "app" / "util.py").write_text(CLEAN)
    return in_tmp


def test_exit_codes(project):
    assert run("check", "app/util.py").exit_code == 0
    assert run("check", "app").exit_code == 1
    assert run("check", "app", "--exit-zero").exit_code == 0
    assert run("check", "missing_dir").exit_code == 2


def test_text_output_is_plain_when_piped(project):
    result = run("check", "app")
    # (nothing calls the DAO: `fix` keeps its commit, so the summary promises no fix)
    assert result.output.splitlines() == [
        "app/chart_dao.py:4:9: DAO101 DAO `ChartDAO.create` commits; remove the commit and let the caller's "
        "unit of work commit (`with db.session.begin_nested():`)",
        "Found 1 problem in 1 file.",
    ]
    assert run("check", "app", "--quiet").output.count("\n") == 1


def test_text_output_on_a_terminal_has_source_and_colour(project):
    result = run("check", "app", "--color")
    assert "\x1b[" in result.output
    excerpt = result.output.split("commit-in-dao", 1)[1].split("Found")[0]
    assert "session" in excerpt and "commit" in excerpt  # the source line under the message
    assert "Found 1 problem in 1 file." in result.output


CHART_DAO = """
class ChartDAO:
    def save(self, chart, commit=True):
        db.session.add(chart)
        if commit:
            db.session.commit()

    def ping(self):
        db.session.refresh(self)

    def rename(self, chart_id, title):
        chart = db.session.get(Chart, chart_id)
        chart.title = title
        db.session.merge(chart)
"""
SAVE_COMMAND = """
from app.chart_dao import ChartDAO


class SaveChartCommand:
    def run(self, chart):
        ChartDAO().save(chart)
        db.session.commit()
"""


def test_the_summary_promises_what_fix_then_does(in_tmp):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "chart_dao.py").write_text(CHART_DAO.lstrip())
    (in_tmp / "app" / "commands.py").write_text(SAVE_COMMAND.lstrip())
    checked = run("check", "app", "--extend-select", "DAO111", "--no-cache").output.splitlines()[-1]
    # DAO401 safe; DAO101 (behind the flag) and DAO103 go together with --unsafe-fixes;
    # DAO301 would need a configured rename, DAO105/DAO107 a decorator, DAO111 has no fix
    assert checked == "Found 7 problems in 2 files (1 may be fixed by `dao-lint fix`, 2 more with `--unsafe-fixes`)."
    records = json.loads(run("check", "app", "--extend-select", "DAO111", "--no-cache", "--format", "json").output)
    assert sorted((r["code"], r["fix"]) for r in records if r["fixable"]) == [("DAO101", "unsafe"), ("DAO103", "unsafe"), ("DAO401", "safe")]
    safe = CliRunner().invoke(cli, ["fix", "app", "--diff", "--no-cache"])
    assert "would fix: DAO401 x1 in 1 file(s)" in safe.stderr
    unsafe = CliRunner().invoke(cli, ["fix", "app", "--diff", "--no-cache", "--unsafe-fixes"])
    assert "would fix: DAO101 x1, DAO103 x1, DAO401 x1 in 1 file(s)" in unsafe.stderr


def test_statistics(project):
    (project / "app" / "more_dao.py").write_text(DAO.replace("ChartDAO", "TagDAO"))
    result = run("check", "app", "--statistics")
    assert "     2  DAO101  commit-in-dao" in result.output


def test_json_output_keys_and_relative_paths(project):
    records = json.loads(run("check", str(project / "app"), "--format", "json").output)
    assert len(records) == 1
    assert set(records[0]) == {"path", "line", "column", "end_line", "end_column", "code", "name", "message", "fixable", "fix"}
    assert records[0]["path"] == "app/chart_dao.py"
    assert (records[0]["line"], records[0]["column"], records[0]["code"]) == (4, 9, "DAO101")
    assert (records[0]["end_line"], records[0]["end_column"]) == (4, 28)
    assert records[0]["fixable"] is False and records[0]["fix"] is None


def test_github_annotations(project):
    out = run("check", "app", "--format", "github").output.strip()
    assert out.startswith("::error file=app/chart_dao.py,line=4,col=9,endLine=4,endColumn=28,title=DAO101::DAO101 DAO `ChartDAO.create` commits")
    assert out.count("\n") == 0


def test_sarif_is_well_formed(project):
    sarif = json.loads(run("check", "app", "--format", "sarif").output)
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    (run_,) = sarif["runs"]
    driver = run_["tool"]["driver"]
    ids = [r["id"] for r in driver["rules"]]
    assert "DAO101" in ids and "DAO001" in ids and len(ids) == len(set(ids))
    for rule in driver["rules"]:
        assert rule["name"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["helpUri"].startswith("https://") and rule["helpUri"].endswith(f"{rule['id']}.md")
    (result,) = run_["results"]
    assert result["ruleId"] == "DAO101" and ids[result["ruleIndex"]] == "DAO101"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "app/chart_dao.py"
    assert location["region"]["startLine"] == 4 and location["region"]["startColumn"] == 9


def test_output_file(project):
    assert run("check", "app", "--format", "json", "--output-file", "report.json").exit_code == 1
    assert json.loads((project / "report.json").read_text())[0]["code"] == "DAO101"


def test_select_ignore_and_prefixes(project):
    assert run("check", "app", "--ignore", "DAO101").exit_code == 0
    assert run("check", "app", "--select", "DAO2").exit_code == 0
    assert run("check", "app", "--select", "DAO2", "--extend-select", "DAO10").exit_code == 1
    assert run("check", "app", "--ignore", "DAO1").exit_code == 0


def test_unknown_code_is_a_usage_error(project):
    result = run("check", "app", "--select", "XYZ123")
    assert result.exit_code == 2
    assert "unknown code 'XYZ123'" in result.output
    assert "Traceback" not in result.output


def test_version():
    assert __version__ in run("--version").output


def test_rules_and_rule_pages():
    listing = run("rules").output
    for code in ("DAO101", "DAO102", "DAO103", "DAO104", "DAO105", "DAO201", "DAO202", "DAO301"):
        assert code in listing
    rows = json.loads(run("rules", "--format", "json").output)
    assert {r["code"] for r in rows} >= {"DAO101", "DAO301"}
    page = run("rule", "dao101").output
    assert page.startswith("# commit-in-dao (DAO101)")
    assert "## Use instead" in page
    assert run("rule", "DAO999").exit_code == 2


def test_bad_files_are_diagnostics_and_the_run_goes_on(in_tmp):
    (in_tmp / "broken.py").write_text("def f(:\n    pass\n")
    (in_tmp / "latin.py").write_bytes(b"x = '\xff\xfe'\n")
    (in_tmp / "binary.py").write_bytes(b"\x00\x01\x02 session")
    (in_tmp / "bad_cookie.py").write_bytes(b"# -*- coding: klingon -*-\nx = 1\n")
    (in_tmp / "good_dao.py").write_text(DAO)
    result = run("check", ".", "--format", "json")
    assert result.exit_code == 1
    found = {(r["path"], r["code"], r["line"]) for r in json.loads(result.output)}
    assert found == {
        ("bad_cookie.py", "DAO002", 1),
        ("binary.py", "DAO002", 1),
        ("broken.py", "DAO001", 1),
        ("good_dao.py", "DAO101", 4),
        ("latin.py", "DAO002", 1),
    }
    assert "Traceback" not in result.output


def test_syntax_error_position_in_a_file_with_sessions(in_tmp):
    text = "db.session.commit()\n\nx = (1,\ndef\n"
    (in_tmp / "views.py").write_text(text)
    records = json.loads(run("check", "views.py", "--format", "json").output)
    try:
        compile(text, "views.py", "exec")
    except SyntaxError as error:  # CPython's own position (3.10+ says where the bracket opened)
        expected = (error.lineno, error.offset)
    assert [(r["code"], r["line"], r["column"]) for r in records] == [("DAO001", *expected)]
    if sys.version_info >= (3, 10):
        assert "never closed" in records[0]["message"]


def test_default_excludes_and_explicit_files(in_tmp):
    for directory in (".venv/lib", "build", "node_modules/x", "pkg/__pycache__"):
        (in_tmp / directory).mkdir(parents=True)
        (in_tmp / directory / "chart_dao.py").write_text(DAO)
    assert run("check", ".").exit_code == 0
    assert run("check", ".venv/lib/chart_dao.py").exit_code == 1


def test_gitignored_files_are_skipped(in_tmp):
    import subprocess

    subprocess.run(["git", "init", "-q"], check=True)
    (in_tmp / ".gitignore").write_text("generated/\n")
    (in_tmp / "generated").mkdir()
    (in_tmp / "generated" / "chart_dao.py").write_text(DAO)
    assert run("check", ".").exit_code == 0
    (in_tmp / "chart_dao.py").write_text(DAO)
    assert run("check", ".").exit_code == 1


def test_extend_exclude_from_config(in_tmp):
    (in_tmp / "pyproject.toml").write_text('[tool.dao-lint]\nextend-exclude = ["legacy"]\n')
    (in_tmp / "legacy").mkdir()
    (in_tmp / "legacy" / "chart_dao.py").write_text(DAO)
    assert run("check", ".").exit_code == 0


def test_github_actions_get_annotations_unless_a_format_is_chosen(project, monkeypatch):
    from click.testing import CliRunner

    from dao_lint.frontends.cli import cli

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    output = CliRunner().invoke(cli, ["check", str(project), "--jobs", "1", "--no-cache"]).output
    lines = output.splitlines()
    assert any(line.startswith("::error file=") and "DAO101" in line for line in lines)
    assert any(": DAO101 " in line and not line.startswith("::") for line in lines)  # the text report too
    as_json = CliRunner().invoke(cli, ["check", str(project), "--jobs", "1", "--no-cache", "--format", "json"]).output
    assert "::error" not in as_json
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert "::error" not in CliRunner().invoke(cli, ["check", str(project), "--jobs", "1", "--no-cache"]).output


def test_python_warnings_about_the_checked_code_are_not_printed(in_tmp):
    import subprocess
    import sys

    (in_tmp / "odd.py").write_text('x = 1 is 1\ny = 5()\npath = "\\d"\n\n\ndef show():\n    return db.session.query(Chart).all()\n')
    done = subprocess.run([sys.executable, "-W", "default", "-m", "dao_lint", "check", "odd.py", "--no-cache"], capture_output=True, text=True)
    assert done.returncode == 1 and "DAO202" in done.stdout
    assert "Warning" not in done.stderr


def test_a_message_is_one_line_even_when_it_quotes_a_multi_line_key(in_tmp):
    (in_tmp / "app" / "daos").mkdir(parents=True)
    (in_tmp / "app" / "daos" / "chart.py").write_text(
        'class ChartDAO(BaseDAO):\n    @classmethod\n    def update(cls, chart, properties):\n'
        '        chart.name = properties.get("""name\nof chart""")\n'
    )
    result = run("check", "app", "--no-cache")
    lines = [line for line in result.output.splitlines() if line.startswith("app/")]
    assert lines == [
        "app/daos/chart.py:4:9: DAO801 `chart.name` is overwritten even when `name of chart` is absent "
        "(`.get()` gives an empty value); update only the attributes given"
    ]


def test_the_summary_counts_only_findings_fix_can_fix(in_tmp):
    """A write in a loop is fixed only in its plain shape (`for x in xs: session.add(x)`):
    the conditional delete is reported, but not promised to `fix`."""
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "jobs.py").write_text(
        "def purge(session, rows):\n    for row in rows:\n        if row.stale:\n            session.delete(row)\n\n\n"
        "def store(session, rows):\n    for row in rows:\n        session.add(row)\n"
    )
    result = CliRunner().invoke(cli, ["check", "app", "--select", "DAO701", "--no-cache"])
    assert result.output.strip().splitlines()[-1] == "Found 2 problems in 1 file (1 may be fixed by `dao-lint fix`)."
    fixed = CliRunner().invoke(cli, ["fix", "app", "--select", "DAO701", "--no-cache", "--diff"])
    assert "DAO701 x1" in fixed.output


def test_fix_says_why_it_leaves_dao105_without_a_transaction_decorator(in_tmp):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "jobs.py").write_text("def nightly():\n    db.session.add(Report())\n    db.session.commit()\n")
    unsafe = CliRunner().invoke(cli, ["fix", "app", "--unsafe-fixes", "--diff", "--no-cache"])
    assert "not done: DAO105 x1" in unsafe.output and "transaction-decorator" in unsafe.output
    (in_tmp / "app" / "utils.py").write_text(
        "def transaction(func):\n    def wrapped(*a, **k):\n        result = func(*a, **k)\n        db.session.commit()\n"
        "        return result\n    return wrapped\n"
    )
    (in_tmp / "pyproject.toml").write_text('[tool.dao-lint]\ntransaction-decorator = "app.utils.transaction"\n')
    configured = CliRunner().invoke(cli, ["fix", "app", "--unsafe-fixes", "--diff", "--no-cache"])
    assert "not done: DAO105" not in configured.output
    # without --unsafe-fixes DAO105 is not attempted: nothing to explain
    assert "not done" not in CliRunner().invoke(cli, ["fix", "app", "--diff", "--no-cache"]).output


def test_the_summary_promises_dao105_only_where_a_transaction_decorator_is_configured(in_tmp):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "jobs.py").write_text(
        "def nightly():\n    refresh()\n\n\ndef refresh():\n    db.session.add(Report())\n    db.session.commit()\n"
    )
    (in_tmp / "pyproject.toml").write_text('[tool.dao-lint]\nboundaries = ["app/jobs.py::nightly"]\n')
    plain = CliRunner().invoke(cli, ["check", "app", "--select", "DAO105", "--no-cache"])
    assert plain.output.strip().splitlines()[-1] == "Found 1 problem in 1 file."
    (in_tmp / "pyproject.toml").write_text('[tool.dao-lint]\nboundaries = ["app/jobs.py::nightly"]\ntransaction-decorator = "app.utils.transaction"\n')
    (in_tmp / "app" / "utils.py").write_text(
        "def transaction(func):\n    def wrapped(*args):\n        result = func(*args)\n        db.session.commit()\n        return result\n\n    return wrapped\n"
    )
    configured = CliRunner().invoke(cli, ["check", "app", "--select", "DAO105", "--no-cache"])
    assert configured.output.strip().splitlines()[-1] == "Found 1 problem in 1 file (1 may be fixed by `dao-lint fix --unsafe-fixes`)."
