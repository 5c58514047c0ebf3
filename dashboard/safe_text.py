"""Text from logs, config files and folder names, made inert before anything renders markup.

A run is named by its folder and a metric by whatever its log printed, so either can be
``![px](http://host/px.png)``, ``<img src=x onerror=...>``, ``**bold**`` or one of
Streamlit's directives (``:red[...]``, ``:material/home:``).  Streamlit renders labels,
headers, captions, metric cards, expander and tab labels and alert texts as Markdown;
plotly renders trace names, titles, axis, tick and hover text as a small HTML subset;
``report.md`` is Markdown read on GitHub.  Such text goes through one of these functions
first, so it shows as the characters it is and a browser fetches nothing because of it
(plotly's own escape is ``dashboard.charts.escape_plotly``, beside the figure builders).
No Streamlit import: unit-tested directly, and shared with ``parse-log report``.
"""

from __future__ import annotations

import re

__all__ = ["escape_markdown", "streamlit_text"]

# Backslashed wherever they stand (CommonMark lets any ASCII punctuation be escaped): links and
# images ``! [ ]``, HTML, autolinks and entities ``< > &``, emphasis, code and strikethrough
# ``* ` ~``, headings and tables ``# |``, math ``$``, Streamlit's directives and shortcodes
# ``: { }``, GFM's e-mail autolinks ``@``, and the backslash itself.  ``( )`` only ever mean
# something right after a ``]``, which is escaped, so "(baseline)" and "(ms)" stay as written.
_SPECIAL = re.compile(r"[\\`*\[\]{}!#|<>~$:&@]")
# "_" opens or closes emphasis only at a word's edge, so ``half_batch`` is left as it is.
_EDGE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# What starts a block only at the start of the text: a list item ("- x", "+ x", "1. x", "1) x"),
# so "0.5" and "+3%" are left alone.  ("*", "#" and ">" are escaped wherever they stand.)
_LIST_START = re.compile(r"^(\s*)([-+]|\d{1,9}[.)])(?=\s|$)")
# GFM turns "www.host" into a link without any other punctuation.
_WWW = re.compile(r"(?i)\b(www)\.")
# A line break would end a label, or start a heading or a table row in a caption.
_BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u2028\u2029]+")


def escape_markdown(text: object) -> str:
    """``text`` as Markdown that renders to exactly its characters, on one line.

    For every Streamlit call whose text is Markdown (``st.header``, ``st.caption``,
    ``st.metric``, ``st.expander``, ``st.error``..., widget labels and help) and for
    ``report.md``'s headings and table cells (``|`` is escaped, so tables keep their columns).
    """
    out = _BREAKS.sub(" ", str(text))
    out = _SPECIAL.sub(r"\\\g<0>", out)
    out = _EDGE_UNDERSCORE.sub(r"\\_", out)
    out = _WWW.sub(r"\1\\.", out)
    return _LIST_START.sub(_escape_list_marker, out)


# Streamlit's Markdown rewrites some text *after* escapes are resolved, so escapes cannot stop
# it: remark-gfm links ``http://``/``www.`` after a space or punctuation and ``word@host``;
# ``:material/icon:`` and ``:streamlit:`` become icons (the source is rewritten before parsing);
# `` -> ``, `` <= ``, `` -- `` and the like between spaces become arrows and dashes.  An
# invisible word joiner (U+2060: neither space, punctuation nor word character) at the right
# place leaves the text reading the same and stops each; GitHub's cmark-gfm needs only escapes.
WORD_JOINER = "\u2060"
_REWRITTEN = re.compile(
    r"(?i)(?=https?:|www\.|@)|(?<=:)(?=material/|streamlit:)|(?<=(?<!\S)[-<>~])(?=[-<>=])"
)


def streamlit_text(text: object) -> str:
    """``text`` for a Streamlit call that renders Markdown: ``escape_markdown``, and no autolinks.

    The one helper every page uses for a run name, metric name, path or message in a header,
    caption, metric card, expander, tab or widget label, help text or alert.
    """
    return escape_markdown(_REWRITTEN.sub(WORD_JOINER, str(text)))


def _escape_list_marker(match: re.Match[str]) -> str:
    marker = match.group(2)
    return match.group(1) + (f"\\{marker}" if marker in "-+" else f"{marker[:-1]}\\{marker[-1]}")
