"""Shared fixtures: where the real logs live."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import settings

# The property tests draw the same examples on every run, so a test run -- CI above all, where
# red means nothing lands -- is reproducible.  To hunt for new failures, draw fresh ones:
#     python -m pytest tests/test_properties.py --hypothesis-profile=explore
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("repeatable")

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


_PYTEST_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def _main_module_restored():
    """Put back the ``__main__`` module a test's AppTest run of the app may leave behind.

    After a page switch, AppTest leaves ``dashboard/streamlit_app.py`` as ``__main__``;
    a later test that starts processes with spawn (Dask's LocalCluster) then has each
    child run the app as its main script, which fails for want of a Streamlit session."""
    yield
    sys.modules["__main__"] = _PYTEST_MAIN


@pytest.fixture
def data_dir() -> Path:
    return DATA


def data_logs() -> list[Path]:
    """Every real log under tests/data, one test case each."""
    return sorted(DATA.glob("*/*.log"))


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright, one per test module (the e2e tests)."""
    import playwright.sync_api as playwright

    from tests.dashboard_server import CHROMIUM_ARGS, chromium

    path = chromium()
    if path is None:
        pytest.skip("no Chromium here (.ci/run installs Debian's chromium)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
