"""docs/ci.md shows ``parse-log report``/``compare`` calls for CI: they must be calls the CLI accepts."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from cli_logs import REPO
from dashboard_runs import write_run

from parsers.cli import main
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
    # the runner expands its variables before parse-log sees the arguments
    expanded = [
        call.replace("${{ github.sha }}", "sha").replace("$CI_COMMIT_SHORT_SHA", "sha") for call in calls
    ]
    return [shlex.split(call) for call in expanded]


@pytest.fixture
def ci_checkout(tmp_path, monkeypatch):
    """The CI job's working folder when the doc's commands run: the 2-epoch run folder the
    training step wrote (here in the training emitter's own lines) and the baseline kept in the
    repository, a copy of a green build's log. Without a browser, so no images are exported."""
    write_run(tmp_path / "runs" / "ci", epochs=2, steps=20)
    (tmp_path / "ci" / "baseline").mkdir(parents=True)
    shutil.copyfile(tmp_path / "runs" / "ci" / "train.log", tmp_path / "ci" / "baseline" / "train.log")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chrome"))
    return tmp_path


@pytest.mark.parametrize("argv", doc_commands(), ids=lambda argv: " ".join(argv[:2]))
def test_doc_commands_run_as_printed_on_a_ci_checkout(argv, ci_checkout, capsys):
    """Each command of the doc, as printed, on the files it names: a gate against an unchanged
    run holds every rule the doc lists; a report is written where the doc says."""
    code = main([*argv[1:], "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    if argv[1] == "compare":
        listed = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--fail-on"]
        assert [parse_rule(r).name for r in listed] == [r.split("=")[0] for r in listed]
        assert sorted(c["rule"] for c in result["checks"]) == sorted(listed)
        assert all(c["passed"] for c in result["checks"]), result["checks"]
        assert result["verdict"] == f"passed: all {len(listed)} checks held"
    else:
        out = ci_checkout / argv[argv.index("-o") + 1]
        assert result["runs"] == "ci" and result["baseline"] == "baseline"  # the folders holding train.log
        assert Path(result["markdown"]) == Path(out.name) / "report.md"
        title = argv[argv.index("--title") + 1]
        assert (out / "report.md").read_text().startswith(f"# {title}")


def test_doc_shows_both_commands_and_every_rule():
    names = {argv[1] for argv in doc_commands()}
    assert names == {"report", "compare"}
    text = DOC.read_text(encoding="utf-8")
    assert all(f"`{name}" in text for name in RULES)
    assert "python -m training --config training/configs/digits.yaml --set epoch_size=2" in text
