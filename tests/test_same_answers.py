"""Findings are a property of the file and the project, never of the command line (issue 13):
the whole tree, a subdirectory, any subset of files and one file give the same findings for
those files, with a cold and a warm cache, DAO003 included."""
import json
import shutil

import pytest

from dao_lint.frontends.cli import cli

from .conftest import SAMPLE, cli_runner

# a finding that exists only through another file (a commit inside BaseDAO.update), under a
# `# noqa` that a run without the other file's facts would call unused (DAO003)
RELAY = '''from blog.daos.post import PostDAO
from blog.extensions import db


def relay_title(post_id, title):
    db.session.commit()
    PostDAO.update(PostDAO.find_by_id(post_id), {"title": title})  # noqa: DAO107 - replaced in 2.0
'''


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "app"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".dao_lint_cache", "__pycache__"))
    (root / "blog" / "services" / "relay.py").write_text(RELAY)
    return root


def findings(where, *args):
    """{(file relative to the project, line, column, code, message)} of `check ARGS` run in `where`."""
    result = cli_runner().invoke(cli, ["check", *args, "--format", "json", "--jobs", "1"], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    out = set()
    for record in json.loads(result.stdout):
        path = (where / record["path"]).resolve().relative_to(PROJECT_ROOT[0])
        out.add((path.as_posix(), record["line"], record["column"], record["code"], record["message"]))
    return out


PROJECT_ROOT = []


def of(found, files):
    return {f for f in found if f[0] in files}


SUBSETS = [
    # (working directory below the project, arguments, the project files they name)
    (".", ["blog/services/relay.py"], {"blog/services/relay.py"}),
    (".", ["blog/api/posts.py", "blog/services/relay.py", "blog/daos/base.py"], {"blog/api/posts.py", "blog/services/relay.py", "blog/daos/base.py"}),
    (".", ["blog/services"], None),
    ("blog", ["services"], None),
    ("blog/services", ["relay.py"], {"blog/services/relay.py"}),
    ("blog/api", ["."], None),
]


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_every_way_of_naming_files_gives_the_whole_project_answer(project, monkeypatch, cache):
    PROJECT_ROOT[:] = [project.resolve()]
    monkeypatch.chdir(project)
    options = ["--no-cache"] if cache == "cold" else []
    whole = findings(project, ".", "--no-cache")
    relay = of(whole, {"blog/services/relay.py"})
    # the cross-file finding is there, and the noqa that silences it is used (no DAO003)
    assert {f[3] for f in relay} == {"DAO105"}, relay
    if cache == "warm":
        findings(project, ".")  # fills the cache with the whole project
    for directory, args, named in SUBSETS:
        monkeypatch.chdir(project / directory)
        got = findings(project / directory, *args, *options)
        if named is None:  # a directory: every file below it
            below = (project / directory / args[0]).resolve().relative_to(project.resolve()).as_posix()
            named = {f[0] for f in whole if f[0].startswith(below + "/")}
            assert named, below
        assert got == of(whole, named), (directory, args)


@pytest.mark.parametrize("code", ["DAO106", "DAO107", "DAO101"])
def test_selecting_one_code_gives_that_codes_findings_of_the_whole_check(project, monkeypatch, code):
    # a file no selected rule looks at still belongs to the project index: a commit hidden
    # in it counts for the selected code (the index used to be built only from the files
    # the selected rules could match)
    (project / "blog" / "services" / "audit.py").write_text(
        "from blog.extensions import db\n\n\ndef note(entry):\n    db.session.add(entry)\n    db.session.flush()\n    db.session.commit()\n"
    )
    (project / "blog" / "services" / "replay.py").write_text(
        "from blog.services.audit import note\n\n\ndef replay(entries):\n    for entry in entries:\n        note(entry)\n"
        "    note(entries[0])\n    note(entries[-1])\n"
    )
    monkeypatch.chdir(project)
    PROJECT_ROOT[:] = [project.resolve()]
    everything = {f for f in findings(project, ".", "--no-cache") if f[3] == code}
    assert everything == findings(project, ".", "--no-cache", "--select", code)
    assert any(f[0] == "blog/services/replay.py" for f in everything) or code == "DAO101"
