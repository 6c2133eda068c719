"""Generated programs: `check` never raises, positions stay inside the file, `fix` output
parses, a second `fix` changes nothing, and outside the statements a fix rewrites the
module's AST is unchanged.

Run with `pytest -m fuzz`; `.ci/run` does, with the budget below (FUZZ_EXAMPLES).
"""
import ast
import os
import tempfile

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dao_lint.api import fix_paths, lint_source
from dao_lint.foundations.config import ConfigResolver

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)

SESSIONS = ["db.session", "session", "self.session", "self._session", "cls.session"]


@st.composite
def statement(draw, session, depth=0):
    """One statement of a DAO-ish body (nested blocks up to depth 2)."""
    s = session
    simple = [
        f"{s}.add(item)",
        f"{s}.add_all(items)",
        f"{s}.delete(item)",
        f"{s}.merge(item)",
        f"{s}.flush()",
        f"{s}.commit()",
        f"{s}.rollback()",
        f"item = {s}.query(Model).filter_by(id=item_id).first()",
        f"{s}.execute(update(Model).values(x=1))",
        "ChartDAO.create(item, commit=False)",
        "ChartDAO.update(item)",
        "helper(item)",
        "pass",
        "x = 1  # a comment",
        f"{s}.commit()  # noqa: DAO101",
        f"result = (\n        {s}\n        .query(Model)\n        .all()\n    )",
        f"{s}.add(item); {s}.flush()",
    ]
    if depth >= 2:
        return draw(st.sampled_from(simple))
    block = draw(st.lists(statement(session, depth + 1), min_size=1, max_size=3))
    body = "\n".join("    " + line.replace("\n", "\n    ") for line in block)
    compound = [
        f"for item in items:\n{body}",
        f"if commit:\n{body}",
        f"with {s}.begin_nested():\n{body}",
        f"try:\n{body}\nexcept Exception:\n    {s}.rollback()\n    raise",
        f"try:\n{body}\n    {s}.commit()\nexcept SQLAlchemyError:\n    {s}.rollback()\n    raise",
        f"while items:\n{body}\n    break",
    ]
    return draw(st.sampled_from(simple + compound))


@st.composite
def dao_module(draw):
    """A module of DAO classes, commands and helpers, sync and async, oddly formatted."""
    session = draw(st.sampled_from(SESSIONS))
    parts = ["from sqlalchemy import update", "from sqlalchemy.exc import SQLAlchemyError", "from app.extensions import db", ""]
    for number in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["dao", "command", "function", "async"]))
        body = draw(st.lists(statement("db.session" if session.startswith(("self", "cls")) and kind == "function" else session), min_size=1, max_size=4))
        flag = draw(st.sampled_from(["", ", commit: bool = True", ", commit=True"]))
        indent = "        " if kind in ("dao", "command") else "    "
        lines = "\n".join(indent + line.replace("\n", "\n" + indent) for line in body)
        if kind == "dao":
            decorator = draw(st.sampled_from(["", "    @classmethod\n", "    @staticmethod\n"]))
            first = "cls" if "classmethod" in decorator else ("" if "staticmethod" in decorator else "self")
            args = ", ".join(a for a in (first, "item", "item_id=None", "items=()") if a)
            parts.append(f"class Thing{number}DAO(BaseDAO):\n{decorator}    def create({args}{flag}):\n{lines}\n")
        elif kind == "command":
            parts.append(f"class Do{number}Command(BaseCommand):\n    def run(self, item=None, item_id=None, items=(){flag}):\n{lines}\n")
        elif kind == "async":
            lines = lines.replace(f"{session}.commit()", f"await {session}.commit()").replace(f"{session}.rollback()", f"await {session}.rollback()")
            parts.append(f"async def job{number}(session, item=None, item_id=None, items=(){flag}):\n{lines}\n")
        else:
            parts.append(f"def helper{number}(item=None, item_id=None, items=(){flag}):\n{lines}\n")
        parts.append(draw(st.sampled_from(["", "\n", "# between\n", "\n\n"])))
    text = "\n".join(parts)
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text


def _inside(text, diagnostics):
    lines = text.splitlines() or [""]
    for d in diagnostics:
        assert 1 <= d.span.line <= len(lines) and 1 <= d.span.end_line <= len(lines), d
        assert 0 <= d.span.column <= len(lines[d.span.line - 1]), d


