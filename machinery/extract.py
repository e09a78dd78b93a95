"""A feature function over many files: in worker processes, cached by content, listing what failed.

:func:`extract_features` runs a function such as :func:`helpers.features.gtzan_feature_vector` over a table
of files: in parallel (:func:`in_workers`: ``joblib.Parallel``, worker processes), with a cache on disk (one
entry per audio file, keyed by its content: :func:`machinery.store.cached`'s), and listing the files that
could not be read instead of stopping. Notebooks 04, 06 and 10 call it; notebook 10 shows what its workers,
its cache and its list of failures do.
"""
from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pooch
from tqdm.std import tqdm

from helpers.audio import DEFAULT_SR, load_audio, segment
from helpers.errors import AudioError, CourseError, not_a_command, one_line
from .store import cache_dir, read_cached, write_cached

__all__ = ["in_workers", "ExtractionResult", "extract_features"]

logger = logging.getLogger(__name__)
# as `helpers`' loggers: warnings reach the handlers a program sets up (the commands' logging.basicConfig), and none
# by default, where the caller reports what matters (`result.failures`, a notebook's own print)
logger.addHandler(logging.NullHandler())

_WATCHDOG: list[threading.Thread] = []


def in_workers(task: Callable, calls: list[tuple], *, n_jobs: int) -> Iterator[tuple[int, Any]]:
    """``(i, task(*calls[i]))`` for every call, as they finish: in ``n_jobs`` joblib worker
    processes (-1: one per core; 1: here, in order), the first call here before any worker starts.

    The first call here: numba compiles and caches librosa's code once, where workers compiling it
    at the same time on a fresh install can crash (numba/numba#10128). A worker stops as soon as
    this process is gone: one killed with SIGKILL cannot stop its workers, and joblib's (loky's)
    would go on computing for nobody.

    Examples
    --------
    >>> sorted(in_workers(pow, [(2, 3), (3, 2), (5, 1)], n_jobs=2))
    [(0, 8), (1, 9), (2, 5)]
    """
    for i, call in enumerate(calls[:1] if n_jobs != 1 and len(calls) > 1 else calls):
        yield i, task(*call)
    if n_jobs != 1 and len(calls) > 1:
        from joblib import Parallel, delayed  # here: importing joblib sets KMP_INIT_AT_FORK

        jobs = min(len(calls) - 1, n_jobs) if n_jobs > 0 else n_jobs
        parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
        yield from parallel(delayed(_in_worker)(os.getpid(), i, task, call)
                            for i, call in enumerate(calls[1:], 1))


def _in_worker(parent: int, i: int, task: Callable, call: tuple) -> tuple[int, Any]:
    """One call in a worker process started by ``parent``, which it does not outlive (a thread
    watches)."""
    if not _WATCHDOG and os.getppid() == parent:
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        _WATCHDOG.append(threading.Thread(target=watch, name="stop_with_parent", daemon=True))
        _WATCHDOG[0].start()
    return i, task(*call)


#: Bumped when the meaning of a cached entry changes (old entries are then ignored).
_CACHE_VERSION = 4


def _function_name(func: Callable) -> str:
    """The qualified name ``module.qualname`` of a feature function or a ``functools.partial`` of one
    (part of the cache key).

    Examples
    --------
    >>> _function_name(gtzan_feature_vector)
    'helpers.features.gtzan_feature_vector'
    """
    if isinstance(func, functools.partial):
        return _function_name(func.func)
    module = getattr(func, "__module__", None) or type(func).__module__
    qualname = getattr(func, "__qualname__", None) or type(func).__qualname__
    return f"{module}.{qualname}"


