"""What the course's models read and the networks the notebooks build: features of 3 s segments, the cached
segment dataset of a GTZAN folder, training copies changed as a learner's recordings differ, the LSTM of notebook 07,
the CNN of notebook 08, and the distance behind the transfer model's "unsure" (notebook 11).

The command line that trains them, ``python -m machinery.train``, uses these functions (:mod:`machinery.train`);
notebooks 07-09 and 11 write its steps in their own cells.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import librosa
import numpy as np
import pandas as pd
import pooch
from tqdm.std import tqdm

from .audio import DEFAULT_SR, MAX_SECONDS, augment, load_audio, segment
from .config import cached, in_workers
from .datasets import GTZAN_GENRES
from .errors import AudioError, CourseError, not_a_command
from .pretrained import MUSICNN_SPEC, musicnn_input

__all__ = ["MFCC_SPEC", "CNN_SPEC", "BASELINE_SPEC", "TRANSFER_SPEC", "VAL_SIZE", "TEST_SIZE",
           "check_spec", "segment_features", "clip_segments", "segment_dataset", "AUGMENTATIONS",
           "add_augmented_copies", "build_lstm", "build_cnn", "model_input", "mahalanobis"]


#: MFCC sequences, ``(frames, 13)`` per segment, for the LSTM (notebook 07).
MFCC_SPEC: dict[str, Any] = {"type": "mfcc", "n_mfcc": 13, "n_fft": 2048, "hop_length": 512}
#: The log-mel spec of the course's spectrogram CNN (notebook 08): 3 s segments -> 64 x 130.
CNN_SPEC: dict[str, Any] = {"type": "logmel", "n_mels": 64, "n_fft": 2048, "hop_length": 512}
#: The baseline of notebooks 07-09: an RBF SVM on the means and standard deviations of these 20 MFCCs.
BASELINE_SPEC: dict[str, Any] = {"type": "mfcc", "n_mfcc": 20, "n_fft": 2048, "hop_length": 512}
#: The transfer model's input: the tagger's log-mel of each patch scaled to an RMS of -20 dBFS (issue 29: the
#: level of a recording says nothing about its genre). A model whose spec lacks ``rms_dbfs`` saw the raw level.
TRANSFER_SPEC: dict[str, Any] = {**MUSICNN_SPEC, "rms_dbfs": -20.0}

#: The split every model kind uses: fractions of each genre's clips for validation and test (60/15/25).
VAL_SIZE, TEST_SIZE = 0.15, 0.25

_DEFAULTS = {"mfcc": {"n_mfcc": 13, "n_mels": 128, "n_fft": 2048, "hop_length": 512, "top_db": 80.0},
             "logmel": {"n_mels": 128, "n_fft": 2048, "hop_length": 512, "top_db": 80.0},
             "musicnn": {k: v for k, v in MUSICNN_SPEC.items() if k != "type"}}


def check_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Validate a feature spec (``{"type": "mfcc" | "logmel" | "musicnn", ...}``) and fill in its defaults; raise
    :class:`CourseError` for an unknown type, unknown keys or non-positive sizes. ``musicnn`` takes an optional
    ``rms_dbfs`` (a level below 0 dBFS each segment is scaled to; absent: none, as in models before issue 29).

    Examples
    --------
    >>> check_spec({"type": "mfcc"})
    {'type': 'mfcc', 'n_mfcc': 13, 'n_mels': 128, 'n_fft': 2048, 'hop_length': 512, 'top_db': 80.0}
    """
    if not isinstance(spec, dict) or spec.get("type") not in _DEFAULTS:
        raise CourseError(f"a feature spec is a dict with a 'type' key ({', '.join(map(repr, _DEFAULTS))}); got {spec!r}")
    if unknown := set(spec) - set(_DEFAULTS[spec["type"]]) - {"type"} - ({"rms_dbfs"} if spec["type"] == "musicnn" else set()):
        raise CourseError(f"unknown key(s) {sorted(unknown)} in {spec['type']} feature spec {spec!r}")
    out = {"type": spec["type"], **_DEFAULTS[spec["type"]], **spec}
    if "rms_dbfs" in out and not (isinstance(out["rms_dbfs"], (int, float)) and -100 < out["rms_dbfs"] < 0):
        raise CourseError(f"rms_dbfs must be a level in dBFS between -100 and 0 in feature spec {spec!r}")
    for key in set(out) - {"type", "top_db", "rms_dbfs"}:
        if int(out[key]) != out[key] or out[key] <= 0:
            raise CourseError(f"{key} must be a positive integer in feature spec {spec!r}")
        out[key] = int(out[key])
    out |= {"rms_dbfs": float(out["rms_dbfs"])} if "rms_dbfs" in out else {}
    return {**out, "top_db": float(out["top_db"])} if "top_db" in out else out


