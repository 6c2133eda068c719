"""Add `from module import name` where isort or ruff would put it.

Imports read as sections (`__future__`, standard library, third party, first party: the
project's own packages), straight `import x` lines before `from x import y` lines within a
section, each sorted by module. A new import joins an existing `from module import ...`
(names kept sorted when they were), or goes at its sorted place in its section, or starts
its section between the ones around it, one blank line apart.
"""
from __future__ import annotations

import sys
from typing import List, Sequence, Tuple

import libcst as cst

from ..analysis.names import dotted_name
from ..analysis.structure import is_docstring

__all__ = ["add_import"]

_FUTURE, _STDLIB, _THIRD_PARTY, _FIRST_PARTY, _LOCAL = range(5)  # isort's sections, in order

_STDLIB_NAMES = frozenset(getattr(sys, "stdlib_module_names", ())) or frozenset(
    {
        "abc", "argparse", "asyncio", "base64", "collections", "contextlib", "copy", "csv", "dataclasses",
        "datetime", "decimal", "enum", "functools", "hashlib", "importlib", "inspect", "io", "itertools",
        "json", "logging", "math", "operator", "os", "pathlib", "pickle", "random", "re", "shutil",
        "signal", "socket", "sqlite3", "string", "subprocess", "sys", "tempfile", "textwrap", "threading",
        "time", "traceback", "types", "typing", "unittest", "urllib", "uuid", "warnings", "weakref", "zoneinfo",
    }
)


def _is_import_line(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body
    )


def _module_of(small: cst.BaseSmallStatement) -> Tuple[str, bool]:
    """(module name, is a `from` import); relative imports keep their dots."""
    if isinstance(small, cst.ImportFrom):
        return "." * len(small.relative) + (dotted_name(small.module) or "" if small.module is not None else ""), True
    return dotted_name(small.names[0].name) or "", False


def _section(module: str, first_party: Sequence[str]) -> int:
    top = module.split(".")[0]
    if module == "__future__":
        return _FUTURE
    if module.startswith("."):
        return _LOCAL  # relative imports: a section of their own, after the project's
    if top in first_party:
        return _FIRST_PARTY
    if top in _STDLIB_NAMES:
        return _STDLIB
    return _THIRD_PARTY


def _sort_key(module: str, is_from: bool) -> Tuple[int, str]:
    return (1 if is_from else 0, module.lower())


def _names_sorted(names: Sequence[cst.ImportAlias]) -> bool:
    keys = [(dotted_name(a.name) or "").lower() for a in names]
    return keys == sorted(keys)


def _join(statement: cst.SimpleStatementLine, small: cst.ImportFrom, name: str) -> cst.SimpleStatementLine:
    """`from m import a` + b -> `from m import a, b` (at b's sorted place when the names are sorted)."""
    names = list(small.names)
    place = len(names)
    if _names_sorted(names):
        place = next((i for i, a in enumerate(names) if (dotted_name(a.name) or "").lower() > name.lower()), len(names))
    parenthesised = small.lpar is not None and isinstance(names[-1].comma, cst.Comma)
    if parenthesised:
        # one name per line, trailing comma: commas between names carry the line break and
        # indentation, the last one the break before `)`
        between = names[0].comma if len(names) > 1 else cst.Comma(whitespace_after=small.lpar.whitespace_after)
        if place == len(names):
            last = names[-1].comma
            names[-1] = names[-1].with_changes(comma=between)
            names.append(cst.ImportAlias(name=cst.Name(name), comma=last))
        else:
            names.insert(place, cst.ImportAlias(name=cst.Name(name), comma=between))
    elif place == len(names):
        names[-1] = names[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        names.append(cst.ImportAlias(name=cst.Name(name)))
    else:
        names.insert(place, cst.ImportAlias(name=cst.Name(name), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))))
    return statement.with_changes(body=[small.with_changes(names=names)])


