"""Names across a project's modules: which module a dotted name lives in, what a qualified
name defines (a class, a function, through re-exports), which method a class reaches.

Shared by the project index (file summaries) and the session model (file sketches): both
hold one record per file with `path`, `module`, `is_package`, `imports`, `classes` (name ->
a record with `bases` and `methods`) and `functions` (qualname -> a record with
`class_name`). Plain data, no libcst.
"""
from __future__ import annotations

from typing import Dict, Generic, Iterable, List, Optional, Tuple, TypeVar

from ..foundations.vocabulary import absolute_name

__all__ = ["ModuleTable", "MAX_DEPTH", "absolute_name"]

MAX_DEPTH = 8
Record = TypeVar("Record")


class ModuleTable(Generic[Record]):
    """The project's modules by path and by dotted name."""

    def __init__(self, records: Iterable[Record]) -> None:
        self.files: Dict[str, Record] = {r.path: r for r in records}
        self.modules: Dict[str, Record] = {r.module: r for r in self.files.values() if r.module}
        self._suffixes: Optional[Dict[str, Optional[Record]]] = None
        self._symbols: Dict[Tuple[str, str], object] = {}  # (path, name) -> resolve_symbol's answer

    def _module(self, name: str) -> Optional[Record]:
        if name in self.modules:
            return self.modules[name]
        if self._suffixes is None:
            # the configuration root may sit above the import root (src/ layouts), and a
            # module may be handed around under its own name (`model = context['model']`):
            # index every dotted suffix once; of the modules sharing one, the shallowest
            # answers when it is the only one at its depth, else the suffix is ambiguous
            candidates: Dict[str, Dict[int, List[Record]]] = {}
            for module, record in self.modules.items():
                parts = module.split(".")
                for cut in range(1, len(parts)):
                    candidates.setdefault(".".join(parts[cut:]), {}).setdefault(len(parts), []).append(record)
            self._suffixes = {}
            for suffix, by_depth in candidates.items():
                shallowest = by_depth[min(by_depth)]
                self._suffixes[suffix] = shallowest[0] if len(shallowest) == 1 else None
        return self._suffixes.get(name)

    def module_of(self, name: str) -> Optional[Record]:
        """The record of the project module called `name` (also by a unique dotted suffix)."""
        return self._module(name)

    def absolute(self, record: Record, qualified: str) -> str:
        return absolute_name(record.module, record.is_package, qualified)

    def resolve_symbol(self, record: Record, qualified: str, depth: int = 0):  # noqa: ANN201
        """("class", path, name) or ("function", path, qualname) for a qualified name (or
        what `_other_symbol` answers), else None."""
        if depth == 0 and self.files.get(record.path) is record:
            # asked again and again (every call, every base class): the table never changes
            key = (record.path, qualified)
            if key not in self._symbols:
                self._symbols[key] = self._resolve_symbol(record, qualified, 0)
            return self._symbols[key]
        return self._resolve_symbol(record, qualified, depth)

    def _resolve_symbol(self, record: Record, qualified: str, depth: int):  # noqa: ANN202
        if depth > MAX_DEPTH:
            return None
        qualified = self.absolute(record, qualified)
        parts = qualified.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self._module(".".join(parts[:cut]))
            if module is None:
                continue
            return self._in_module(module, parts[cut:], depth)
        # a name defined in this very module
        return self._in_module(record, parts, depth)

    def _in_module(self, module: Record, symbol: List[str], depth: int):  # noqa: ANN202
        head = symbol[0]
        if head in module.classes:
            if len(symbol) == 1:
                return ("class", module.path, head)
            return self._other_symbol(module, symbol)
        if len(symbol) == 1 and head in module.functions and module.functions[head].class_name is None:
            return ("function", module.path, head)
        if head in module.imports:  # re-exported
            target = module.imports[head] + ("." + ".".join(symbol[1:]) if len(symbol) > 1 else "")
            return self.resolve_symbol(module, target, depth + 1)
        return self._other_symbol(module, symbol)

    def _other_symbol(self, module: Record, symbol: List[str]) -> Optional[Tuple[str, str, str]]:
        """What else a module-level name may be (a subclass's hook: variables)."""
        return None

    def find_method(self, path: str, class_name: str, method: str, depth: int = 0, skip_self: bool = False) -> Optional[Tuple[str, str]]:
        """The definition `cls.method` reaches, following base classes (first match, depth-first)."""
        if depth > MAX_DEPTH:
            return None
        record = self.files.get(path)
        info = record.classes.get(class_name) if record is not None else None
        if info is None:
            return None
        if not skip_self and method in info.methods:
            return (path, f"{class_name}.{method}")
        for base in info.bases:
            found = self.resolve_symbol(record, base)
            if found is None and base in record.classes:
                found = ("class", path, base)
            if found and found[0] == "class":
                key = self.find_method(found[1], found[2], method, depth + 1)
                if key is not None:
                    return key
        return None
