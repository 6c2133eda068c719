"""Rule documentation pages, generated from rule metadata and examples (so they are tested)."""
from __future__ import annotations

import os
import textwrap
from typing import Dict, List, Optional, Type

from ..rules.base import TOOL_CODES, Rule, registry

__all__ = ["SEEDS", "rule_page", "tool_page", "index_page", "render_all", "write_docs", "rule_url"]

# Where the rule pages are published; SARIF's helpUri and the CLI point here.
DOCS_BASE_URL = os.environ.get("DAO_LINT_DOCS_URL", "https://github.com/dao-lint/dao-lint/blob/main/docs/rules/")

SEEDS: Dict[str, str] = {
    "R1": "Boundary: every database operation lives in a DAO.",
    "R2": "Vocabulary: DAO methods use create / update / delete / upsert.",
    "R3": "Context-managed sessions: a context manager commits on success and rolls back on failure; no explicit commit or rollback inside a DAO.",
    "R4": "One atomic unit of work: the command (or request, or job) is the unit of work; nested units use `begin_nested()`.",
    "R5": "Shift left: constraints and cascades live in the schema.",
    "R6": "Ask forgiveness, not permission: let the database's constraints decide.",
    "R7": "Bulk: bulk writes instead of one statement per row.",
    "R8": "Sparse updates: an update changes only the attributes it is given.",
    "R9": "Tests run inside a transaction that is rolled back.",
    "R10": "Session hygiene: one session per unit of work, passed in, always closed.",
}


def rule_url(code: Optional[str]) -> str:
    return DOCS_BASE_URL + (f"{code}.md" if code else "README.md")


def _prose(rule: Type[Rule]) -> List[str]:
    doc = textwrap.dedent((rule.__doc__ or "").strip("\n"))
    paragraphs = [" ".join(p.split()) for p in doc.split("\n\n") if p.strip()]
    return paragraphs or [rule.name]


