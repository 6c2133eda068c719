"""Precision per project and code, from hand verdicts and the ecosystem snapshot.

Usage:  python benchmarks/accuracy.py VERDICTS.md [...]
        python benchmarks/accuracy.py --sample N VERDICTS.md [...]

A verdict file has lines `[project] path:line CODE RIGHT|WRONG - reason` (one per judged
finding; the project may be left out when the file has one). Judged findings that are no
longer in the snapshot (benchmarks/ecosystem/<project>.txt) are counted as fixed (WRONG)
or lost (RIGHT). Prints, per project, every code's findings, judged, right, and the
precision weighted by how often each code fires (a code judged on a sample counts with its
sample's ratio). Writes nothing; docs/accuracy.md quotes its output.

With --sample N it prints instead, for every project of the ecosystem set and every code,
the unjudged findings that bring the code's judged sample up to N (spread evenly over the
snapshot's order), one `project path:line CODE` per line: the list to hand to reviewers.
"""
from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LINE = re.compile(r"^(?:(?P<project>[\w.-]+) )?(?P<path>[\w./-]+\.py):(?P<line>\d+) (?P<code>DAO\d{3}) (?P<verdict>RIGHT|WRONG)\b(?P<reason>.*)$")


def read_snapshot(project: str) -> set:
    snapshot = HERE / "ecosystem" / f"{project}.txt"
    current = set()
    if snapshot.exists():
        for row in snapshot.read_text().splitlines():
            location, code = row.split()
            path, line = location.rsplit(":", 1)
            current.add((path, int(line), code))
    return current


def print_sample(verdicts: dict, size: int) -> None:
    for snapshot in sorted((HERE / "ecosystem").glob("*.txt")):
        project = snapshot.stem
        by_code = collections.defaultdict(list)
        for key in sorted(read_snapshot(project)):
            by_code[key[2]].append(key)
        for code, keys in sorted(by_code.items()):
            judged = sum(1 for key in keys if key in verdicts[project])
            unjudged = [key for key in keys if key not in verdicts[project]]
            wanted = min(size - judged, len(unjudged))
            for index in range(max(wanted, 0)):
                path, line, _ = unjudged[index * len(unjudged) // wanted]
                print(f"{project} {path}:{line} {code}")


def main() -> None:
    arguments = sys.argv[1:]
    size = None
    if arguments[:1] == ["--sample"]:
        size, arguments = int(arguments[1]), arguments[2:]
    verdicts = collections.defaultdict(dict)  # project -> (path, line, code) -> RIGHT/WRONG
    for name in arguments:
        default = Path(name).name.split("-verdicts")[0]
        for raw in Path(name).read_text().splitlines():
            match = LINE.match(raw.strip().lstrip("-* `").replace("`", ""))
            if match:
                project = match["project"] or default
                verdicts[project][(match["path"], int(match["line"]), match["code"])] = match["verdict"]
    if size is not None:
        print_sample(verdicts, size)
        return
    for project in sorted(verdicts):
        current = read_snapshot(project)
        counts = collections.Counter(code for _, _, code in current)
        judged = {k: v for k, v in verdicts[project].items() if k in current}
        gone = {k: v for k, v in verdicts[project].items() if k not in current}
        print(f"#### {project}: {len(current)} findings; judged {len(judged)} still present "
              f"({sum(1 for v in gone.values() if v == 'WRONG')} wrong ones fixed, {sum(1 for v in gone.values() if v == 'RIGHT')} right ones gone)")
        weighted, total = 0.0, 0
        if counts:
            print("\n| code | findings | judged | right | precision |\n|---|---:|---:|---:|---:|")
        for code in sorted(counts):
            sample = [v for (_, _, c), v in judged.items() if c == code]
            right = sum(1 for v in sample if v == "RIGHT")
            ratio = right / len(sample) if sample else None
            if ratio is not None:
                weighted += ratio * counts[code]
                total += counts[code]
            shown = f"{ratio:.0%}" if ratio is not None else "not judged"
            print(f"| {code} | {counts[code]} | {len(sample)} | {right} | {shown} |")
        if total:
            print(f"\nWeighted precision: {weighted / total:.1%} (over {total} of {sum(counts.values())} findings whose code was judged)")
        print()


if __name__ == "__main__":
    main()
