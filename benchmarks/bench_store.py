#!/usr/bin/env python3
"""Speed of the run store: refresh against a cold parse, ingest of 1,000 logs on Dask, the runs table.

    python benchmarks/bench_store.py refresh [--appends 20]      # +100 KB refresh vs cold parse
    python benchmarks/bench_store.py ingest [--logs 1000]         # 1 vs 2 workers, logs/s and MB/s
    python benchmarks/bench_store.py runs                         # runs() with the ingest's 1,000 runs
    python benchmarks/bench_store.py memory                       # peak memory by segment size
    python benchmarks/bench_store.py all

Everything is generated under --out (default /tmp/epochscope-bench), never in the repo:
the reference log (``benchmarks/make_reference_log.py``: 90 epochs x 18810 steps, 83 MB)
and, for ingest, 1,000 logs of mixed sizes and formats (prefixes of the reference log cut
at a line end, from 20 KB to 90 MB, plus copies of the real logs in tests/data), about
3 GB.  Each benchmark prints one JSON object.  Targets: a refresh after 100 KB costs
under 5% of a cold parse of the reference log; ``runs()`` with 1,000 runs under 1 s.
Timings on a shared machine vary: the refresh ratio is the median over many appends,
each compared with a cold parse made right after it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APPEND = 100_000
TARGET_RATIO = 0.05
TARGET_RUNS_S = 1.0


def reference_log(out: Path) -> Path:
    """The reference log, written once (same bytes every time)."""
    path = out / "reference.log"
    if not path.exists() or path.stat().st_size < 80_000_000:
        out.mkdir(parents=True, exist_ok=True)
        spec = importlib.util.spec_from_file_location(
            "make_reference_log", REPO / "benchmarks" / "make_reference_log.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.write_log(path)
    return path


# --- refresh ------------------------------------------------------------------------------


def bench_refresh(out: Path, appends: int) -> dict:
    import parsers
    from parsers.store import RunStore

    data = reference_log(out).read_bytes()
    runs = out / "refresh-runs"
    shutil.rmtree(runs, ignore_errors=True)
    (runs / "ref").mkdir(parents=True)
    log = runs / "ref" / "train.log"
    start = len(data) - appends * APPEND
    log.write_bytes(data[:start])
    parsers.parse_log("epoch: 1 step: 1, loss is 0.5\n")  # imports and first-call set-up
    store = RunStore(runs)
    t0 = time.perf_counter()
    store.refresh()
    first = time.perf_counter() - t0
    refresh, cold, ratio = [], [], []
    for i in range(appends):
        with log.open("ab") as handle:
            handle.write(data[start + i * APPEND : start + (i + 1) * APPEND])
        t0 = time.perf_counter()
        result = store.refresh()
        refresh.append(time.perf_counter() - t0)
        assert result.loc[0, "status"] == "appended", result
        t0 = time.perf_counter()
        parsers.parse_log(log)
        cold.append(time.perf_counter() - t0)
        ratio.append(refresh[-1] / cold[-1])
    median = statistics.median(ratio)
    return {
        "benchmark": "refresh after +100 KB",
        "log_mb": round(len(data) / 1e6, 1),
        "first_refresh_into_store_s": round(first, 3),
        "cold_parse_s_median": round(statistics.median(cold), 3),
        "refresh_ms_median": round(statistics.median(refresh) * 1000, 1),
        "refresh_ms_p90": round(sorted(refresh)[int(0.9 * (len(refresh) - 1))] * 1000, 1),
        "refresh_ms_max": round(max(refresh) * 1000, 1),
        "ratio_median": round(median, 4),
        "target_ratio": TARGET_RATIO,
        "ok": median < TARGET_RATIO,
        "appends": appends,
    }


# --- ingest -------------------------------------------------------------------------------


def make_logs(out: Path, count: int) -> tuple[Path, int]:
    """``count`` run folders of mixed sizes and formats under out/logs (kept between runs)."""
    folder = out / f"logs-{count}"
    done = folder / ".complete"
    if done.exists():
        return folder, int(done.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    data = reference_log(out).read_bytes()
    real = sorted((REPO / "tests" / "data").glob("*/*.log"))
    rng = random.Random(20240506)
    total = 0
    for i in range(count):
        run = folder / f"job-{i // 100:02d}" / f"run-{i:04d}"
        run.mkdir(parents=True)
        kind = rng.random()
        if kind < 0.1:
            body = real[i % len(real)].read_bytes()
        else:
            size = _size(rng, kind)
            body = data[: data.rfind(b"\n", 0, size) + 1]
        (run / "train.log").write_bytes(body)
        total += len(body)
    done.write_text(str(total))
    return folder, total


def _size(rng: random.Random, kind: float) -> int:
    if kind < 0.12:  # 2%: whole jobs, 60-90 MB
        return rng.randint(60_000_000, 89_000_000)
    if kind < 0.30:  # 18%: a few epochs, 2-10 MB
        return rng.randint(2_000_000, 10_000_000)
    return rng.randint(20_000, 1_000_000)  # 70%: short or early runs


def bench_ingest(out: Path, count: int) -> dict:
    import dask
    from dask.distributed import LocalCluster

    from parsers.store.ingest import ingest

    logs, total = make_logs(out, count)
    timings = {}
    for workers in (2, 1):
        store = out / f"store-{workers}w"
        shutil.rmtree(store, ignore_errors=True)
        t0 = time.perf_counter()
        with (
            dask.config.set({"distributed.worker.profile.enabled": False}),
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
        ):  # as parse-log ingest makes its local cluster
            started = time.perf_counter() - t0
            t0 = time.perf_counter()
            result = ingest([str(logs)], store, scheduler=cluster.scheduler_address, progress=False)
            elapsed = time.perf_counter() - t0
        errors = int((result["status"] == "error").sum())
        timings[workers] = {
            "cluster_start_s": round(started, 2),
            "ingest_s": round(elapsed, 2),
            "errors": errors,
            "logs_per_s": round(count / elapsed, 1),
            "mb_per_s": round(total / 1e6 / elapsed, 1),
        }
        if workers == 1:
            shutil.rmtree(store, ignore_errors=True)  # keep one store (2 workers) for the runs benchmark
    return {
        "benchmark": "ingest",
        "logs": count,
        "gb": round(total / 1e9, 2),
        "workers_2": timings[2],
        "workers_1": timings[1],
        "speedup_2_over_1": round(timings[1]["ingest_s"] / timings[2]["ingest_s"], 2),
        "cpus": os.cpu_count(),
    }


# --- runs() -------------------------------------------------------------------------------


def bench_runs(out: Path, count: int) -> dict:
    """runs() in a fresh process (imports apart, then warm) over the ingest's store; then a refresh
    that finds nothing changed (a dashboard reopened: a stat per log)."""
    store, logs = out / "store-2w", out / f"logs-{count}"
    if not (store / "runs.parquet").exists():
        raise SystemExit("run the ingest benchmark first (it leaves the store of 1,000 runs)")
    code = (
        "import json, sys, time\nt0 = time.perf_counter()\nfrom parsers.store import RunStore\n"
        "store = RunStore(sys.argv[1], sys.argv[2])\nt1 = time.perf_counter()\nruns = store.runs()\n"
        "t2 = time.perf_counter()\nstore.runs()\nt3 = time.perf_counter()\nstore.refresh()\n"
        "t4 = time.perf_counter()\n"
        "print(json.dumps({'rows': len(runs), 'import_s': t1 - t0, 'first_s': t2 - t1, 'warm_s': t3 - t2,\n"
        "                  'refresh_s': t4 - t3}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(logs), str(store)], capture_output=True, text=True,
                          check=True, cwd=REPO)  # fmt: skip
    figures = json.loads(done.stdout)
    return {
        "benchmark": "runs() with a store of 1,000 runs",
        "rows": figures["rows"],
        "import_s": round(figures["import_s"], 3),
        "first_call_s": round(figures["first_s"], 3),
        "warm_call_s": round(figures["warm_s"], 3),
        "refresh_nothing_changed_s": round(figures["refresh_s"], 3),
        "target_s": TARGET_RUNS_S,
        "ok": figures["first_s"] < TARGET_RUNS_S,
    }


# --- memory -------------------------------------------------------------------------------


# VmHWM (peak resident set) starts again at exec; ru_maxrss would count the parent's pages at fork.
_PEAK = (
    "def _peak_mb():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1]) / 1024\n"
)


def bench_memory(out: Path) -> dict:
    """Peak memory of a whole process putting one log into a store, by log and segment size.

    A log is read and committed a segment at a time: with 16 MB segments the peak stays
    the same for a log three times the reference log's size.  'baseline' is the same
    process on a one-line log (imports: pandas, pyarrow, DuckDB).
    """
    data = reference_log(out).read_bytes()
    code = (
        "import shutil, sys\nfrom pathlib import Path\nfrom parsers.store import RunStore\n"
        "runs = Path(sys.argv[1]); shutil.rmtree(runs / '.epochscope', ignore_errors=True)\n"
        "RunStore(runs, segment_bytes=int(sys.argv[2])).refresh()\n"
        "print(_peak_mb())\n"
    )
    code = _PEAK + code
    result: dict = {"benchmark": "peak memory of a process putting one log into a store (MB)"}
    for label, body in (("baseline", data[:100]), ("log_89mb", data), ("log_267mb", data * 3)):
        runs = out / "memory-runs"
        shutil.rmtree(runs, ignore_errors=True)
        (runs / "ref").mkdir(parents=True)
        (runs / "ref" / "train.log").write_bytes(body[: body.rfind(b"\n") + 1])
        for segment in (256 << 20, 16 << 20) if label != "baseline" else (256 << 20,):
            done = subprocess.run(
                [sys.executable, "-c", code, str(runs), str(segment)],
                capture_output=True,
                text=True,
                check=True,
                cwd=REPO,
            )
            key = label if label == "baseline" else f"{label}_segment_{segment >> 20}mb"
            result[key] = round(float(done.stdout.strip().splitlines()[-1]), 1)
    shutil.rmtree(out / "memory-runs", ignore_errors=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("refresh", "ingest", "runs", "memory", "all"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/epochscope-bench"))
    parser.add_argument("--appends", type=int, default=20)
    parser.add_argument("--logs", type=int, default=1000)
    args = parser.parse_args()
    results = []
    if args.which in ("refresh", "all"):
        results.append(bench_refresh(args.out, args.appends))
    if args.which in ("ingest", "all"):
        results.append(bench_ingest(args.out, args.logs))
    if args.which in ("runs", "all"):
        results.append(bench_runs(args.out, args.logs))
    if args.which in ("memory", "all"):
        results.append(bench_memory(args.out))
    for result in results:
        print(json.dumps(result, indent=2))
    return 0 if all(r.get("ok", True) for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
