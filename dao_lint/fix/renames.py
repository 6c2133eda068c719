"""DAO301's unsafe fix across the project: a configured DAO method renamed, with every call
that resolves to it; left alone where a subclass defines either name."""
from __future__ import annotations

from typing import List, Tuple

from ..model.index import ProjectIndex
from .fixplan import FixPlan, Kept

__all__ = ["plan_renames"]


def plan_renames(index: ProjectIndex, plan: FixPlan, renames: Tuple[Tuple[str, str], ...]) -> None:
    """Rename configured DAO methods and every call site that resolves to them."""
    for old, new in renames:
        class_name, method = old.split(".")
        definitions = [
            (path, summary) for path, summary in sorted(index.files.items())
            if class_name in summary.classes and method in summary.classes[class_name].methods
        ]
        if not definitions:
            done = any(class_name in summary.classes and new in summary.classes[class_name].methods for summary in index.files.values())
            if not done:  # (renamed already: nothing to say)
                plan.kept.append(Kept("DAO301", "", (0, 0), f"{old} -> {new}", "no such method in the checked paths"))
            continue
        for path, summary in definitions:
            info = summary.functions.get(f"{class_name}.{method}")
            position = info.position if info else (0, 0)
            if new in summary.classes[class_name].methods:
                plan.kept.append(Kept("DAO301", path, position, old, f"`{class_name}` already has a `{new}`"))
                continue
            subclasses: List[Tuple[str, str]] = []
            frontier = [(path, class_name)]
            while frontier:
                for sub in index.subclasses.get(frontier.pop(), []):
                    if sub not in subclasses:
                        subclasses.append(sub)
                        frontier.append(sub)
            overriding = [
                f"{p}::{c}" for p, c in subclasses
                if method in index.files[p].classes[c].methods or new in index.files[p].classes[c].methods
            ]
            if overriding:
                plan.kept.append(Kept("DAO301", path, position, old, f"subclasses define `{method}` or `{new}` too: {', '.join(overriding)}"))
                continue
            key = (path, f"{class_name}.{method}")
            plan.rename_defs.setdefault(path, {})[key[1]] = new
            for caller_key, site in index.callers.get(key, []):
                plan.rename_calls.setdefault(caller_key[0], {})[site.span] = new
