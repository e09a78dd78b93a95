"""The 57-feature GTZAN table and its extraction over many files.

The widely used GTZAN feature table (Kaggle's ``features_30_sec.csv``) holds,
for every clip, the mean and variance over time of a few librosa features,
plus a tempo. It was made with an older librosa (before 0.10), whose defaults
differ from today's in two places that matter:

* STFTs padded the signal at both ends by *reflection* (``pad_mode="reflect"``);
  librosa 0.10 switched the default to zero padding (``"constant"``).
* ``librosa.effects.hpss`` inverted the harmonic and percussive STFTs without
  a target length and then zero-padded the result to the input's length.

:func:`gtzan_feature_vector` follows that recipe with librosa 0.11 and
reproduces the table to within float32 rounding on the full-length clips
(notebook 04 measures it); its harmonic/percussive separation gives
``librosa.decompose.hpss``'s numbers bit for bit with running medians
(``bottleneck``), 3-4 times faster. :func:`extract_features` runs such a
function over many files: in parallel (``joblib.Parallel``, worker processes),
with a cache on disk (one entry per audio file, keyed by its content:
:func:`helpers.config.cached`'s), and listing the files that could not
be read instead of stopping.
"""
from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import bottleneck
import librosa
import numpy as np
import pandas as pd
import pooch
from tqdm.std import tqdm

from .audio import DEFAULT_SR, load_audio, segment
from .config import cache_dir, in_workers, read_cached, write_cached
from .errors import AudioError, CourseError, not_a_command, one_line

__all__ = ["FEATURE_COLUMNS", "N_FFT", "HOP_LENGTH", "gtzan_feature_vector", "ExtractionResult", "extract_features"]

logger = logging.getLogger(__name__)

#: STFT size and hop of every frame-wise feature (librosa's defaults).
N_FFT = 2048
HOP_LENGTH = 512

#: Width (frames, bins) of the median filters of the harmonic/percussive separation (librosa's default).
_HPSS_KERNEL = 31

#: Bumped when the meaning of a cached entry changes (old entries are then ignored).
_CACHE_VERSION = 4

_SUMMARISED = (
    "chroma_stft", "rms", "spectral_centroid", "spectral_bandwidth",
    "rolloff", "zero_crossing_rate", "harmony", "perceptr",
)

#: The 57 feature columns of ``features_30_sec.csv``, in the table's order (MFCCs numbered from 1).
FEATURE_COLUMNS: tuple[str, ...] = tuple(
    [f"{name}_{stat}" for name in _SUMMARISED for stat in ("mean", "var")]
    + ["tempo"]
    + [f"mfcc{i}_{stat}" for i in range(1, 21) for stat in ("mean", "var")]
)


