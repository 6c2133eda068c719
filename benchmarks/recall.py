"""Recall per project and code: the violations fresh-eyed reviewers listed, reading whole
files against RULES.md only (benchmarks/recall/<project>.md), against the ecosystem snapshot.

Usage:  python benchmarks/recall.py [--misses] [--extras] [PROJECT ...]

A listed violation is found when the snapshot has a finding of the same code in the same
file within two lines (reviewers and the tool may name different lines of one statement).
A miss whose line carries a judgement in benchmarks/recall/<project>-misses.md (`path:line
CODE WRONG|RIGHT - why`) is counted accordingly: WRONG means the reviewer listed something
RULES.md does not flag (it leaves the count), RIGHT a real miss (it stays one). `--misses`
prints the misses (judged real, or not judged yet); `--extras` prints the snapshot's findings in the reviewed
files that no reviewer listed (material for precision verdicts). Writes nothing.
"""
from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
LISTED = re.compile(r"^(?P<path>[\w./-]+\.py):(?P<line>\d+) (?P<code>DAO\d{3})\b(?P<reason>.*)$")
HEADER = re.compile(r"^# [\w.-]+: recall review of (?P<files>.*)$")
JUDGED = re.compile(r"^(?P<path>[\w./-]+\.py):(?P<line>\d+) (?P<code>DAO\d{3}) (?P<verdict>RIGHT|WRONG)\b")
SLACK = 2


def _lines(path: Path):  # noqa: ANN202
    return path.read_text().splitlines() if path.exists() else []


def listed(project: str):  # noqa: ANN201 - (files reviewed, [(path, line, code)])
    files, found = set(), []
    for raw in _lines(HERE / "recall" / f"{project}.md"):
        raw = raw.strip().lstrip("-* ").replace("`", "")
        header = HEADER.match(raw)
        if header:
            files |= {f.strip() for f in re.split(r",| and ", header["files"]) if f.strip().endswith(".py")}
        match = LISTED.match(raw)
        if match and "/" in match["path"]:  # (a reviewer's note naming a bare file name is not an item)
            found.append((match["path"], int(match["line"]), match["code"]))
            files.add(match["path"])
    return files, sorted(set(found))


def snapshot(project: str):  # noqa: ANN201
    rows = set()
    for row in _lines(HERE / "ecosystem" / f"{project}.txt"):
        location, code = row.split()
        path, line = location.rsplit(":", 1)
        rows.add((path, int(line), code))
    return rows


def judged(project: str) -> dict:
    out = {}
    for raw in _lines(HERE / "recall" / f"{project}-misses.md"):
        match = JUDGED.match(raw.strip().lstrip("-* ").replace("`", ""))
        if match:
            out[(match["path"], int(match["line"]), match["code"])] = match["verdict"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", nargs="*")
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--extras", action="store_true")
    args = parser.parse_args()
    names = args.projects or sorted(p.stem for p in (HERE / "recall").glob("*.md") if p.stem not in ("BRIEF",) and not p.stem.endswith("-misses"))
    total = collections.Counter()
    per_code = collections.defaultdict(collections.Counter)
    print("| project | listed | found | judged not a violation | recall |\n|---|---:|---:|---:|---:|")
    for project in names:
        files, wanted = listed(project)
        current = snapshot(project)
        verdicts = judged(project)
        found = misses = dropped = 0
        unexplained, used = [], set()
        # a listed line takes the finding on its own line first, then the nearest one left
        exact = {item for item in wanted if item in current}
        used.update(exact)
        for path, line, code in wanted:
            if (path, line, code) in exact:
                hit = (path, line, code)
            else:
                near = [r for r in current if r[0] == path and r[2] == code and abs(r[1] - line) <= SLACK and r not in used]
                hit = min(near, key=lambda r: abs(r[1] - line)) if near else None
            if hit is not None:
                used.add(hit)
                found += 1
                per_code[code]["found"] += 1
            elif verdicts.get((path, line, code)) == "WRONG":
                dropped += 1
            else:
                misses += 1
                per_code[code]["missed"] += 1
                unexplained.append((path, line, code, "judged a real miss" if (path, line, code) in verdicts else "not judged yet"))
        counted = found + misses
        total.update(found=found, missed=misses, dropped=dropped)
        shown = f"{found / counted:.0%}" if counted else "n/a"
        print(f"| {project} | {len(wanted)} | {found} | {dropped} | {shown} |")
        if args.misses:
            for miss in unexplained:
                print(f"    miss ({miss[3]}): {miss[0]}:{miss[1]} {miss[2]}")
        if args.extras:
            for row in sorted(current):
                if row[0] in files and row not in used:
                    print(f"    extra: {row[0]}:{row[1]} {row[2]}")
    counted = total["found"] + total["missed"]
    if counted:
        print(f"\nAll projects: {total['found']} of {counted} listed violations found ({total['found'] / counted:.1%}); "
              f"{total['dropped']} listed but judged not violations under RULES.md")
    print("\n| code | found | missed | recall |\n|---|---:|---:|---:|")
    for code in sorted(per_code):
        c = per_code[code]
        n = c["found"] + c["missed"]
        print(f"| {code} | {c['found']} | {c['missed']} | {c['found'] / n:.0%} |")


if __name__ == "__main__":
    main()
