"""DAO103: drop a DAO's `commit` parameter and its `if commit:` branch (arguments: call_sites)."""
from __future__ import annotations

from typing import List, Optional, Set, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper

from ..analysis import DaoFacts, FileContext, FileContextProvider
from ..analysis.walk import visit_in_place

__all__ = ["drop_commit_parameters"]


def _uses_name(node: cst.CSTNode, name: str) -> bool:
    """`name` is read as a variable somewhere under `node` (not as an attribute or keyword)."""
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

        def visit_Arg(self, arg: cst.Arg) -> bool:
            arg.value.visit(self)
            return False

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                found.append(node)

    visit_in_place(node, Finder())
    return bool(found)


def _only_commits(suite: cst.BaseSuite) -> bool:
    if not isinstance(suite, cst.IndentedBlock):
        return False
    for statement in suite.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            value = small.value if isinstance(small, cst.Expr) else None
            if isinstance(value, cst.Await):
                value = value.expression
            if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "commit"):
                return False
    return True


_SECTIONS = ("args:", "arguments:", "parameters:", "params:", "keyword arguments:", "kwargs:", "other parameters:")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _documents_flag(line: str, in_section: bool) -> bool:
    """The docstring line starts the entry of the `commit` parameter (Sphinx, Google, NumPy)."""
    text = line.strip()
    words = text.split()
    if text.startswith((":param", ":type")) and len(words) >= 2:
        return words[-1].rstrip(":") == "commit" or (len(words) >= 2 and words[1].rstrip(":") == "commit" and text.startswith(":type"))
    if not in_section:
        return False
    head = text.split(":", 1)[0].strip()
    return head == "commit" or head.startswith("commit (") or head.startswith("commit(")


def _header(lines: List[str], number: int) -> bool:
    """A NumPy-style section header: a line underlined with dashes."""
    following = lines[number + 1].strip() if number + 1 < len(lines) else ""
    return bool(lines[number].strip()) and bool(following) and set(following) == {"-"}


def drop_from_docstring(text: str) -> str:
    """The docstring text without the `commit` parameter's entry (and a section left empty)."""
    lines = text.split("\n")
    out: List[str] = []
    section: Optional[Tuple[int, bool]] = None  # (indent of the header, NumPy style)
    number = 0
    while number < len(lines):
        line = lines[number]
        stripped = line.strip().lower()
        if _header(lines, number):
            section = (_indent(line), True) if stripped.rstrip(":") + ":" in _SECTIONS else None
        elif stripped in _SECTIONS:
            section = (_indent(line), False)
        elif stripped and section is not None and not section[1] and _indent(line) <= section[0]:
            section = None
        if _documents_flag(line, section is not None):
            base = _indent(line)
            number += 1
            while number < len(lines) and lines[number].strip() and _indent(lines[number]) > base:
                number += 1
            continue
        out.append(line)
        number += 1
    return "\n".join(_without_empty_sections(out))


def _without_empty_sections(lines: List[str]) -> List[str]:
    out: List[str] = []
    number = 0
    while number < len(lines):
        line = lines[number]
        stripped = line.strip().lower()
        numpy = _header(lines, number)
        if stripped in _SECTIONS or (numpy and stripped.rstrip(":") + ":" in _SECTIONS):
            after = number + (2 if numpy else 1)
            rest = next((n for n in range(after, len(lines)) if lines[n].strip()), None)
            empty = rest is None or (_header(lines, rest) if numpy else _indent(lines[rest]) <= _indent(line))
            if empty:
                # nothing documented under it any more: drop the header and a doubled blank line
                number = after
                while number < len(lines) and not lines[number].strip() and (not out or not out[-1].strip()):
                    number += 1
                continue
        out.append(line)
        number += 1
    return out


def _docstring(body: cst.BaseSuite) -> Optional[cst.SimpleString]:
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return None
    first = body.body[0]
    if isinstance(first, cst.SimpleStatementLine) and len(first.body) == 1 and isinstance(first.body[0], cst.Expr):
        value = first.body[0].value
        if isinstance(value, cst.SimpleString):
            return value
    return None


class _DropParameter(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (DaoFacts,)

    def __init__(self, targets: Set[str]) -> None:
        super().__init__()
        self.targets = targets
        self.active: List[bool] = []
        self.changed: List[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.get_metadata(DaoFacts, node, None)
        self.active.append(bool(scope and scope.qualname in self.targets))

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        if not self.active.pop():
            return updated_node
        params = updated_node.params
        changes = {}
        for group in ("posonly_params", "params", "kwonly_params"):
            items = list(getattr(params, group))
            kept = [p for p in items if p.name.value != "commit"]
            if len(kept) != len(items):
                if kept and items[-1] not in kept:
                    # the new last parameter ends the list as the removed one did (a
                    # trailing comma, the line break before `)`)
                    kept[-1] = kept[-1].with_changes(comma=items[-1].comma, whitespace_after_param=items[-1].whitespace_after_param)
                changes[group] = kept
        if not changes:
            return updated_node
        if _uses_name(updated_node.body, "commit"):
            return original_node  # the flag is still read somewhere: removing it would break the code
        new_params = params.with_changes(**changes)
        if not new_params.kwonly_params and isinstance(new_params.star_arg, cst.ParamStar):
            new_params = new_params.with_changes(star_arg=cst.MaybeSentinel.DEFAULT)
        scope = self.get_metadata(DaoFacts, original_node, None)
        self.changed.append(scope.qualname if scope else original_node.name.value)
        result = updated_node.with_changes(params=new_params)
        docstring = _docstring(result.body)
        if docstring is not None:
            # the removed parameter leaves no trace in the documentation
            prefix = docstring.prefix
            quote = docstring.quote
            inner = docstring.value[len(prefix) + len(quote) : -len(quote)]
            cleaned = drop_from_docstring(inner)
            if cleaned != inner:
                result = result.deep_replace(docstring, docstring.with_changes(value=f"{prefix}{quote}{cleaned}{quote}"))
        return result

    def leave_If(self, original_node: cst.If, updated_node: cst.If):  # noqa: ANN201
        if not self.active or not self.active[-1]:
            return updated_node
        test = updated_node.test
        if isinstance(test, cst.Name) and test.value == "commit" and _only_commits(updated_node.body):
            if updated_node.orelse is None:
                return cst.RemovalSentinel.REMOVE
            if isinstance(updated_node.orelse, cst.Else):
                return cst.FlattenSentinel(list(updated_node.orelse.body.body))
        return updated_node


def drop_commit_parameters(module: cst.Module, context: FileContext, targets: Set[str]) -> Tuple[cst.Module, List[str]]:
    """Remove the `commit` parameter and its commit-only `if commit:` branch from `targets`."""
    if not targets:
        return module, []
    transformer = _DropParameter(targets)
    wrapper = MetadataWrapper(module, cache={FileContextProvider: context})
    return wrapper.visit(transformer), transformer.changed
