"""Figures to PNG/SVG files through kaleido, with whatever Chromium or Chrome is installed.

Kaleido 1.x drives a real browser (through ``choreographer``) and never ships one.
``find_browser`` decides which: ``BROWSER_PATH`` when it is set -- the variable
choreographer itself honours; set to an empty or non-existent path it means "no
browser", which is how tests take the no-browser path -- else choreographer's own
search: ``chrome``/``chromium``/... on ``PATH``, then the usual install paths such
as Debian's ``/usr/bin/chromium``, then a copy fetched by ``kaleido_get_chrome``.
The path found is passed to kaleido explicitly, so both agree on the browser.
MathJax is turned off: kaleido would fetch it from a CDN, and CI may be offline.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import plotly.graph_objects as go

from parsers.errors import LogError

__all__ = [
    "IMAGE_FORMATS",
    "IMAGE_HEIGHT",
    "IMAGE_SCALE",
    "IMAGE_WIDTH",
    "ImageExportError",
    "export_images",
    "find_browser",
]

IMAGE_FORMATS = ("png", "svg")
# Layout pixels: GitHub shows Markdown images at most ~880 px wide, so a 1000x500 chart with
# 15 px text stays legible there; PNGs are rendered at 2x for sharp text on high-DPI screens.
IMAGE_WIDTH = 1000
IMAGE_HEIGHT = 500
IMAGE_SCALE = 2
BROWSER_ENV = "BROWSER_PATH"


class ImageExportError(LogError, RuntimeError):
    """Images could not be written (no browser, or the browser failed); the message is one line."""


def find_browser() -> str | None:
    """Path of the Chromium-family browser kaleido will use, or None when there is none."""
    override = os.environ.get(BROWSER_ENV)
    if override is not None:
        return override if override and Path(override).is_file() and os.access(override, os.X_OK) else None
    try:
        from choreographer.browsers.chromium import Chromium
    except ImportError:  # kaleido missing: the caller reports it
        return None
    return Chromium.find_browser(skip_local=False)


def export_images(
    figures: Mapping[str, go.Figure],
    out_dir: Path,
    *,
    formats: Sequence[str] = IMAGE_FORMATS,
    width: int = IMAGE_WIDTH,
    height: int = IMAGE_HEIGHT,
    scale: float = IMAGE_SCALE,
) -> dict[str, dict[str, Path]]:
    """Write ``out_dir/<name>.<fmt>`` for every figure and format in one browser session.

    Returns ``{name: {fmt: path}}``; raises ``ImageExportError`` saying why when nothing
    could be written.
    """
    try:
        import kaleido
    except ImportError:
        raise ImageExportError("kaleido is not installed (pip install 'kaleido>=1')") from None
    browser = find_browser()
    if browser is None:
        raise ImageExportError("no Chromium or Chrome found (install chromium, or point BROWSER_PATH at one)")
    paths = {name: {fmt: Path(out_dir) / f"{name}.{fmt}" for fmt in formats} for name in figures}
    specs = [
        {
            "fig": fig,
            "path": paths[name][fmt],
            "opts": {"format": fmt, "width": width, "height": height, "scale": scale if fmt == "png" else 1},
        }
        for name, fig in figures.items()
        for fmt in formats
    ]
    try:
        kaleido.write_fig_from_object_sync(specs, kopts={"path": browser, "mathjax": False})
    except Exception as exc:
        raise ImageExportError(f"image export with {browser} failed: {_one_line(exc)}") from exc
    return paths


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
