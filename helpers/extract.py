"""One entry point for feature extraction: parallel, cached, resumable, fault tolerant.

:func:`extract_features` takes a table of audio files and a feature function
``func(y, sr, **params) -> dict[str, float]`` and returns an
:class:`ExtractionResult`: a feature table (one row per file, or per segment)
and a table of the files that could not be read, with the reason.

* **Parallel.** Files are spread over joblib worker processes (``n_jobs``),
  or over the workers of a Dask cluster (``backend="dask"``).
* **Cached.** Each file's result is stored on disk under a key made of the
  feature function's qualified name, its parameters, the sample rate, the
  segment length, the duration read and the file's path + size + modification
  time (or its content hash with ``key_by="content"``). A second call reads
  the cache and starts no worker at all; changing a parameter or the file
  computes it again.
* **Resumable.** Every finished file is written to the cache at once,
  atomically (temporary file + rename), so an interrupted run (Ctrl-C, a
  crash, a killed cluster) restarts where it stopped and a half-written cache
  entry can never be read.
* **Fault tolerant.** A file that cannot be decoded (or on which the feature
  function fails) is listed in ``result.failures`` with the reason instead of
  stopping a run over 100,000 files.

The Dask path (``backend="dask"``) needs the optional ``scale`` extra
(``pip install -e ".[scale]"``: ``dask[distributed]`` and ``pyarrow``); the
rest of the course never imports Dask.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .audio import DEFAULT_SR, load_audio, segment
from .errors import AudioError, CourseError

__all__ = [
    "ExtractionResult",
    "extract_features",
    "basic_features",
    "feature_cache_key",
    "function_name",
    "CACHE_VERSION",
]

logger = logging.getLogger(__name__)

#: Bumped when the cache format or the meaning of a cached entry changes.
CACHE_VERSION = 1

#: Marker file written into a Parquet output folder; only folders holding it are ever replaced.
PARQUET_MARKER = "_helpers_extract.json"


@dataclass
class ExtractionResult:
    """What :func:`extract_features` returns.

    Attributes
    ----------
    table : pandas.DataFrame
        The input columns, ``segment`` (when segmenting), then one column per
        feature; rows in input order (segments in time order); files that
        failed are left out.
    failures : pandas.DataFrame
        Columns ``path`` and ``reason``, one row per file that could not be
        processed, in input order; empty when every file worked.
    n_cached : int
        How many files were read from the cache instead of computed.
    n_computed : int
        How many files were computed (successfully or not) in this call.
    parquet_dir : pathlib.Path or None
        The folder the table was written to as Parquet, if any.
    """

    table: pd.DataFrame
    failures: pd.DataFrame
    n_cached: int = 0
    n_computed: int = 0
    parquet_dir: Path | None = None

    def __repr__(self) -> str:  # short: a notebook shows it
        return (
            f"ExtractionResult(table={self.table.shape[0]} rows x {self.table.shape[1]} columns, "
            f"failures={len(self.failures)}, cached={self.n_cached}, computed={self.n_computed})"
        )


# --------------------------------------------------------------------------- feature function


def basic_features(y: np.ndarray, sr: int, *, n_mfcc: int = 13, n_fft: int = 2048, hop_length: int = 512) -> dict[str, float]:
    """A small, fast feature vector: MFCC means and the mean spectral centroid.

    A stand-in feature function for :func:`extract_features` (module level,
    so worker processes can import it).

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal.
    sr : int
        Its sample rate in Hz.
    n_mfcc, n_fft, hop_length : int
        Number of MFCCs, FFT size and hop in samples.

    Returns
    -------
    dict
        ``mfcc1_mean`` ... ``mfccN_mean`` and ``spectral_centroid_mean`` (Hz).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(22050) / 22050
    >>> f = basic_features(np.sin(2 * np.pi * 440 * t).astype(np.float32), 22050)
    >>> round(f["spectral_centroid_mean"] / 10) * 10
    440
    """
    import librosa

    S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length)) ** 2
    mel = librosa.feature.melspectrogram(S=S, sr=sr)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=n_mfcc)
    centroid = librosa.feature.spectral_centroid(S=np.sqrt(S), sr=sr)
    out = {f"mfcc{i + 1}_mean": float(v) for i, v in enumerate(mfcc.mean(axis=1))}
    out["spectral_centroid_mean"] = float(centroid.mean())
    return out


def function_name(func: Callable) -> str:
    """The qualified name ``module.qualname`` of a feature function (part of the cache key).

    Examples
    --------
    >>> function_name(basic_features)
    'helpers.extract.basic_features'
    """
    if isinstance(func, functools.partial):
        return function_name(func.func)
    module = getattr(func, "__module__", None) or type(func).__module__
    qualname = getattr(func, "__qualname__", None) or type(func).__qualname__
    return f"{module}.{qualname}"


# --------------------------------------------------------------------------- cache keys


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return repr(obj)


def _bound_arguments(func: Callable) -> Any:
    """Arguments bound by ``functools.partial`` (they change the result, so they are keyed)."""
    if isinstance(func, functools.partial):
        return {"args": list(func.args), "keywords": dict(func.keywords), "inner": _bound_arguments(func.func)}
    return None


def _file_fingerprint(path: Path, key_by: str) -> dict[str, Any]:
    st = path.stat()
    if key_by == "content":
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return {"sha256": digest.hexdigest(), "size": st.st_size}
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def feature_cache_key(
    path: str | os.PathLike,
    func: Callable,
    params: Mapping[str, Any] | None = None,
    *,
    sr: int | None = DEFAULT_SR,
    segment_seconds: float | None = None,
    duration: float | None = None,
    key_by: str = "stat",
) -> str:
    """The cache key of one file's features: a sha256 hex digest.

    Built from the function's qualified name, its parameters, ``sr``,
    ``segment_seconds``, ``duration``, :data:`CACHE_VERSION` and either the
    file's absolute path + size + modification time (``key_by="stat"``, free)
    or its content hash (``key_by="content"``, reads the file; survives
    copying the data set elsewhere).

    Raises
    ------
    OSError
        If the file cannot be stat-ed (missing).
    """
    if key_by not in {"stat", "content"}:
        raise ValueError(f"key_by must be 'stat' or 'content', got {key_by!r}")
    desc = {
        "version": CACHE_VERSION,
        "func": function_name(func),
        "bound": _bound_arguments(func),
        "params": dict(params or {}),
        "sr": sr,
        "segment_seconds": None if segment_seconds is None else float(segment_seconds),
        "duration": None if duration is None else float(duration),
        "file": _file_fingerprint(Path(path), key_by),
    }
    text = json.dumps(desc, sort_keys=True, default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()


def _cache_file(cache_root: Path, func: Callable, key: str) -> Path:
    return cache_root / function_name(func) / key[:2] / f"{key}.json"


def _read_cache(path: Path) -> list[dict[str, float]] | None:
    """Rows stored for one file, or None when absent or unreadable (then it is recomputed)."""
    try:
        with open(path, encoding="utf-8") as fh:
            entry = json.load(fh)
        rows = entry["rows"]
        if not isinstance(rows, list):
            raise ValueError("rows is not a list")
        return rows
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("ignoring unreadable cache entry %s (%s); recomputing", path, exc)
        return None


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# --------------------------------------------------------------------------- one file


def _as_row(features: Any, func: Callable, path: str) -> dict[str, float]:
    if not isinstance(features, Mapping):
        raise TypeError(
            f"feature function {function_name(func)} returned {type(features).__name__} for {path}; "
            "it must return a dict of feature name -> number"
        )
    row = {}
    for name, value in features.items():
        try:
            row[str(name)] = float(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"feature function {function_name(func)} returned a non-scalar value for "
                f"{name!r} on {path}: {type(value).__name__}"
            ) from exc
    return row


def _process_file(
    path: str,
    func: Callable,
    params: dict[str, Any],
    sr: int | None,
    segment_seconds: float | None,
    duration: float | None,
    cache_path: str | None,
    on_error: str,
) -> tuple[str, Any]:
    """Load one file, compute its features, store them; runs in a worker.

    Returns ``("ok", rows)`` or ``("fail", reason)``.
    """
    try:
        y, rate = load_audio(path, sr=sr, mono=True, duration=duration)
        if segment_seconds is None:
            rows = [_as_row(func(y, rate, **params), func, path)]
        else:
            segments = segment(y, sr=rate, seconds=segment_seconds, source=path)
            rows = []
            for i, seg in enumerate(segments):
                row = {"segment": i}
                row.update(_as_row(func(seg, rate, **params), func, path))
                rows.append(row)
    except AudioError as exc:
        return "fail", str(exc)
    except Exception as exc:  # noqa: BLE001 - a feature function can raise anything
        if on_error == "raise":
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        return "fail", f"{path}: feature function {function_name(func)} failed ({detail})"
    if cache_path is not None:
        entry = {"version": CACHE_VERSION, "path": path, "func": function_name(func), "rows": rows}
        text = json.dumps(entry, allow_nan=True)
        try:
            _write_atomic(Path(cache_path), text)
        except OSError as exc:  # a full or read-only disk must not lose the computed result
            logger.warning("could not write cache entry %s (%s)", cache_path, exc)
    return "ok", rows


def _single_threaded():
    """Limit BLAS/OpenMP to one thread, so that every backend sums in the same order.

    Multi-threaded BLAS splits matrix products (mel filter banks, MFCCs) differently
    from single-threaded BLAS, which changes the last bits of the features (about
    1e-7 relative). Worker processes are single-threaded anyway (one per core), so
    the in-process path is made so too: the table is then identical, bit for bit,
    whatever ``n_jobs`` or ``backend``.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def _process_batch(batch: Sequence[tuple[int, str, str | None]], func, params, sr, segment_seconds, duration, on_error):
    """Process several files in one task (fewer round trips on a cluster)."""
    with _single_threaded():
        return [
            (i, *_process_file(path, func, params, sr, segment_seconds, duration, cache_path, on_error))
            for i, path, cache_path in batch
        ]


