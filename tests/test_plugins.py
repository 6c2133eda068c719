"""The flake8 plugin class and the pre-commit hook manifest."""

import subprocess
import sys

from dao_lint.frontends.flake8_plugin import DaoLintPlugin

from .conftest import ROOT


def test_flake8_plugin_reports_codes_and_positions(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configuration: the project is the current directory
    lines = ["class ChartDAO:\n", "    def create(self, chart):\n", "        chart.ready = True\n", "        db.session.commit()\n"]
    found = list(DaoLintPlugin(None, lines, str(tmp_path / "a.py")).run())
    assert [(line, col, text.split()[0]) for line, col, text, _ in found] == [(4, 8, "DAO101")]
    assert found[0][3] is DaoLintPlugin


def test_flake8_plugin_reads_the_project_config(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.dao-lint]\nignore = ["DAO101"]\n')
    lines = ["class ChartDAO:\n", "    def create(self, chart):\n", "        db.session.commit()\n"]
    import dao_lint.frontends.flake8_plugin as plugin

    plugin._resolver = None
    assert list(DaoLintPlugin(None, lines, str(tmp_path / "a.py")).run()) == []


def test_flake8_plugin_is_silent_on_files_without_sessions(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert list(DaoLintPlugin(None, ["x = 1\n"], str(tmp_path / "a.py")).run()) == []


def _project(root):
    (root / "app").mkdir()
    (root / "app" / "helpers.py").write_text("def save_all():\n    db.session.commit()\n")
    dao = root / "app" / "chart_dao.py"
    dao.write_text("from app.helpers import save_all\n\n\nclass ChartDAO:\n    def create(self, chart):\n        save_all()\n")
    return dao


def _codes(found):
    return [(line, text.split()[0]) for line, _, text, _ in found]


def test_flake8_plugin_answers_saved_files_from_the_project_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dao = _project(tmp_path)
    from dao_lint.checking import engine
    from dao_lint.frontends import editor, flake8_plugin

    monkeypatch.setattr(flake8_plugin, "_resolver", None)  # rooted at this test's directory
    monkeypatch.setattr(editor, "_RESULTS", {})
    lines = dao.read_text().splitlines(keepends=True)
    assert _codes(DaoLintPlugin(None, lines, str(dao)).run()) == [(6, "DAO101")]  # through the helper
    # another flake8 process: the recorded run answers, nothing is parsed
    monkeypatch.setattr(editor, "_RESULTS", {})
    monkeypatch.setattr(engine, "check_source", lambda *a, **k: (_ for _ in ()).throw(AssertionError("parsed")))
    assert _codes(DaoLintPlugin(None, lines, str(dao)).run()) == [(6, "DAO101")]


def test_flake8_plugin_checks_an_unsaved_buffer_itself(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dao = _project(tmp_path)
    from dao_lint.frontends import editor, flake8_plugin

    monkeypatch.setattr(flake8_plugin, "_resolver", None)
    monkeypatch.setattr(editor, "_RESULTS", {})
    monkeypatch.setattr(editor, "_PROJECTS", {})
    edited = dao.read_text().replace("        save_all()\n", "        save_all()\n        db.session.rollback()\n")
    found = _codes(DaoLintPlugin(None, edited.splitlines(keepends=True), str(dao)).run())
    assert found == [(6, "DAO101"), (7, "DAO102")]  # the buffer's own finding, and the project's


def test_pre_commit_manifest_is_valid():
    from pre_commit.clientlib import load_manifest

    check, fix = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert check["id"] == "dao-lint" and check["entry"] == "dao-lint check"
    assert fix["id"] == "dao-lint-fix" and fix["entry"] == "dao-lint fix"
    for hook in (check, fix):
        assert hook["types"] == ["python"]
        assert hook["language"] == "python"
        # one process that sees the whole project and parallelises itself
        assert hook["require_serial"] is True
    assert fix["pass_filenames"] is True  # fixes only the staged files


def _flake8_stdin(cwd, display_name, buffer):
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "DAO", "--stdin-display-name", display_name, "-"],
        cwd=cwd, input=buffer, capture_output=True, text=True, check=False,
    )
    assert run.returncode in (0, 1), run.stderr
    return sorted((int(line.split(":")[1]), line.split()[1]) for line in run.stdout.splitlines() if line.strip())


def _editor_project(tmp_path):
    import shutil

    from .conftest import SAMPLE

    root = tmp_path / "app"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".dao_lint_cache", "__pycache__"))
    return root


def test_flake8_on_an_edited_buffer_reports_at_the_buffer_lines(tmp_path):
    root = _editor_project(tmp_path)
    name = "blog/api/posts.py"
    saved = (root / name).read_text()
    on_disk = _flake8_stdin(root, name, saved)
    # the cross-file DAO107 (a commit inside BaseDAO.update)
    assert (81, "DAO107") in on_disk
    # three lines inserted above (one with a noqa comment that silences nothing), and a new
    # handler that commits twice through a helper
    edited = "# one\n# two\nimport os  # noqa: DAO202\n" + saved + (
        "\n\n@bp.post('/<int:post_id>/retitle')\ndef retitle(post_id):\n"
        "    db.session.commit()\n"
        "    PostDAO.update(PostDAO.find_by_id(post_id), {'title': 'x'})\n"
    )
    found = _flake8_stdin(root, name, edited)
    moved = sorted((line + 3, code) for line, code in on_disk)
    new_line = edited.splitlines().index("    PostDAO.update(PostDAO.find_by_id(post_id), {'title': 'x'})") + 1
    assert found == sorted(moved + [(new_line, "DAO107"), (3, "DAO003")])


def test_flake8_on_a_buffer_shows_only_what_the_baseline_does_not_know(tmp_path):
    import subprocess
    import sys

    root = _editor_project(tmp_path)
    with open(root / "pyproject.toml", "a") as handle:
        handle.write('baseline = "known.json"\n')
    subprocess.run([sys.executable, "-m", "dao_lint", "baseline", "known.json", "."], cwd=root, check=True, capture_output=True)
    name = "blog/api/posts.py"
    saved = (root / name).read_text()
    assert _flake8_stdin(root, name, saved) == []
    assert _flake8_stdin(root, name, "\n\n" + saved) == []  # moved lines are still known
    edited = saved + "\n\ndef purge():\n    db.session.add(Post(title='draft'))\n"
    assert _flake8_stdin(root, name, edited) == [(len(edited.splitlines()), "DAO201")]


def test_flake8_without_any_dao_code_selected_does_no_dao_lint_work(tmp_path):
    """flake8 runs every installed plugin whatever is selected: with a selection that leaves
    out every DAO code, the plugin checks nothing (no project run, no cache written)."""
    root = _editor_project(tmp_path)
    for selection in (["--select", "E9,F"], ["--extend-ignore", "DAO"]):
        run = subprocess.run([sys.executable, "-m", "flake8", *selection, "."], cwd=root, capture_output=True, text=True, check=False)
        assert "DAO" not in run.stdout and "Traceback" not in run.stderr, run.stderr
        assert not (root / ".dao_lint_cache").exists(), selection
    some = subprocess.run([sys.executable, "-m", "flake8", "--select", "DAO1", "."], cwd=root, capture_output=True, text=True, check=False)
    codes = {line.split()[1][:4] for line in some.stdout.splitlines() if line.strip()}
    assert codes == {"DAO1"}
