"""The run page's Ranks view: per-rank health of a job kept in one log per rank.

Reads ``data.rank_health`` (``dashboard.ranks``, cached per data version) and lays it out:
a caption with the skew and the verdict, the per-rank table, and the last lines of the rank
that stopped first (read, never parsed; shown in ``st.code``, as text).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.ranks import RANK_LAG_RULE, RankStory
from dashboard.safe_text import streamlit_text
from dashboard.state import Context

__all__ = ["LAST_LINES", "RANK_TABLE_COLUMNS", "ranks_view"]

# Lines shown of the rank that stopped first: its last ones, where a hung collective's story is.
LAST_LINES = 8

RANK_TABLE_COLUMNS = {
    "rank": st.column_config.NumberColumn("rank", pinned=True),
    "steps done": st.column_config.NumberColumn(format="%d"),
    "last line time": st.column_config.DatetimeColumn(format="distance", help="When its log last grew."),
    "mean step time (ms)": st.column_config.NumberColumn(
        format="%.4g", help="First record (compile) left out."
    ),
    "epoch time (s)": st.column_config.NumberColumn(format="%.4g", help="Mean, first epoch left out."),
    "samples/s": st.column_config.NumberColumn(format="%.1f"),
    "last loss": st.column_config.NumberColumn(format="%.4g"),
}


def ranks_view(ctx: Context, runs: pd.DataFrame, run: str) -> None:
    """Per-rank table, skew and verdict of ``run``; nothing for a run kept in one log."""
    ranks, story = data.rank_health(ctx.runs_dir, runs, run)
    if len(ranks) < 2:
        return
    st.subheader("Ranks")
    verdict = _verdict(story)
    (st.warning if story.lagging is not None or story.stopped_first is not None else st.caption)(verdict)
    st.dataframe(ranks, hide_index=True, key="run.ranks", column_config=RANK_TABLE_COLUMNS, placeholder="–")
    if story.stopped_first is not None:
        _last_lines(ctx, run, story)


def _verdict(story: RankStory) -> str:
    skew = (
        f"skew {story.skew:.2f}x (rank {story.slowest}'s mean step time over the median)"
        if story.skew
        else ""
    )
    parts = [f"{story.ranks} ranks", skew]
    if story.lagging is not None:
        parts.append(f"{RANK_LAG_RULE}: {story.lag_detail}")
    if story.stopped_first is not None:
        parts.append(f"rank {story.stopped_first} stopped first")
    return streamlit_text(" · ".join(p for p in parts if p))


def _last_lines(ctx: Context, run: str, story: RankStory) -> None:
    logs = data.meta(ctx.runs_dir, run).get("logs") or []
    path = next((log.get("location") for log in logs if log.get("rank") == story.stopped_first), None)
    if not path or not story.stopped_line:
        return
    around = data.context_lines(ctx.runs_dir, str(path), (story.stopped_line,), LAST_LINES - 1, 0).get(
        story.stopped_line, []
    )
    st.caption(streamlit_text(f"The last lines of rank {story.stopped_first} ({story.stopped_log}):"))
    st.code("\n".join(f"{n:>7}  {t}" for n, t in around) or "(log not readable)", language=None)
