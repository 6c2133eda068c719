"""Run `dao-lint fix` on small in-memory projects."""
import textwrap

from dao_lint.foundations.config import parse_table
from dao_lint.fix.fixer import fix_files


def dedent(code):
    return textwrap.dedent(code).lstrip("\n")


def fix_project(tmp_path, files, options=None, unsafe=True, write=False):
    """files: {relative path: code}; returns ({path: fixed code}, report)."""
    config = parse_table({"select": ["ALL"], **(options or {})}, "<test>", str(tmp_path))
    items = []
    for relative, code in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dedent(code).encode("utf-8") if isinstance(code, str) else code)
        items.append((str(path), config))
    report = fix_files(items, unsafe=unsafe, write=write, jobs=1)
    out = {}
    for relative in files:
        path = str(tmp_path / relative)
        change = next((f for f in report.files if f.path == path), None)
        if change is not None and change.after is not None:
            out[relative] = change.after.decode("utf-8")
        else:
            out[relative] = (tmp_path / relative).read_text()
    return out, report


def fix_one(tmp_path, code, path="app/daos/x.py", caller=None, options=None, unsafe=True):
    """Fix a DAO module; `caller` (module code) gives it covered call sites."""
    files = {path: code}
    if caller is not None:
        files["app/commands/caller.py"] = caller
    out, report = fix_project(tmp_path, files, options, unsafe)
    return out[path], report