class _Mask(ast.NodeTransformer):
    """Removes what the fixes rewrite, so that the rest of two modules can be compared:
    commits, rollbacks, adds, `with ...begin_nested():` (kept: its body), `if commit:`
    blocks, `commit` parameters and keywords, the transaction decorator, imports, and
    try statements whose handlers only roll back and re-raise (kept: their bodies)."""

    TOUCHED = {"commit", "rollback", "add", "add_all", "merge"}

    def _body(self, statements):
        out = []
        for statement in statements:
            result = self.visit(statement)
            if result is None:
                continue
            out.extend(result if isinstance(result, list) else [result])
        return out or [ast.Pass()]

    def generic_visit(self, node):
        for field in ("body", "orelse", "finalbody"):
            if isinstance(getattr(node, field, None), list) and getattr(node, field) and isinstance(getattr(node, field)[0], ast.stmt):
                setattr(node, field, self._body(getattr(node, field)))
        return super().generic_visit(node)

    def visit_Expr(self, node):
        value = node.value.value if isinstance(node.value, ast.Await) else node.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in self.TOUCHED:
            return None
        return self.generic_visit(node)

    def visit_Pass(self, node):
        return None

    def visit_Import(self, node):
        return None

    visit_ImportFrom = visit_Import

    def visit_With(self, node):
        if any("begin_nested" in ast.dump(item.context_expr) for item in node.items):
            return self._body(node.body)
        return self.generic_visit(node)

    visit_AsyncWith = visit_With

    def visit_If(self, node):
        if isinstance(node.test, ast.Name) and node.test.id == "commit":
            return None
        return self.generic_visit(node)

    def visit_For(self, node):
        node = self.generic_visit(node)
        if all(isinstance(s, ast.Pass) for s in node.body) and not node.orelse:
            return None  # `for x in xs: session.add(x)` became `session.add_all(xs)`
        return node

    def visit_Try(self, node):
        node = self.generic_visit(node)
        handlers_only_raise = all(all(isinstance(s, (ast.Raise, ast.Pass)) for s in h.body) for h in node.handlers)
        if handlers_only_raise and not node.orelse and not node.finalbody:
            return self._body(node.body)
        return node

    def visit_arguments(self, node):
        first_default = len(node.args) - len(node.defaults)
        pairs = [(a, node.defaults[i - first_default] if i >= first_default else None) for i, a in enumerate(node.args)]
        pairs = [(a, d) for a, d in pairs if a.arg != "commit"]
        node.args = [a for a, _ in pairs]
        node.defaults = [d for _, d in pairs if d is not None]
        keep = [i for i, a in enumerate(node.kwonlyargs) if a.arg != "commit"]
        node.kwonlyargs = [node.kwonlyargs[i] for i in keep]
        node.kw_defaults = [node.kw_defaults[i] for i in keep]
        return node

    def visit_Call(self, node):
        node.keywords = [k for k in node.keywords if k.arg != "commit"]
        return self.generic_visit(node)

    def visit_FunctionDef(self, node):
        node.decorator_list = [d for d in node.decorator_list if "transaction" not in ast.dump(d)]
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef


def _masked(text):
    return ast.dump(_Mask().visit(ast.parse(text)))


def _fix(directory, unsafe=True):
    report = fix_paths([directory], ConfigResolver(), unsafe=unsafe, write=True, jobs=1, cache=False)
    assert not [f for f in report.files if f.error and "changed on disk" not in f.error], report.files
    return report


@FUZZ
@given(dao_module(), st.sampled_from(["app/daos/things.py", "app/commands/things.py", "app/services/things.py", "tests/test_things.py"]))
def test_generated_dao_modules(text, relative):
    findings = lint_source(text, relative)
    assert not [d for d in findings if d.code == "DAO000"], findings
    _inside(text, findings)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, relative)
        os.makedirs(os.path.dirname(path))
        with open(path, "w", newline="") as handle:
            handle.write(text)
        _fix(directory)
        with open(path, newline="") as handle:
            fixed = handle.read()
        compile(fixed, path, "exec")  # the fix output parses
        assert _masked(fixed) == _masked(text)  # nothing else changed
        assert ("\r\n" in fixed) == ("\r\n" in text)
        _fix(directory)
        with open(path, newline="") as handle:
            assert handle.read() == fixed  # a second fix changes nothing
        _inside(fixed, lint_source(fixed, relative))


@FUZZ
@given(hypothesmith.from_grammar())
def test_arbitrary_python_never_breaks_check(text):
    for relative in ("app/daos/generated.py", "tests/test_generated.py"):
        findings = lint_source(text, relative)
        assert not [d for d in findings if d.code == "DAO000"], findings
        _inside(text, findings)
