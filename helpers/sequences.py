"""Segment-level feature data sets: 3-second segments, MFCC or log-mel features.

A clip is cut into back-to-back segments (:func:`helpers.audio.segment`: a
30 s GTZAN clip gives ten 3 s segments, a 17.9 s clip five; a remainder
shorter than a segment is dropped, and a clip shorter than one segment gives
none and is skipped). Each segment becomes a feature matrix described by a
*feature spec*, a small dict that travels with a saved model so prediction
computes exactly the same features:

* ``{"type": "mfcc", "n_mfcc": 13, "n_fft": 2048, "hop_length": 512}`` gives
  ``(n_segments, frames, n_mfcc)``: a sequence of MFCC vectors (for an LSTM);
* ``{"type": "logmel", "n_mels": 128, "n_fft": 2048, "hop_length": 512}``
  gives ``(n_segments, n_mels, frames)`` in dB: an image (for a CNN).

A 3 s segment at 22,050 Hz with ``hop_length=512`` has
``1 + 66150 // 512 = 130`` frames.

The dB conversion (``10 log10(power)``, floored ``top_db`` = 80 dB below the
loudest bin) is done *per segment*, so a segment's features do not depend on
which other segments it is computed with (librosa's ``power_to_db`` on a batch
would use the batch's maximum).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .audio import DEFAULT_SR, load_audio, segment
from .datasets import GTZAN_GENRES
from .errors import AudioError, CourseError

__all__ = [
    "MFCC_SPEC",
    "LOGMEL_SPEC",
    "check_spec",
    "n_frames",
    "segment_features",
    "clip_segments",
    "build_segment_dataset",
    "save_dataset",
    "load_dataset",
    "load_or_build_dataset",
]

logger = logging.getLogger(__name__)

#: MFCC sequences as in the classic LSTM genre classifier.
MFCC_SPEC: dict[str, Any] = {"type": "mfcc", "n_mfcc": 13, "n_fft": 2048, "hop_length": 512}

#: Log-mel spectrograms (dB) for CNNs.
LOGMEL_SPEC: dict[str, Any] = {"type": "logmel", "n_mels": 128, "n_fft": 2048, "hop_length": 512}

_DEFAULTS: dict[str, dict[str, Any]] = {
    "mfcc": {"n_mfcc": 13, "n_mels": 128, "n_fft": 2048, "hop_length": 512, "top_db": 80.0},
    "logmel": {"n_mels": 128, "n_fft": 2048, "hop_length": 512, "top_db": 80.0},
}


def check_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Validate a feature spec and fill in its defaults.

    Parameters
    ----------
    spec : dict
        ``{"type": "mfcc" | "logmel", ...}``; missing keys take the defaults
        (``n_mfcc=13``, ``n_mels=128``, ``n_fft=2048``, ``hop_length=512``,
        ``top_db=80``).

    Returns
    -------
    dict
        A new, complete spec (JSON-serialisable).

    Raises
    ------
    CourseError
        For an unknown type, unknown keys or non-positive sizes.

    Examples
    --------
    >>> check_spec({"type": "mfcc"})["n_mfcc"]
    13
    """
    if not isinstance(spec, dict) or "type" not in spec:
        raise CourseError(f"a feature spec is a dict with a 'type' key ('mfcc' or 'logmel'), got {spec!r}")
    kind = spec["type"]
    if kind not in _DEFAULTS:
        raise CourseError(f"unknown feature type {kind!r} in spec {spec!r}; known: {', '.join(_DEFAULTS)}")
    unknown = set(spec) - set(_DEFAULTS[kind]) - {"type"}
    if unknown:
        raise CourseError(f"unknown key(s) {sorted(unknown)} in {kind} feature spec {spec!r}")
    out: dict[str, Any] = {"type": kind, **_DEFAULTS[kind]}
    out.update(spec)
    for key in ("n_mfcc", "n_mels", "n_fft", "hop_length"):
        if key in out:
            if int(out[key]) != out[key] or out[key] <= 0:
                raise CourseError(f"{key} must be a positive integer in feature spec {spec!r}")
            out[key] = int(out[key])
    if out["top_db"] is not None:
        out["top_db"] = float(out["top_db"])
    return out


def n_frames(n_samples: int, hop_length: int = 512) -> int:
    """Number of STFT frames librosa gives for ``n_samples`` (centred frames).

    Examples
    --------
    >>> n_frames(3 * 22050, 512)
    130
    """
    return 1 + int(n_samples) // int(hop_length)


