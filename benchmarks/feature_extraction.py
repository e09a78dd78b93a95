"""Benchmark: feature extraction, plain loop vs helpers.features.extract_features, cold and with a warm cache.

Measures, in one run on the same GTZAN clips and with the same feature function:

(a) a plain single-process loop that loads each file with ``librosa.load`` and
    computes the features (what the classic articles do);
(b) ``helpers.features.extract_features`` with all cores (joblib processes,
    started from scratch: worker start-up is counted), into an empty cache;
(c) the same call again, now answered from the warm cache.

It prints clips per second for each, the ratios b/a and c/a, the peak memory
(resident set of this process and of the whole process tree, workers
included) and the load on the machine, which matters: the ratios assume the
cores are free. Targets on a 2-core machine: b/a >= 1.7, c/a >= 50.

Usage::

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/feature_extraction.py
    ... --per-genre 3 --n-jobs 2 --feature basic --check
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.datasets import gtzan_clips  # noqa: E402
from helpers.features import extract_features, function_name, gtzan_feature_vector  # noqa: E402

TARGET_B = 1.7
TARGET_C = 50.0


def basic_features(y: np.ndarray, sr: int, *, n_mfcc: int = 13) -> dict[str, float]:
    """A small, fast stand-in feature function: MFCC means and the mean spectral centroid (Hz)."""
    import librosa

    S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512)) ** 2
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(librosa.feature.melspectrogram(S=S, sr=sr)), n_mfcc=n_mfcc)
    out = {f"mfcc{i + 1}_mean": float(v) for i, v in enumerate(mfcc.mean(axis=1))}
    out["spectral_centroid_mean"] = float(librosa.feature.spectral_centroid(S=np.sqrt(S), sr=sr).mean())
    return out


def feature_function(which: str):
    """The GTZAN 57-feature function (helpers.features) or the small stand-in above."""
    return gtzan_feature_vector if which == "gtzan" else basic_features


class PeakMemory:
    """Sample the resident memory of this process and its children every 50 ms."""

    def __init__(self) -> None:
        try:
            import psutil  # installed with the "scale" extra (dask.distributed needs it)
        except ImportError:
            psutil = None
        self.proc = psutil.Process() if psutil else None
        self.peak_tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        if self.proc is None:  # no psutil: this process's peak only
            self.peak_tree = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            return
        import psutil

        total = self.proc.memory_info().rss
        for child in self.proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        self.peak_tree = max(self.peak_tree, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(0.05)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def plain_loop(paths: list[str], func, sr: int) -> pd.DataFrame:
    """(a) The baseline: one file after the other, librosa.load + the feature function."""
    import librosa

    rows = []
    for path in paths:
        y, rate = librosa.load(path, sr=sr, mono=True)
        rows.append(func(y, rate))
    return pd.DataFrame(rows)


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()} {os.cpu_count()} logical cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-genre", type=int, default=None, help="clips per genre (default: all in the data dir)")
    parser.add_argument("--n-jobs", type=int, default=-1, help="worker processes for (b) (default: all cores)")
    parser.add_argument("--feature", choices=["gtzan", "basic"], default="gtzan")
    parser.add_argument("--check", action="store_true", help="exit 1 when a ratio misses its target")
    args = parser.parse_args(argv)

    import librosa

    func = feature_function(args.feature)
    clips = gtzan_clips(per_genre=args.per_genre)
    paths = clips["path"].tolist()
    audio_s = float(clips["duration"].sum())
    load_before = os.getloadavg()
    print(f"machine: {machine()}")
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    print(f"clips: {len(paths)} GTZAN clips ({audio_s / 60:.1f} min of audio); features: {function_name(func)}")

    # Warm this process up (imports, numba compilation) on one clip so (a) pays no one-time cost.
    y, rate = librosa.load(paths[0], sr=22050, mono=True, duration=5.0)
    func(y, rate)

    timings = {}
    with PeakMemory() as mem_a:
        t0 = time.perf_counter()
        baseline = plain_loop(paths, func, 22050)
        timings["a"] = time.perf_counter() - t0

    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        with PeakMemory() as mem_b:
            t0 = time.perf_counter()
            cold = extract_features(clips, func, n_jobs=args.n_jobs, cache=cache, progress=False)
            timings["b"] = time.perf_counter() - t0
        with PeakMemory() as mem_c:
            t0 = time.perf_counter()
            warm = extract_features(clips, func, n_jobs=args.n_jobs, cache=cache, progress=False)
            timings["c"] = time.perf_counter() - t0

    # the three must have computed the same features (the plain loop runs with multi-threaded BLAS,
    # the extractor single-threaded: float32 sums differ in the last bits, about 1e-7)
    assert cold.failures.empty and warm.n_cached == len(paths), "unexpected failures or cache misses"
    names = list(baseline.columns)
    np.testing.assert_allclose(cold.table[names].to_numpy(), baseline.to_numpy(), rtol=1e-5, atol=1e-5)
    pd.testing.assert_frame_equal(cold.table, warm.table, check_exact=True)

    load_after = os.getloadavg()
    rates = {k: len(paths) / v for k, v in timings.items()}
    labels = {
        "a": "plain loop (librosa.load + features, 1 process)",
        "b": f"extract_features, n_jobs={args.n_jobs}, empty cache",
        "c": "extract_features again, warm cache",
    }
    peaks = {"a": mem_a.peak_tree, "b": mem_b.peak_tree, "c": mem_c.peak_tree}
    print()
    print(f"{'':3}{'run':52}{'seconds':>9}{'clips/s':>10}{'peak RSS, all processes':>26}")
    for k in "abc":
        print(f"({k}) {labels[k]:52}{timings[k]:9.2f}{rates[k]:10.2f}{peaks[k] / 2**20:22.0f} MiB")
    ratio_b = rates["b"] / rates["a"]
    ratio_c = rates["c"] / rates["a"]
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"b/a = {ratio_b:.2f}  (target >= {TARGET_B} on 2 cores)")
    print(f"c/a = {ratio_c:.1f}  (target >= {TARGET_C:g})")
    print(f"peak memory: this process {peak_self:.0f} MiB; process tree (with workers) {max(peaks.values()) / 2**20:.0f} MiB")
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print(f"seconds of audio per second: a {audio_s / timings['a']:.1f}, b {audio_s / timings['b']:.1f}")
    ok = ratio_b >= TARGET_B and ratio_c >= TARGET_C
    if not ok:
        print("note: a target was missed; the ratios assume otherwise idle cores (see the load average)")
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    raise SystemExit(main())