def segment_features(segments: np.ndarray, sr: int, spec: dict[str, Any]) -> np.ndarray:
    """Features of equal-length segments, ``(n, samples)``, as float32.

    ``"mfcc"`` gives ``(n, frames, n_mfcc)`` (a sequence, for an LSTM), ``"logmel"`` ``(n, n_mels, frames)``
    in dB (an image), ``"musicnn"`` the pretrained tagger's input (:func:`helpers.pretrained.musicnn_input`). The
    dB floor (``top_db`` below the loudest bin) is per segment: a segment's features do not depend on the
    other segments in the batch.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal((2, 66150)).astype("float32")
    >>> segment_features(x, 22050, MFCC_SPEC).shape, segment_features(x, 22050, CNN_SPEC).shape
    ((2, 130, 13), (2, 64, 130))
    """
    spec = check_spec(spec)
    segments = np.atleast_2d(np.asarray(segments, dtype=np.float32))
    if segments.ndim != 2 or segments.shape[0] == 0:
        raise CourseError(f"segments must have shape (n, samples) with n >= 1, got {segments.shape}")
    if spec["type"] == "musicnn":
        return musicnn_input(segments, sr=sr, spec=spec)
    mel = librosa.feature.melspectrogram(y=segments, sr=sr, n_fft=spec["n_fft"], hop_length=spec["hop_length"],
                                         n_mels=spec["n_mels"])
    db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)
    db = np.maximum(db, db.max(axis=(-2, -1), keepdims=True) - spec["top_db"])
    if spec["type"] == "logmel":
        return db.astype(np.float32)
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=spec["n_mfcc"])
    return np.ascontiguousarray(np.swapaxes(mfcc, 1, 2), dtype=np.float32)


def clip_segments(path: str | os.PathLike, *, sr: int = DEFAULT_SR, segment_seconds: float = 3.0) -> np.ndarray:
    """Load a file (mono, resampled to ``sr``) and cut it into back-to-back segments ``(n, samples)``; raise
    :class:`helpers.errors.AudioError` if the file is missing, unreadable, or shorter than one segment.

    Examples
    --------
    >>> clip_segments("data/gtzan/genres_original/jazz/jazz.00000.wav").shape  # doctest: +SKIP
    (10, 66150)
    """
    y, sr = load_audio(path, sr=sr, mono=True, max_seconds=MAX_SECONDS)
    return segment(y, sr=sr, seconds=segment_seconds, source=path)


def _clip_features(path: str, sr: int, seconds: float, spec: dict,
                   change: tuple | None = None) -> np.ndarray | str:
    """Features of one clip (changed by :func:`helpers.audio.augment` with ``change = (kind, amount, seed)``), or
    why it cannot be used."""
    try:
        y, sr = load_audio(path, sr=sr, mono=True, max_seconds=MAX_SECONDS)
        y = y if change is None else augment(y, sr=sr, kind=change[0], amount=change[1], seed=change[2])
        return segment_features(segment(y, sr=sr, seconds=seconds, source=path), sr, spec)
    except AudioError as exc:
        return str(exc)


def _content_key(clips: pd.DataFrame, settings: list) -> str:
    """A digest of the settings and of every clip's id, genre and file bytes (a changed clip changes it)."""
    digest = hashlib.sha1(json.dumps(settings).encode())
    for clip_id, genre, path in clips[["clip_id", "genre", "path"]].itertuples(index=False):
        try:
            content = pooch.file_hash(path, alg="sha1")
        except OSError:
            content = "unreadable"
        digest.update(f"{clip_id}\0{genre}\0{content}".encode())
    return digest.hexdigest()[:16]


