"""The shape ARCHITECTURE.md asks for: small modules, and layers that import top-down only
(no cycle, not even through an import inside a function)."""
import ast
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
