"""Without MindSpore: configs and data checks still work; training says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Make ``import mindspore`` fail in the child, as on a machine without it.
BLOCK = "import sys; sys.modules['mindspore'] = None; "


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", BLOCK + code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_package_imports_without_loading_mindspore() -> None:
    code = (
        "import training, training.cli, training.config, training.data, training.sweep, "
        "training.imagefolder, training.log_lines; "
        "print(sorted(m for m in sys.modules if m.startswith('mindspore.')))"
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_config_and_data_checks_work_without_mindspore(tiny, digits3: Path) -> None:
    overrides = tiny.overrides(digits3, class_num=3)
    code = (
        "from training.config import load_config; from training.data import prepare_data; "
        "from pathlib import Path; "
        f"config = load_config({str(tiny.config)!r}, overrides={overrides!r}); "
        "plan = prepare_data(config, runs_dir=Path('.')); print(plan.train_size, plan.val_size)"
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["54", "18"]


def test_cli_names_the_extra_to_install(tiny) -> None:
    done = _python(
        f"from training.cli import main; raise SystemExit(main(['--config', {str(tiny.config)!r}]))"
    )
    assert done.returncode == 2
    assert done.stderr.startswith("Error: training needs MindSpore")
    assert "pip install epochscope[training]" in done.stderr
