"""Shared fixtures: where the real logs live."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
MAKE_REFERENCE = REPO / "benchmarks" / "make_reference_log.py"


def reference_generator():
    """The project's reference-log generator (``benchmarks/make_reference_log.py``), as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_reference_log", MAKE_REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data_dir() -> Path:
    return DATA


def data_logs() -> list[Path]:
    """Every real log under tests/data, one test case each."""
    return sorted(DATA.glob("*/*.log"))
