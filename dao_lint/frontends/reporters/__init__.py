"""Output formats for diagnostics: text (rich), json, github annotations, sarif."""
import importlib
from typing import Callable, Dict

__all__ = ["FORMATS"]


def _lazy(module: str) -> Callable:
    """The module's `render`, imported when first called (rich and the rules are not cheap)."""

    def render(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return importlib.import_module(f"{__name__}.{module}").render(*args, **kwargs)

    return render


FORMATS: Dict[str, Callable] = {name: _lazy(name) for name in ("text", "json", "github", "sarif")}
