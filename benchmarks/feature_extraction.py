"""Benchmark: the 57 GTZAN features, the classic plain loop vs today's function vs the fast extractor (issue 19).

Measures, in one run on the same GTZAN clips (default: the 70 of the CI subset), the same 57 features five ways:

(a) the plain loop of the classic articles: ``librosa.load``, then one librosa
    call per feature, each computing its own STFT (:func:`plain_features`),
    one file after the other in one process (wall and CPU time);
(t) today's feature function: :func:`helpers.features.gtzan_feature_vector`
    with one shared STFT but ``librosa.decompose.hpss``, whose SciPy median
    filters take 80 % of its time, and ``librosa.beat.beat_track`` for the
    tempo (CPU time, one thread, audio in memory);
(n) the fast feature function, ``gtzan_feature_vector`` as it is (running
    medians; the tempo without the beat tracker, whose numba code compiles
    in every worker): CPU time, one thread, the same audio;
(b) ``machinery.extract.extract_features`` with the fast function on ``--n-jobs``
    worker processes (default 2) into an empty cache (wall time: loading and
    worker start-up counted);
(c) the same call again, answered from the warm cache.

Parity, checked before any figure is printed: (n) equals (t) bit for bit (hence
the ``features_30_sec.csv`` parity is unchanged), (b) equals (n) bit for bit,
(c) equals (b), and (a) agrees with (n) within 1e-5 relative (its BLAS runs
multi-threaded, so float32 sums may differ in the last bits).

The last two lines are the issue's two ratios: ``per-core speed-up`` = CPU
time of (t) / (n), which a busy machine hardly moves, and ``2-core speed-up``
= wall time of (a) / (b), which assumes free cores: the load average is
printed beside it. Targets: 3 and 5 (``--check`` exits 1 when one is missed).

Usage::

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/feature_extraction.py [--per-genre 7] [--check]
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

from helpers.audio import load_audio  # noqa: E402
from helpers.datasets import gtzan_clips  # noqa: E402
from helpers.features import FEATURE_COLUMNS, gtzan_feature_vector  # noqa: E402
from machinery.extract import extract_features  # noqa: E402

TARGET_PER_CORE = 3.0
TARGET_2_CORES = 5.0
PLAIN_RTOL = 1e-5


def plain_features(y: np.ndarray, sr: int) -> dict[str, float]:
    """The classic articles' recipe: one librosa call per feature, each computing its own STFT (with the
    settings of helpers.features, so that the numbers agree: reflection padding, the old HPSS inversion)."""
    import librosa

    frames = {"n_fft": 2048, "hop_length": 512}
    stft_kw = frames | {"pad_mode": "reflect"}
    onset = librosa.onset.onset_strength(y=y, sr=sr, aggregate=np.median, **stft_kw)
    tempo, _ = librosa.beat.beat_track(onset_envelope=onset, sr=sr, hop_length=512)
    series = {
        "chroma_stft": librosa.feature.chroma_stft(y=y, sr=sr, **stft_kw),
        "rms": librosa.feature.rms(y=y, frame_length=2048, hop_length=512, pad_mode="reflect"),
        "spectral_centroid": librosa.feature.spectral_centroid(y=y, sr=sr, **stft_kw),
        "spectral_bandwidth": librosa.feature.spectral_bandwidth(y=y, sr=sr, **stft_kw),
        "rolloff": librosa.feature.spectral_rolloff(y=y, sr=sr, **stft_kw),
        "zero_crossing_rate": librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512),
    }
    # librosa.effects.hpss before 0.10: STFT, hpss, istft without a length, padded to the input's length
    for name, part in zip(("harmony", "perceptr"), librosa.decompose.hpss(librosa.stft(y, **stft_kw))):
        series[name] = librosa.util.fix_length(librosa.istft(part, **frames, dtype=y.dtype), size=len(y))
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, **stft_kw)
    series.update({f"mfcc{i}": row for i, row in enumerate(mfcc, start=1)})
    out = {"tempo": float(np.atleast_1d(tempo)[0])}
    for name, values in series.items():
        out[f"{name}_mean"], out[f"{name}_var"] = float(np.mean(values)), float(np.var(values))
    return {name: out[name] for name in FEATURE_COLUMNS}


def todays_feature_vector(y: np.ndarray, sr: int) -> dict[str, float]:
    """Today's feature function: gtzan_feature_vector with librosa's own HPSS (SciPy median filters) and
    ``librosa.beat.beat_track`` for the tempo (it also tracks the beats, which are not used)."""
    return gtzan_feature_vector(y, sr, reference=True)


class PeakMemory:
    """Sample the resident memory of this process and its children every 50 ms (and the children's CPU time)."""

    def __init__(self) -> None:
        try:
            import psutil  # installed with the "scale" extra (dask.distributed needs it)
        except ImportError:
            psutil = None
        self.proc = psutil.Process() if psutil else None
        self.peak_tree = 0
        self.children_cpu: dict[int, float] = {}  # pid -> user + system seconds
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
                self.children_cpu[child.pid] = sum(child.cpu_times()[:2])
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


def timed(func, *args) -> tuple[object, float, float]:
    """``func(*args)``, its wall time and the CPU time of this process (all its threads), in seconds."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = func(*args)
    return out, time.perf_counter() - w0, time.process_time() - c0


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()} {os.cpu_count()} logical cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def max_relative(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """The largest relative difference between two feature tables (absolute where the reference is ~0)."""
    a, b = a[list(FEATURE_COLUMNS)].to_numpy(), b[list(FEATURE_COLUMNS)].to_numpy()
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-6)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-genre", type=int, default=7,
                        help="clips per genre (default 7: the 70 clips of the CI subset)")
    parser.add_argument("--n-jobs", type=int, default=2, help="worker processes for (b) (default 2)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a ratio misses its target")
    args = parser.parse_args(argv)

    import librosa
    from threadpoolctl import threadpool_limits

    clips = gtzan_clips(per_genre=args.per_genre)
    paths = clips["path"].tolist()
    audio_s = float(clips["duration"].sum())
    print(f"machine: {machine()}")
    print(f"load average before: {load_average()}")
    print(f"clips: {len(paths)} GTZAN clips ({audio_s / 60:.1f} min of audio), 57 features each")

    # Warm up (imports, numba compilation) on 5 s so that no run pays a one-time cost.
    y, rate = load_audio(paths[0], sr=22050, duration=5.0)
    for func in (plain_features, todays_feature_vector, gtzan_feature_vector):
        func(y, rate)

    wall, cpu, peak = {}, {}, {}
    with PeakMemory() as mem:
        plain, wall["a"], cpu["a"] = timed(
            lambda: pd.DataFrame([plain_features(*librosa.load(p, sr=22050, mono=True)) for p in paths]))
    peak["a"] = mem.peak_tree

    signals = [load_audio(p, sr=22050) for p in paths]
    with threadpool_limits(limits=1):  # as in extract_features' workers: one core each
        today, wall["t"], cpu["t"] = timed(lambda: pd.DataFrame([todays_feature_vector(*s) for s in signals]))
        fast, wall["n"], cpu["n"] = timed(lambda: pd.DataFrame([gtzan_feature_vector(*s) for s in signals]))
    load_mid = load_average()

    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        def extract():
            return extract_features(clips, gtzan_feature_vector, n_jobs=args.n_jobs, cache=cache, progress=False)

        with PeakMemory() as mem_b:
            cold, wall["b"], cpu["b"] = timed(extract)
        peak["b"] = mem_b.peak_tree
        warm, wall["c"], cpu["c"] = timed(extract)
    load_after = load_average()

    # parity before any figure
    assert cold.failures.empty and warm.n_cached == len(paths), "unexpected failures or cache misses"
    pd.testing.assert_frame_equal(fast, today, check_exact=True, obj="fast (n) vs today's (t) features")
    pd.testing.assert_frame_equal(cold.table[list(FEATURE_COLUMNS)], fast, check_exact=True,
                                  obj="extract_features (b) vs in-process (n) features")
    pd.testing.assert_frame_equal(cold.table, warm.table, check_exact=True, obj="warm cache (c) vs (b)")
    plain_rel = max_relative(plain, fast)
    assert plain_rel <= PLAIN_RTOL, f"the plain loop (a) differs from (n) by {plain_rel:.2e} relative"

    labels = {
        "a": "plain loop: librosa.load + one librosa call/feature",
        "t": "today's function (shared STFT, SciPy medians), 1 thread",
        "n": "fast function (running medians), 1 thread",
        "b": f"extract_features, fast, n_jobs={args.n_jobs}, empty cache",
        "c": "extract_features again, warm cache",
    }
    print()
    print(f"{'':4}{'run':58}{'wall s':>8}{'CPU s':>8}{'clips/s':>9}{'peak RSS':>12}")
    for k in "atnbc":
        mib = f"{peak[k] / 2**20:8.0f} MiB" if k in peak else ""
        print(f"({k}) {labels[k]:58}{wall[k]:8.2f}{cpu[k]:8.2f}{len(paths) / wall[k]:9.2f}{mib:>12}")
    print()
    print(f"parity: (n) == (t) and (b) == (n) bit for bit on all {len(paths) * 57} values; "
          f"(a) vs (n) max relative difference {plain_rel:.1e} (limit {PLAIN_RTOL:g})")
    print(f"CPU seconds per clip (average {audio_s / len(paths):.0f} s of audio), one core: "
          f"today's {cpu['t'] / len(paths):.2f}, fast {cpu['n'] / len(paths):.2f}")
    workers_cpu = sum(mem_b.children_cpu.values())
    free_b = cpu["b"] + workers_cpu / args.n_jobs
    print(f"(b) CPU: {cpu['b']:.1f} s here (the warm-up file included), {workers_cpu:.1f} s in its worker processes; "
          f"on {args.n_jobs} free cores about {free_b:.1f} s wall, a 2-core speed-up of about {cpu['a'] / free_b:.1f}")
    print(f"warm cache: c/a = {wall['a'] / wall['c']:.0f}x the plain loop")
    print(f"load average (1, 5, 15 min) after the single-core runs: {load_mid}; after (b) and (c): {load_after}")
    per_core = cpu["t"] / cpu["n"]
    two_core = wall["a"] / wall["b"]
    ok = per_core >= TARGET_PER_CORE and two_core >= TARGET_2_CORES
    if not ok:
        print(f"note: a target was missed (per-core >= {TARGET_PER_CORE:g}, 2-core >= {TARGET_2_CORES:g}); "
              "see the load average")
    print(f"per-core speed-up = CPU (t) / (n); 2-core speed-up = wall (a) / (b) with n_jobs={args.n_jobs}, "
          f"load average {load_after} (it assumes both cores free)")
    print(f"per-core speed-up: {per_core:.2f}")
    print(f"2-core speed-up: {two_core:.2f}")
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    raise SystemExit(main())