def _power_to_db(power: np.ndarray, top_db: float | None) -> np.ndarray:
    """``10 log10(power)`` (ref 1.0, floor 1e-10), floored ``top_db`` below each segment's maximum."""
    db = 10.0 * np.log10(np.maximum(power, 1e-10))
    if top_db is not None:
        db = np.maximum(db, db.max(axis=(-2, -1), keepdims=True) - top_db)
    return db


def segment_features(segments: np.ndarray, sr: int, spec: dict[str, Any]) -> np.ndarray:
    """Features of equal-length audio segments.

    Parameters
    ----------
    segments : numpy.ndarray
        Shape ``(n, samples)`` (a single 1-D segment is treated as ``n = 1``).
    sr : int
        Sample rate in Hz.
    spec : dict
        Feature spec (see :func:`check_spec`).

    Returns
    -------
    numpy.ndarray
        float32; ``(n, frames, n_mfcc)`` for ``"mfcc"`` (time first: a
        sequence), ``(n, n_mels, frames)`` in dB for ``"logmel"`` (an image).

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal((2, 66150)).astype("float32")
    >>> segment_features(x, 22050, MFCC_SPEC).shape
    (2, 130, 13)
    >>> segment_features(x, 22050, LOGMEL_SPEC).shape
    (2, 128, 130)
    """
    import librosa

    spec = check_spec(spec)
    segments = np.asarray(segments, dtype=np.float32)
    if segments.ndim == 1:
        segments = segments[None, :]
    if segments.ndim != 2 or segments.shape[0] == 0:
        raise CourseError(f"segments must have shape (n, samples) with n >= 1, got {segments.shape}")
    mel = librosa.feature.melspectrogram(
        y=segments, sr=sr, n_fft=spec["n_fft"], hop_length=spec["hop_length"], n_mels=spec["n_mels"]
    )
    db = _power_to_db(mel, spec["top_db"])
    if spec["type"] == "logmel":
        return db.astype(np.float32)
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=spec["n_mfcc"])  # (n, n_mfcc, frames)
    return np.ascontiguousarray(np.swapaxes(mfcc, 1, 2)).astype(np.float32)


def clip_segments(
    path: str | os.PathLike, *, sr: int = DEFAULT_SR, segment_seconds: float = 3.0
) -> np.ndarray:
    """Load a file (mono, resampled to ``sr``) and cut it into back-to-back segments.

    Raises
    ------
    AudioError
        If the file is missing, unreadable, or shorter than one segment.
    """
    y, sr = load_audio(path, sr=sr, mono=True)
    return segment(y, sr=sr, seconds=segment_seconds, source=path)


def _clip_features(path: str, sr: int, segment_seconds: float, spec: dict) -> np.ndarray | str:
    """Features of one clip, or the reason it cannot be used (for parallel workers)."""
    try:
        return segment_features(clip_segments(path, sr=sr, segment_seconds=segment_seconds), sr, spec)
    except AudioError as exc:
        return str(exc)


def _genre_order(found: Iterable[str]) -> list[str]:
    found = set(found)
    known = [g for g in GTZAN_GENRES if g in found]
    return known + sorted(found - set(known))


