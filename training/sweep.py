"""Grid sweeps: every combination of ``--grid key=v1,v2`` values, one run after another.

Each combination becomes a sibling run folder named ``<sweep>-<key>=<value>-...``, with the
grid point recorded in its ``hparams.json``, so the dashboard can line the runs up. All
combinations are type-checked before the first one starts: a typo in the last value
should not surface after hours of training.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from training.config import TrainConfig, parse_assignment
from training.errors import ConfigError
from training.run_folder import default_run_name, safe_name

__all__ = ["grid_points", "parse_grid", "point_label", "run_sweep"]


def parse_grid(items: Iterable[str]) -> dict[str, list[Any]]:
    """``["lr_max=0.1,0.4"]`` -> ``{"lr_max": [0.1, 0.4]}`` (values read as YAML scalars)."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, raw = (part.strip() for part in item.partition("="))
        parts = [part for part in raw.split(",") if part.strip()]
        if not key or not sep or not parts:
            raise ConfigError(f"expected --grid key=v1,v2, got {item!r}")
        values = [parse_assignment(f"{key}={part}")[1] for part in parts]
        if key in grid:
            raise ConfigError(f"--grid {key} given twice; list all its values in one")
        grid[key] = values
    return grid


def grid_points(grid: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination, the first key varying slowest."""
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def point_label(point: Mapping[str, Any]) -> str:
    """``{"lr_max": 0.1, "batch_size": 32}`` -> ``"lr_max=0.1-batch_size=32"``."""
    return safe_name("-".join(f"{key}={value}" for key, value in point.items()))


def run_sweep(
    config: TrainConfig,
    grid: Mapping[str, list[Any]],
    *,
    config_name: str,
    runs_dir: Path,
    name: str | None = None,
    pretrained: Path | None = None,
    extra_hparams: Mapping[str, Any] | None = None,
) -> list[Any]:
    """Train every grid point; stop early if a run is interrupted. Returns the RunResults."""
    from training.trainer import train

    points = grid_points(grid)
    configs = [config.with_overrides(point) for point in points]
    sweep_name = name or default_run_name(config_name, dt.datetime.now())
    results = []
    for point, point_config in zip(points, configs):
        result = train(
            point_config,
            config_name=config_name,
            runs_dir=runs_dir,
            name=f"{sweep_name}-{point_label(point)}",
            pretrained=pretrained,
            extra_hparams={**(extra_hparams or {}), "sweep": {"name": sweep_name, "point": point}},
        )
        results.append(result)
        if result.status != "finished":
            break
    return results
