"""Measure the bands of a notebook's run-dependent results over seeds, threads and CPU profiles.

Each notebook checks its training results with :func:`helpers.check.expect_range` against a band.
This script runs a notebook several times (each seed x thread count, optionally under the portable
CPU profile of ``tools/portable_profile.py`` or with the genre labels shuffled across clips), records
every value the notebook passes to ``expect_range`` instead of checking it, and writes them to a
CSV with one row per run and figure. The bands in the notebooks, and the ranges in
``notebooks/results.md``, come from these tables.

    python tools/seed_sweep.py notebooks/07_lstm_mfcc_sequences.ipynb --seeds 1 2 3 --threads 1 2
    python tools/seed_sweep.py notebooks/07_lstm_mfcc_sequences.ipynb --seeds 1 --shuffle-labels
    python tools/seed_sweep.py notebooks/0[789]_*.ipynb --seeds 1 2 3 4 42 --profiles native avx2 sse41-on sse41-off
    python tools/seed_sweep.py --summary build/sweep/*.csv      # min-max of every figure, for results.md

``--profiles`` names the CPU profiles of ``tools/portable_profile.py`` to run under: ``native`` (this
machine as it is), ``portable`` (what ``make test-portable`` runs), ``avx2``, ``sse41-on`` and
``sse41-off`` (SSE4.1 with TensorFlow's oneDNN on or off); a profile above this CPU is skipped.

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


def shuffled_data_dir(source: Path, target: Path, seed: int) -> Path:
    """``target`` made a data directory like ``source`` (links, no copies) whose GTZAN clips lie in permuted genre
    folders, so that the loaders give each clip the genre of another: what a broken pipeline would learn from.

    The genres of ``gtzan_clips(source)`` (sorted by clip) are permuted with ``numpy.random.default_rng(seed)``; each
    clip keeps its file name; every other file and data set is linked as it is.
    """
    import numpy as np

    from helpers.datasets import dataset_path, gtzan_clips

    folder = dataset_path("gtzan", source)
    target.mkdir(parents=True)
    for entry in source.iterdir():
        if entry.name != "gtzan":
            (target / entry.name).symlink_to(entry.resolve())
    (target / "gtzan").mkdir(parents=True)
    for entry in (source / "gtzan").iterdir():
        if entry != folder:
            (target / "gtzan" / entry.name).symlink_to(entry.resolve())
    clips = gtzan_clips(source, with_split=False)
    for path, genre in zip(clips["path"], np.random.default_rng(seed).permutation(clips["genre"].to_numpy())):
        (link := target / "gtzan" / folder.name / genre / Path(path).name).parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path(path).resolve())
    return target


# profile name -> arguments of tools/portable_profile.py (None: this machine as it is)
PROFILES = {"native": None, "portable": [], "avx2": ["--target", "avx2"],
            "sse41-on": ["--target", "sse41", "--onednn", "on"], "sse41-off": ["--target", "sse41", "--onednn", "off"]}


def profile_env(name: str) -> dict[str, str] | None:
    """The variables of a CPU profile on this machine; None where this CPU cannot give it."""
    if PROFILES[name] is None:
        return {}
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "portable_profile.py"), *PROFILES[name]],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return None
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if line)


def run_once(path: Path, *, seed: int, threads: int, profile: dict[str, str], shuffle: bool,
             timeout: int, cache_dir: Path | None = None) -> list[dict]:
    nb = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(f"SEED = {seed}"))  # the parameter, as papermill would set it
    env = {name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                          "NUMBA_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")}
    env["TF_NUM_INTEROP_THREADS"] = "1"
    env.update(profile)
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as work:
        os.environ.update(env)
        # shuffled labels must never meet a cached feature set; true-label runs of one profile may share one
        # (--share-cache): features of the same audio under the same CPU profile are the same in every run
        os.environ["COURSE_CACHE_DIR"] = str(cache_dir) if cache_dir is not None and not shuffle else f"{work}/cache"
        records = Path(work) / "bands.jsonl"  # every expect_range of the run writes its figure here, and checks nothing
        os.environ["COURSE_RECORD_BANDS"] = str(records)
        if shuffle:
            from helpers.config import data_dir

            os.environ["COURSE_DATA_DIR"] = str(shuffled_data_dir(data_dir(), Path(work) / "data", seed))
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines()] if records.exists() else []


def summary(paths: list[Path]) -> str:
    """A Markdown table: every figure's min-max (mean ± sd) over all runs, each profile's range, and how many runs
    fell outside the band the notebook checks (for true labels that must be none; for shuffled labels, all)."""
    import pandas as pd

    table = pd.concat([pd.read_csv(p, dtype={"labels": str}) for p in paths], ignore_index=True)
    rows = []
    for (notebook, labels, what), runs in table.groupby(["notebook", "labels", "what"], sort=False):
        values = runs["value"]
        low, high = runs["low"].iloc[-1], runs["high"].iloc[-1]
        outside = int(((values < low) | (values > high)).sum())
        by_profile = "; ".join(f"{name} {g.min():.2f}-{g.max():.2f}"
                               for name, g in runs.groupby("profile", sort=False)["value"])
        sd = values.std(ddof=1) if len(values) > 1 else 0.0
        rows.append(f"| {str(notebook)[:2]} | {what} | {labels} | {len(values)} | {values.min():.3f}-{values.max():.3f} "
                    f"({values.mean():.3f} ± {sd:.3f}) | {low:g}-{high:g} | {outside} | {by_profile} |")
    head = ("| nb | figure | labels | runs | range (mean ± sd) | band | outside the band | by profile |\n"
            "|---|---|---|---|---|---|---|---|")
    return "\n".join([head, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", type=Path, nargs="+", help="notebooks to run (or CSVs, with --summary)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--profiles", nargs="+", choices=list(PROFILES), default=["native"],
                        help="CPU profiles to run under (tools/portable_profile.py)")
    parser.add_argument("--portable", action="store_true", help="the same as --profiles portable")
    parser.add_argument("--shuffle-labels", action="store_true", help="shuffle genres across clips (a broken pipeline)")
    parser.add_argument("--out", type=Path, help="CSV to append to (default build/sweep/<notebook>.csv)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--summary", action="store_true", help="print the ranges of the CSVs given, run nothing")
    parser.add_argument("--share-cache", action="store_true",
                        help="true-label runs of one profile share a feature cache (build/sweep/cache-<profile>)")
    args = parser.parse_args(argv)
    if args.summary:
        print(summary(args.notebooks))
        return 0
    profiles = ["portable"] if args.portable else args.profiles
    envs = {name: profile_env(name) for name in profiles}  # once: the same for every notebook
    for notebook in args.notebooks:
        out = args.out or ROOT / "build" / "sweep" / f"{notebook.stem}.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        new = not out.exists()
        with out.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["notebook", "seed", "threads", "profile", "labels", "what", "value", "low", "high",
                                 "seconds"])
            for name in profiles:
                env = envs[name]
                if env is None:
                    print(f"{notebook.stem}: profile {name} skipped (this CPU cannot give it)", flush=True)
                    continue
                for seed in args.seeds:
                    for threads in args.threads:
                        start = time.perf_counter()
                        shared = ROOT / "build" / "sweep" / f"cache-{name}" if args.share_cache else None
                        records = run_once(notebook, seed=seed, threads=threads, profile=env,
                                           shuffle=args.shuffle_labels, timeout=args.timeout, cache_dir=shared)
                        took = round(time.perf_counter() - start)
                        for r in records:
                            writer.writerow([notebook.stem, seed, threads, name,
                                             "shuffled" if args.shuffle_labels else "true", r["what"],
                                             f"{r['value']:.4f}", r["low"], r["high"], took])
                        f.flush()
                        print(f"{notebook.stem} {name} seed {seed} threads {threads}: {len(records)} figures in {took} s",
                              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
