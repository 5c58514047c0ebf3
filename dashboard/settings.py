"""What ``streamlit run dashboard -- [--runs DIR] [--prices FILE] [--refresh S]`` configures.

The runs root is fixed when the server starts; the folder box in the app can only
narrow it (see ``dashboard.files.resolve_within``), so someone with the page open
cannot make the server read elsewhere.  ``EPOCHSCOPE_RUNS`` sets the root too, for
deployments that cannot pass script arguments.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from parsers.errors import LogError
from parsers.insights.cost import PRICES_FILE

__all__ = ["Settings", "SettingsError", "parse_settings"]

DEFAULT_RUNS = "runs"
DEFAULT_REFRESH_S = 3.0


class SettingsError(LogError, ValueError):
    """A dashboard argument that cannot be used: what was wrong and what is known."""


@dataclass(frozen=True)
class Settings:
    """Server-side configuration, fixed for the life of the process."""

    root: Path  # the runs folder; nothing outside it is read or written
    prices: Path  # the price table (TOML) the Cost page edits
    refresh_s: float  # live refresh period while some run is running


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamlit run dashboard --", exit_on_error=False, add_help=False)
    parser.add_argument("--runs", default=os.environ.get("EPOCHSCOPE_RUNS", DEFAULT_RUNS))
    parser.add_argument("--prices", default=None)
    parser.add_argument("--refresh", type=float, default=DEFAULT_REFRESH_S)
    return parser


def parse_settings(argv: Sequence[str]) -> Settings:
    """Settings from the script arguments; raises ``SettingsError`` with a message a user can act on."""
    try:
        args, unknown = _parser().parse_known_args(list(argv))
    except argparse.ArgumentError as exc:
        raise SettingsError(f"bad dashboard argument: {exc}") from None
    if unknown:
        raise SettingsError(
            f"unknown dashboard arguments: {' '.join(unknown)} (known: --runs, --prices, --refresh)"
        )
    root = Path(args.runs).expanduser().resolve()
    prices = Path(args.prices).expanduser().resolve() if args.prices else root / PRICES_FILE
    return Settings(root=root, prices=prices, refresh_s=max(float(args.refresh), 1.0))
