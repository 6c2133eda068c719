"""The project's session model as data: what each qualified name gives (a session, a
context manager yielding one, a factory, a session type, or not a session), which modules
are the DAO layer and which of their functions touch no database. Built by
`dao_lint.sessions`, asked by the session analysis (`dao_lint.analysis.model_view`); its
`repr` is a digest, so every cache key that includes the configuration includes it."""
from __future__ import annotations

import hashlib
from typing import Dict, FrozenSet, Optional

__all__ = ["ProjectSessions"]


class ProjectSessions:
    """What the session analysis asks of the project: name -> what it is, as plain data.

    `names` maps an absolute dotted name to ("calls", value) for a function or method
    (what calling it gives), ("value", value) for anything else, or ("type", bool) for a
    class or alias used in annotations. Only names that bear on sessions are kept.
    """

    def __init__(self, names: Dict[str, tuple], dao_modules: FrozenSet[str] = frozenset(), idle: FrozenSet[str] = frozenset()) -> None:
        self.names = names
        #: the modules of the DAO layer (`dao-modules`), by dotted name: their functions are
        #: DAO calls wherever they are called from (`crud.create_user(db, ...)`)
        self.dao_modules = dao_modules
        #: functions and methods of the DAO layer that touch no database (`Resource.get_columns`)
        self.idle = idle
        text = repr((sorted(names.items()), sorted(dao_modules), sorted(idle)))
        self.digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        self._suffixes: Optional[Dict[str, Optional[str]]] = None
        self._dao_suffixes: Optional[FrozenSet[str]] = None
        self._idle_tails: Optional[FrozenSet[str]] = None

    def __repr__(self) -> str:  # the cache key of every result that asked
        return f"ProjectSessions({self.digest})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProjectSessions) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __getstate__(self) -> dict:
        return {"names": self.names, "dao_modules": self.dao_modules, "idle": self.idle, "digest": self.digest}

    def __setstate__(self, state: dict) -> None:
        self.names, self.dao_modules, self.idle, self.digest = state["names"], state["dao_modules"], state["idle"], state["digest"]
        self._suffixes = self._dao_suffixes = self._idle_tails = None

    def is_idle(self, qualified: str) -> bool:
        """The DAO-layer function `qualified` touches no database (also when reached
        through a re-export: `ckan.model.Resource.get_extra_columns`)."""
        if qualified in self.idle:
            return True
        if self._idle_tails is None:
            self._idle_tails = frozenset(".".join(name.split(".")[-2:]) for name in self.idle)
        return ".".join(qualified.split(".")[-2:]) in self._idle_tails

    def is_dao_module(self, module: str) -> bool:
        """`module` (absolute, or a dotted suffix of one) is a module of the DAO layer."""
        if self._dao_suffixes is None:
            self._dao_suffixes = frozenset(".".join(m.split(".")[cut:]) for m in self.dao_modules for cut in range(m.count(".") + 1))
        return module in self._dao_suffixes

    def lookup(self, qualified: str) -> Optional[tuple]:
        """The entry for an absolute dotted name (also by a unique dotted suffix: the
        configuration root may sit above the import root), else None."""
        found = self.names.get(qualified)
        if found is not None or "." not in qualified:
            return found
        if self._suffixes is None:
            self._suffixes = {}
            for name in self.names:
                parts = name.split(".")
                for cut in range(1, len(parts) - 1):
                    suffix = ".".join(parts[cut:])
                    self._suffixes[suffix] = None if suffix in self._suffixes else name
        full = self._suffixes.get(qualified)
        return self.names.get(full) if full is not None else None