# --------------------------------------------------------------------------- inputs


def _as_table(files: pd.DataFrame | Iterable[str | os.PathLike]) -> pd.DataFrame:
    if isinstance(files, pd.DataFrame):
        if "path" not in files.columns:
            raise CourseError(f"the files table needs a 'path' column; it has {list(files.columns)}")
        table = files.reset_index(drop=True).copy()
    elif isinstance(files, (str, os.PathLike)):
        table = pd.DataFrame({"path": [files]})
    else:
        table = pd.DataFrame({"path": list(files)})
    table["path"] = table["path"].map(lambda p: str(Path(p)) if not isinstance(p, str) else p)
    return table


def _resolve_cache(cache: bool | str | os.PathLike) -> Path | None:
    if cache is False or cache is None:
        return None
    if cache is True:
        from .config import cache_dir

        return cache_dir("features")
    path = Path(cache).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _size_or_zero(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _n_workers(n_jobs: int) -> int:
    cpus = os.cpu_count() or 1
    if n_jobs is None or n_jobs == 0:
        return 1
    if n_jobs < 0:
        return max(1, cpus + 1 + n_jobs)
    return int(n_jobs)


def _progress_bar(total: int, initial: int, enabled: bool, desc: str):
    from tqdm.std import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, desc=desc, unit="file", leave=True)


