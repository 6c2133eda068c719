"""Faster `get_visitors` for batched visitors: libcst inspects every instance, we do it once per class."""
from __future__ import annotations

from typing import Callable, Dict, List, Mapping

__all__ = ["CachedVisitors"]

_NAMES: Dict[type, List[str]] = {}


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