def _code_block(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"


_BOUNDARY = {
    "skip": "Not checked in migration modules (`migration-modules`: scripts that run once, alone).",
    "dao": "In migration modules (`migration-modules`), checked in DAO code only.",
    "check": "Checked in migration modules too.",
}


def rule_page(rule: Type[Rule]) -> str:
    """The Markdown page of one rule; sections in the house order."""
    what, *why = _prose(rule)
    default = "on by default" if rule.default_enabled else "off by default (opt-in: select it)"
    fix = {"none": "No automatic fix.", "safe": "Safe fix", "unsafe": "Unsafe fix (`--unsafe-fixes`)"}[rule.fix_safety]
    if rule.fix_title:
        fix = f"{fix}: {rule.fix_title}."
    example = rule.invalid[0]
    after = example.remedy if example.remedy is not None else example.after
    lines = [
        f"# {rule.name} ({rule.code})",
        "",
        f"Status: {rule.status}, {default}. Fix: {rule.fix_safety}. Enforces {rule.seed}. {_BOUNDARY[rule.migration_modules]}",
        "",
        "## What it does",
        "",
        what,
        "",
        "## Why is this bad?",
        "",
        *(p for paragraph in why for p in (paragraph, "")),
        f"DAO rule {rule.seed}: {SEEDS.get(rule.seed.split('/')[0], '')}",
        "",
        "## Example",
        "",
        f"In `{example.path}`:" if example.path else "",
        "",
        _code_block(example.code),
        "",
        "## Use instead",
        "",
        _code_block(after),
        "",
        "## Fix safety",
        "",
        fix,
        "",
        "## Options",
        "",
    ]
    if rule.options:
        lines += [f"- `{option}` in `[tool.dao-lint]`" for option in rule.options]
    else:
        lines.append("None besides the common `[tool.dao-lint]` keys that decide what is a DAO and a session.")
    lines += ["", "## References", ""]
    lines.append("- [The DAO rules, in the README](../../README.md#the-dao-rules)")
    lines += [f"- [{title}]({url})" for title, url in rule.references]
    return "\n".join(lines) + "\n"


# what a user does about each code the tool itself reports (DAO0xx)
_TOOL_ADVICE: Dict[str, List[str]] = {
    "DAO000": [
        "A rule raised an error on this file (the message names the rule and the error), or, in "
        "flake8, the configuration could not be read. The other rules and files were checked; "
        "`check` exits 2 so that CI notices.",
        "Report it with the file (or the smallest piece of it that still fails). To go on "
        "meanwhile, `--ignore` the named rule or exclude the file.",
    ],
    "DAO001": [
        "The file does not parse as Python, so no rule could look at it; the run goes on with "
        "the other files. flake8 reports the same file as E999.",
        "Fix the syntax error at the reported position. A file that is not meant to be Python "
        "(a template with a `.py` name) belongs in `exclude`.",
    ],
    "DAO002": [
        "The file could not be read as text: it is binary, not valid in its declared encoding "
        "(PEP 263), or larger than `max-file-size`. It was not checked; the run goes on.",
        "Save it in its declared encoding (UTF-8 by default), raise `max-file-size` if it is "
        "real source, or add it to `exclude` if it is generated.",
    ],
    "DAO003": [
        "A `# noqa: DAO...` comment silences nothing on its line: the finding it was written "
        "for is gone (fixed, or moved to another line), or the code never fires there. A stale "
        "suppression would hide the next real finding on that line.",
        "Remove the comment or the codes it lists; `dao-lint fix` does it (safe fix). A bare "
        "`# noqa` without codes is never reported.",
    ],
}


def tool_page(code: str) -> str:
    """The Markdown page of a code the tool itself reports (DAO000-DAO003)."""
    tool = next(t for t in TOOL_CODES if t.code == code)
    what, action = _TOOL_ADVICE[code]
    fix = "Safe fix: `dao-lint fix` removes the unused codes." if code == "DAO003" else "No automatic fix."
    return "\n".join([
        f"# {tool.name} ({code})",
        "",
        f"Status: reported by dao-lint itself, on by default (select or ignore it like a rule). {fix}",
        "",
        "## What it means",
        "",
        what,
        "",
        "## What to do",
        "",
        action,
        "",
        "## See also",
        "",
        "- [All rules and codes](README.md)",
        "",
    ])


def index_page() -> str:
    lines = [
        "# Rules",
        "",
        "Generated by `dao-lint docs`; do not edit by hand.",
        "",
        "| code | name | rule | fix | default |",
        "|---|---|---|---|---|",
    ]
    for code in sorted(registry):
        rule = registry[code]
        default = "on" if rule.default_enabled else "opt-in"
        lines.append(f"| [{code}]({code}.md) | {rule.name} | {rule.seed} | {rule.fix_safety} | {default} |")
    lines += ["", "Codes the tool itself reports:", "", "| code | name | meaning |", "|---|---|---|"]
    lines += [f"| [{t.code}]({t.code}.md) | {t.name} | {t.summary} |" for t in TOOL_CODES]
    return "\n".join(lines) + "\n"


def render_all() -> Dict[str, str]:
    """File name -> content for every page of docs/rules/."""
    from .. import rules  # noqa: F401

    pages = {f"{code}.md": rule_page(rule) for code, rule in registry.items()}
    pages.update({f"{t.code}.md": tool_page(t.code) for t in TOOL_CODES})
    pages["README.md"] = index_page()
    return pages


def write_docs(directory: str, check: bool = False) -> List[str]:
    """Write (or with `check`, only compare) the pages; returns the names that differ."""
    os.makedirs(directory, exist_ok=True) if not check else None
    stale = []
    pages = render_all()
    for name, content in sorted(pages.items()):
        target = os.path.join(directory, name)
        try:
            with open(target, encoding="utf-8") as handle:
                current = handle.read()
        except OSError:
            current = None
        if current != content:
            stale.append(name)
            if not check:
                with open(target, "w", encoding="utf-8", newline="\n") as handle:
                    handle.write(content)
    if os.path.isdir(directory):
        for name in sorted(os.listdir(directory)):
            if name.endswith(".md") and name not in pages:
                stale.append(name)
                if not check:
                    os.remove(os.path.join(directory, name))
    return stale