def gtzan_feature_vector(y: np.ndarray, sr: int, *, reference: bool = False) -> dict[str, float]:
    """The 57 features of ``features_30_sec.csv`` for one mono signal.

    One STFT (``n_fft=2048``, ``hop_length=512``, Hann window, reflection
    padding) feeds chroma, spectral centroid, bandwidth, roll-off, a 128-band
    mel spectrogram (-> 20 MFCCs and the onset strength behind the tempo) and
    the harmonic/percussive separation; RMS and zero-crossing rate are
    computed on frames of the waveform. Each frame-wise feature is summarised
    by its mean and (population) variance over time; for ``harmony`` and
    ``perceptr`` over the *samples* of the separated waveforms. ``tempo`` is
    the global tempo (BPM) that ``librosa.beat.beat_track`` reports.

    ``y``: mono floating-point samples, at least ``N_FFT`` of them, at ``sr`` Hz (22,050 for GTZAN
    and the reference table). ``reference=True`` separates with ``librosa.decompose.hpss`` and takes
    the tempo from ``librosa.beat.beat_track``, as the classic code does: the same numbers, 3-4
    times slower. Returns a dict with exactly :data:`FEATURE_COLUMNS`, in that order. Raises
    :class:`AudioError` if ``y`` is not one-dimensional, shorter than one STFT frame, not floating
    point, or holds NaN or infinite samples.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = gtzan_feature_vector(rng.standard_normal(22050).astype(np.float32) * 0.1, 22050)
    >>> round(f["zero_crossing_rate_mean"], 1)  # white noise changes sign about every other sample
    0.5
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise AudioError(f"gtzan_feature_vector needs a mono signal of shape (n,), got shape {y.shape}")
    if y.shape[0] < N_FFT:
        raise AudioError(f"gtzan_feature_vector needs at least {N_FFT} samples (one STFT frame), got {y.shape[0]}")
    if not np.issubdtype(y.dtype, np.floating):
        raise AudioError(f"gtzan_feature_vector needs floating-point samples, got dtype {y.dtype}")
    if not np.all(np.isfinite(y)):
        raise AudioError("gtzan_feature_vector: the signal holds NaN or infinite samples")
    sr = int(sr)
    frames = {"n_fft": N_FFT, "hop_length": HOP_LENGTH}

    stft = librosa.stft(y, **frames, pad_mode="reflect")  # the old default padding
    magnitude = np.abs(stft)
    power = magnitude**2
    log_mel = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr, **frames))
    onset_envelope = librosa.onset.onset_strength(S=log_mel, sr=sr, hop_length=HOP_LENGTH, aggregate=np.median)
    if reference:
        tracked, _ = librosa.beat.beat_track(onset_envelope=onset_envelope, sr=sr,
                                             hop_length=HOP_LENGTH)
    tempo = float(np.atleast_1d(tracked)[0]) if reference else _tempo(onset_envelope, sr)
    # harmonic / percussive separation, inverted the old way: istft without a target length, then padded
    harmonic, percussive = (
        librosa.util.fix_length(librosa.istft(part, **frames, dtype=y.dtype), size=y.shape[0])
        for part in (librosa.decompose.hpss(stft) if reference else _hpss(stft))
    )
    series = {
        "chroma_stft": librosa.feature.chroma_stft(S=power, sr=sr, **frames),
        "rms": librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP_LENGTH, pad_mode="reflect"),
        "spectral_centroid": librosa.feature.spectral_centroid(S=magnitude, sr=sr, **frames),
        "spectral_bandwidth": librosa.feature.spectral_bandwidth(S=magnitude, sr=sr, **frames),
        "rolloff": librosa.feature.spectral_rolloff(S=magnitude, sr=sr, **frames),
        "zero_crossing_rate": librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP_LENGTH),
        "harmony": harmonic,
        "perceptr": percussive,
    }
    mfcc = librosa.feature.mfcc(S=log_mel, sr=sr, n_mfcc=20)
    series.update({f"mfcc{i}": row for i, row in enumerate(mfcc, start=1)})
    out = {"tempo": tempo}
    for name, values in series.items():
        out[f"{name}_mean"] = float(np.mean(values))
        out[f"{name}_var"] = float(np.var(values))
    return {name: out[name] for name in FEATURE_COLUMNS}


def _median_filter(x: np.ndarray, *, axis: int) -> np.ndarray:
    """``scipy.ndimage.median_filter(x, mode="reflect")`` of size ``_HPSS_KERNEL`` along ``axis`` as a running median
    (``bottleneck.move_median``, O(n log w)): the same padding (scipy's "reflect" is NumPy's "symmetric") and
    centring, hence the same order statistic, bit for bit (for lines of 3 or more values)."""
    half, axis = _HPSS_KERNEL // 2, axis % x.ndim
    padded = np.pad(x, [(half, half) if a == axis else (0, 0) for a in range(x.ndim)], mode="symmetric")
    moved = bottleneck.move_median(padded, window=_HPSS_KERNEL, axis=axis)  # moved[i] = median of padded[i-2h..i]
    return moved[(slice(None),) * axis + (slice(2 * half, None),)]


def _tempo(onset_envelope: np.ndarray, sr: int) -> float:
    """The tempo (BPM) ``librosa.beat.beat_track`` returns, without tracking the beats: its numba code compiles
    in every new process (seconds per worker) and the beats are not used."""
    if not onset_envelope.any():  # no onsets: beat_track's answer
        return 0.0
    return float(librosa.feature.tempo(onset_envelope=onset_envelope, sr=sr, hop_length=HOP_LENGTH)[0])


def _hpss(stft: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``librosa.decompose.hpss(stft)`` (kernel 31, margin 1, soft masks of power 2), the same numbers in a
    fraction of the time: its two median filters (80 % of the features' time) by :func:`_median_filter`."""
    magnitude, phase = librosa.magphase(stft)
    harmonic = _median_filter(magnitude, axis=-1)  # a median over time keeps steady tones
    percussive = _median_filter(magnitude, axis=-2)  # a median over frequency keeps broadband clicks
    masks = (librosa.util.softmask(harmonic, percussive, power=2.0, split_zeros=True),
             librosa.util.softmask(percussive, harmonic, power=2.0, split_zeros=True))
    return (magnitude * masks[0]) * phase, (magnitude * masks[1]) * phase


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

    ``cache``: True (``helpers.config.cache_dir("features")``), a folder, or False. An entry
    (:func:`helpers.config.read_cached`, one folder per function) is keyed by the function,
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
