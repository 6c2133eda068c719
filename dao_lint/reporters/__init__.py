"""Output formats for diagnostics: text (rich), json, github annotations, sarif."""
from typing import Callable, Dict

from . import github, json, sarif, text

__all__ = ["FORMATS"]

FORMATS: Dict[str, Callable] = {
    "text": text.render,
    "json": json.render,
    "github": github.render,
    "sarif": sarif.render,
}