def segment_dataset(clips: pd.DataFrame, spec: dict[str, Any], *, sr: int = DEFAULT_SR, segment_seconds: float = 3.0,
                    cache: bool = True, n_jobs: int | None = None, progress: bool = False) -> dict[str, Any]:
    """Cut every clip into segments and compute their features (cached, keyed by the clips'
    content).

    ``clips`` has columns ``clip_id``, ``genre``, ``path`` (:func:`helpers.datasets.gtzan_clips`),
    and optionally ``augment``: ``(kind, amount, seed)`` for each clip, changed by
    :func:`helpers.audio.augment`; a clip shorter than one segment is skipped. The arrays are cached
    (:func:`helpers.config.cached`, in ``build/cache/segments/``), keyed by the settings, clip ids,
    genres and file contents; ``cache=False`` computes them afresh. ``n_jobs``: joblib workers
    (default 1 below 200 clips, else 2).

    Returns a dict: ``X`` (float32, one row per segment), ``y`` (int64), ``genres``, ``clip_id``,
    ``spec``, ``sample_rate``, ``segment_seconds`` and ``skipped``: one line per clip left out,
    naming its file and why (the same lines as :func:`helpers.features.extract_features`' failures),
    the files that ``clips.attrs["unreadable"]`` lists (:func:`helpers.datasets.gtzan_clips`) first.

    Examples
    --------
    >>> segment_dataset(gtzan_clips(per_genre=1).head(2), MFCC_SPEC)["X"].shape  # doctest: +SKIP
    (20, 130, 13)
    """
    spec = check_spec(spec)
    if missing := {"clip_id", "genre", "path"} - set(clips.columns):
        raise CourseError(f"clips table lacks column(s) {sorted(missing)}")
    meta = {"spec": spec, "sample_rate": int(sr), "segment_seconds": float(segment_seconds)}
    listed = list(dict(clips.attrs.get("unreadable") or {}).values())  # files gtzan_clips could not decode
    changes = [(str(k), float(a), int(s)) for k, a, s in clips["augment"]] if "augment" in clips else [None] * len(clips)
    key = _content_key(clips, list(meta.values()) + ([list(c) for c in changes] if "augment" in clips else []))

    def compute() -> dict[str, np.ndarray]:
        found = set(clips["genre"])
        genres = [g for g in GTZAN_GENRES if g in found] + sorted(found - set(GTZAN_GENRES))
        rows = list(clips[["clip_id", "genre", "path"]].itertuples(index=False, name=None))
        calls = [(str(p), sr, segment_seconds, spec, c) for (_, _, p), c in zip(rows, changes)]
        jobs = n_jobs or (1 if len(rows) < 200 else 2)
        done = dict(tqdm(in_workers(_clip_features, calls, n_jobs=jobs), total=len(calls),
                         disable=not progress, unit="clip"))
        results = [done[i] for i in range(len(calls))]
        kept = [(c, g, r) for (c, g, _), r in zip(rows, results) if not isinstance(r, str)]
        skipped = [r for r in results if isinstance(r, str)]
        if not kept:
            raise CourseError(f"none of the {len(rows)} clips gave a {segment_seconds:g} s "
                              f"segment: {'; '.join(listed + skipped)}")
        label = [np.full(len(r), genres.index(g), dtype=np.int64) for _, g, r in kept]
        return {"X": np.concatenate([r for _, _, r in kept]).astype(np.float32),
                "y": np.concatenate(label),
                "genres": np.array(genres, dtype=str), "skipped": np.array(skipped, dtype=str),
                "clip_id": np.concatenate([np.full(len(r), c) for c, _, r in kept]).astype(str)}

    ds = cached("segments", key, compute) if cache else compute()
    return {**ds, **meta, "skipped": listed + ds["skipped"].tolist()}


#: The training copies of ``python -m machinery.train transfer`` (issue 29): one per kind for each training clip, its
#: amount drawn uniformly from the range (a pitch shift up or down): the ways a learner's recordings differ from GTZAN.
AUGMENTATIONS = {"noise": (0.0, 20.0), "band": (6000.0, 12000.0), "pitch": (0.5, 2.5),
                 "tempo": (0.85, 1.15), "mp3": (0.6, 0.95)}
AUGMENTED = ("copies of each training clip with white noise (0-20 dB SNR), a band limit "
             "(resampled to 6-12 kHz), a pitch shift (0.5-2.5 semitones up or down), a tempo "
             "change (0.85-1.15 times) and MP3 coding (about 16-64 kbit/s)")


