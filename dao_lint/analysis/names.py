"""Dotted names of expressions and what imported names stand for (no scope analysis needed)."""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional

import libcst as cst

from ..foundations.vocabulary import absolute_name
from .walk import visit_in_place

__all__ = ["absolute_name", "dotted_name", "collect_imports", "import_bindings", "qualify", "root_module", "callee_name", "entity_key", "first_capitalized"]


def dotted_name(node: cst.CSTNode) -> Optional[str]:
    """`db.session` for Attribute(Name(db), session); None for anything else."""
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def callee_name(call: cst.Call) -> Optional[str]:
    """The last name of what a call calls: `select` for `sa.select(...)`."""
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return None


def _module_name(node: cst.BaseExpression) -> str:
    return dotted_name(node) or ""


def import_bindings(statement: cst.CSTNode) -> Dict[str, str]:
    """Local name -> qualified name for one import statement (relative imports keep their dots)."""
    out: Dict[str, str] = {}
    if isinstance(statement, cst.Import):
        for alias in statement.names:
            full = _module_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                out[alias.asname.name.value] = full
            else:
                head = full.split(".")[0]
                out[head] = head
    elif isinstance(statement, cst.ImportFrom):
        module = "." * len(statement.relative) + (
            _module_name(statement.module) if statement.module is not None else ""
        )
        if isinstance(statement.names, cst.ImportStar):
            return out
        for alias in statement.names:
            name = _module_name(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            joiner = "" if module.endswith(".") or not module else "."
            out[local] = f"{module}{joiner}{name}"
    return out


def _walk_module_level(body: Iterable[cst.CSTNode]) -> Iterable[cst.CSTNode]:
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body
        elif isinstance(statement, (cst.If, cst.Try, cst.With)):
            yield from _walk_module_level(getattr(statement.body, "body", ()))
            for extra in ("orelse", "finalbody"):
                block = getattr(statement, extra, None)
                if block is not None:
                    inner = getattr(block, "body", None)
                    yield from _walk_module_level(getattr(inner, "body", inner) or ())
            for handler in getattr(statement, "handlers", ()):
                yield from _walk_module_level(handler.body.body)


def collect_imports(module: cst.Module) -> Dict[str, str]:
    """Every module-level import (also inside `if TYPE_CHECKING:` and `try:`), local -> qualified."""
    imports: Dict[str, str] = {}
    for node in _walk_module_level(module.body):
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            imports.update(import_bindings(node))
    return imports


def qualify(dotted: Optional[str], imports: Dict[str, str]) -> Optional[str]:
    """Replace the first part of a dotted name with what it was imported as."""
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    if head in imports:
        return imports[head] + ("." + rest if rest else "")
    return dotted


def root_module(qualified: str) -> str:
    """`requests` for `requests.sessions.Session`; `` for relative imports."""
    return "" if qualified.startswith(".") else qualified.split(".")[0]


def first_capitalized(node: cst.CSTNode) -> Optional[str]:
    """The first capitalized name in an expression: `User` in `User.email == email`."""
    found: List[str] = []

    class Finder(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            if not found and name.value[:1].isupper() and name.value not in ("True", "False", "None"):
                found.append(name.value)

    visit_in_place(node, Finder())
    return found[0] if found else None


def entity_key(entity: str) -> str:
    """What entity names are compared by: `Role`, `role_model` and `RoleModel` are one;
    `ViewMenu` and `viewmenu_model` too."""
    key = entity.replace("_", "").lower()
    return key[: -len("model")] if key.endswith("model") and len(key) > len("model") else key
