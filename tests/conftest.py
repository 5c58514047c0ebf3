"""Shared fixtures: where the real logs live."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent


@pytest.fixture
def data_dir() -> Path:
    return DATA


def data_logs() -> list[Path]:
    """Every real log under tests/data, one test case each."""
    return sorted(DATA.glob("*/*.log"))
