"""Hold a page's heavier parts until the browser has drawn its first chart.

A page's time to its first chart is mostly the browser evaluating plotly (a 4.7 MB script)
and drawing; every other element the page sends meanwhile -- filters, the runs table's grid,
the chart's controls -- is rendered by the same browser thread and delays the chart, however
it is ordered.  Measured on the Runs page (3 runs, a Playwright probe of variants, medians of
7 opens in one run): the chart sent first and the rest straight after, 1.44x a minimal
one-chart page; the page's rest held until the chart had drawn, 1.00x.

So on a session's first run a page sends its sidebar, its header and its chart (``pending``),
with a small component (``ask_when_drawn``) that waits in the browser for the chart's first
drawn line and then asks for the full page, which the next run sends as usual.  The component
also asks after ``LIMIT_MS`` whatever happened, so a chart that never draws holds nothing for
long.  A client that runs no scripts (``streamlit.testing``'s AppTest: no User-Agent) is never
held: nothing would ask for the rest.
"""

from __future__ import annotations

import streamlit as st

__all__ = ["LIMIT_MS", "ask_when_drawn", "pending"]

# The longest the rest of a page waits for its chart, in the browser.
LIMIT_MS = 4000

_JS = f"""
export default function (component) {{
  const {{ setTriggerValue }} = component;
  const start = performance.now();
  const drawn = () => document.querySelector(".js-plotly-plot .scatterlayer .trace path.js-line");
  const wait = () => {{
    if (drawn() || performance.now() - start > {LIMIT_MS}) {{
      setTriggerValue("drawn", true);
    }} else {{
      setTimeout(wait, 40);
    }}
  }};
  wait();
}}
"""

_ASK = st.components.v2.component("epochscope.first_chart_drawn", js=_JS)


def pending(key: str) -> bool:
    """True on a browser session's runs of the page before its first chart was drawn."""
    return not st.session_state.get(key) and bool(st.context.headers.get("User-Agent"))


def ask_when_drawn(key: str) -> None:
    """The invisible component that ends ``pending(key)`` (and reruns) once the chart is drawn."""
    _ASK(key=f"{key}.ask", on_drawn_change=lambda: st.session_state.update({key: True}), height=0)
