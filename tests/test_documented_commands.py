"""The commands the README and docs show run as written (issue 14): every `dao-lint ...` and
`flake8 ...` line of their shell blocks, in order, on a project laid out as they assume (the
sample app under `src/`, no configuration yet). Usage errors exit 2; findings exit 1."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, SAMPLE

BIN = Path(sys.executable).parent
DOCUMENTS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]


def blocks():
    found = []
    for name in DOCUMENTS:
        text = (ROOT / name).read_text()
        for number, block in enumerate(re.findall(r"```(?:sh|bash|console|shell)\n(.*?)```", text, re.S)):
            commands = []
            for line in block.splitlines():
                line = line.strip()
                line = line[2:] if line.startswith("$ ") else line
                if not line.startswith(("dao-lint", "flake8")):
                    continue  # output lines, set-up commands, other tools
                line = re.split(r"\s+#\s", line)[0].split(" | ")[0].strip()
                commands.append(line)
            if commands:
                found.append(pytest.param(commands, id=f"{name}-{number}"))
    return found


@pytest.mark.parametrize("commands", blocks())
def test_documented_commands_run_as_written(commands, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(SAMPLE / "blog", project / "src" / "blog", ignore=shutil.ignore_patterns("__pycache__"))
    (project / "pyproject.toml").write_text('[project]\nname = "blog"\n')
    for command in commands:
        words = command.split()
        run = subprocess.run([str(BIN / words[0]), *words[1:]], cwd=project, capture_output=True, text=True, timeout=300)
        assert run.returncode in (0, 1), f"`{command}` exited {run.returncode}:\n{run.stdout}\n{run.stderr}"
        assert "Usage:" not in run.stderr and "Traceback" not in run.stderr, f"`{command}`:\n{run.stderr}"


def test_the_extraction_finds_the_commands():
    names = [c for param in blocks() for c in param.values[0]]
    assert "dao-lint rule DAO101" in names and "flake8 --select DAO src/" in names
    assert any(c.startswith("dao-lint check src --write-baseline") for c in names)
