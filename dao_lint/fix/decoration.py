"""Whether and how `dao-lint fix` can add the transaction decorator to a boundary: the
form it must be written in (`@transaction` or `@transaction()`, from its definition), and
whether the boundary's module can import it (the name is free, no import cycle)."""
from __future__ import annotations

from typing import Optional, Set, Tuple

from ..model.index import ProjectIndex
from ..model.summary import FunctionKey

__all__ = ["Decoration", "decorator_form"]


def decorator_form(index: ProjectIndex, decorator: Optional[str]) -> Tuple[Optional[str], str]:
    """("plain" | "factory" | None, why unknown): how the decorator must be written.

    From its definition when the project has it (`def transaction(on_error=...)` returning
    the decorator is a factory: `@transaction()`), else from `()` in the configured value,
    else from how the project already writes it.
    """
    if not decorator:
        return None, "no transaction-decorator is configured"
    name = decorator.rstrip("()")
    module, _, short = name.rpartition(".")
    summary = index.module_of(module)
    if summary is not None:
        if short in summary.decorator_forms:
            return summary.decorator_forms[short], ""
        found = index.resolve_symbol(summary, short) if short in summary.imports else None
        if found is not None and found[0] == "function":
            defined = index.files[found[1]].decorator_forms.get(found[2])
            if defined is not None:
                return defined, ""
    if decorator.endswith("()"):
        return "factory", ""
    written = {s.decorator_called for s in index.files.values() if s.decorator_called is not None}
    if len(written) == 1:
        return ("factory" if True in written else "plain"), ""
    return None, (
        f"`{name}` is not defined in the checked project and nothing uses it yet, so whether it is "
        f"written `@{short}` or `@{short}()` is unknown (write `{name}()` in transaction-decorator for a factory)"
    )


class Decoration:
    """Whether a boundary can get the decorator: its name is free there and importing it
    makes no import cycle."""

    def __init__(self, index: ProjectIndex, decorator: str) -> None:
        self.index = index
        self.name = decorator.rstrip("()")
        self.module, _, self.short = self.name.rpartition(".")
        self.home = index.module_of(self.module)
        self.reaches: Optional[Set[str]] = None

    def __call__(self, key: FunctionKey) -> Optional[str]:
        summary = self.index.files.get(key[0])
        if summary is None:
            return "its file was not indexed"
        if self.home is not None and summary.path == self.home.path:
            return None
        bound = summary.imports.get(self.short)
        if bound is not None:
            if bound == self.name or self.index.absolute(summary, bound) == self.name:
                return None
            return f"`{self.short}` already names `{bound}` in {summary.path}"
        if self.short in summary.names:
            return f"`{self.short}` is already defined in {summary.path}"
        if self.home is not None and not self._imports_from(summary):
            if summary.module in self._reached():
                return f"{self.module} imports {summary.module} (directly or not): importing the decorator there would make an import cycle"
        return None

    def _imports_from(self, summary) -> bool:  # noqa: ANN001
        return any(
            self.index.absolute(summary, q) == self.module or self.index.absolute(summary, q).startswith(self.module + ".")
            for q in summary.imports.values()
        )

    def _reached(self) -> Set[str]:
        """The project modules the decorator's module imports at module level, transitively."""
        if self.reaches is None:
            seen: Set[str] = set()
            frontier = [self.home]
            while frontier:
                summary = frontier.pop()
                for qualified in summary.imports.values():
                    parts = self.index.absolute(summary, qualified).split(".")
                    for cut in range(len(parts), 0, -1):
                        target = self.index.module_of(".".join(parts[:cut]))
                        if target is not None:
                            if target.module not in seen:
                                seen.add(target.module)
                                frontier.append(target)
                            break
            self.reaches = seen
        return self.reaches
