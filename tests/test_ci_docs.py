"""docs/ci.md shows ``parse-log report``/``compare`` calls for CI: they must be calls the CLI accepts."""

from __future__ import annotations

import re
import shlex

import pytest
from cli_logs import REPO

from parsers.cli import build_parser
from parsers.compare import RULES, parse_rule

DOC = REPO / "docs" / "ci.md"


def doc_commands() -> list[list[str]]:
    """Every ``parse-log report|compare`` call in the doc's CI examples, folded YAML lines joined."""
    calls, current = [], None
    for block in re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            text = re.sub(r"^\s*(?:-\s+|run:\s*)?", "", line).split("#")[0].strip()
            if text.startswith("parse-log "):
                current = text
                calls.append(current)
            elif current is not None and text.startswith("--"):
                calls[-1] = current = f"{current} {text}"
            else:
                current = None
    return [shlex.split(call.replace("${{ github.sha }}", "sha")) for call in calls]


@pytest.mark.parametrize("argv", doc_commands(), ids=lambda argv: " ".join(argv[:2]))
def test_doc_commands_parse(argv):
    args = build_parser(argv[1]).parse_args(argv[2:])
    for rule in getattr(args, "rules", []):
        parse_rule(rule)


def test_doc_shows_both_commands_and_every_rule():
    names = {argv[1] for argv in doc_commands()}
    assert names == {"report", "compare"}
    text = DOC.read_text(encoding="utf-8")
    assert all(f"`{name}" in text for name in RULES)
    assert "python -m training --config training/configs/digits.yaml --set epoch_size=2" in text