@dataclass
class ExtractionResult:
    """What :func:`extract_features` returns: ``table`` (the input columns, ``segment`` when segmenting, then
    one column per feature; rows in input order, failed files left out), ``failures`` (``path`` and
    ``reason`` per file that could not be processed, in input order), and how many files were read from
    the cache (``n_cached``) and computed in this call (``n_computed``).

    Examples
    --------
    >>> ExtractionResult(pd.DataFrame({"path": ["a.wav"], "tempo": [120.0]}),
    ...                  pd.DataFrame(columns=["path", "reason"]), n_computed=1)
    ExtractionResult(table=1 rows x 2 columns, failures=0, cached=0, computed=1)
    """

    table: pd.DataFrame
    failures: pd.DataFrame
    n_cached: int = 0
    n_computed: int = 0

    def __repr__(self) -> str:  # short: a notebook shows it
        return (
            f"ExtractionResult(table={self.table.shape[0]} rows x {self.table.shape[1]} columns, "
            f"failures={len(self.failures)}, cached={self.n_cached}, computed={self.n_computed})"
        )


def _cache_key(path: str, func: Callable, settings: dict[str, Any]) -> dict[str, Any]:
    """What one file's features depend on: the function, its settings and the file's bytes."""
    partial = repr((func.args, func.keywords)) if isinstance(func, functools.partial) else None
    return {"version": _CACHE_VERSION, "func": _function_name(func), "settings": settings,
            "partial": partial,  # the bytes, next: a clip replaced in place is never served stale
            "file": pooch.file_hash(path, alg="sha1")}


