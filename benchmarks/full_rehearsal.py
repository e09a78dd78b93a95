"""A full-data rehearsal you can run without the full data: what ``COURSE_FULL=1`` costs, notebook by notebook.

Issue 19. The full GTZAN (1,000 clips of 30 s) is not in the CI data, so this script builds a GTZAN-shaped
stand-in from the 70 real clips: 100 clips per genre with GTZAN's names and Kaggle's layout; the real clips keep their
names (so the notebooks' checks against the reference table still hold for them) and the others are 30 s
mixes of two clips of their genre at random offsets and gains (no two files alike). The other data sets are
linked from the source data directory as they are. Then it runs every notebook with ``COURSE_FULL=1`` on it
(``jupyter nbconvert --execute``, into ``build/rehearsal/``; the committed notebooks are not touched) and
writes one row per notebook: wall time, CPU time (the kernel and every process it started) and peak memory
(resident memory of that process tree, sampled twice a second). Cells run on even when one raises
(``--allow-errors``: a check of a result fails on mixtures), so that the cost of every cell is counted; the
status column counts the cells that raised.

**Results on this stand-in mean nothing** (its clips are mixtures, not songs); it measures cost only. ::

    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/full_rehearsal.py               # everything
    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/full_rehearsal.py --notebooks 04 06
    COURSE_DATA_DIR=../shared/data .venv/bin/python benchmarks/full_rehearsal.py --build-only --per-genre 100

Writes ``build/rehearsal/full_rehearsal.csv`` (columns ``notebook,wall_s,cpu_s,peak_mib,needs_gpu,status``;
a later run with ``--notebooks`` replaces those rows and keeps the others; copy it to
``benchmarks/full_rehearsal.csv`` after a complete run on a quiet machine). A notebook that fails or
runs past ``--timeout`` gets its status and the rehearsal goes on with the next. A notebook whose opening says it
"needs a GPU" at full size is skipped on a machine without one (its row says so; ``--include-gpu`` runs it anyway).
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from helpers.config import data_dir  # noqa: E402
from machinery.store import atomic_path, write_atomic  # noqa: E402
from helpers.datasets import GTZAN_GENRES, gtzan_clips  # noqa: E402

SR, SECONDS = 22050, 30.0
LINKED = ["echonest", "librosa", "fma", "musicnn"]  # other data sets, as they are
GTZAN_LINKED = ["features_30_sec.csv", "features_30_sec.built.json", "splits"]
COLUMNS = ["notebook", "wall_s", "cpu_s", "peak_mib", "needs_gpu", "status"]


def mixed_clip(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, *, seconds: float = SECONDS,
               sr: int = SR) -> np.ndarray:
    """``seconds`` of two clips looped from random offsets, mixed at random gains, peak at most 0.9 (float32)."""
    n = int(round(seconds * sr))
    parts = [np.resize(np.roll(y, -int(rng.integers(len(y)))), n) for y in (a, b)]
    mix = rng.uniform(0.5, 1.0) * parts[0] + rng.uniform(0.2, 0.7) * parts[1]
    return (mix * (0.9 / max(float(np.abs(mix).max()), 1e-9))).astype(np.float32)


def build_stand_in(source: Path, target: Path, *, per_genre: int = 100, seed: int = 0, seconds: float = SECONDS) -> Path:
    """A GTZAN-shaped data directory at ``target`` (made from the clips in ``source``); returns ``target``."""
    clips = gtzan_clips(source, with_split=False)
    rng = np.random.default_rng(seed)
    out = target / "gtzan" / "genres_original"
    for genre in [g for g in GTZAN_GENRES if g in set(clips["genre"])]:
        audio = [sf.read(p, dtype="float32")[0] for p in clips.loc[clips["genre"] == genre, "path"]]
        (out / genre).mkdir(parents=True, exist_ok=True)
        real = sorted(clips.loc[clips["genre"] == genre, "path"])
        for i in range(per_genre):
            path = out / genre / f"{genre}.{i:05d}.wav"
            if path.is_file() or path.is_symlink():
                continue  # resumable: a finished clip was written whole (temporary name, then rename)
            if i < len(real) and Path(real[i]).name == path.name:
                path.symlink_to(Path(real[i]).resolve())  # a real clip, under its own name
                continue
            j, k = rng.choice(len(audio), size=2, replace=len(audio) < 2)
            with atomic_path(path) as tmp:
                sf.write(tmp, mixed_clip(audio[j], audio[k], rng, seconds=seconds), SR, subtype="PCM_16", format="WAV")
    for name in LINKED:
        if (source / name).exists() and not (target / name).exists():
            (target / name).symlink_to((source / name).resolve())
    for name in GTZAN_LINKED:
        if (source / "gtzan" / name).exists() and not (target / "gtzan" / name).exists():
            (target / "gtzan" / name).symlink_to((source / "gtzan" / name).resolve())
    return target


def needs_gpu(path: Path) -> bool:
    """Whether the notebook's opening says it needs a GPU at full size (the words "needs a GPU")."""
    import nbformat

    first = next((c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"), "")
    return "needs a GPU" in first


def gpu_here() -> bool:
    """Whether this machine has an NVIDIA GPU (``nvidia-smi -L`` lists one); TensorFlow is not imported for it."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return False
    try:
        listed = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return listed.returncode == 0 and "GPU" in listed.stdout


def measure(path: Path, data: Path, out: Path, *, timeout: int, include_gpu: bool = False) -> dict:
    """One row: the notebook run and measured, or skipped if it needs a GPU and there is none (unless ``include_gpu``)."""
    if needs_gpu(path) and not include_gpu and not gpu_here():
        return {"notebook": path.stem, "wall_s": "", "cpu_s": "", "peak_mib": "", "needs_gpu": True,
                "status": "skipped: its opening says it needs a GPU at full size, and there is none here "
                          "(--include-gpu runs it on the CPU)"}
    return run_notebook(path, data, out, timeout=timeout)


def run_notebook(path: Path, data: Path, out: Path, *, timeout: int) -> dict:
    """Execute one notebook with COURSE_FULL=1 on ``data``; measure wall, CPU and peak memory of its tree."""
    # a new, empty cache for every notebook, as on a learner's first run: a feature cache left by an earlier
    # rehearsal would make extraction look almost free
    cache = Path(tempfile.mkdtemp(prefix=f"cache-{path.stem}-", dir=out.parent))
    env = {**os.environ, "COURSE_FULL": "1", "COURSE_DATA_DIR": str(data), "PYTHONHASHSEED": "0",
           "COURSE_CACHE_DIR": str(cache), "TF_CPP_MIN_LOG_LEVEL": "3",
           "COURSE_NO_WIDGETS": "1"}  # no sliders: nbconvert can hang on them
    cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output-dir", str(out),
           f"--ExecutePreprocessor.timeout={timeout}", "--allow-errors", "--log-level=ERROR", str(path)]
    # CPU time: what the finished tree reports to its waiting parent (getrusage of this process's children, which
    # holds every descendant its own parent waited for), or, if more, the sum of each process's own time as last
    # sampled (which also sees a worker that outlives its parent). Adding a process's children's times to its own
    # would count every reaped child twice.
    start, peak, own, waited = time.monotonic(), 0, {}, resource.getrusage(resource.RUSAGE_CHILDREN)
    # standard error into a file, not a pipe: nobody reads a pipe while the notebook runs, and a full one (64 KiB of
    # warnings from the kernel or its workers) would stop the run until the timeout
    errors = tempfile.TemporaryFile(dir=out.parent)
    proc = psutil.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=errors)
    status = "ok"
    while proc.poll() is None:
        rss = 0
        for p in [proc, *proc.children(recursive=True)]:
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    times = p.cpu_times()
                    own[p.pid] = times.user + times.system
            except psutil.Error:
                pass  # it ended between the listing and the reading
        peak = max(peak, rss)
        if time.monotonic() - start > timeout:
            for p in [*proc.children(recursive=True), proc]:
                p.kill()
            status = f"timeout after {timeout} s"
            break
        time.sleep(0.5)
    proc.wait()
    shutil.rmtree(cache, ignore_errors=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = max(after.ru_utime + after.ru_stime - waited.ru_utime - waited.ru_stime, sum(own.values()))
    errors.seek(0)
    stderr = errors.read().decode(errors="replace")
    errors.close()
    if status == "ok" and proc.returncode != 0:
        lines = [x for x in stderr.strip().splitlines() if "WARNING" not in x]
        status = f"failed: {lines[-1][:200] if lines else proc.returncode}"
    elif status == "ok":
        import nbformat

        done = nbformat.read(out / path.name, as_version=4)
        raised = sum(o.get("output_type") == "error" for c in done.cells for o in c.get("outputs", []))
        status = f"ok, {raised} cell(s) raised" if raised else "ok"
    return {"notebook": path.stem, "wall_s": round(time.monotonic() - start, 1), "cpu_s": round(cpu, 1),
            "peak_mib": round(peak / 2**20), "needs_gpu": needs_gpu(path), "status": status}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "build" / "rehearsal" / "data",
                        help="where to build the stand-in data directory (default build/rehearsal/data)")
    parser.add_argument("--per-genre", type=int, default=100, help="clips per genre (default 100, GTZAN's)")
    parser.add_argument("--notebooks", nargs="*", default=None, help="numbers to run, e.g. 04 06 (default: all)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per notebook (default 3600)")
    parser.add_argument("--include-gpu", action="store_true",
                        help="also run the notebooks that need a GPU at full size when there is none (hours on a CPU)")
    parser.add_argument("--build-only", action="store_true", help="build the stand-in data and stop")
    args = parser.parse_args(argv)
    source = data_dir()
    if not (source / "gtzan").is_dir():
        print(f"error: no GTZAN clips under {source}: set COURSE_DATA_DIR", file=sys.stderr)
        return 1
    t0 = time.monotonic()
    build_stand_in(source, args.data, per_genre=args.per_genre)
    print(f"stand-in data: {args.data} ({args.per_genre} clips per genre, {time.monotonic() - t0:.0f} s)", flush=True)
    if args.build_only:
        return 0
    notebooks = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.notebooks:
        notebooks = [p for p in notebooks if p.name[:2] in set(args.notebooks)]
    out = REPO / "build" / "rehearsal"
    table_path, rows = out / "full_rehearsal.csv", []
    kept = {}  # rows of earlier runs, for the notebooks not run again now
    if table_path.is_file():
        with table_path.open(newline="") as fh:
            kept = {r["notebook"]: r for r in csv.DictReader(fh)}
    for path in notebooks:
        rows.append(measure(path, args.data.resolve(), out / "notebooks", timeout=args.timeout,
                            include_gpu=args.include_gpu))
        print(", ".join(f"{c} {rows[-1][c]}" for c in COLUMNS), flush=True)
        kept[path.stem] = rows[-1]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept[name] for name in sorted(kept))
        write_atomic(table_path, buffer.getvalue())  # after each notebook: an interrupted run keeps its rows
    print(f"table: {out / 'full_rehearsal.csv'} (results on the stand-in mean nothing; it measures cost)")
    return 0 if all(r["status"] == "ok" or r["status"].startswith("skipped") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
