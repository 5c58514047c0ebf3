"""``parse-log watch RUNS_DIR|LOG... --on RULE...``: the command's arguments and its one call.

``parsers.cli`` lists it in ``COMMANDS`` and adds the shared ``--json`` flag.  Everything a
user can get wrong (a rule, ``--every``, the webhook URL, the ``--exec`` command, a cost
rule in a currency the price table does not have, a missing log) fails before the first
look with one ``Error:`` line and exit 2.  SIGINT and SIGTERM stop the watcher between
two looks (a delivery in progress finishes; webhook retries are given up).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from parsers.insights.alerts import ALERT_RULES, parse_alert_rule
from parsers.insights.cost import PRICES_FILE, Price, load_prices
from parsers.insights.rules import Rule, rule_usage
from parsers.watch.errors import WatchError
from parsers.watch.webhook import PRESETS

__all__ = ["configure", "parse_every", "watch"]

DEFAULT_EVERY = "30s"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|min|m|h)?")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sources",
        nargs="+",
        metavar="RUNS_DIR|LOG",
        help="a folder of runs (every run under it), or log files",
    )
    parser.add_argument(
        "--on",
        nargs="+",
        action="extend",
        required=True,
        metavar="RULE",
        dest="rules",
        help="alert when RULE becomes true; several after one --on, or --on repeated (rules below)",
    )
    parser.add_argument(
        "--every", default=DEFAULT_EVERY, metavar="DURATION", help="time between looks: 30s, 5m, 1h"
    )
    parser.add_argument("--once", action="store_true", help="look once and exit: 1 when a rule holds, else 0")
    parser.add_argument("--webhook", metavar="URL", help="also POST each alert as JSON to URL")
    parser.add_argument(
        "--webhook-format",
        choices=list(PRESETS),
        default="json",
        help="body of the POST: the plain text message of a chat tool, or the alert itself (json)",
    )
    parser.add_argument(
        "--exec",
        metavar="CMD",
        dest="exec_command",
        help="also run CMD per alert: the alert as JSON on stdin and in EPOCHSCOPE_* variables",
    )
    parser.add_argument(
        "--store",
        type=Path,
        metavar="DIR",
        help="the run store (default: RUNS_DIR/.epochscope, or .epochscope beside the logs)",
    )
    parser.add_argument(
        "--prices",
        type=Path,
        metavar="FILE",
        help=f"price table for cost (default: {PRICES_FILE} in RUNS_DIR or beside the logs)",
    )
    listed = "\n".join(f"  {rule_usage(name, kind):<22} {kind.help}" for name, kind in ALERT_RULES.items())
    parser.epilog = (
        "rules (LIMIT is relative, 10%, or absolute in the figure's unit; AMOUNT such as 200CNY):\n"
        f"{listed}\n"
        "Each alert is sent once per run and rule (recorded in the store's alerts.json) and names\n"
        "the run, the rule, its value, the log line that made it true and the cost so far.\n"
        "EPOCHSCOPE_* variables for --exec: RUN, RULE, VALUE, DETAIL, LINE, TEXT, LOG, RANK, TIME,\n"
        "COST_SO_FAR, COST_PROJECTED, CURRENCY.\n"
        "A failed delivery is reported on stderr; watching goes on.\n\n"
        "exit codes: 0 stopped (SIGINT/SIGTERM) or --once with no rule holding, 1 --once and a rule holds,\n"
        "2 bad input"
    )


def parse_every(text: str) -> float:
    """``30s``/``5m``/``1h``/``500ms``/``45`` (seconds) -> seconds; at least 0.1."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise WatchError(f"--every {text!r}: not a duration such as 30s, 5m or 1h")
    seconds = float(match["number"]) * _UNITS[match["unit"] or "s"]
    if seconds < 0.1:
        raise WatchError(f"--every {text!r}: too short; at least 0.1s")
    return seconds


def watch(args: argparse.Namespace) -> int:
    """Run the watch the arguments describe; the exit code."""
    from parsers.watch.deliver import Delivery, exec_argv
    from parsers.watch.loop import Watcher, resolve_target
    from parsers.watch.stopping import StopRequest, stopping_on_signals

    rules = [parse_alert_rule(text) for text in args.rules]
    every = parse_every(args.every)
    target = resolve_target(args.sources)
    prices = load_prices(args.prices or target.base / PRICES_FILE)
    _check_currencies(rules, prices, args.prices or target.base / PRICES_FILE)
    with StopRequest() as stop:
        delivery = Delivery(
            style=args.style,
            exec_argv=exec_argv(args.exec_command) if args.exec_command is not None else None,
            webhook=args.webhook,
            webhook_format=args.webhook_format,
            wait=stop.wait,
        )
        watcher = Watcher(target, rules, store_dir=args.store, prices=prices, delivery=delivery)
        with stopping_on_signals(stop):
            return watcher.run(every_s=every, once=args.once, stop=stop)


def _check_currencies(rules: list[Rule], prices: list[Price], where: Path) -> None:
    """A ``cost=200USD`` rule against a table priced in CNY would never fire: bad input."""
    currencies = {p.currency.upper() for p in prices}
    for rule in rules:
        if rule.name == "cost" and rule.unit and rule.unit not in currencies:
            raise WatchError(
                f"--on {rule.text!r}: the price table ({where}) is in {', '.join(sorted(currencies))}, "
                f"not {rule.unit}"
            )