def add_augmented_copies(ds: dict[str, Any], clips: pd.DataFrame, parts: dict[str, np.ndarray], *, seed: int,
                         kinds: tuple[str, ...] = tuple(AUGMENTATIONS)) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Add a changed copy of every training clip for each of ``kinds`` (the transfer model's
    augmentation, issue 29).

    ``ds``: :func:`segment_dataset` of ``clips``; ``parts``: its rows' ``train`` and ``val``
    indices. Each clip of ``parts["train"]`` (never a validation or test clip) gets, per kind, an
    amount drawn from :data:`AUGMENTATIONS` with ``seed`` (white noise at 0-20 dB SNR, a band limit
    of 6-12 kHz resampling, a pitch shift of 0.5-2.5 semitones up or down, 0.85-1.15 times the
    tempo, MP3 at libsndfile's compression level 0.6-0.95: :func:`helpers.audio.augment`); its
    features are computed as ``ds``'s. Returns ``(X, y, parts)``: ``ds``'s rows, then the copies'
    rows (``parts["augmented"]``).

    Examples
    --------
    >>> X, y, parts = add_augmented_copies(ds, clips, {"train": tr, "val": va}, seed=42)  # doctest: +SKIP
    >>> len(X) - len(ds["X"]) == len(parts["augmented"])  # doctest: +SKIP
    True
    """
    chosen = clips[clips["clip_id"].isin(set(ds["clip_id"][parts["train"]]))]
    rng, copies = np.random.default_rng(seed), []
    for kind in kinds:
        amount = rng.uniform(*AUGMENTATIONS[kind], len(chosen)) * (rng.choice([-1, 1], len(chosen)) if kind == "pitch" else 1)
        copies.append(chosen.assign(augment=list(zip([kind] * len(chosen), amount, rng.integers(2**31, size=len(chosen))))))
    extra = segment_dataset(pd.concat(copies, ignore_index=True), ds["spec"], sr=ds["sample_rate"],
                            segment_seconds=ds["segment_seconds"])
    labels = np.array([list(ds["genres"]).index(g) for g in extra["genres"]])[extra["y"]]
    rows = np.arange(len(ds["X"]), len(ds["X"]) + len(labels))
    return np.concatenate([ds["X"], extra["X"]]), np.concatenate([ds["y"], labels]), {**parts, "augmented": rows}


def build_lstm(input_shape: tuple[int, int], n_classes: int, *, norm: Any = None) -> Any:
    """The classic MFCC-sequence LSTM genre classifier, compiled (notebook 07 builds it in its cells).

    ``input_shape``: one sequence, e.g. ``(130, 13)``; ``norm``: an adapted ``keras.layers.Normalization``,
    then ``LSTM(64, return_sequences=True) -> LSTM(64) -> Dense(64, relu) -> Dropout(0.3) ->
    Dense(n_classes, softmax)``; Adam (1e-3), sparse categorical cross-entropy, accuracy.

    Examples
    --------
    >>> build_lstm((130, 13), 10).count_params()
    57802
    """
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input(shape=tuple(input_shape), name="mfcc_sequence"), *([norm] if norm is not None else []),
        layers.LSTM(64, return_sequences=True, name="lstm_1"), layers.LSTM(64, name="lstm_2"),
        layers.Dense(64, activation="relu", name="dense"), layers.Dropout(0.3, name="dropout"),
        layers.Dense(n_classes, activation="softmax", name="genre"),
    ], name="lstm_genre_classifier")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])  # Adam: rate 1e-3
    return model


def build_cnn(input_shape: tuple[int, int, int], n_classes: int, *, norm: Any = None) -> Any:
    """The course's spectrogram CNN, compiled (notebook 08 builds it in its cells).

    ``input_shape``: a log-mel image with a channel axis, e.g. ``(64, 130, 1)``; ``norm``: an adapted
    ``keras.layers.Normalization``, then three blocks ``Conv2D 3x3 (16, 32, 64 filters, no bias) ->
    BatchNormalization (momentum 0.9) -> ReLU -> MaxPooling2D 2x2``, ``Dropout(0.3) -> GlobalAveragePooling2D
    -> Dropout(0.3) -> Dense(n_classes, softmax)``; Adam (1e-3), sparse categorical cross-entropy.

    Examples
    --------
    >>> build_cnn((64, 130, 1), 10).count_params()
    24282
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=tuple(input_shape), name="logmel")
    x = norm(inputs) if norm is not None else inputs
    for i, filters in enumerate((16, 32, 64), start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(layers.Dropout(0.3, name="dropout1")(x))
    outputs = layers.Dense(n_classes, activation="softmax", name="genre")(layers.Dropout(0.3, name="dropout2")(x))
    model = keras.Model(inputs, outputs, name="spectrogram_cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])  # Adam: rate 1e-3
    return model


def model_input(X: np.ndarray, kind: str) -> np.ndarray:
    """Features as the model of ``kind`` (``"lstm"``, ``"cnn"`` or ``"transfer"``) reads them: a channel axis for the CNN.

    Examples
    --------
    >>> model_input(np.zeros((2, 64, 130)), "cnn").shape
    (2, 64, 130, 1)
    """
    return np.asarray(X, dtype=np.float32)[..., None] if kind == "cnn" else np.asarray(X, dtype=np.float32)


def mahalanobis(x: np.ndarray, stats: dict[str, Any]) -> np.ndarray:
    """Mahalanobis distance of each row of ``x`` from ``stats`` of :func:`machinery.train.unsure_statistics` (lists work).

    Examples
    --------
    >>> stats = {"center": [0.0, 0.0], "scale": 4.0, "components": [[0.0, 0.0]]}
    >>> mahalanobis(np.array([[2.0, 0.0], [0.0, 6.0]]), stats)
    array([1., 3.])
    """
    x = np.atleast_2d(x) - np.asarray(stats["center"], dtype=np.float64)
    d2 = np.sum(x ** 2, axis=1) / stats["scale"] - np.sum((x @ np.asarray(stats["components"]).T) ** 2, axis=1)
    return np.sqrt(np.maximum(d2, 0.0))


if __name__ == "__main__":
    not_a_command(__spec__.name)
