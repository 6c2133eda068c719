"""Edits at call sites found by the project index: drop `commit=` (DAO103), rename (DAO301).

Both are located by the call's span in the indexed source, so they run in one pass over
the freshly parsed module, before any other rewrite moves things around.
"""
from __future__ import annotations

from typing import Dict, Set, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ..analysis import DaoFacts, FileContext, FileContextProvider
from ..analysis.positions import AstPositionFacts

__all__ = ["edit_call_sites", "is_commit_argument"]

Span = Tuple[Tuple[int, int], Tuple[int, int]]


def is_commit_argument(arg: cst.Arg) -> bool:
    """`commit=...`, or the caller's own `commit` flag passed on by position."""
    if arg.keyword is not None:
        return arg.keyword.value == "commit"
    return not arg.star and isinstance(arg.value, cst.Name) and arg.value.value == "commit"


class _CallSiteEdits(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (AstPositionFacts, DaoFacts)

    def __init__(self, drop: Set[Span], rename_calls: Dict[Span, str], rename_defs: Dict[str, str]) -> None:
        super().__init__()
        self.drop = drop
        self.rename_calls = rename_calls
        self.rename_defs = rename_defs
        self.renamed = 0
        self.slow = None
        self.fallback = None

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        scope = self.get_metadata(DaoFacts, original_node, None)
        if scope is None or scope.qualname not in self.rename_defs:
            return updated_node
        self.renamed += 1
        return updated_node.with_changes(name=cst.Name(self.rename_defs[scope.qualname]))

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        # the same positions the project index recorded (CPython's, else libcst's)
        found = self.get_metadata(AstPositionFacts, original_node, None)
        if found is None:
            if self.slow is None:
                self.slow = self.fallback()
            where = self.slow[original_node]
        else:
            where = found.range
        span = ((where.start.line, where.start.column), (where.end.line, where.end.column))
        if span in self.rename_calls and isinstance(updated_node.func, cst.Attribute):
            updated_node = updated_node.with_changes(
                func=updated_node.func.with_changes(attr=cst.Name(self.rename_calls[span]))
            )
        if span in self.drop:
            args = list(updated_node.args)
            kept = [a for a in args if not is_commit_argument(a)]
            if len(kept) != len(args):
                if kept and args[-1] not in kept:
                    # the removed argument was last: the new last one takes its comma (or none)
                    kept[-1] = kept[-1].with_changes(comma=args[-1].comma)
                updated_node = updated_node.with_changes(args=kept)
        return updated_node


def edit_call_sites(
    module: cst.Module,
    context: FileContext,
    drop: Set[Span],
    rename_calls: Dict[Span, str],
    rename_defs: Dict[str, str],
) -> Tuple[cst.Module, int]:
    """Returns (module, definitions renamed): the call sites a rename or a dropped flag
    changes follow the one finding, at the definition, and are not counted."""
    if not drop and not rename_calls and not rename_defs:
        return module, 0
    transformer = _CallSiteEdits(drop, rename_calls, rename_defs)
    wrapper = MetadataWrapper(module, cache={FileContextProvider: context})
    transformer.fallback = lambda: wrapper.resolve(PositionProvider)
    result = wrapper.visit(transformer)
    return result, transformer.renamed