def _one_file(path: str, func: Callable, settings: dict, entry: tuple | None) -> tuple[str, Any]:
    """Load one file, compute its features (one row, or one per segment), cache them.

    Returns ``("ok", rows)`` or ``("fail", reason)``. Runs single-threaded, so
    the numbers are the same bit for bit in this process and in a worker.
    """
    from threadpoolctl import threadpool_limits  # here, not at the top: importing it sets an environment variable

    params, sr, seconds = settings["params"], settings["sr"], settings["segment_seconds"]
    try:
        with threadpool_limits(limits=1):
            y, rate = load_audio(path, sr=sr, duration=settings["duration"])
            pieces = [y] if seconds is None else segment(y, sr=rate, seconds=seconds, source=path)
            rows = []
            for i, piece in enumerate(pieces):
                features = func(piece, rate, **params)
                if not isinstance(features, Mapping):
                    raise TypeError(f"it returned {type(features).__name__}, not a dict of name -> number")
                rows.append(({} if seconds is None else {"segment": i}) | {str(k): float(v) for k, v in features.items()})
    except AudioError as exc:
        return "fail", str(exc)
    except Exception as exc:  # noqa: BLE001 - a feature function can raise anything
        return "fail", f"{path}: feature function {_function_name(func)} failed ({one_line(exc, with_type=True)})"
    if entry is not None and all(list(r) == list(rows[0]) for r in rows):  # (folder, key): a table
        write_cached(*entry, {"names": np.array(list(rows[0]), dtype=str),
                              "values": np.array([list(r.values()) for r in rows], np.float64)})
    return "ok", rows


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
    progress: bool = True,
) -> ExtractionResult:
    """Compute a feature table for many audio files: in parallel, cached, listing failures.

    ``files``: a table with a ``path`` column (its other columns, e.g. ``clip_id``, ``genre``, are
    carried into the output) or a list of paths. ``func(y, sr, **params) -> dict[str, float]`` is a
    module-level (picklable) function. Audio is loaded mono at ``sr`` (None: each file's rate), at
    most ``duration`` seconds; with ``segment_seconds``, one row per segment
    (:func:`helpers.audio.segment`) with a ``segment`` column. ``n_jobs``: ``joblib.Parallel``
    worker processes (-1: all cores; 1: this process); one file runs here first, so that numba
    compiles librosa's code once rather than in every worker (workers compiling it at the same time
    on a fresh install can crash: numba/numba#10128).

    ``cache``: True (``machinery.store.cache_dir("features")``), a folder, or False. An entry
    (:func:`machinery.store.read_cached`, one folder per function) is keyed by the function,
    ``params``, ``sr``, ``segment_seconds``, ``duration`` and the sha1 of the file's bytes (a
    replaced file is computed again), and is written as soon as its file is done (an interrupted run
    resumes); an unreadable, altered or misplaced entry is logged and recomputed; failures are not
    cached. Files that ``files.attrs["unreadable"]`` lists (as :func:`helpers.datasets.gtzan_clips`
    leaves them out) are reported in ``failures`` first.

    Returns an :class:`ExtractionResult` (``table``, ``failures`` with ``path`` and ``reason``,
    ``n_cached``, ``n_computed``). Raises :class:`CourseError` if the files table has no ``path``
    column or a feature name clashes with one of its columns.

    Examples
    --------
    >>> from helpers.datasets import librosa_example
    >>> res = extract_features([librosa_example("trumpet")], gtzan_feature_vector, n_jobs=1,
    ...                        cache=False, progress=False)
    >>> res.table.shape, len(res.failures)
    ((1, 58), 0)
    """
    if segment_seconds is not None and segment_seconds <= 0:
        raise ValueError(f"segment_seconds must be positive, got {segment_seconds}")
    if isinstance(files, pd.DataFrame):
        if "path" not in files.columns:
            raise CourseError(f"the files table needs a 'path' column; it has {list(files.columns)}")
        table = files.reset_index(drop=True).copy()
    else:
        table = pd.DataFrame({"path": [files] if isinstance(files, (str, os.PathLike)) else list(files)})
    table["path"] = table["path"].map(os.fspath)
    settings = {"params": dict(params or {}), "sr": sr, "duration": duration, "segment_seconds": segment_seconds}
    root = None if cache is False else cache_dir("features") if cache is True else Path(cache).expanduser()
    folder = None if root is None else root / _function_name(func)

    results: dict[int, tuple[str, Any]] = {}
    todo: list[tuple[int, str, Path | None]] = []
    for i, path in enumerate(table["path"]):
        entry = None if not folder or not os.path.isfile(path) else (
            folder, _cache_key(path, func, settings))
        if entry and (stored := read_cached(*entry)) is not None:
            names = stored["names"].tolist()
            results[i] = ("ok", [dict(zip(names, row)) for row in stored["values"].tolist()])
            continue
        todo.append((i, path, entry))
    n_cached = len(results)

    with tqdm(total=len(table), initial=n_cached, disable=not progress, unit="file",
              desc=_function_name(func).rsplit(".", 1)[-1]) as bar:
        # the smallest file first (it runs here while the workers start: see in_workers), then the
        # biggest: a short tail
        todo.sort(key=lambda t: -os.path.getsize(t[1]) if os.path.isfile(t[1]) else 0)
        todo = todo[-1:] + todo[:-1]
        calls = [(path, func, settings, entry) for _, path, entry in todo]
        for j, output in in_workers(_one_file, calls, n_jobs=n_jobs):
            results[todo[j][0]] = output
            bar.update(1)

    failures = [*(dict(files.attrs.get("unreadable") or {}).items() if isinstance(files, pd.DataFrame) else ()),
                *((table.at[i, "path"], why) for i, (status, why) in sorted(results.items()) if status != "ok")]
    index = [i for i in range(len(table)) for _ in (results[i][1] if results[i][0] == "ok" else [])]
    records = [row for i in range(len(table)) if results[i][0] == "ok" for row in results[i][1]]
    features = pd.DataFrame.from_records(records)
    clash = [c for c in features.columns if c in table.columns]
    if clash:
        raise CourseError(f"feature names {clash} clash with columns of the files table; rename them")
    if "segment" in features:
        features["segment"] = features["segment"].astype("int64")
    features = features.astype({c: "float64" for c in features.columns if c != "segment"})
    out = pd.concat([table.iloc[index].reset_index(drop=True), features], axis=1)
    if failures:
        logger.warning("%s: %d file(s) failed; see result.failures", _function_name(func), len(failures))
    return ExtractionResult(out, pd.DataFrame(failures, columns=["path", "reason"]),
                            n_cached=n_cached, n_computed=len(table) - n_cached)


if __name__ == "__main__":
    not_a_command(__spec__.name)
