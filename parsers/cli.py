"""``parse-log``: summaries, table exports, CI reports and comparisons of training logs.

    parse-log FILE|DIR... [--json] [--to csv|parquet|json -o DIR] [--format NAME] [--formats FILE]
    parse-log report LOG|RUN_DIR... -o DIR [--baseline LOG|RUN_DIR] [--title TEXT]
    parse-log compare BASELINE CANDIDATE [--fail-on RULE ...]
    parse-log watch RUNS_DIR|LOG... --on RULE... [--every 30s] [--webhook URL] [--exec CMD] [--once]

Every command is thin: one library call returns a mapping or DataFrame and
``parsers.render.render`` shows or writes it.  The first word picks the command
when it names one (``report``, ``compare``); otherwise the arguments are logs to
summarize (a log literally called ``report`` is ``./report``).  Adding a command
is one function pair and one ``COMMANDS`` entry.

Exit codes: 0 ok, 1 a ``compare`` rule was broken or a ``watch --once`` rule holds, 2 bad input
(one line ``Error: ...``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from parsers.errors import LogError
from parsers.render import FILE_FORMATS, render

__all__ = ["COMMANDS", "Command", "main"]

PROG = "parse-log"
EXIT_OK, EXIT_RULE_BROKEN, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one ``Error:`` line and exit 2, like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"Error: {message} (see {self.prog} --help)\n")


@dataclass(frozen=True)
class Command:
    """A subcommand: a one-line description, how to declare its arguments, what it does."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# --- flags shared by commands: each defined once -------------------------------------------


def _parse_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("parsing")
    group.add_argument("--format", metavar="NAME", help="use this format instead of detecting one")
    group.add_argument(
        "--formats",
        metavar="FILE",
        dest="formats_file",
        help="TOML file of extra formats (epochscope-formats.toml beside a log is read by itself)",
    )


def _json_flag(parser: argparse.ArgumentParser, *, what: str = "the same") -> None:
    parser.add_argument(
        "--json",
        action="store_const",
        const="json",
        default="text",
        dest="style",
        help=f"print {what} as JSON instead of text",
    )


def _table_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("writing tables")
    group.add_argument(
        "--to",
        choices=FILE_FORMATS,
        metavar="{" + ",".join(FILE_FORMATS) + "}",
        help="write the steps/epochs/evals/events tables and meta.json "
        "(json = JSON Lines, one object per row)",
    )
    group.add_argument(
        "-o",
        "--out",
        type=Path,
        metavar="DIR",
        help="folder for --to (one subfolder per log when several are given)",
    )


def _parse_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"format": args.format, "formats_file": args.formats_file}


# --- parse-log FILE|DIR... ------------------------------------------------------------------


def _summary_configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "logs",
        nargs="+",
        metavar="FILE|DIR",
        help="a log, a .gz log, or a folder of per-rank logs / a run folder",
    )
    _json_flag(parser, what="the summary (several logs: one object keyed by the path given)")
    _table_flags(parser)
    _parse_flags(parser)


def _summary_run(args: argparse.Namespace) -> int:
    from parsers.humanize import summary_view
    from parsers.runs import load_run, run_names

    if args.to and args.out is None:
        raise LogError("--to needs -o DIR: the folder to write the tables into")
    out_dirs = _table_dirs(args, run_names(args.logs))
    results: dict[str, Any] = {}
    for path, out_dir in zip(args.logs, out_dirs):
        run = load_run(path, **_parse_options(args))
        results[path] = run.summary if args.style == "json" else summary_view(run.summary)
        if out_dir is not None:
            written = render(run.log, to=args.to or "parquet", out_dir=out_dir)
            print(f"{path}: wrote {len(written)} files to {out_dir}", file=sys.stderr)
        del run
    render(results[args.logs[0]] if len(args.logs) == 1 else results, to=args.style)
    return EXIT_OK


def _table_dirs(args: argparse.Namespace, names: list[str]) -> list[Path | None]:
    if args.out is None:
        return [None] * len(names)
    return [args.out] if len(names) == 1 else [args.out / name for name in names]


# --- parse-log report -----------------------------------------------------------------------


def _report_configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="LOG|RUN_DIR", help="runs to report on")
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder for report.md, report.html, summary.json and the images",
    )
    parser.add_argument("--baseline", metavar="LOG|RUN_DIR", help="run to show deltas against")
    parser.add_argument("--title", default=None, help="report title (default: the run names)")
    _json_flag(parser)
    _parse_flags(parser)


def _report_run(args: argparse.Namespace) -> int:
    try:
        from dashboard.report import write_report
    except ImportError as exc:  # plotly is optional weight: the "report" extra
        raise LogError(f"parse-log report needs plotly: pip install 'epochscope[report]' ({exc})") from None
    from parsers.runs import load_run, load_runs

    runs = load_runs(args.runs, **_parse_options(args))
    baseline = load_run(args.baseline, **_parse_options(args)) if args.baseline else None
    render(write_report(runs, out_dir=args.out, baseline=baseline, title=args.title), to=args.style)
    return EXIT_OK


