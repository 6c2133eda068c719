"""Shapes of functions the project summary records: signatures, decorator forms, which
session a transaction call is on, blocks that only commit. Pure functions of the syntax
tree (and the session facts), used by `project.Summarizer`."""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Set, Tuple

import libcst as cst
from libcst import MetadataDependent

from ..analysis import Action, Origin, SessionFacts
from ..analysis.names import collect_imports
from ..analysis.session_kinds import OWN_ORIGINS
from ..analysis.structure import Literals
from .summary import CallSite, Position, effect_after
from ..analysis.walk import visit_in_place

__all__ = ["Frame", "with_cover", "session_key", "name_position", "module_names", "signature", "decorator_form", "calls_name", "commit_only"]


def with_cover(site: CallSite, cover: str) -> CallSite:
    return dataclasses.replace(site, covered_here=bool(cover), cover=cover)


def session_key(use) -> str:  # noqa: ANN001 - a SessionUse
    """Which session a transaction call is on, as the planner compares them.

    "own s": a session the function obtained itself (no caller can commit it); "global
    db.session": a module-level session everybody shares; "local session": one handed in.
    """
    if use.origin in OWN_ORIGINS:
        return f"own {use.session}"
    if use.origin is Origin.NAME and not use.session.startswith(("self.", "cls.")):
        return f"global {use.session}"
    return f"local {use.session}"


def name_position(node: cst.FunctionDef, start: Position) -> Position:
    """Where the function's name is, from where its `def` (or `async def`) starts."""
    column = start[1]
    if node.asynchronous is not None:
        column += len("async") + len(node.asynchronous.whitespace_after.value)
    return (start[0], column + len("def") + len(node.whitespace_after_def.value))


def module_names(module: cst.Module) -> Tuple[str, ...]:
    """The names a module binds at its top level (not inside functions or classes)."""
    names: Set[str] = set(collect_imports(module))
    for statement in module.body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            names.add(statement.name.value)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                targets = []
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    targets = [small.target]
                for target in targets:
                    elements = target.elements if isinstance(target, (cst.Tuple, cst.List)) else [target]
                    for element in elements:
                        value = element.value if isinstance(element, (cst.Element, cst.StarredElement)) else element
                        if isinstance(value, cst.Name):
                            names.add(value.value)
    return tuple(sorted(names))


def signature(params: cst.Parameters, binding: str) -> Tuple[int, int, Tuple[str, ...], bool]:
    positional = [*params.posonly_params, *params.params]
    if binding in ("instance", "class", "property") and positional:
        positional = positional[1:]  # self / cls
    required = sum(1 for p in positional if p.default is None)
    names = tuple(p.name.value for p in (*positional, *params.kwonly_params))
    open_ended = isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None
    return (len(positional), required, names, open_ended)


def decorator_form(node: cst.FunctionDef) -> str:
    """"plain" for `def d(func): ... return wrapper`, "factory" for `def d(**options): ...
    return decorate` (used as `@d()`), from what the definition calls and returns."""
    params = [*node.params.posonly_params, *node.params.params]
    first = params[0].name.value if params else None
    inner = [s for s in node.body.body if isinstance(s, cst.FunctionDef)] if isinstance(node.body, cst.IndentedBlock) else []
    if first is not None and params[0].default is None and any(calls_name(f, first) for f in inner):
        return "plain"  # the wrapper calls the decorated function, handed in as `first`
    for function in inner:
        inner_params = [*function.params.posonly_params, *function.params.params]
        if inner_params and any(
            isinstance(s, cst.FunctionDef) and calls_name(s, inner_params[0].name.value)
            for s in (function.body.body if isinstance(function.body, cst.IndentedBlock) else ())
        ):
            return "factory"  # returns a decorator whose wrapper calls the function
    if all(p.default is not None for p in params) or not params:
        return "factory"
    return "plain"


def calls_name(node: cst.CSTNode, name: str) -> bool:
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if isinstance(call.func, cst.Name) and call.func.value == name:
                found.append(call)

    visit_in_place(node, Finder())
    return bool(found)


def commit_only(block: cst.BaseSuite, summarizer: MetadataDependent, action: Action = Action.COMMIT) -> bool:
    """The block holds nothing but session commits (what an `if commit:` branch should hold)."""
    if not isinstance(block, cst.IndentedBlock):
        block_body = getattr(block, "body", ())
        statements = [cst.SimpleStatementLine(body=list(block_body))]
    else:
        statements = list(block.body)
    for statement in statements:
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            if not isinstance(small, cst.Expr):
                return False
            call = small.value.expression if isinstance(small.value, cst.Await) else small.value
            if not isinstance(call, cst.Call):
                return False
            use = summarizer.get_metadata(SessionFacts, call, None)
            if use is None or use.action is not action:
                return False
    return True


class Frame:
    """What one function's traversal remembers to decide which calls a later commit covers."""

    def __init__(self) -> None:
        self.open: List[int] = []  # ids of the blocks enclosing this point
        self.calls: List[Tuple[int, Tuple[int, ...], Tuple[int, ...]]] = []  # (index in info.calls, block path, loops)
        self.rollbacks: List[Tuple[Position, Tuple[int, ...]]] = []  # (where, the loops around it)
        self.loop_ids: List[int] = []  # the loops enclosing this point
        self.commits: List[Tuple[Position, Tuple[int, ...], str, bool]] = []
        self.commit_keys: List[str] = []
        self.exits: List[Tuple[Position, str]] = []  # return / break / continue
        self.begins: List[str] = []  # session keys of the open `with s.begin():` blocks
        self.types: Dict[str, str] = {}  # local name -> qualified class it holds an instance of
        self.item_loops: List[bool] = []  # per open loop: it runs once per item of data
        self.literals = Literals()  # names bound to literal collections in the function
        self.imports: Dict[str, str] = {}  # imports made inside the function
        self.dict_keys: Dict[str, Tuple[str, ...]] = {}  # name -> the keys of the dict literal it holds

    def covered(self, calls: List[CallSite]) -> List[CallSite]:
        """`calls` with `cover` set where a commit follows on every path that does not raise.

        The commit must sit in the call's own block or an enclosing one (not in a branch of
        its own), after it, with no `return` between (nor a `break`/`continue` when the commit
        is in a loop body), and no rollback may run between them: none after the call and
        before the commit, none in a loop around the call (a retry's `except: rollback()`
        undoes the call's writes before the loop goes round to the commit).
        """
        out = list(calls)
        for number, path, loops in self.calls:
            site = out[number]
            if site.cover:
                continue
            for position, commit_path, key, in_loop in self.commits:
                if position <= site.position or path[: len(commit_path)] != commit_path:
                    continue
                if key.startswith("made ") and key[5:] not in site.passes:
                    continue  # a session it made covers only calls it hands that session to
                if any(site.position < where < position and (kind == "return" or in_loop) for where, kind in self.exits):
                    continue
                if any(site.position < where < position or set(around) & set(loops) for where, around in self.rollbacks):
                    continue
                if effect_after(calls, site.position, site.branches, before=position) is not None:
                    continue  # a mail sent between them would go out before the call's writes are durable
                out[number] = with_cover(site, f"commit {key}")
                break
        return [with_cover(c, c.cover) if c.cover and not c.covered_here else c for c in out]
