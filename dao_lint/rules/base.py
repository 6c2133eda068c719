"""The Rule base class, its example types, and the registry of rules by code."""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Callable, ClassVar, Dict, List, Optional, Sequence, Tuple, Type

import libcst as cst
from libcst import BatchableCSTVisitor

from ..analysis.positions import AstPositionFacts
from ..foundations.codes import CODES
from ..analysis.visitors import CachedVisitors
from ..foundations.types import ToolCode

__all__ = [
    "Rule",
    "Valid",
    "Invalid",
    "RuleContext",
    "Report",
    "registry",
    "rule_for",
    "TOOL_CODES",
    "all_codes",
]


@dataclass(frozen=True)
class Valid:
    """Code the rule must stay silent on. `path` decides DAO/test/boundary context."""

    code: str
    path: str = "app/daos/example.py"
    title: str = ""
    #: `[tool.dao-lint]` settings the example runs with, e.g. {"transaction-decorator": "app.tx"}
    options: Tuple[Tuple[str, object], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", textwrap.dedent(self.code).strip("\n") + "\n")
        if isinstance(self.options, dict):
            object.__setattr__(self, "options", tuple(self.options.items()))


@dataclass(frozen=True)
class Invalid:
    """Code the rule must flag; `expect` lists `"CODE at LINE:COL"` (1-based)."""

    code: str
    expect: Tuple[str, ...] = ()
    path: str = "app/daos/example.py"
    after: Optional[str] = None
    title: str = ""
    options: Tuple[Tuple[str, object], ...] = ()
    #: the code a user writes instead, at the same path (the page's "Use instead"): clean
    #: under every default rule and doing what the example did; the fix's `after` otherwise
    remedy: Optional[str] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", textwrap.dedent(self.code).strip("\n") + "\n")
        if self.remedy is not None:
            object.__setattr__(self, "remedy", textwrap.dedent(self.remedy).strip("\n") + "\n")
        if isinstance(self.options, dict):
            object.__setattr__(self, "options", tuple(self.options.items()))
        if isinstance(self.expect, str):
            object.__setattr__(self, "expect", (self.expect,))
        if self.after is not None:
            object.__setattr__(self, "after", textwrap.dedent(self.after).strip("\n") + "\n")


@dataclass(frozen=True)
class RuleContext:
    """What a rule instance knows about the file it checks."""

    path: str
    config: object  # dao_lint.config.Config; typed loosely to keep rule.py import-light
    #: asks whether any file of the project uses `begin_nested()` (computed once, lazily)
    project_nested: Optional[Callable[[], bool]] = None

    def project_uses_begin_nested(self) -> bool:
        return bool(self.project_nested and self.project_nested())


@dataclass(frozen=True)
class Report:
    """A finding before positions and suppression are resolved.

    `fix` replaces `node` (or, with `fix_target`, another node such as the enclosing
    statement) by a new node, or removes it (`cst.RemovalSentinel.REMOVE`).
    """

    node: cst.CSTNode
    code: str
    name: str
    message: str
    fix: object = None
    fix_target: Optional[cst.CSTNode] = None


TOOL_CODES: Tuple[ToolCode, ...] = (
    ToolCode("DAO000", "internal-error", "a rule crashed on a file; the rest of the run completed"),
    ToolCode("DAO001", "syntax-error", "the file does not parse as Python"),
    ToolCode("DAO002", "unreadable-file", "the file is binary, not valid in its declared encoding, or cannot be read"),
    ToolCode("DAO003", "unused-noqa", "a `# noqa: DAO...` comment that silences nothing (safe fix: `dao-lint fix` removes it)"),
)

registry: Dict[str, Type["Rule"]] = {}


class Rule(CachedVisitors, BatchableCSTVisitor):
    """Base class: one subclass per code. Subclasses visit nodes and call `report`."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    seed: ClassVar[str] = ""
    message: ClassVar[str] = ""
    fix_title: ClassVar[Optional[str]] = None
    fix_safety: ClassVar[str] = "none"
    #: where the fix comes from: each finding carries its own ("finding"), or `fix` plans it
    #: over the whole project ("project": commits removed only where every caller is covered)
    fix_scope: ClassVar[str] = "finding"
    default_enabled: ClassVar[bool] = True
    status: ClassVar[str] = "stable"
    #: analysis providers this rule asks (see dao_lint.analysis)
    needs: ClassVar[Sequence[type]] = ()
    #: what a file needs before this rule can fire there: "session" (a session-like
    #: token), "dao" (DAO code), "any" (either) or "text" (only what `relevant` asks: an
    #: engine's module, an app's settings); the engine skips rules, and files, that cannot match
    requires: ClassVar[str] = "session"
    #: in boundary modules (migrations: scripts that run once, alone, and own their
    #: transaction): "skip" the rule, check it only in "dao" code there, or "check" it
    migration_modules: ClassVar[str] = "skip"
    #: configuration keys the rule reads (documented under "Options")
    options: ClassVar[Sequence[str]] = ()
    #: references shown in the docs (title, url)
    references: ClassVar[Sequence[Tuple[str, str]]] = ()
    valid: ClassVar[List[Valid]] = []
    invalid: ClassVar[List[Invalid]] = []

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.METADATA_DEPENDENCIES = (AstPositionFacts, *cls.needs)
        if cls.code:
            if cls.code in registry:
                raise ValueError(f"duplicate rule code {cls.code}")
            registry[cls.code] = cls

    def __init__(self, context: RuleContext) -> None:
        super().__init__()
        self.context = context
        self.reports: List[Report] = []

    @property
    def config(self):  # noqa: ANN201 - Config, imported lazily to avoid a cycle
        return self.context.config

    def fact(self, provider: type, node: cst.CSTNode, default: object = None):  # noqa: ANN201
        """The analysis fact `provider` attached to `node`, or `default`."""
        return self.get_metadata(provider, node, default)

    def line_of(self, node: cst.CSTNode) -> int:
        """The line a call or `def` starts on (0 when unknown)."""
        found = self.get_metadata(AstPositionFacts, node, None)
        return found.range.start.line if found is not None else 0

    def report(self, node: cst.CSTNode, fix: object = None, fix_target: Optional[cst.CSTNode] = None, **fields: object) -> None:
        """Record a finding at `node`; `fields` fill the message template.

        `fix` is the replacement for `fix_target` (default: `node`), or a RemovalSentinel.
        """
        self.reports.append(Report(node, self.code, self.name, self.message.format(**fields), fix, fix_target))

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001 - FileContext
        """A cheap test (on the path and the text) that the rule can fire in this file at all."""
        return True

    @classmethod
    def summary(cls) -> str:
        """The docstring's first paragraph, on one line (its indentation gone)."""
        doc = (cls.__doc__ or "").strip()
        return " ".join(doc.split("\n\n")[0].split())


def rule_for(code: str) -> Type[Rule]:
    """The rule class registered for `code`; raises KeyError."""
    return registry[code.upper()]


def all_codes() -> Tuple[str, ...]:
    """Every code a user may select: tool codes and rules, sorted (the static table, which
    tests/test_registry.py keeps equal to the registered rules)."""
    return tuple(sorted(CODES))
