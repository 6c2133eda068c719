"""`check --add-noqa` and DAO003 (unused `# noqa`), with its fix."""
import json


from dao_lint.frontends.cli import cli
from dao_lint.foundations.suppress import add_noqa, remove_noqa_codes
from .conftest import cli_runner

DAO = """\
class ChartDAO:
    def create(self, chart):
        db.session.add(chart)
        db.session.commit()  # a note
        db.session.execute(\"\"\"
            delete from t
        \"\"\").rowcount and db.session.commit()
"""


def check(*args):
    result = cli_runner().invoke(cli, ["check", "app", "--format", "json", "--jobs", "1", *args])
    return result, ({(r["line"], r["code"]) for r in json.loads(result.stdout)} if "--add-noqa" not in args else None)


def test_add_noqa_silences_every_finding_and_is_idempotent(in_tmp):
    (in_tmp / "app" / "daos").mkdir(parents=True)
    target = in_tmp / "app" / "daos" / "chart.py"
    target.write_bytes(DAO.replace("\n", "\r\n").encode())  # CRLF is kept
    _, before = check()
    assert {code for _, code in before} == {"DAO101", "DAO107"}
    result, _ = check("--add-noqa")
    assert result.exit_code == 0 and "added 2 `# noqa` comment(s) in 1 file(s)" in result.stdout
    text = target.read_bytes().decode()
    assert "db.session.commit()  # a note  # noqa: DAO101\r\n" in text
    assert '\"\"\").rowcount and db.session.commit()  # noqa: DAO101, DAO107\r\n' in text  # after the string
    assert "\n" not in text.replace("\r\n", "")
    assert check()[1] == set()
    again, _ = check("--add-noqa")
    assert "added 0" in again.stdout and target.read_bytes().decode() == text


def test_add_noqa_merges_with_an_existing_comment():
    text, written, skipped = add_noqa("x = f()  # noqa: E501\ny = 1 + \\\n    2\n", {1: {"DAO105"}, 2: {"DAO201"}})
    assert text.startswith("x = f()  # noqa: E501, DAO105\n") and written == 1 and skipped == [2]


def test_unused_noqa_is_reported_and_fixed(in_tmp):
    (in_tmp / "app" / "daos").mkdir(parents=True)
    target = in_tmp / "app" / "daos" / "chart.py"
    target.write_text(
        "class ChartDAO:\n"
        "    def create(self, chart):\n"
        "        db.session.add(chart)  # noqa: DAO201, E501\n"
        "        db.session.commit()  # noqa: DAO101\n"
        "        db.session.flush()  # keep # noqa: DAO1\n"
    )
    _, found = check()
    assert found == {(3, "DAO003"), (5, "DAO003")}  # line 4's noqa silences DAO101: used
    before = target.read_bytes()
    diff = cli_runner().invoke(cli, ["fix", "app", "--diff", "--jobs", "1"])
    assert diff.exit_code == 1 and "DAO003 x2" in diff.stderr and diff.stdout.startswith("--- a/")  # (the patch alone on stdout)
    assert target.read_bytes() == before  # --diff writes nothing
    assert cli_runner().invoke(cli, ["fix", "app", "--jobs", "1"]).exit_code == 0
    assert target.read_text().splitlines()[2:] == [
        "        db.session.add(chart)  # noqa: E501",
        "        db.session.commit()  # noqa: DAO101",
        "        db.session.flush()  # keep",
    ]
    assert check()[1] == set()
    assert cli_runner().invoke(cli, ["fix", "app", "--diff", "--jobs", "1"]).exit_code == 0  # nothing left to do


def test_a_noqa_only_cross_file_findings_use_is_not_unused(in_tmp):
    (in_tmp / "app").mkdir()
    # a commit helper: `commit()` under another name, reported where it is called
    (in_tmp / "app" / "helpers.py").write_text("def save_all():\n    db.session.commit()\n")
    (in_tmp / "app" / "chart_dao.py").write_text(
        "from app.helpers import save_all\n\n\nclass ChartDAO:\n    def create(self, chart):\n        save_all()  # noqa: DAO101\n"
    )
    assert check()[1] == set()


def test_remove_noqa_codes_keeps_other_comment_text():
    assert remove_noqa_codes("a = 1  # why # noqa: DAO101\n", {1: {"DAO101"}}) == "a = 1  # why\n"
    assert remove_noqa_codes("a = 1  # noqa:DAO101,E501\n", {1: {"DAO101"}}) == "a = 1  # noqa: E501\n"


def test_removing_a_noqa_keeps_its_reason_as_a_comment_never_as_code():
    line = "    db.session.commit()  # noqa: DAO105 - legacy endpoint, removed in 2.0\n"
    assert remove_noqa_codes(line, {1: {"DAO105"}}) == "    db.session.commit()  # legacy endpoint, removed in 2.0\n"
    assert remove_noqa_codes("a = 1  # noqa: DAO101, DAO105 - why\n", {1: {"DAO101"}}) == "a = 1  # noqa: DAO105 - why\n"


def test_removing_a_noqa_leaves_a_comment_after_it_as_it_was():
    line = "    return json.loads(raw)  # noqa: DAO101  # type: ignore[no-any-return]\n"
    assert remove_noqa_codes(line, {1: {"DAO101"}}) == "    return json.loads(raw)  # type: ignore[no-any-return]\n"
