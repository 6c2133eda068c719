"""The result cache: hits, and every way it must miss."""
import json
import os


from dao_lint.frontends.cli import cli
from .conftest import cli_runner

DAO = "class ChartDAO:\n    def create(self, chart):\n        db.session.add(chart)\n        db.session.commit()\n"


def check(*args):
    result = cli_runner().invoke(cli, ["check", "app", "--format", "json", "--jobs", "1", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return {(r["path"], r["line"], r["code"]) for r in json.loads(result.output)}


def entries(root, prefix=""):
    """The per-file entries (or, with prefix="run-", the run records) in the cache."""
    found = []
    for directory, _, files in os.walk(root / ".dao_lint_cache"):
        # (project-wide records, such as the session sketches, are neither)
        found += [f for f in files if f.endswith(".pickle") and f.startswith("run-") == (prefix == "run-") and (prefix or len(f) == 64 + 7)]
    return found


def forbid_parsing(monkeypatch):
    from dao_lint.checking import engine

    def no_parsing(*args, **kwargs):
        raise AssertionError("a warm run parsed a file")

    monkeypatch.setattr(engine, "check_source", no_parsing)


def test_warm_run_reuses_results_and_the_directory_is_gitignored(in_tmp, monkeypatch):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "chart_dao.py").write_text(DAO)
    first = check()
    assert first == {("app/chart_dao.py", 4, "DAO101")}
    assert len(entries(in_tmp)) == 1
    assert len(entries(in_tmp, "run-")) == 2  # the record and its detail
    assert (in_tmp / ".dao_lint_cache" / ".gitignore").read_text().strip().endswith("*")
    forbid_parsing(monkeypatch)
    assert check() == first


def test_the_run_record_alone_answers_a_warm_run(in_tmp, monkeypatch):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "chart_dao.py").write_text(DAO)
    (in_tmp / "app" / "views.py").write_text("def show():\n    return db.session.query(Chart).all()\n")
    first = check()
    assert first == {("app/chart_dao.py", 4, "DAO101"), ("app/views.py", 2, "DAO202")}
    for directory, _, files in os.walk(in_tmp / ".dao_lint_cache"):
        for name in files:
            if name.endswith(".pickle") and not name.startswith("run-"):
                os.unlink(os.path.join(directory, name))
    forbid_parsing(monkeypatch)
    assert check() == first


def test_one_edited_file_is_checked_again_the_others_come_from_the_record(in_tmp, monkeypatch):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "chart_dao.py").write_text(DAO)
    (in_tmp / "app" / "views.py").write_text("def show():\n    return db.session.query(Chart).all()\n")
    check()
    from dao_lint.checking import engine

    checked = []
    real = engine.check_source

    def spy(source, path, *args, **kwargs):
        checked.append(os.path.basename(path))
        return real(source, path, *args, **kwargs)

    monkeypatch.setattr(engine, "check_source", spy)
    (in_tmp / "app" / "views.py").write_text("def show():\n    return db.session.query(Chart).all()  # noqa: DAO202\n")
    assert check() == {("app/chart_dao.py", 4, "DAO101")}
    assert checked == ["views.py"]


def test_editing_a_file_misses(in_tmp):
    (in_tmp / "app").mkdir()
    target = in_tmp / "app" / "chart_dao.py"
    target.write_text(DAO)
    check()
    target.write_text(DAO.replace("db.session.commit()", "db.session.flush()"))
    assert check() == set()


def test_changing_the_configuration_misses(in_tmp):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "chart_dao.py").write_text(DAO)
    assert check()
    (in_tmp / "pyproject.toml").write_text('[tool.dao-lint]\ndao-classes = ["*Store"]\ndao-modules = ["nothing/**"]\n')
    assert {code for _, _, code in check()} == {"DAO105", "DAO201"}  # no longer a DAO: session use outside one


def test_selected_codes_are_part_of_the_key(in_tmp):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "chart_dao.py").write_text(DAO)
    assert check("--ignore", "DAO101") == set()
    assert check() == {("app/chart_dao.py", 4, "DAO101")}


def test_a_new_version_misses(in_tmp, monkeypatch):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "chart_dao.py").write_text(DAO)
    check()
    import dao_lint.running.cache

    monkeypatch.setattr(dao_lint.running.cache, "__version__", "999.0")
    check()
    assert len(entries(in_tmp)) == 2
    assert len(entries(in_tmp, "run-")) == 4


def test_editing_a_module_a_cross_file_fact_depends_on(in_tmp):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "helpers.py").write_text("def save_all():\n    db.session.flush()\n")
    (in_tmp / "app" / "chart_dao.py").write_text(
        "from app.helpers import save_all\n\n\nclass ChartDAO:\n    def create(self, chart):\n        save_all()\n"
    )
    assert not any(code == "DAO101" for _, _, code in check())
    # the helper starts committing: the DAO that calls it (unchanged file) must now be flagged
    (in_tmp / "app" / "helpers.py").write_text("def save_all():\n    db.session.commit()\n")
    found = check()
    assert ("app/chart_dao.py", 6, "DAO101") in found


def test_a_corrupt_cache_is_treated_as_empty(in_tmp):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "chart_dao.py").write_text(DAO)
    first = check()
    for directory, _, files in os.walk(in_tmp / ".dao_lint_cache"):
        for name in files:
            if name.endswith(".pickle"):
                with open(os.path.join(directory, name), "wb") as handle:
                    handle.write(b"\x80\x04 not a pickle")
    assert check() == first


