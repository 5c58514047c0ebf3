"""What training costs: a price table the user edits (kept in TOML) and cost per run.

The default row is the origin story's figure -- one Ascend 910 at 18.2 CNY per
device-hour, about 200 CNY for an 11-hour ResNet-50 run.  A run is priced by the
first row whose device names the run's ``device_target`` hyperparameter (``Ascend``
matches ``Ascend 910``), else by the first row, and the runs table says which row
it used, so a CPU smoke run priced as an Ascend job is visible rather than silent.
Pure functions; the file is written atomically (temp file + rename).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from parsers.errors import LogError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "DEFAULT_PRICES",
    "PRICES_FILE",
    "Price",
    "PriceError",
    "load_prices",
    "price_for",
    "prices_frame",
    "prices_from_frame",
    "run_costs",
    "save_prices",
]

PRICES_FILE = "epochscope-prices.toml"
DEVICE_KEYS = ("device_target", "device", "accelerator")


class PriceError(LogError):
    """A price table that cannot be read or saved; the message names the file and the row."""


@dataclass(frozen=True)
class Price:
    """One row of the price table."""

    device: str
    devices: int
    price_per_device_hour: float
    currency: str

    @property
    def per_hour(self) -> float:
        """Cost of one hour of a job using ``devices`` of these."""
        return self.devices * self.price_per_device_hour

    @property
    def label(self) -> str:
        return f"{self.devices} x {self.device} @ {self.price_per_device_hour:g} {self.currency}/h"


DEFAULT_PRICES = (Price("Ascend 910", 1, 18.2, "CNY"),)


def _row(item: Mapping[str, Any], where: str) -> Price:
    try:
        price = Price(
            device=str(item["device"]).strip(),
            devices=int(item.get("devices", 1)),
            price_per_device_hour=float(item["price_per_device_hour"]),
            currency=str(item.get("currency", "CNY")).strip(),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PriceError(f"{where}: needs device and price_per_device_hour ({exc})") from None
    if (
        not price.device
        or price.devices < 1
        or not math.isfinite(price.per_hour)
        or price.price_per_device_hour < 0
    ):
        raise PriceError(f"{where}: device must be named, devices >= 1 and the price a number >= 0")
    return price


def load_prices(path: str | os.PathLike[str]) -> list[Price]:
    """The price rows of ``path``; the default row when the file does not exist yet."""
    path = Path(path)
    if not path.is_file():
        return list(DEFAULT_PRICES)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PriceError(f"{path}: cannot read the price table: {exc}") from None
    rows = [_row(item, f"{path}: price row {i}") for i, item in enumerate(data.get("prices", []), 1)]
    return rows or list(DEFAULT_PRICES)


def save_prices(path: str | os.PathLike[str], prices: Sequence[Price]) -> None:
    """Write the table; a reader never sees a half-written file."""
    import tomli_w

    path = Path(path)
    text = "# epochscope price table: edit here or in the dashboard's Cost page.\n" + tomli_w.dumps(
        {"prices": [asdict(p) for p in prices]}
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise PriceError(f"{path}: cannot save the price table: {exc}") from None


def prices_frame(prices: Sequence[Price]) -> pd.DataFrame:
    """The table the Cost page edits, one row per price."""
    return pd.DataFrame(
        [asdict(p) for p in prices], columns=["device", "devices", "price_per_device_hour", "currency"]
    )


def prices_from_frame(frame: pd.DataFrame) -> list[Price]:
    """Rows edited in the app back into prices; blank rows are dropped, bad ones raise PriceError."""
    rows = frame.dropna(how="all")
    return [_row(item, f"price row {i}") for i, item in enumerate(rows.to_dict("records"), 1)]


def price_for(hparams: Mapping[str, Any], prices: Sequence[Price]) -> Price:
    """The row whose device names the run's device (``device_target`` etc.), else the first row."""
    wanted = next((str(hparams[k]).lower() for k in DEVICE_KEYS if hparams.get(k) not in (None, "")), None)
    if wanted:
        for price in prices:
            if wanted in price.device.lower():
                return price
    return prices[0]


def run_costs(runs: pd.DataFrame, hparams: pd.DataFrame, prices: Sequence[Price]) -> pd.DataFrame:
    """Per run: the price row used, cost so far (wall time), projected (wall time + ETA; the
    wall time alone once a run has ended) and per epoch (mean epoch time)."""
    params = {r["run"]: r for r in hparams.to_dict("records")} if len(hparams) else {}
    chosen = [price_for(_present(params.get(run, {})), prices) for run in runs["run"]]
    rate = pd.Series([p.per_hour for p in chosen], index=runs.index, dtype=float)
    wall = pd.to_numeric(runs["wall_time_s"], errors="coerce").astype(float)
    eta = pd.to_numeric(runs["eta_s"], errors="coerce").astype(float)
    running = runs["status"].isin(["running", "stalled"])
    projected = (wall + eta.where(running, 0.0)).where(~running | eta.notna())
    return pd.DataFrame(
        {
            "run": runs["run"],
            "priced_as": [p.label for p in chosen],
            "currency": [p.currency for p in chosen],
            "rate_per_hour": rate,
            "cost_so_far": wall / 3600.0 * rate,
            "cost_projected": projected / 3600.0 * rate,
            "cost_per_epoch": pd.to_numeric(runs["mean_epoch_time_ms"], errors="coerce") / 3.6e6 * rate,
        }
    )


def _present(row: Mapping[str, Any]) -> dict[str, Any]:
    """Hyperparameters that have a value (the store's wide table fills absent keys with NaN)."""
    return {k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v)) and v is not None}
