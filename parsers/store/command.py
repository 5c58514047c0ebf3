"""``parse-log ingest SOURCE... --store DIR``: the command's arguments and its one library call.

``parsers.cli`` lists it in ``COMMANDS`` and adds the shared ``--json`` flag; everything
here is imported only when the command runs, so ``parse-log --help`` stays light.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

__all__ = ["HELP", "configure", "ingest_result"]

HELP = "parse many logs (folders, globs, s3:// URLs) into a run store, in parallel on Dask"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="a folder of runs, a log, a glob ('runs/*/train.log'), or a URL (s3://bucket/prefix)",
    )
    parser.add_argument("--store", type=Path, required=True, metavar="DIR", help="the run store to update")
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="an existing Dask scheduler (default: a local cluster with one worker per core)",
    )
    parser.add_argument(
        "--workers", type=int, metavar="N", help="workers of the local cluster (default: cores)"
    )
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="S3-compatible endpoint for s3:// sources (ModelArts OBS: https://obs.REGION.myhuaweicloud.com)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    parser.epilog = (
        "One row per log: its run, status (new, unchanged, appended, reparsed, error) and the bytes\n"
        "parsed by this call -- an unchanged log reads 0, a grown one only what was appended.\n"
        "s3:// is read with pyarrow's S3 client: credentials and region come from the usual AWS\n"
        "variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_DEFAULT_REGION)\n"
        "or ~/.aws, and are never printed. An endpoint that cannot be reached or a credential it\n"
        "refuses is one Error: line and exit code 2, before any log is read.\n\n"
        "exit codes: 0 every log ingested, 2 some log could not be (the others were)"
    )


def ingest_result(args: argparse.Namespace) -> pd.DataFrame:
    """Run the ingest the arguments describe; the table ``render`` prints."""
    from parsers.store.ingest import ingest

    return ingest(
        args.sources,
        args.store,
        scheduler=args.scheduler,
        workers=args.workers,
        endpoint_url=args.endpoint_url,
        progress=not args.no_progress,
    )