def test_no_cache_and_clean(in_tmp):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "chart_dao.py").write_text(DAO)
    check("--no-cache")
    assert not (in_tmp / ".dao_lint_cache").exists()
    check("--cache-dir", "elsewhere")
    assert (in_tmp / "elsewhere").is_dir() and not (in_tmp / ".dao_lint_cache").exists()
    check()
    result = cli_runner().invoke(cli, ["clean"])
    assert result.exit_code == 0 and "removed" in result.output
    assert not (in_tmp / ".dao_lint_cache").exists()


def test_a_change_to_dao_lint_itself_misses(in_tmp, monkeypatch):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "chart_dao.py").write_text(DAO)
    check()
    from dao_lint.running import cache

    monkeypatch.setattr(cache, "_CODE", ["another build of dao-lint"])
    check()
    assert len(entries(in_tmp)) == 2


def test_a_project_starting_to_use_savepoints_revisits_its_sqlite_engine(in_tmp):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "db.py").write_text('from sqlalchemy import create_engine\n\nengine = create_engine("sqlite:///app.db")\n')
    (in_tmp / "app" / "daos").mkdir()
    users = in_tmp / "app" / "daos" / "users.py"
    users.write_text("def add(session, user):\n    session.add(user)\n")
    assert check() == set()  # no begin_nested() anywhere: the SQLite quirk does not matter
    # only another file changes; the engine's file (unchanged) must now be flagged
    users.write_text("def add(session, user):\n    with session.begin_nested():\n        session.add(user)\n")
    assert check() == {("app/db.py", 3, "DAO112")}
    users.write_text("def add(session, user):\n    session.add(user)\n")
    assert check() == set()


def test_an_edit_that_keeps_the_summary_reuses_every_cross_file_finding(in_tmp, monkeypatch):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "helpers.py").write_text("def save_all():\n    db.session.commit()\n")
    dao = in_tmp / "app" / "chart_dao.py"
    dao.write_text("from app.helpers import save_all\n\n\nclass ChartDAO:\n    def create(self, chart):\n        save_all()\n")
    first = check()
    assert ("app/chart_dao.py", 6, "DAO101") in first
    from dao_lint.running.cache import RunRecord

    rebuilt = []
    real = RunRecord.own
    monkeypatch.setattr(RunRecord, "own", lambda self, path: rebuilt.append(path) or real(self, path))
    dao.write_text(dao.read_text() + "# a comment at the end changes no summary\n")
    assert check() == first
    assert rebuilt == []  # the project index was not rebuilt
    dao.write_text(dao.read_text().replace("        save_all()\n", "        save_all()  # noqa: DAO101\n"))
    assert check() == first - {("app/chart_dao.py", 6, "DAO101")}
    assert rebuilt == []  # a `# noqa` changes the report, not the summary
    dao.write_text(dao.read_text().replace("        save_all()  # noqa: DAO101\n", "        pass\n"))
    assert check() == first - {("app/chart_dao.py", 6, "DAO101")}
    assert rebuilt == ["app/helpers.py"]  # the call is gone: the index was built again


def test_lines_inserted_above_move_cross_file_findings_without_rebuilding_the_index(in_tmp, monkeypatch):
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "helpers.py").write_text("def save_all():\n    db.session.commit()\n")
    dao = in_tmp / "app" / "chart_dao.py"
    body = "class ChartDAO:\n    def create(self, chart):\n        save_all()\n        if chart:\n            save_all()\n"
    dao.write_text("from app.helpers import save_all\n\n\n" + body)
    first = check()
    assert {("app/chart_dao.py", 6, "DAO101"), ("app/chart_dao.py", 8, "DAO101")} <= first
    from dao_lint.running.cache import RunRecord

    rebuilt = []
    real = RunRecord.own
    monkeypatch.setattr(RunRecord, "own", lambda self, path: rebuilt.append(path) or real(self, path))
    dao.write_text('"""Charts."""\n# two lines above\nfrom app.helpers import save_all\n\n\n' + body)
    moved = check()
    assert {("app/chart_dao.py", 8, "DAO101"), ("app/chart_dao.py", 10, "DAO101")} <= moved
    assert not any(path == "app/chart_dao.py" and line in (6,) for path, line, _ in moved)
    assert rebuilt == []
    # the same answer as a run without the cache
    result = cli_runner().invoke(cli, ["check", "app", "--format", "json", "--jobs", "1", "--no-cache"])
    assert moved == {(r["path"], r["line"], r["code"]) for r in json.loads(result.stdout)}


def test_the_run_record_answers_whatever_spelling_of_the_paths(in_tmp, monkeypatch):
    """`check .` records `app/x.py`; the flake8 plugin asks for `/abs/app/x.py` (and the
    other way round): the same files in the same directory, so the record answers."""
    from dao_lint.api import lint_project_cached
    from dao_lint.foundations.config import ConfigResolver
    from dao_lint.running.discovery import collect_files

    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "chart_dao.py").write_text(DAO)
    (in_tmp / "app" / "plain.py").write_text("VALUE = 1\n")
    first = check()
    absolute = collect_files([str(in_tmp)], ConfigResolver())
    assert absolute and all(os.path.isabs(path) for path, _ in absolute)
    answer = lint_project_cached(absolute, None, None, recorded_only=True)
    assert answer is not None
    results, _ = answer
    assert {(r.path, d.line, d.code) for r in results.values() for d in r.diagnostics} == first
    forbid_parsing(monkeypatch)
    assert check() == first
