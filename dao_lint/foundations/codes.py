"""Every code a user may select, its name, and whether it is on by default, without
importing the rules: configuration, cross-file findings and the cached path of `check`
need only this, and importing the rules means importing libcst.
`tests/test_registry.py` keeps it equal to the rule classes."""
from __future__ import annotations

from typing import Dict, Tuple

__all__ = ["ANSWERED_BY", "CODES", "DEFAULT_ENABLED", "FIXES", "NAMES", "boundary_hint"]

#: code -> (name, reported unless selected otherwise); DAO111 is opt-in
CODES: Dict[str, Tuple[str, bool]] = {
    "DAO000": ("internal-error", True),
    "DAO001": ("syntax-error", True),
    "DAO002": ("unreadable-file", True),
    "DAO003": ("unused-noqa", True),
    "DAO101": ("commit-in-dao", True),
    "DAO102": ("rollback-in-dao", True),
    "DAO103": ("commit-flag-parameter", True),
    "DAO104": ("dao-owns-session", True),
    "DAO105": ("explicit-transaction-control", True),
    "DAO106": ("commit-in-loop", True),
    "DAO107": ("split-unit-of-work", True),
    "DAO108": ("listener-transaction", True),
    "DAO109": ("session-not-closed", True),
    "DAO110": ("stale-read", True),
    "DAO111": ("refresh-expire", False),
    "DAO112": ("sqlite-savepoint", True),
    "DAO113": ("swallowed-database-error", True),
    "DAO201": ("write-outside-dao", True),
    "DAO202": ("query-outside-dao", True),
    "DAO301": ("action-method-name", True),
    "DAO401": ("redundant-merge", True),
    "DAO501": ("manual-cascade", True),
    "DAO601": ("check-then-write", True),
    "DAO701": ("write-in-loop", True),
    "DAO702": ("read-in-loop", True),
    "DAO801": ("dense-update", True),
    "DAO901": ("commit-in-test", True),
    "DAO902": ("cleanup-instead-of-rollback", True),
    "DAO903": ("test-session-without-rollback", True),
}
NAMES: Dict[str, str] = {code: name for code, (name, _) in CODES.items()}

#: a cross-file finding of the key inside the statement a file finding of the value reports
#: is that finding's root cause: a child deleted per item inside a hand-made cascade goes
#: with the cascade (DAO501), there is nothing left to bulk
ANSWERED_BY: Dict[str, str] = {"DAO701": "DAO501"}
DEFAULT_ENABLED: Dict[str, bool] = {code: on for code, (_, on) in CODES.items()}


#: code -> the safety of its fix, for the codes `dao-lint fix` can fix (the rest have none)
FIXES: Dict[str, str] = {
    "DAO003": "safe", "DAO101": "safe", "DAO102": "safe", "DAO103": "unsafe", "DAO105": "unsafe", "DAO109": "safe",
    "DAO112": "safe", "DAO301": "unsafe", "DAO401": "safe", "DAO701": "safe",
}


#: the codes in FIXES whose fix `dao-lint fix` plans over the project: a finding of these is
#: marked fixable where the plan removes it (`dao_lint.planning.planned_findings`), never by
#: its rule; the others' findings say whether they carry a fix
PLANNED_FIXES = frozenset({"DAO101", "DAO102", "DAO103", "DAO105", "DAO112", "DAO301"})


#: the codes whose planned fix ends a boundary's transaction with the configured
#: `transaction-decorator`: without one, `fix` cannot do them
NEEDS_DECORATOR = frozenset({"DAO105"})


def fix_kind(code: str, fixable: bool, decorator: bool = True, unsafe_fix: bool = False) -> str:
    """"safe", "unsafe" or "none": what `fix` may do for one finding (`decorator`: whether
    its file's configuration names a `transaction-decorator`; `unsafe_fix`: the finding
    says its fix comes only with `--unsafe-fixes`)."""
    if not fixable or (code in NEEDS_DECORATOR and not decorator):
        return "none"
    return "unsafe" if unsafe_fix else FIXES.get(code, "safe")


def boundary_hint(qualname: str) -> str:
    """The alternative DAO105 offers: declaring the function a unit of work, in the key that
    does it; never for a private helper or module-level code (they are not where a command,
    request or job starts)."""
    last = qualname.rsplit(".", 1)[-1]
    if not qualname or qualname == "<module>" or last.startswith("_"):
        return ""
    return f" (or, if `{qualname}` is where a command, request or job starts, add it to `boundaries` in [tool.dao-lint])"
