"""The shape ARCHITECTURE.md asks for: small modules, and layers that import top-down only
(no cycle, not even through an import inside a function)."""
import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "dao_lint"


def modules():
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(name, path, known):
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rpartition(".")[0]
            target = (base + "." + node.module if node.module else base) if node.level else (node.module or "")
            for alias in node.names:
                full = f"{target}.{alias.name}"
                out.add(full if full in known else target)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in known and m != name}


def test_no_module_is_over_500_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}


def test_no_import_cycle_even_inside_functions():
    known = modules()
    graph = {name: imports_of(name, path, known) for name, path in known.items()}
    cycles = []
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_check_sees_a_cycle(tmp_path, monkeypatch):
    # the detector itself: two modules importing each other inside functions are a cycle
    (tmp_path / "a.py").write_text("def f():\n    from . import b\n")
    (tmp_path / "b.py").write_text("def g():\n    from .a import f\n")
    known = {"p.a": tmp_path / "a.py", "p.b": tmp_path / "b.py"}
    assert imports_of("p.a", known["p.a"], known) == {"p.b"}
    assert imports_of("p.b", known["p.b"], known) == {"p.a"}


# -- layers: each package (and top-level module) imports only what its docstring allows ---

FREE = {"dao_lint", "dao_lint.__main__", "dao_lint.version"}  # the entry points and the version


def unit(name):
    """The layer a module belongs to: its package under dao_lint, or the top-level module."""
    return ".".join(name.split(".")[:2])


def allowed(path):
    """The units a package's (or top-level module's) docstring says it may import."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    lines = [line for line in docstring.splitlines() if line.startswith("May import:")]
    assert len(lines) == 1, f"{path}: no 'May import:' line in its docstring"
    listed = lines[0][len("May import:"):].strip().rstrip(".")
    return set() if listed.startswith("nothing") else {f"dao_lint.{word.strip()}" for word in listed.split(",")}


def layer_violations(known):
    units = {unit(name) for name in known} - FREE
    rules = {u: allowed(known[u]) for u in units}
    found = []
    for name, path in sorted(known.items()):
        source = unit(name)
        if source in FREE:
            continue
        for target in sorted(imports_of(name, path, known)):
            if unit(target) not in (source, "dao_lint.version", "dao_lint") and unit(target) not in rules[source]:
                found.append(f"{name} imports {target}")
    return found


def test_every_package_imports_only_what_its_docstring_allows():
    assert layer_violations(modules()) == []


def test_the_layer_check_sees_an_import_its_docstring_does_not_allow(tmp_path):
    (tmp_path / "low").mkdir()
    (tmp_path / "high").mkdir()
    (tmp_path / "low" / "__init__.py").write_text('"""The bottom.\n\nMay import: nothing else of dao_lint.\n"""\n')
    (tmp_path / "low" / "a.py").write_text("def f():\n    from ..high import b\n")
    (tmp_path / "high" / "__init__.py").write_text('"""The top.\n\nMay import: low.\n"""\n')
    (tmp_path / "high" / "b.py").write_text("from ..low import a\n")
    known = {
        "dao_lint.low": tmp_path / "low" / "__init__.py", "dao_lint.low.a": tmp_path / "low" / "a.py",
        "dao_lint.high": tmp_path / "high" / "__init__.py", "dao_lint.high.b": tmp_path / "high" / "b.py",
    }
    assert layer_violations(known) == ["dao_lint.low.a imports dao_lint.high.b"]


def test_the_listing_is_the_documented_one():
    # docs/architecture.md names every package and top-level module, and nothing else
    documented = set(re.findall(r"^### `dao_lint/([a-z_]+)(?:/|\.py)`", (PACKAGE.parent / "docs" / "architecture.md").read_text(), re.M))
    present = {path.stem if path.is_file() else path.name for path in PACKAGE.iterdir() if (path.is_dir() and (path / "__init__.py").exists()) or (path.suffix == ".py" and path.stem not in ("__init__", "__main__", "version"))}
    assert documented == present


def test_the_summarizers_value_hooks_all_run():
    # `Values` is a part the summarizer calls, not a mixin: its visitor hooks join the
    # summarizer's own in one pass, and a hook both define would silently lose one
    from dao_lint.model.summarizer import _VALUE_HOOKS, Summarizer

    own = {name for name in dir(Summarizer) if name.startswith(("visit_", "leave_")) and not getattr(getattr(Summarizer, name), "_is_no_op", False)}
    assert _VALUE_HOOKS and not own & set(_VALUE_HOOKS)