def build_segment_dataset(
    clips: pd.DataFrame,
    spec: dict[str, Any],
    *,
    sr: int = DEFAULT_SR,
    segment_seconds: float = 3.0,
    genres: Sequence[str] | None = None,
    n_jobs: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Cut every clip into segments and compute their features.

    Parameters
    ----------
    clips : pandas.DataFrame
        One row per clip with columns ``clip_id``, ``genre`` and ``path``
        (as :func:`helpers.datasets.gtzan_clips` returns).
    spec : dict
        Feature spec (see :func:`check_spec`).
    sr : int
        Sample rate the audio is resampled to, in Hz.
    segment_seconds : float
        Segment length in seconds; a clip gives ``floor(duration / segment_seconds)``
        segments, and a clip shorter than one segment is skipped.
    genres : sequence of str, optional
        Class order (label ``i`` is ``genres[i]``); default: the genres found,
        in GTZAN's order.
    n_jobs : int, optional
        Worker processes (joblib). Default: 1 for fewer than 200 clips (starting
        workers costs more than it saves), else 2.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    dict
        ``X`` (float32 features, one row per segment), ``y`` (int64 labels),
        ``genres`` (str array), ``clip_id`` (str array, the clip of every
        segment), ``segment_index`` (position of the segment in its clip),
        ``spec`` (the complete spec), ``sample_rate``, ``segment_seconds`` and
        ``skipped`` (list of ``"clip_id: reason"`` for unusable clips).

    Raises
    ------
    CourseError
        If no clip gives a single segment.
    """
    from tqdm.auto import tqdm

    spec = check_spec(spec)
    missing = {"clip_id", "genre", "path"} - set(clips.columns)
    if missing:
        raise CourseError(f"clips table lacks column(s) {sorted(missing)}")
    genres = list(genres) if genres is not None else _genre_order(clips["genre"])
    unknown = set(clips["genre"]) - set(genres)
    if unknown:
        raise CourseError(f"clips have genre(s) {sorted(unknown)} that are not in genres={genres}")
    rows = list(clips[["clip_id", "genre", "path"]].itertuples(index=False, name=None))
    if n_jobs is None:
        n_jobs = 1 if len(rows) < 200 else 2
    iterator = tqdm(rows, desc="segment features", unit="clip", disable=not progress)
    if n_jobs == 1:
        results = [_clip_features(str(p), sr, segment_seconds, spec) for _, _, p in iterator]
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(
            delayed(_clip_features)(str(p), sr, segment_seconds, spec) for _, _, p in iterator
        )
    X, y, cid, pos, skipped = [], [], [], [], []
    for (clip_id, genre, _), res in zip(rows, results):
        if isinstance(res, str):
            skipped.append(f"{clip_id}: {res}")
            continue
        X.append(res)
        y.append(np.full(len(res), genres.index(genre), dtype=np.int64))
        cid.append(np.full(len(res), clip_id, dtype=object))
        pos.append(np.arange(len(res)))
    if skipped:
        logger.warning("skipped %d clip(s): %s", len(skipped), "; ".join(skipped))
    if not X:
        raise CourseError(f"none of the {len(rows)} clips gave a {segment_seconds:g} s segment: {'; '.join(skipped)}")
    return {
        "X": np.concatenate(X).astype(np.float32),
        "y": np.concatenate(y),
        "genres": np.array(genres, dtype=str),
        "clip_id": np.concatenate(cid).astype(str),
        "segment_index": np.concatenate(pos),
        "spec": spec,
        "sample_rate": int(sr),
        "segment_seconds": float(segment_seconds),
        "skipped": skipped,
    }


def save_dataset(path: str | os.PathLike, ds: dict[str, Any]) -> Path:
    """Write a segment data set as one compressed NumPy archive (``.npz``).

    Arrays are stored as they are; the spec, sample rate, segment length and
    skipped clips go into a JSON string entry ``meta``. Unlike a JSON file of
    nested lists, the archive keeps float32 arrays compact and exact and loads
    in a fraction of a second, with no ``pickle``.

    Returns
    -------
    pathlib.Path
        The file written (``.npz`` appended if missing).
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {k: ds[k] for k in ("spec", "sample_rate", "segment_seconds", "skipped") if k in ds}
    arrays = {k: np.asarray(ds[k]) for k in ("X", "y", "genres", "clip_id", "segment_index") if k in ds}
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)
    return path


def load_dataset(path: str | os.PathLike) -> dict[str, Any]:
    """Read a data set written by :func:`save_dataset`.

    Raises
    ------
    CourseError
        If the file is missing or is not such an archive.
    """
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path}: segment data set not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            out: dict[str, Any] = {k: z[k] for k in z.files if k != "meta"}
            meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
    except (OSError, ValueError) as exc:
        raise CourseError(f"{path}: not a segment data set archive ({exc})") from exc
    if not {"X", "y", "genres", "clip_id"} <= set(out):
        raise CourseError(f"{path}: not a segment data set archive (needs X, y, genres, clip_id)")
    out.update(meta)
    return out


def load_or_build_dataset(
    path: str | os.PathLike,
    clips: pd.DataFrame,
    spec: dict[str, Any],
    **kwargs: Any,
) -> dict[str, Any]:
    """Load ``path`` if it holds exactly these clips and settings, else build and save it.

    Parameters
    ----------
    path : path-like
        The ``.npz`` cache (put it under :func:`helpers.config.build_dir`).
    clips, spec, **kwargs
        As for :func:`build_segment_dataset`.
    """
    spec = check_spec(spec)
    path = Path(path)
    if path.is_file():
        try:
            ds = load_dataset(path)
            used = set(ds["clip_id"]) | {s.split(":", 1)[0] for s in ds.get("skipped", [])}
            same = (
                ds.get("spec") == spec
                and ds.get("sample_rate") == kwargs.get("sr", DEFAULT_SR)
                and ds.get("segment_seconds") == float(kwargs.get("segment_seconds", 3.0))
                and used == set(clips["clip_id"])
                and (kwargs.get("genres") is None or list(ds["genres"]) == list(kwargs["genres"]))
            )
            if same:
                logger.info("loaded %s", path)
                return ds
        except CourseError:
            pass
    ds = build_segment_dataset(clips, spec, **kwargs)
    save_dataset(path, ds)
    return ds