# --- parse-log compare ----------------------------------------------------------------------


def _compare_configure(parser: argparse.ArgumentParser) -> None:
    from parsers.compare import RULES

    parser.add_argument("baseline", metavar="BASELINE", help="log or run folder to compare against")
    parser.add_argument("candidate", metavar="CANDIDATE", help="log or run folder under test")
    parser.add_argument(
        "--fail-on",
        action="append",
        default=[],
        metavar="RULE",
        dest="rules",
        help="exit 1 when RULE is broken; repeatable (rules below)",
    )
    listed = "\n".join(
        f"  {name + ('' if k.worse == 'any' else '=LIMIT'):<22} {k.help}" for name, k in RULES.items()
    )
    parser.epilog = (
        f"rules (LIMIT is relative, 5%, or absolute in the metric's unit, 0.02):\n{listed}\n"
        "A rule whose figure is missing from either log fails and says which.\n"
        "The mean epoch time leaves out the first (compile/warm-up) epoch.\n\n"
        "exit codes: 0 all rules held, 1 a rule was broken, 2 bad input"
    )
    _json_flag(parser)
    _parse_flags(parser)


def _compare_run(args: argparse.Namespace) -> int:
    from parsers.compare import compare, parse_rule
    from parsers.runs import load_runs

    rules = [parse_rule(text) for text in args.rules]  # a typo fails before any parsing
    baseline, candidate = load_runs([args.baseline, args.candidate], **_parse_options(args))
    result = compare(
        baseline.log, candidate.log, rules=rules, summaries=(baseline.summary, candidate.summary)
    )
    render(
        {
            "baseline": str(baseline.source),
            "candidate": str(candidate.source),
            "deltas": result.deltas,
            "checks": result.checks,
            "verdict": _verdict(result.checks),
        },
        to=args.style,
    )
    return EXIT_RULE_BROKEN if result.failed else EXIT_OK


def _verdict(checks: Any) -> str:
    if not len(checks):
        return "no rules given (--fail-on)"
    broken = int((~checks["passed"]).sum())
    return (
        f"FAILED: {broken} of {len(checks)} checks broken"
        if broken
        else f"passed: all {len(checks)} checks held"
    )


# --- parse-log ingest (parsers.store) -------------------------------------------------------


def _ingest_configure(parser: argparse.ArgumentParser) -> None:
    from parsers.store.command import configure

    configure(parser)
    _json_flag(parser, what="the result table")


def _ingest_run(args: argparse.Namespace) -> int:
    from parsers.store.command import ingest_result

    result = ingest_result(args)
    render(result, to=args.style)
    return EXIT_BAD_INPUT if (result["status"] == "error").any() else EXIT_OK


# --- parse-log watch (parsers.watch) --------------------------------------------------------


def _watch_configure(parser: argparse.ArgumentParser) -> None:
    from parsers.watch.command import configure

    configure(parser)
    _json_flag(parser, what="each alert (one object per line)")


def _watch_run(args: argparse.Namespace) -> int:
    from parsers.watch.command import watch

    return watch(args)


# --- dispatch -------------------------------------------------------------------------------

SUMMARY = Command("summarize logs (the default when no command is named)", _summary_configure, _summary_run)
COMMANDS: dict[str, Command] = {
    "report": Command(
        "write report.md/.html, images and summary.json for CI artifacts", _report_configure, _report_run
    ),
    "compare": Command(
        "deltas of a candidate run against a baseline; exit 1 when a --fail-on rule breaks",
        _compare_configure,
        _compare_run,
    ),
    "ingest": Command(
        "parse many logs (folders, globs, s3:// URLs) into a run store, in parallel on Dask",
        _ingest_configure,
        _ingest_run,
    ),
    "watch": Command(
        "follow logs; alert on stdout, --exec or a chat webhook when a rule (nan, overflow=3, ...) fires",
        _watch_configure,
        _watch_run,
    ),
}


def build_parser(name: str | None = None) -> argparse.ArgumentParser:
    """The parser of command ``name`` (None: the summary command, which lists the others)."""
    command = COMMANDS[name] if name else SUMMARY
    epilog = None
    if name is None:
        listed = "\n".join(f"  {n:<9} {c.help}" for n, c in COMMANDS.items())
        epilog = (
            f"commands (see {PROG} COMMAND --help):\n{listed}\n\n"
            "exit codes: 0 ok, 1 compare rule broken (or watch --once: a rule holds), 2 bad input"
        )
    parser = _Parser(
        prog=f"{PROG} {name}" if name else PROG,
        description=command.help,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.configure(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``parse-log`` with ``argv``; returns the exit code (bad input is 2 with one ``Error:`` line)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    name = argv[0] if argv and argv[0] in COMMANDS else None
    try:
        args = build_parser(name).parse_args(argv[1:] if name else argv)
    except SystemExit as exc:  # --help (0) or a usage mistake (2), already printed
        return int(exc.code or 0)
    try:
        return (COMMANDS[name] if name else SUMMARY).run(args)
    except LogError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # parse-log big.log | head: stop quietly, like other tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
