"""What CI runs is what the README tells a new user to type.

``.ci/run`` reads the README's two opening commands with ``.ci/readme_commands.py`` and
runs them in a brand-new virtual environment; these tests keep that link from breaking
silently (a reworded paragraph would otherwise make CI run nothing, or the wrong thing).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.conftest import REPO


def _readme_command(kind: str) -> str:
    done = subprocess.run(
        [sys.executable, str(REPO / ".ci" / "readme_commands.py"), kind],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_setup_command_installs_trains_summarises_and_serves() -> None:
    steps = _readme_command("setup").split(" && ")
    assert steps[0] == 'python -m pip install -e ".[all,dev]"'
    assert steps[1].startswith("python -m training --config training/configs/digits.yaml")
    assert steps[2].startswith("parse-log ")
    assert steps[3].startswith("streamlit run dashboard")


def test_setup_command_names_only_what_the_install_provides() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert {"all", "dev"} <= set(extras)
    scripts = set(project["scripts"])
    for step in _readme_command("setup").split(" && ")[1:]:
        program = step.split()[0]
        assert program in scripts | {"python", "streamlit"}, step


def test_ci_runs_both_readme_commands_in_a_fresh_venv() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert "readme_commands.py setup" in ci and "readme_commands.py test" in ci
    assert "python3 -m venv" in ci and "--system-site-packages" not in ci
    assert _readme_command("test") == "python -m pytest"


def test_nothing_in_tests_or_benchmarks_reads_the_steering_folder() -> None:
    """A user's clone has no steering folder beside it: a test reading it would skip there, silently."""
    steering = "shared"  # the folder's name, beside the repository
    reaching_out = ("REPO.parent", f"../{steering}", f'/ "{steering}"')
    offenders = [
        str(path.relative_to(REPO))
        for folder in ("tests", "benchmarks")
        for path in (REPO / folder).rglob("*.py")
        if path.name != "test_fresh_install.py"
        and any(needle in path.read_text(encoding="utf-8") for needle in reaching_out)
    ]
    assert offenders == []