def add_import(module: cst.Module, module_name: str, name: str, first_party: Sequence[str] = ()) -> cst.Module:
    """Import `name` from `module_name` unless the module already binds it at the top level.

    `first_party`: the project's top-level packages (the importing module's own at least).
    """
    body: List[cst.CSTNode] = list(module.body)
    first_party = tuple(first_party)
    imports: List[Tuple[int, int, str, bool]] = []  # (index in body, section, module, from)
    for number, statement in enumerate(body):
        if not _is_import_line(statement):
            continue
        for small in statement.body:
            found, is_from = _module_of(small)
            if is_from and found == module_name and not isinstance(small.names, cst.ImportStar):
                if any(a.asname is None and dotted_name(a.name) == name for a in small.names):
                    return module
                if len(statement.body) == 1:
                    body[number] = _join(statement, small, name)
                    return module.with_changes(body=body)
        found, is_from = _module_of(statement.body[0])
        imports.append((number, _section(found, first_party), found, is_from))
    new = cst.SimpleStatementLine(
        body=[cst.ImportFrom(module=cst.parse_expression(module_name), names=[cst.ImportAlias(name=cst.Name(name))])]
    )
    section = _section(module_name, first_party)
    key = _sort_key(module_name, True)
    if not imports:
        return _insert_first(module, body, new)
    # the top block of imports: up to the first statement that is not an import
    top = [item for item in imports if all(_is_import_line(body[i]) or is_docstring(body[i]) for i in range(imports[0][0], item[0] + 1))]
    same = [item for item in top if item[1] == section]
    if same:
        later = [item for item in same if _sort_key(item[2], item[3]) > key]
        before = later[0][0] if later else same[-1][0] + 1
        takes_over = bool(later) and later[0] is same[0]
    else:
        following_sections = [item for item in top if item[1] > section]
        before = following_sections[0][0] if following_sections else top[-1][0] + 1
        takes_over = bool(following_sections)
        if not following_sections:
            new = new.with_changes(leading_lines=[cst.EmptyLine()])  # a section of its own, last
    if takes_over:
        # first of its section (or of a new one): the separation above it is now the new line's
        pushed = body[before]
        new = new.with_changes(leading_lines=pushed.leading_lines)
        comments = _without_leading_blank(pushed.leading_lines)
        body[before] = pushed.with_changes(leading_lines=comments if same else [cst.EmptyLine(), *comments])
    body.insert(before, new)
    following = before + 1
    if following < len(body) and not _is_import_line(body[following]):
        after = body[following]
        if not any(isinstance(line, cst.EmptyLine) and line.comment is None for line in after.leading_lines[:1]):
            blank = 2 if isinstance(after, (cst.ClassDef, cst.FunctionDef)) else 1
            body[following] = after.with_changes(leading_lines=[cst.EmptyLine()] * blank + list(after.leading_lines))
    return module.with_changes(body=body)


def _without_leading_blank(lines: Sequence[cst.EmptyLine]) -> List[cst.EmptyLine]:
    lines = list(lines)
    while lines and lines[0].comment is None:
        lines.pop(0)
    return lines


def _insert_first(module: cst.Module, body: List[cst.CSTNode], new: cst.SimpleStatementLine) -> cst.Module:
    """A module without imports: after its docstring (one blank line apart), else first."""
    position = 1 if body and is_docstring(body[0]) else 0
    if position == 0 and body:
        new = new.with_changes(leading_lines=body[0].leading_lines)
        body[0] = body[0].with_changes(leading_lines=[])
    elif position == 1:
        new = new.with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(position, new)
    following = position + 1
    if following < len(body):
        after = body[following]
        if not any(isinstance(line, cst.EmptyLine) and line.comment is None for line in after.leading_lines[:1]):
            blank = 2 if isinstance(after, (cst.ClassDef, cst.FunctionDef)) else 1
            body[following] = after.with_changes(leading_lines=[cst.EmptyLine()] * blank + list(after.leading_lines))
    return module.with_changes(body=body)