# --------------------------------------------------------------------------- runners


def _run_local(tasks, func, params, sr, segment_seconds, duration, on_error, n_jobs, bar):
    results: dict[int, tuple[str, Any]] = {}
    workers = min(_n_workers(n_jobs), max(1, len(tasks)))
    if workers == 1:
        with _single_threaded():
            for i, path, cache_path in tasks:
                results[i] = _process_file(path, func, params, sr, segment_seconds, duration, cache_path, on_error)
                bar.update(1)
        return results
    from joblib import Parallel, delayed

    try:  # joblib >= 1.4: results as they finish (the progress bar moves, the cache fills in any order)
        parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered", batch_size=1)
    except ValueError:  # joblib 1.3
        parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator", batch_size=1)
    jobs = (
        delayed(_process_batch)([task], func, params, sr, segment_seconds, duration, on_error)
        for task in tasks
    )
    for batch in parallel(jobs):
        for i, status, payload in batch:
            results[i] = (status, payload)
            bar.update(1)
    return results


def _dask_client(scheduler, n_jobs: int):
    """A ``distributed.Client`` (and the LocalCluster it owns, or None) for ``scheduler``."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise CourseError(
            "backend='dask' needs dask.distributed: install the optional extra with "
            "pip install -e \".[scale]\" (or run make venv)"
        ) from exc
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=_n_workers(n_jobs), threads_per_worker=1, processes=True,
            dashboard_address=None, silence_logs=logging.ERROR,
        )
        return Client(cluster), cluster
    if isinstance(scheduler, Client):
        return scheduler, None
    return Client(scheduler), None


def _run_dask(tasks, func, params, sr, segment_seconds, duration, on_error, n_jobs, bar, scheduler, batch_files):
    from distributed import as_completed

    client, cluster = _dask_client(scheduler, n_jobs)
    owns_client = scheduler is None or isinstance(scheduler, str)
    results: dict[int, tuple[str, Any]] = {}
    try:
        batches = [tasks[k : k + batch_files] for k in range(0, len(tasks), batch_files)]
        futures = [
            client.submit(
                _process_batch, batch, func, params, sr, segment_seconds, duration, on_error,
                pure=False, key=f"extract-{uuid.uuid4().hex}",
            )
            for batch in batches
        ]
        for future in as_completed(futures):
            for i, status, payload in future.result():
                results[i] = (status, payload)
                bar.update(1)
    finally:
        if owns_client:
            client.close()
        if cluster is not None:
            cluster.close()
    return results


# --------------------------------------------------------------------------- Parquet


def _write_parquet(table: pd.DataFrame, folder: Path, *, partition_on: str | None, rows_per_part: int) -> Path:
    """Write ``table`` as a folder of Parquet parts, replacing (atomically) an earlier output."""
    folder = Path(folder).expanduser()
    if folder.exists() and any(folder.iterdir()) and not (folder / PARQUET_MARKER).is_file():
        raise CourseError(
            f"{folder}: exists and was not written by extract_features; choose an empty or new folder"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        if partition_on is not None:
            if partition_on not in table.columns:
                raise CourseError(f"partition_on={partition_on!r} is not a column of the table")
            table.to_parquet(tmp, partition_cols=[partition_on], index=False)
        else:
            n_parts = max(1, math.ceil(len(table) / rows_per_part))
            for k in range(n_parts):
                part = table.iloc[k * rows_per_part : (k + 1) * rows_per_part]
                part.to_parquet(tmp / f"part-{k:05d}.parquet", index=False)
        (tmp / PARQUET_MARKER).write_text(
            json.dumps({"rows": int(len(table)), "columns": [str(c) for c in table.columns],
                        "partition_on": partition_on}, indent=1)
        )
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


# --------------------------------------------------------------------------- entry point


def extract_features(
    files: pd.DataFrame | Iterable[str | os.PathLike],
    func: Callable[..., Mapping[str, float]],
    params: Mapping[str, Any] | None = None,
    *,
    sr: int | None = DEFAULT_SR,
    segment_seconds: float | None = None,
    duration: float | None = None,
    n_jobs: int = -1,
    cache: bool | str | os.PathLike = True,
    backend: str = "local",
    scheduler: Any = None,
    parquet_dir: str | os.PathLike | None = None,
    partition_on: str | None = None,
    rows_per_part: int = 10_000,
    batch_files: int = 8,
    key_by: str = "stat",
    on_error: str = "collect",
    progress: bool = True,
) -> ExtractionResult:
    """Compute a feature table for many audio files, in parallel, cached and resumable.

    Parameters
    ----------
    files : pandas.DataFrame or list of path-like
        A table with a ``path`` column (other columns, e.g. ``clip_id``,
        ``genre``, ``split``, are carried into the output) or a list of paths.
    func : callable
        Module-level (picklable) ``func(y, sr, **params) -> dict[str, float]``.
    params : dict, optional
        Keyword arguments for ``func``; part of the cache key.
    sr : int or None
        Sample rate the audio is loaded at (:func:`helpers.audio.load_audio`,
        mono); None keeps each file's own rate.
    segment_seconds : float, optional
        None: one row per file. A number: cut each file into segments of this
        length (:func:`helpers.audio.segment`; the remainder is dropped) and
        return one row per segment with a ``segment`` column (0, 1, ...).
    duration : float, optional
        Read at most this many seconds of each file.
    n_jobs : int
        Worker processes (joblib ``loky``; -1 = all cores, 1 = in this
        process). With ``backend="dask"`` and no ``scheduler``: the number of
        workers of the LocalCluster.
    cache : bool or path-like
        True: :func:`helpers.config.cache_dir` ``("features")``; a folder: use
        that; False: no cache.
    backend : {"local", "dask"}
        joblib processes on this machine, or a ``dask.distributed`` cluster.
    scheduler : str or distributed.Client, optional
        With ``backend="dask"``: None starts (and closes) a ``LocalCluster``;
        a scheduler address such as ``"tcp://10.0.0.5:8786"`` or an existing
        ``Client`` uses that cluster. Workers of a remote cluster must see the
        audio files and the cache folder at the same paths (shared storage).
    parquet_dir : path-like, optional
        Also write the table as a folder of Parquet files there (an earlier
        output of this function in that folder is replaced atomically).
        Defaults to ``build/features-parquet/<function name>`` with
        ``backend="dask"``; not written by the local backend unless given.
    partition_on : str, optional
        Partition the Parquet output by this column (hive layout
        ``column=value/``); default: parts of ``rows_per_part`` rows.
    rows_per_part : int
        Rows per Parquet part when not partitioning by a column.
    batch_files : int
        Files per Dask task (fewer, larger tasks cost less scheduling).
    key_by : {"stat", "content"}
        Identify a file by path + size + modification time (free) or by its
        sha256 (reads every file once per call; survives moving the data).
    on_error : {"collect", "raise"}
        What to do when ``func`` raises on a file: list it in ``failures``
        (default) or stop. Files that cannot be read (:class:`AudioError`) are
        always listed, never fatal.
    progress : bool
        Show a tqdm progress bar (on stderr).

    Returns
    -------
    ExtractionResult
        ``table`` (input columns + ``segment`` + one column per feature, in
        input order) and ``failures`` (``path``, ``reason``).

    Examples
    --------
    >>> from helpers.datasets import librosa_example
    >>> res = extract_features([librosa_example("trumpet")], basic_features, {"n_mfcc": 5},
    ...                        n_jobs=1, cache=False, progress=False)
    >>> res.table.shape, len(res.failures)
    ((1, 7), 0)
    """
    if backend not in {"local", "dask"}:
        raise ValueError(f"backend must be 'local' or 'dask', got {backend!r}")
    if on_error not in {"collect", "raise"}:
        raise ValueError(f"on_error must be 'collect' or 'raise', got {on_error!r}")
    if segment_seconds is not None and segment_seconds <= 0:
        raise ValueError(f"segment_seconds must be positive, got {segment_seconds}")
    if not callable(func):
        raise TypeError(f"func must be a function, got {type(func).__name__}")
    table = _as_table(files)
    params = dict(params or {})
    cache_root = _resolve_cache(cache)
    name = function_name(func)

    # 1. read what the cache already holds, in this process (no worker starts for a warm cache)
    results: dict[int, tuple[str, Any]] = {}
    tasks: list[tuple[int, str, str | None]] = []
    for i, path in enumerate(table["path"]):
        cache_path = None
        if cache_root is not None:
            try:
                key = feature_cache_key(path, func, params, sr=sr, segment_seconds=segment_seconds,
                                        duration=duration, key_by=key_by)
            except OSError:
                key = None  # missing file: the worker reports why
            if key is not None:
                cache_file = _cache_file(cache_root, func, key)
                rows = _read_cache(cache_file)
                if rows is not None:
                    results[i] = ("ok", rows)
                    continue
                cache_path = str(cache_file)
        tasks.append((i, path, cache_path))
    n_cached, n_computed = len(results), len(tasks)
    logger.info("%s: %d file(s), %d from the cache, %d to compute", name, len(table), n_cached, len(tasks))

    # 2. compute the rest, biggest files first (fewer idle workers at the end), writing each
    #    file's result to the cache as it finishes
    tasks.sort(key=lambda task: -_size_or_zero(task[1]))
    bar = _progress_bar(len(table), n_cached, progress, desc=name.rsplit(".", 1)[-1])
    try:
        if len(tasks) > 1 and (backend == "dask" or _n_workers(n_jobs) > 1):
            # numba compiles librosa's jitted functions on first use and caches them on disk; fresh
            # worker processes doing that at the same time can crash or leave a broken cache, so the
            # smallest file runs here first and the workers start with everything compiled
            results.update(_run_local([tasks.pop()], func, params, sr, segment_seconds, duration, on_error, 1, bar))
        if tasks:
            if backend == "local":
                results.update(_run_local(tasks, func, params, sr, segment_seconds, duration, on_error, n_jobs, bar))
            else:
                results.update(
                    _run_dask(tasks, func, params, sr, segment_seconds, duration, on_error, n_jobs, bar,
                              scheduler, max(1, int(batch_files)))
                )
    finally:
        bar.close()

    # 3. assemble the table in input order
    out_table, failures = _assemble(table, results, segmented=segment_seconds is not None)
    if len(failures):
        logger.warning("%s: %d of %d file(s) failed; see result.failures", name, len(failures), len(table))

    written = None
    if parquet_dir is None and backend == "dask":
        from .config import build_dir

        parquet_dir = build_dir("features-parquet") / name
    if parquet_dir is not None:
        written = _write_parquet(out_table, Path(parquet_dir), partition_on=partition_on,
                                 rows_per_part=max(1, int(rows_per_part)))
    return ExtractionResult(out_table, failures, n_cached=n_cached, n_computed=n_computed, parquet_dir=written)


def _assemble(table: pd.DataFrame, results: dict[int, tuple[str, Any]], *, segmented: bool):
    failures = []
    index: list[int] = []
    records: list[dict[str, float]] = []
    feature_names: dict[str, None] = {}
    for i in range(len(table)):
        status, payload = results[i]
        if status != "ok":
            failures.append({"path": table.at[i, "path"], "reason": payload})
            continue
        for row in payload:
            index.append(i)
            records.append(row)
            for key in row:
                if key != "segment":
                    feature_names.setdefault(key, None)
    base = table.iloc[index].reset_index(drop=True)
    features = pd.DataFrame.from_records(records, columns=list(feature_names)).astype("float64")
    clash = [c for c in features.columns if c in base.columns]
    if clash:
        raise CourseError(f"feature names {clash} clash with columns of the files table; rename them")
    parts = [base]
    if segmented:
        seg = pd.Series([int(r["segment"]) for r in records], name="segment", dtype="int64")
        if "segment" in base.columns:
            raise CourseError("the files table already has a 'segment' column")
        parts.append(seg.to_frame())
    parts.append(features)
    out = pd.concat(parts, axis=1)
    fail = pd.DataFrame(failures, columns=["path", "reason"])
    return out, fail
