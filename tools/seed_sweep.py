"""Measure the bands of a notebook's run-dependent results over seeds, threads and CPU profiles.

Each notebook checks its training results with :func:`helpers.check.expect_range` against a band.
This script runs a notebook several times (each seed x thread count, optionally under the portable
CPU profile of ``tools/portable_profile.py`` or with the genre labels shuffled across clips), records
every value the notebook passes to ``expect_range`` instead of checking it, and writes them to a
CSV with one row per run and figure. The bands in the notebooks, and the ranges in
``notebooks/results.md``, come from these tables.

    python tools/seed_sweep.py notebooks/07_lstm_mfcc_sequences.ipynb --seeds 1 2 3 --threads 1 2
    python tools/seed_sweep.py notebooks/07_lstm_mfcc_sequences.ipynb --seeds 1 --shuffle-labels

Runs take as long as the notebook does; nothing here is part of ``make test``.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

INJECT = '''
SEED = {seed}
import numpy as _np
import helpers.check as _check
import helpers.datasets as _datasets
_records = []
def _record(value, low, high, *, what):
    _records.append({{"what": what, "value": float(value), "low": low, "high": high}})
_check.expect_range = _record
if {shuffle}:
    _gtzan_clips = _datasets.gtzan_clips
    def _shuffled_clips(*args, **kwargs):
        table = _gtzan_clips(*args, **kwargs).copy()
        table["genre"] = _np.random.default_rng(SEED).permutation(table["genre"].to_numpy())
        return table
    _datasets.gtzan_clips = _shuffled_clips
'''


def run_once(path: Path, *, seed: int, threads: int, portable: bool, shuffle: bool, timeout: int) -> list[dict]:
    nb = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(INJECT.format(seed=seed, shuffle=shuffle)))
    nb.cells.append(nbformat.v4.new_code_cell('import json; print("RECORDS=" + json.dumps(_records))'))
    env = {name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                          "NUMBA_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")}
    env["TF_NUM_INTEROP_THREADS"] = "1"
    if portable:
        out = subprocess.run([sys.executable, str(ROOT / "tools" / "portable_profile.py")],
                             capture_output=True, text=True, check=True).stdout
        env.update(line.split("=", 1) for line in out.splitlines() if line)
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        os.environ.update(env)
        os.environ["COURSE_CACHE_DIR"] = cache  # shuffled labels must never meet a cached feature set
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        finally:
            os.environ.clear()
            os.environ.update(saved)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    return json.loads(text.split("RECORDS=", 1)[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--portable", action="store_true", help="run under the portable CPU profile")
    parser.add_argument("--shuffle-labels", action="store_true", help="shuffle genres across clips (a broken pipeline)")
    parser.add_argument("--out", type=Path, help="CSV to append to (default build/sweep/<notebook>.csv)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    out = args.out or ROOT / "build" / "sweep" / f"{args.notebook.stem}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    new = not out.exists()
    with out.open("a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(["notebook", "seed", "threads", "profile", "labels", "what", "value", "low", "high", "seconds"])
        for seed in args.seeds:
            for threads in args.threads:
                start = time.perf_counter()
                records = run_once(args.notebook, seed=seed, threads=threads, portable=args.portable,
                                   shuffle=args.shuffle_labels, timeout=args.timeout)
                took = round(time.perf_counter() - start)
                for r in records:
                    writer.writerow([args.notebook.stem, seed, threads, "portable" if args.portable else "native",
                                     "shuffled" if args.shuffle_labels else "true", r["what"], f"{r['value']:.4f}",
                                     r["low"], r["high"], took])
                f.flush()
                print(f"{args.notebook.stem} seed {seed} threads {threads}: {len(records)} figures in {took} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
