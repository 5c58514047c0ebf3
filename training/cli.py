"""``python -m training``: train one config, resume a run, or sweep a grid.

A thin wrapper: it parses arguments, calls :func:`training.trainer.train` /
:func:`~training.trainer.resume` / :func:`training.sweep.run_sweep`, and translates typed
errors into ``Error: ...`` with exit code 2. An interrupted run exits with 128 + the
signal number, as the shell would report it.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from training.config import find_config, load_config, parse_assignment
from training.errors import ConfigError, TrainingError

__all__ = ["main"]

EXIT_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    full = list(sys.argv[1:] if argv is None else argv)
    command = full[0] if full[:1] in (["train"], ["sweep"]) else "train"
    parser = _sweep_parser() if command == "sweep" else _train_parser()
    args = parser.parse_args(full[1:] if full[:1] == [command] else full)
    args.command_line = full
    try:
        results = _run_sweep(args) if command == "sweep" else [_run_train(args, parser)]
    except TrainingError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # outside a run; during one, the run handles it
        print("Interrupted.", file=sys.stderr)
        return 128 + signal.SIGINT
    for result in results:
        print(f"Run folder: {result.run_dir} ({result.status}; metrics: {result.metrics})")
    return _exit_code(results[-1])


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH_OR_NAME",
        help="YAML config file, or the name of an embedded one "
        "(default: digits, i.e. training/configs/digits.yaml)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config value (repeatable)",
    )
    parser.add_argument(
        "--runs-dir", type=Path, default=Path("runs"), help="folder of run folders (default: ./runs)"
    )
    parser.add_argument(
        "--pretrained",
        type=Path,
        metavar="CKPT",
        help="start from the parameters of CKPT that match by name and shape",
    )


def _train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Train a ResNet image classifier with MindSpore into a run folder "
        "(train.log, hparams.json, checkpoints/, metrics.json). "
        "See also: python -m training sweep --help",
    )
    _common(parser)
    parser.add_argument("--name", help="run folder name (default: <config>-<start time>)")
    parser.add_argument(
        "--summary",
        action="store_true",
        help="also record MindSpore summary files (SummaryCollector: the loss of every step) "
        "into the run folder's summary/",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue RUN_DIR from its newest checkpoint, appending to its train.log",
    )
    return parser


def _sweep_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training sweep",
        description="Train every combination of --grid values, one after another, "
        "into sibling run folders <name>-<key>=<value>-...",
    )
    _common(parser)
    parser.add_argument(
        "--grid",
        action="append",
        required=True,
        metavar="KEY=V1,V2",
        help="values to sweep for one key (repeatable; all combinations run)",
    )
    parser.add_argument("--name", help="sweep name prefixing each run folder")
    return parser


def _run_train(args: argparse.Namespace, parser: argparse.ArgumentParser):
    from training.trainer import resume, train

    if args.resume:
        if args.config or args.name or args.pretrained or args.summary:
            parser.error(
                "--resume takes the config from the run folder; "
                "use --set to change values, not --config/--name/--pretrained/--summary"
            )
        return resume(args.resume, overrides=dict(map(parse_assignment, args.overrides)))
    path = find_config(args.config)
    return train(
        load_config(path, overrides=args.overrides),
        config_name=path.stem,
        runs_dir=args.runs_dir,
        name=args.name,
        pretrained=args.pretrained,
        extra_hparams=_command(args),
        summary=args.summary,
    )


def _run_sweep(args: argparse.Namespace) -> list:
    from training.sweep import parse_grid, run_sweep

    grid = parse_grid(args.grid)
    swept = set(grid) & {key for key, _ in map(parse_assignment, args.overrides)}
    if swept:
        raise ConfigError(f"{', '.join(sorted(swept))} given to both --set and --grid")
    path = find_config(args.config)
    return run_sweep(
        load_config(path, overrides=args.overrides),
        grid,
        config_name=path.stem,
        runs_dir=args.runs_dir,
        name=args.name,
        pretrained=args.pretrained,
        extra_hparams=_command(args),
    )


def _command(args: argparse.Namespace) -> dict[str, str]:
    """The command line, recorded in hparams.json so a run can be repeated."""
    return {"command": shlex.join(["python", "-m", "training", *args.command_line])}


def _exit_code(result) -> int:
    if result.status == "finished":
        return 0
    return 128 + signal.Signals[result.signal_name].value
