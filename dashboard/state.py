"""The controls every page shares (sidebar) and the ``Context`` the pages read.

Drawn by ``streamlit_app.py`` before the page runs, so the folder, the runs being
compared and the baseline survive page switches.  On first opening, the most
recently active runs (up to ``DEFAULT_COMPARED``) are selected, so the loss chart
shows without a click.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.analysis import most_recent
from dashboard.files import FolderError, resolve_within
from dashboard.names import short_names
from dashboard.safe_text import streamlit_text
from dashboard.settings import Settings, parse_settings
from dashboard.tables import within
from parsers.errors import LogError

__all__ = ["DEFAULT_COMPARED", "Context", "context", "sidebar"]

DEFAULT_COMPARED = 5
_KEY = "epochscope.context"


@dataclass(frozen=True)
class Context:
    """What a page needs: the settings, the chosen folder, its runs, the selection and the baseline."""

    settings: Settings
    runs_dir: str  # the store's folder: always the runs root, so narrowing never re-parses
    folder: str  # the folder chosen in the sidebar (the root or inside it): runs shown, uploads
    runs: pd.DataFrame
    compared: list[str]
    baseline: str | None

    def fresh_runs(self) -> pd.DataFrame:
        """The runs table as of now (the live fragment calls this; it is cached ``REFRESH_S`` s)."""
        return within(data.runs(self.runs_dir), self.folder)

    @property
    def running(self) -> bool:
        return bool((self.runs["status"] == "running").any()) if len(self.runs) else False


@st.cache_resource(max_entries=1)
def _settings(argv: tuple[str, ...]) -> Settings:
    return parse_settings(argv)


def _folder(settings: Settings) -> str | None:
    st.sidebar.text_input(
        "Runs folder",
        value="",
        key="folder",
        placeholder="(the runs root)",
        help=f"A folder inside the runs root {streamlit_text(settings.root)}; "
        "every folder below it holding a log is a run.",
    )
    try:
        return str(resolve_within(settings.root, st.session_state["folder"]))
    except FolderError as exc:
        st.sidebar.error(streamlit_text(exc))  # quotes what was typed
        return None


def _selection(runs: pd.DataFrame, folder: str) -> tuple[list[str], str | None]:
    names = runs["run"].tolist()
    if st.session_state.get("compared_for") != folder:  # first opening, or another folder
        st.session_state["compared_for"] = folder
        st.session_state["compare"] = most_recent(runs, limit=DEFAULT_COMPARED)
        st.session_state["baseline"] = None
    st.session_state["compare"] = [r for r in st.session_state.get("compare", []) if r in names]
    short = short_names(names)  # a sweep's runs by what differs: the common prefix left out
    common = "" if all(short[n] == n for n in names) else " Names are shown without the part all runs share."
    compared = st.sidebar.multiselect(
        "Compare runs",
        names,
        key="compare",
        format_func=lambda r: short.get(r, r),
        help=f"Drawn on the charts; the most recently active are preselected.{common}",
    )
    baseline = st.sidebar.selectbox(
        "Baseline",
        [None, *names],
        key="baseline",
        format_func=lambda r: "(none)" if r is None else short.get(r, r),
        help="Pinned run: drawn grey and dashed; tables and curves can show deltas against it.",
    )
    return compared, baseline


def sidebar() -> Context | None:
    """Draw the shared controls; None (with the reason shown) when there is nothing to read."""
    st.session_state[_KEY] = None
    try:
        settings = _settings(tuple(sys.argv[1:]))
    except ValueError as exc:
        st.error(streamlit_text(exc))
        return None
    if not settings.root.is_dir():
        st.info(
            f"No runs folder at {streamlit_text(settings.root)} yet. "
            "Start the dashboard with `-- --runs DIR`, or upload a log on the Upload page."
        )
        return _remember(Context(settings, str(settings.root), str(settings.root), _no_runs(), [], None))
    folder = _folder(settings)
    if folder is None:
        return None
    if st.sidebar.button(
        "Refresh now", help="Read new lines and new runs without waiting for the live refresh."
    ):
        data.clear()
    root = str(settings.root)
    try:
        table = within(data.runs(root), folder)
    except (data.StoreMissingError, LogError) as exc:
        st.error(streamlit_text(exc))  # names files under the runs root
        return None
    compared, baseline = _selection(table, folder)
    return _remember(Context(settings, root, folder, table, compared, baseline))


def _no_runs() -> pd.DataFrame:
    return pd.DataFrame({"run": pd.Series(dtype=str), "status": pd.Series(dtype=str)})


def _remember(ctx: Context) -> Context:
    st.session_state[_KEY] = ctx
    return ctx


def context() -> Context | None:
    """The context the sidebar built in this script run (None if it could not)."""
    return st.session_state.get(_KEY)
