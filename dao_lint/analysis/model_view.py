"""The project's session model (`dao_lint.sessions.ProjectSessions`, handed in through the
configuration) as one file sees it: names as the file writes them (`open_db`,
`deps.SessionDep`, `self.session_maker`) turned into the model's qualified names, and the
model's answers turned into what a call, a `with` or an annotation gives."""
from __future__ import annotations

from typing import Dict, Optional

from .names import qualify
from ..foundations.vocabulary import absolute_name

__all__ = ["ModelView"]


class ModelView:
    """Questions one file asks of the project's session model."""

    def __init__(self, model, module: str, is_package: bool, imports: Dict[str, str]) -> None:  # noqa: ANN001
        self.model = model
        self.module = module
        self.is_package = is_package
        self.imports = imports

    def entry(self, dotted: Optional[str], class_name: Optional[str]) -> Optional[tuple]:
        """The model's entry for a dotted name written in this file (in a method of
        `class_name`, for `self.`/`cls.` names), or None."""
        if self.model is None or dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in ("self", "cls"):
            if class_name is None or not rest:
                return None
            qualified = f"{self.module}.{class_name}.{rest}"
        elif head in self.imports:
            qualified = absolute_name(self.module, self.is_package, qualify(dotted, self.imports) or dotted)
        else:
            qualified = f"{self.module}.{dotted}" if self.module else dotted
        return self.model.lookup(qualified)

    @staticmethod
    def called(entry: Optional[tuple], entered: bool) -> Optional[str]:
        """What calling the name gives (entering the result, with `entered`): "made" (a
        session the callee may have made), "obtained" (one it found), "handed" (the one it
        was passed), "not" (no session), None (the model cannot tell)."""
        if entry is None:
            return None
        kind, value = entry
        if kind == "type":
            return "made" if value else "not"
        if kind == "value":
            if value[0] in ("factory", "scoped"):
                return "made" if value[0] == "factory" else "obtained"
            value = value[1] if value[0] == "callable" else None
        if value is None:
            return None
        if value[0] == "not":
            return "not"
        if value[0] == "session" or (value[0] == "cm" and entered):
            return "handed" if value[1] == frozenset({"handed"}) else "obtained"
        return None

    @staticmethod
    def creates(entry: Optional[tuple]) -> Optional[bool]:
        """Whether calling the name may make a new session: a factory of the project's, its
        own `Session` subclass, or a function that makes one (`get_db()`, `open_db(db)` when
        it is not handed one). None: the model does not know the name."""
        if entry is None:
            return None
        kind, value = entry
        if kind == "type":
            return value
        if kind == "value":
            if value[0] in ("factory", "scoped"):
                return value[0] == "factory"
            value = value[1] if value[0] == "callable" else None
        return value is not None and value[0] in ("session", "cm") and "made" in value[1]

    @staticmethod
    def depended(entry: Optional[tuple]) -> Optional[bool]:
        """Whether `Depends(name)` hands a path operation a session; None: not known."""
        if entry is None or entry[0] != "calls":
            return None
        return entry[1][0] in ("session", "gen")
