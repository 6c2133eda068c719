"""The project index: file summaries joined, so that names and calls resolve across modules.

It answers "what does `database.commit` name", "which methods does `ChartUpdater` inherit",
"who calls `BaseDAO.update`" (resolved call sites, and overrides reached through `self`/
`cls`), "where is this function used as a value" (callbacks) and "which calls could reach
it that nothing resolves" (a method name called on a receiver of unknown type). Plain data
over `FileSummary`s: no libcst.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Set, Tuple

from .modules import MAX_DEPTH, ModuleTable
from .summary import CallSite, ClassInfo, FileSummary, FunctionInfo, FunctionKey, Position
from ..foundations.vocabulary import APP_HOLDERS

__all__ = ["ProjectIndex", "MAX_DEPTH", "describe"]

EXTERNAL = "<outside>"  # the summaries' name for "another library's object"
ClassKey = Tuple[str, str]  # (path, class name)
Site = Tuple[FunctionKey, CallSite]  # the calling function and the call


def describe(key: FunctionKey) -> str:
    return f"{key[0]}::{key[1] or '<module>'}"


class ProjectIndex(ModuleTable[FileSummary]):
    """Joins file summaries and resolves calls across modules."""

    def __init__(self, summaries: Iterable[FileSummary]) -> None:
        super().__init__(summaries)
        self._listeners: Optional[Dict[FunctionKey, str]] = None
        self._named: Optional[Dict[str, List[FunctionKey]]] = None  # method name -> methods (on demand)
        self.callers: Dict[FunctionKey, List[Site]] = {}
        #: callers that reach a method through `self.m()` / `cls.m()` in a base class
        self.dispatch_callers: Dict[FunctionKey, List[Site]] = {}
        #: method name -> call sites passing `commit=` whose target could not be resolved
        self.unresolved_commit_calls: Dict[str, List[Tuple[str, Position]]] = {}
        #: method name -> calls on receivers of unknown type (they may reach a method so named)
        self.unresolved: Dict[str, List[Site]] = {}
        self.call_targets: Dict[Tuple[str, Tuple[Position, Position]], Tuple[FunctionKey, ...]] = {}
        self.instantiated: Set[ClassKey] = set()
        self.subclasses: Dict[ClassKey, List[ClassKey]] = {}
        self._index_classes()
        for summary in self.files.values():
            for info in summary.functions.values():
                caller = (summary.path, info.qualname)
                for site in info.calls:
                    self._index_call(summary, info, caller, site)
        self.references: Dict[FunctionKey, List[Tuple[str, Position]]] = {}
        for summary in self.files.values():
            for dotted, position in summary.references:
                for key in self._referenced(summary, dotted):
                    self.references.setdefault(key, []).append((summary.path, position))

    def _index_classes(self) -> None:
        for summary in self.files.values():
            for name, info in summary.classes.items():
                for base in info.bases:
                    found = self.resolve_symbol(summary, base)
                    if found is None and base in summary.classes:
                        found = ("class", summary.path, base)
                    if found and found[0] == "class":
                        self.subclasses.setdefault((found[1], found[2]), []).append((summary.path, name))

    def _index_call(self, summary: FileSummary, info: FunctionInfo, caller: FunctionKey, site: CallSite) -> None:
        targets, known = self._resolve(summary, info, site)
        self.call_targets[(summary.path, site.span)] = targets
        for target in targets:
            self.callers.setdefault(target, []).append((caller, site))
        owner = self._dispatch_class(summary, info, site) if targets else None
        if owner is not None:  # the instance may be of a subclass that overrides the method
            for override in self._overrides(owner, site.method, targets[0]):
                self.dispatch_callers.setdefault(override, []).append((caller, site))
        if site.kind == "name":
            found = self.resolve_symbol(summary, site.target)
            if found is None and site.target in summary.classes:
                found = ("class", summary.path, site.target)
            if found and found[0] == "class":
                self.instantiated.add((found[1], found[2]))
        if targets:
            return
        if site.commit_keyword is not None and not known:
            self.unresolved_commit_calls.setdefault(site.method, []).append((summary.path, site.position))
        if not known and self._may_reach_project(site):
            self.unresolved.setdefault(site.method, []).append((caller, site))

    def _may_reach_project(self, site: CallSite) -> bool:
        """An unresolved call whose receiver could be an instance of a project class."""
        if site.kind in ("var", "unknown", "returned"):
            return True
        if site.kind == "attr":  # an imported receiver: a project module's variable, or an
            # object of another library that holds the application's values (`g.project`)
            if any(site.target == holder or site.target.startswith(holder + ".") for holder in APP_HOLDERS):
                return True
            parts = site.target.split(".")
            return any(self._module(".".join(parts[:cut])) is not None for cut in range(len(parts), 0, -1))
        return False

    # -- names ---------------------------------------------------------------------------
    def class_info(self, path: str, name: str) -> Optional[ClassInfo]:
        summary = self.files.get(path)
        return summary.classes.get(name) if summary else None

    def _module_function(self, summary: FileSummary, target: str, method: str) -> Tuple[FunctionKey, ...]:
        """`database.commit()` with `from app import database`: a function of a project module."""
        module = self._module(self.absolute(summary, target))
        if module is None:
            return ()
        found = self._in_module(module, [method], 0)
        return ((found[1], found[2]),) if found and found[0] == "function" else ()

    def resolve_call(self, summary: FileSummary, caller: FunctionInfo, site: CallSite) -> Tuple[FunctionKey, ...]:
        return self._resolve(summary, caller, site)[0]

    def _resolve(self, summary: FileSummary, caller: FunctionInfo, site: CallSite) -> Tuple[Tuple[FunctionKey, ...], bool]:
        """(targets, whether the receiver's type is known): a call on a receiver of known
        type that resolves to nothing calls code outside the project."""
        if site.kind == "name":
            if "." not in site.target and site.target in summary.functions:
                target = summary.functions[site.target]
                return (((summary.path, site.target),) if target.class_name is None else ()), True
            found = self.resolve_symbol(summary, site.target)
            return (((found[1], found[2]),) if found and found[0] == "function" else ()), True
        if site.kind in ("self", "super"):
            class_name = caller.qualname.split(".")[0] if "." in caller.qualname else None
            if class_name is None or class_name not in summary.classes:
                return (), True
            key = self.find_method(summary.path, class_name, site.method, skip_self=site.kind == "super")
            return ((key,) if key else ()), True
        if site.kind == "returned":
            inner_kind, inner_target, inner_method = site.target.split("|", 2)
            inner = CallSite(inner_kind, inner_target, inner_method, site.position, None, False)
            functions = self.resolve_call(summary, caller, inner)
            info = self.function(functions[0]) if functions else None
            if info is None or info.returns is None:
                return (), False
            return self._method_of_type(self.files[functions[0][0]], info.returns, site.method)
        if site.kind in ("attr", "var", "instance"):
            if site.kind == "attr":
                functions = self._module_function(summary, site.target, site.method)
                if functions:
                    return functions, True
            known = self._receiver_type(summary, caller, site)
            if known is not None:
                return self._method_of_type(known[0], known[1], site.method)
            found = self.resolve_symbol(summary, site.target)
            if found is None and site.target in summary.classes:
                found = ("class", summary.path, site.target)
            if found is not None and found[0] == "class":
                key = self.find_method(found[1], found[2], site.method)
                return ((key,) if key else ()), True
            if site.kind == "instance":
                return (), True  # a class from outside the project (or `<outside>`)
        return (), False

    def _dispatch_class(self, summary: FileSummary, caller: FunctionInfo, site: CallSite) -> Optional[ClassKey]:
        """The class of the instance a method call is made on, when only its type is known
        (`self.m()`, `self._executor.m()` with `_executor: Executor`); None for calls that
        name their target exactly (`super().m()`, `ChartDAO.create()`, a function)."""
        if site.kind == "self":
            class_name = caller.qualname.split(".")[0] if "." in caller.qualname else None
            return (summary.path, class_name) if class_name in summary.classes else None
        if site.kind in ("var", "attr"):
            known = self._receiver_type(summary, caller, site)
            return self._class_of(*known) if known is not None else None
        if site.kind == "returned":
            inner_kind, inner_target, inner_method = site.target.split("|", 2)
            functions = self.resolve_call(summary, caller, CallSite(inner_kind, inner_target, inner_method, site.position, None, False))
            info = self.function(functions[0]) if functions else None
            return self._class_of(self.files[functions[0][0]], info.returns) if info is not None and info.returns else None
        return None

    def _method_of_type(self, summary: FileSummary, qualified: str, method: str) -> Tuple[Tuple[FunctionKey, ...], bool]:
        """The method a receiver of class `qualified` (as named in `summary`) runs."""
        found = self.resolve_symbol(summary, qualified)
        if found is None and qualified in summary.classes:
            found = ("class", summary.path, qualified)
        if found is None or found[0] != "class":
            return (), True  # a class from outside the project: not ours
        key = self.find_method(found[1], found[2], method)
        return ((key,) if key else ()), True

    def _receiver_type(self, summary: FileSummary, caller: FunctionInfo, site: CallSite) -> Optional[Tuple[FileSummary, str]]:
        """(the file that names it, the class) of a dotted receiver, followed attribute by
        attribute: `self.dao`, `charts` (a module variable), `cache_manager.data_cache` (a
        module variable's property). None when some step is not known."""
        parts = site.target.split(".")
        start: Optional[Tuple[FileSummary, str]] = None
        rest: List[str] = []
        if site.kind == "var" and parts[0] in ("self", "cls") and "." in caller.qualname and len(parts) >= 2:
            class_name = caller.qualname.split(".")[0]
            if class_name in summary.classes:
                start, rest = (summary, class_name), parts[1:]
        elif site.kind == "var" and parts[0] in summary.variables:
            start, rest = (summary, summary.variables[parts[0]]), parts[1:]
        elif site.kind == "attr" or (site.kind == "var" and parts[0] not in summary.classes and len(parts) >= 2):
            # (a local named like a project module holds it: `model = context['model']`)
            for cut in range(len(parts) - 1, 0, -1):
                module = self._module(self.absolute(summary, ".".join(parts[:cut])))
                if module is not None:
                    if parts[cut] in module.variables:
                        start, rest = (module, module.variables[parts[cut]]), parts[cut + 1 :]
                    break
        if start is None:
            return None
        current = start
        for number, name in enumerate(rest):
            found = self._class_of(*current)
            if found is None:
                return current if current[1] == EXTERNAL or self._outside(*current) else None
            if number == 0 and parts[0] in ("self", "cls"):
                # `self` may be an instance of a subclass: its attribute as any of them sets it
                step = self._self_attribute(found, name)
            else:
                step = self._attribute_type(found[0], found[1], name)
            if step is None:
                return None
            current = step
        return current

    def _self_attribute(self, owner: ClassKey, name: str) -> Optional[Tuple[FileSummary, str]]:
        """The class of `self.<name>` in a method of `owner`, whatever subclass `self` is:
        the one project class all of them agree on, or another library's object when only
        outside code (an outside base class, outside values) can have set it."""
        types: List[Tuple[FileSummary, str]] = []
        inherited = self._attribute_type(owner[0], owner[1], name)
        if inherited is not None:
            types.append(inherited)
        frontier, seen = list(self.subclasses.get(owner, [])), set()
        while frontier:
            key = frontier.pop()
            if key in seen:
                continue
            seen.add(key)
            info = self.class_info(*key)
            if info is not None and name in info.attributes:
                types.append((self.files[key[0]], info.attributes[name]))
            frontier.extend(self.subclasses.get(key, []))
        classes = {self._class_of(*t) for t in types} - {None}
        if len(classes) == 1 and all(self._class_of(*t) is not None for t in types):
            return types[0]
        if classes:
            return None  # several of the project's classes: not one answer
        if types or self._outside_base(owner):
            return (self.files[owner[0]], EXTERNAL)
        return None

    def _outside_base(self, owner: ClassKey, depth: int = 0) -> bool:
        """Some base class of `owner` comes from outside the project."""
        info = self.class_info(*owner)
        if info is None or depth > MAX_DEPTH:
            return False
        summary = self.files[owner[0]]
        for base in info.bases:
            found = self._class_of(summary, base)
            if found is None:
                if base != "object" and "Generic" not in base and "ABC" not in base and "Protocol" not in base and not self._own(summary, base):
                    return True  # (a class of the project's own package, in a file with no summary: not known)
            elif self._outside_base(found, depth + 1):
                return True
        return False

    def _class_of(self, summary: FileSummary, qualified: str) -> Optional[ClassKey]:
        found = self.resolve_symbol(summary, qualified)
        if found is None and qualified in summary.classes:
            found = ("class", summary.path, qualified)
        return (found[1], found[2]) if found is not None and found[0] == "class" else None

    def _outside(self, summary: FileSummary, qualified: str) -> bool:
        """`qualified` (as named in `summary`) is no class of the project: another library's."""
        return self._class_of(summary, qualified) is None and (qualified == EXTERNAL or not self._own(summary, qualified))

    def _own(self, summary: FileSummary, qualified: str) -> bool:
        """`qualified` names something of the project: a module the index has, or one of the
        file's own top-level package (a file with no database code has no summary)."""
        head = self.absolute(summary, qualified).split(".")[0]
        return self._module(head) is not None or (bool(summary.module) and "." in summary.module and head == summary.module.split(".")[0])

    def _attribute_type(self, path: str, class_name: str, name: str, depth: int = 0) -> Optional[Tuple[FileSummary, str]]:
        """The class of `self.<name>` in `class_name`, following base classes."""
        info = self.class_info(path, class_name)
        if info is None or depth > MAX_DEPTH:
            return None
        summary = self.files[path]
        if name in info.attributes:
            return summary, info.attributes[name]
        prop = summary.functions.get(f"{class_name}.{name}")
        if prop is not None and prop.returns is not None and prop.binding == "property":
            return summary, prop.returns
        for base in info.bases:
            found = self.resolve_symbol(summary, base)
            if found is None and base in summary.classes:
                found = ("class", path, base)
            if found and found[0] == "class":
                inherited = self._attribute_type(found[1], found[2], name, depth + 1)
                if inherited is not None:
                    return inherited
        return None

    def _overrides(self, owner: ClassKey, method: str, target: FunctionKey) -> List[FunctionKey]:
        """Methods of `owner`'s subclasses that a call of `method` on an `owner` instance may
        run instead of `target`."""
        out: List[FunctionKey] = []
        frontier = list(self.subclasses.get(owner, []))
        seen: Set[ClassKey] = set()
        while frontier:
            key = frontier.pop()
            if key in seen:
                continue
            seen.add(key)
            info = self.class_info(*key)
            if info is not None and method in info.methods:
                found = (key[0], f"{key[1]}.{method}")
                if found != target:
                    out.append(found)
            frontier.extend(self.subclasses.get(key, []))
        return out

    def _referenced(self, summary: FileSummary, dotted: str) -> Tuple[FunctionKey, ...]:
        """The project function a name used as a value stands for (`ChartDAO.create`, `helper`)."""
        if "." not in dotted:
            info = summary.functions.get(dotted)
            if info is not None and info.class_name is None:
                return ((summary.path, dotted),)
        found = self.resolve_symbol(summary, dotted)
        if found is not None:
            return ((found[1], found[2]),) if found[0] == "function" else ()
        owner, _, method = dotted.rpartition(".")
        if not owner:
            return ()
        module = self._module_function(summary, owner, method)
        if module:
            return module
        found = self.resolve_symbol(summary, owner)
        if found is None and owner in summary.classes:
            found = ("class", summary.path, owner)
        if found is not None and found[0] == "class":
            key = self.find_method(found[1], found[2], method)
            return (key,) if key else ()
        return ()

    # -- questions ---------------------------------------------------------------------------
    def function(self, key: FunctionKey) -> Optional[FunctionInfo]:
        summary = self.files.get(key[0])
        return summary.functions.get(key[1]) if summary else None

    def registered_listeners(self) -> Dict[FunctionKey, str]:
        """Functions registered as ORM listeners by `event.listen(...)` in any module -> event."""
        if self._listeners is None:
            found: Dict[FunctionKey, str] = {}
            for summary in self.files.values():
                for target, event in summary.registrations:
                    # `ChartUpdater.after_insert` may be inherited from a base class
                    for key in self._referenced(summary, target):
                        found[key] = event
            self._listeners = found
        return self._listeners

    def listener(self, key: FunctionKey) -> Optional[str]:
        """The ORM event `key` listens to (registered by decorator or anywhere), or None."""
        info = self.function(key)
        if info is not None and info.listener:
            return info.listener
        return self.registered_listeners().get(key)

    def has_instances(self, path: str, class_name: str) -> bool:
        """Code of the project makes instances of the class or of a subclass."""
        frontier = [(path, class_name)]
        seen: Set[ClassKey] = set()
        while frontier:
            key = frontier.pop()
            if key in seen:
                continue
            seen.add(key)
            if key in self.instantiated:
                return True
            frontier.extend(self.subclasses.get(key, []))
        return False

    def possible_targets(self, caller: FunctionKey, site: CallSite) -> List[FunctionKey]:
        """The methods a call on a named receiver of unknown type (`si.delete()`) may reach:
        the same name, a fitting argument list, instances of the class exist. None for a
        resolved call."""
        if site.kind not in ("var", "attr"):
            return []  # (a chain's receiver, `session.query(...).delete()`, is SQLAlchemy's more often than not)
        if self._named is None:
            self._named = {}
            for summary in self.files.values():
                for info in summary.functions.values():
                    if info.class_name is not None:
                        self._named.setdefault(info.name, []).append((summary.path, info.qualname))
        return [key for key in self._named.get(site.method, []) if (caller, site) in self.unresolved_callers(key)]

    def unresolved_callers(self, key: FunctionKey) -> List[Site]:
        """Calls nothing resolves that may reach the method `key`: same name, a compatible
        argument list, and instances of its class exist for the receiver to be one of."""
        info = self.function(key)
        if info is None or info.class_name is None:
            return []
        if info.binding != "instance" and not self.has_instances(key[0], info.class_name):
            return []
        return [(caller, site) for caller, site in self.unresolved.get(info.name, []) if accepts(info, site)]


def accepts(info: FunctionInfo, site: CallSite) -> bool:
    """The call's arguments fit the function's parameters (so it may be a call of it)."""
    positional, keywords, starred = site.arguments
    if starred:
        return True
    most, required, names, open_ended = info.signature
    if open_ended:
        return True
    if positional > most or any(k not in names for k in keywords):
        return False
    filled = positional + sum(1 for k in keywords if k in names[:most])
    return filled >= required
