"""The file being checked (path and configuration), handed to the analysis providers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import libcst as cst
from libcst.metadata import BatchableMetadataProvider

from ..foundations.config import Config
from ..foundations.globs import path_matches
from .visitors import CachedVisitors
from ..foundations.vocabulary import module_name

__all__ = ["FileContext", "FileContextProvider", "module_name"]


@dataclass(frozen=True)
class FileContext:
    """Where a file sits in the project, decided once from the configuration."""

    path: str
    relpath: str
    config: Config
    is_dao_module: bool
    is_test: bool
    is_migration_module: bool
    #: the source text, when the caller has it (positions come from CPython's parser then)
    text: Optional[str] = None

    @property
    def module_name(self) -> str:
        """The dotted module name the relative path suggests (`blog.utils` for blog/utils.py)."""
        return module_name(self.relpath)

    @classmethod
    def for_path(cls, path: str, config: Config, text: Optional[str] = None) -> "FileContext":
        rel = config.relpath(path)
        return cls(
            path=path,
            relpath=rel,
            config=config,
            is_dao_module=config.is_dao_module(rel),
            is_test=path_matches(config.test_paths, rel),
            is_migration_module=path_matches(config.migration_modules, rel),
            text=text,
        )


def _no_cache(*args: object, **kwargs: object) -> None:  # pragma: no cover - never called
    raise NotImplementedError("FileContext is handed in through MetadataWrapper(cache=...)")


class FileContextProvider(CachedVisitors, BatchableMetadataProvider[Optional[FileContext]]):
    """Attaches the FileContext handed to the MetadataWrapper to the Module node."""

    # Declaring gen_cache makes libcst hand this provider the wrapper's cache entry.
    gen_cache = staticmethod(_no_cache)

    def visit_Module(self, node: cst.Module) -> None:
        self.set_metadata(node, self.cache)
