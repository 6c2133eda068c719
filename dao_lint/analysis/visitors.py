"""Faster `get_visitors` and `get_metadata` for batched visitors: libcst works out on every
call what we work out once per class."""
from __future__ import annotations

from typing import Callable, Dict, FrozenSet, List, Mapping

__all__ = ["CachedVisitors"]

_NAMES: Dict[type, List[str]] = {}
_DEPENDENCIES: Dict[type, FrozenSet[type]] = {}
_MISSING = object()


class CachedVisitors:
    """Mixin for BatchableCSTVisitor / BatchableMetadataProvider subclasses.

    libcst's default runs `inspect.getmembers` on each instance; with one instance per
    rule per file that was 15% of a cold run.
    """

    def get_visitors(self) -> Mapping[str, Callable]:
        cls = type(self)
        names = _NAMES.get(cls)
        if names is None:
            names = []
            for name in dir(cls):
                if not (name.startswith("visit_") or name.startswith("leave_")):
                    continue
                method = getattr(cls, name)
                if callable(method) and not getattr(method, "_is_no_op", False):
                    names.append(name)
            _NAMES[cls] = names
        return {name: getattr(self, name) for name in names}

    def get_metadata(self, key: type, node: object, default: object = _MISSING) -> object:
        """libcst's `get_metadata` (a provider the class did not declare is an error, even
        when another visitor's declaration made it run), without recomputing the declared
        set on every call: the rules ask for metadata a hundred thousand times a run."""
        cls = type(self)
        declared = _DEPENDENCIES.get(cls)
        if declared is None:
            declared = _DEPENDENCIES[cls] = frozenset(self.get_inherited_dependencies())
        if key not in declared:
            raise KeyError(f"{key.__name__} is not declared as a dependency in {cls.__name__}.METADATA_DEPENDENCIES.")
        store = self.metadata[key]
        return store[node] if default is _MISSING else store.get(node, default)
