"""The in-place walker calls the same visitor functions, in the same order, as libcst's own
batched traversal (which copies the tree), on odd syntax and on our whole code base."""
import dataclasses
import pathlib

import libcst as cst
import pytest

from dao_lint.analysis.walk import contains, visit_in_place, walk

ODD = '''
import a.b as c, d
from . import (e, f as g)
@decorator(1)
async def h(x: int = 1, /, *args, k: "str" = f"{x!r:>{width}.{p}}", **kw) -> list[int]:
    global z
    async with a as (b, c), d:
        async for i in [j async for j in k if j]:
            await i
    y = lambda q, *r: (yield from q) if r else {**r, 'a': [*r]}
    match y:
        case {"k": [1, *rest]} | Point(x=0) if (n := len(rest)):
            pass
        case _:
            del y[1:2, ::3]
    try:
        raise E from None
    except* (A, B) as err:
        x += 1; x @= 2
    finally:
        return not -x ** ~y < z <= w is not v in u
class K(Base, metaclass=M):
    """doc"""  # comment
    attr: int = 1
    def m(self): return self.attr[0].b(*[1], **{}) if self else ...
'''


def _all_node_types():
    return [v for v in vars(cst).values() if isinstance(v, type) and issubclass(v, cst.CSTNode) and dataclasses.is_dataclass(v)]


class _Recorder:
    """A batched visitor with a function for every node type and every field."""

    def __init__(self):
        self.events = []

    def get_visitors(self):
        table = {}
        for node_type in _all_node_types():
            name = node_type.__name__
            table[f"visit_{name}"] = lambda node, tag=f"visit {name}": self.events.append((tag, id(node)))
            table[f"leave_{name}"] = lambda node, tag=f"leave {name}": self.events.append((tag, id(node)))
            for field in dataclasses.fields(node_type):
                for kind in ("visit", "leave"):
                    tag = f"{kind} {name}.{field.name}"
                    table[f"{kind}_{name}_{field.name}"] = lambda node, tag=tag: self.events.append((tag, id(node)))
        return table


class _Calls:
    def __init__(self):
        self.events = []

    def get_visitors(self):
        return {"visit_Call": lambda node: self.events.append(("call", id(node))), "leave_Arg": lambda node: self.events.append(("arg", id(node)))}


def _sources():
    root = pathlib.Path(__file__).resolve().parents[2]
    yield "odd", ODD
    for path in sorted((root / "dao_lint").rglob("*.py")) + sorted((root / "fixtures").rglob("*.py")):
        yield str(path.relative_to(root)), path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name,source", list(_sources()), ids=lambda value: value if "\n" not in value else "")
def test_same_events_as_libcst(name, source):
    module = cst.parse_module(source)
    ours, theirs = _Recorder(), _Recorder()
    walk(module, [ours])
    cst.visit_batched(module, [theirs])
    assert ours.events == theirs.events
    assert ours.events[0] == ("visit Module", id(module)) and ours.events[-1] == ("leave Module", id(module))


def test_skips_whitespace_but_not_what_visitors_ask_for():
    module = cst.parse_module(ODD)
    ours, theirs = _Calls(), _Calls()
    walk(module, [ours])
    cst.visit_batched(module, [theirs])
    assert ours.events == theirs.events
    assert [tag for tag, _ in ours.events].count("call") == 3  # decorator(1), len(rest), .b(...)


class _Pruning(cst.CSTVisitor):
    """Skips lambdas' bodies, records calls and the `with` items it enters and leaves."""

    def __init__(self):
        super().__init__()
        self.events = []

    def visit_Lambda(self, node):
        return False

    def visit_Call(self, node):
        self.events.append(("call", id(node)))

    def visit_For_body(self, node):
        self.events.append(("for body", id(node)))

    def leave_With(self, node):
        self.events.append(("with", id(node)))


def test_visit_in_place_prunes_like_libcst():
    module = cst.parse_module(ODD + "f(lambda: g(), h())\n")
    ours, theirs = _Pruning(), _Pruning()
    visit_in_place(module, ours)
    module.visit(theirs)
    assert ours.events == theirs.events
    assert [tag for tag, _ in ours.events] == ["call", "for body", "with", "call", "call", "call", "call"]  # g() is in a lambda


def test_contains_is_libcsts_descendant_relation():
    module = cst.parse_module(ODD)
    nodes = []

    class Every(cst.CSTVisitor):
        def on_visit(self, node):
            nodes.append(node)
            return True

    module.visit(Every())
    function = next(n for n in nodes if isinstance(n, cst.FunctionDef))
    inside, outside = set(), set()

    class Below(cst.CSTVisitor):
        def on_visit(self, node):
            inside.add(id(node))
            return True

    function.visit(Below())
    outside = [n for n in nodes if id(n) not in inside]
    assert all(contains(function, n) for n in nodes if id(n) in inside)
    assert not any(contains(function, n) for n in outside)
    assert contains(module, function) and not contains(function, module)
    # identity, not equality: an equal node elsewhere is not inside
    assert not contains(cst.parse_module("x = 1\n"), cst.parse_module("x = 1\n").body[0])
