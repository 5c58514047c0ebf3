"""Print one of the README's two opening commands, exactly as the README prints it.

    python .ci/readme_commands.py setup   # the command that sets everything up and runs the main job
    python .ci/readme_commands.py test    # the command that runs the tests

CI runs these, so the README cannot drift from what is checked.  A command is the first
indented line after the paragraph that introduces it.
"""

from __future__ import annotations

import sys
from pathlib import Path

INTRO = {"setup": "Set up everything", "test": "Run the tests"}


def command(kind: str, readme: str) -> str:
    lines = readme.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(INTRO[kind]))
    return next(line.strip() for line in lines[start:] if line.startswith("    ") and line.strip())


if __name__ == "__main__":
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    print(command(sys.argv[1], text))
