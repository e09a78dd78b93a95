"""What the course's models read, and the notebooks' networks: features of 3 s segments, the LSTM
(notebook 07), the CNN (08), and the distance behind the transfer model's "unsure" (11).

A folder of clips becomes a segment dataset (cached, with training copies) in
:mod:`machinery.segments`; the command line that trains the models, ``python -m machinery.train``,
uses these functions; notebooks 07-09 and 11 write its steps in their own cells.
"""
from __future__ import annotations

import os
from typing import Any

import librosa
import numpy as np

from .audio import DEFAULT_SR, MAX_SECONDS, load_audio, segment
from .errors import CourseError
from .pretrained import MUSICNN_SPEC, musicnn_input

__all__ = ["MFCC_SPEC", "CNN_SPEC", "BASELINE_SPEC", "TRANSFER_SPEC", "VAL_SIZE", "TEST_SIZE",
           "check_spec", "segment_features", "clip_segments", "build_lstm", "build_cnn",
           "model_input", "mahalanobis"]


#: MFCC sequences, ``(frames, 13)`` per segment, for the LSTM (notebook 07).
MFCC_SPEC: dict[str, Any] = {"type": "mfcc", "n_mfcc": 13, "n_fft": 2048, "hop_length": 512}
#: The log-mel spec of the course's spectrogram CNN (notebook 08): 3 s segments -> 64 x 130.
CNN_SPEC: dict[str, Any] = {"type": "logmel", "n_mels": 64, "n_fft": 2048, "hop_length": 512}
#: The baseline of notebooks 07-09: an RBF SVM on these 20 MFCCs' means and standard deviations.
BASELINE_SPEC: dict[str, Any] = {"type": "mfcc", "n_mfcc": 20, "n_fft": 2048, "hop_length": 512}
#: The transfer model's input: the tagger's log-mel of each patch scaled to an RMS of -20 dBFS
#: (issue 29: the level of a recording says nothing about its genre). A model whose spec lacks
#: ``rms_dbfs`` saw the raw level.
TRANSFER_SPEC: dict[str, Any] = {**MUSICNN_SPEC, "rms_dbfs": -20.0}

#: Every model kind's split: fractions of each genre's clips for validation and test (60/15/25).
VAL_SIZE, TEST_SIZE = 0.15, 0.25

_DEFAULTS = {"mfcc": {"n_mfcc": 13, "n_mels": 128, "n_fft": 2048, "hop_length": 512,
                      "top_db": 80.0},
             "logmel": {"n_mels": 128, "n_fft": 2048, "hop_length": 512, "top_db": 80.0},
             "musicnn": {k: v for k, v in MUSICNN_SPEC.items() if k != "type"}}


def check_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Validate a feature spec (``{"type": "mfcc" | "logmel" | "musicnn", ...}``) and fill in its
    defaults; raise :class:`CourseError` for an unknown type, unknown keys or non-positive sizes.
    ``musicnn`` takes an optional ``rms_dbfs`` (a level below 0 dBFS each segment is scaled to;
    absent: none, as in models before issue 29).

    Examples
    --------
    >>> check_spec({"type": "mfcc"})
    {'type': 'mfcc', 'n_mfcc': 13, 'n_mels': 128, 'n_fft': 2048, 'hop_length': 512, 'top_db': 80.0}
    """
    if not isinstance(spec, dict) or spec.get("type") not in _DEFAULTS:
        raise CourseError("a feature spec is a dict with a 'type' key"
                          f" ({', '.join(map(repr, _DEFAULTS))}); got {spec!r}")
    if unknown := (set(spec) - set(_DEFAULTS[spec["type"]]) - {"type"}
                   - ({"rms_dbfs"} if spec["type"] == "musicnn" else set())):
        raise CourseError(f"unknown key(s) {sorted(unknown)} in {spec['type']} feature spec"
                          f" {spec!r}")
    out = {"type": spec["type"], **_DEFAULTS[spec["type"]], **spec}
    if "rms_dbfs" in out and not (isinstance(out["rms_dbfs"], (int, float))
                                  and -100 < out["rms_dbfs"] < 0):
        raise CourseError("rms_dbfs must be a level in dBFS between -100 and 0 in feature spec"
                          f" {spec!r}")
    for key in set(out) - {"type", "top_db", "rms_dbfs"}:
        if int(out[key]) != out[key] or out[key] <= 0:
            raise CourseError(f"{key} must be a positive integer in feature spec {spec!r}")
        out[key] = int(out[key])
    out |= {"rms_dbfs": float(out["rms_dbfs"])} if "rms_dbfs" in out else {}
    return {**out, "top_db": float(out["top_db"])} if "top_db" in out else out


def segment_features(segments: np.ndarray, sr: int, spec: dict[str, Any]) -> np.ndarray:
    """Features of equal-length segments, ``(n, samples)``, as float32.

    ``"mfcc"`` gives ``(n, frames, n_mfcc)`` (a sequence, for an LSTM), ``"logmel"`` ``(n, n_mels,
    frames)`` in dB (an image), ``"musicnn"`` the pretrained tagger's input
    (:func:`helpers.pretrained.musicnn_input`). The dB floor (``top_db`` below the loudest bin) is
    per segment: a segment's features do not depend on the other segments in the batch.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal((2, 66150)).astype("float32")
    >>> segment_features(x, 22050, MFCC_SPEC).shape, segment_features(x, 22050, CNN_SPEC).shape
    ((2, 130, 13), (2, 64, 130))
    """
    spec = check_spec(spec)
    segments = np.atleast_2d(np.asarray(segments, dtype=np.float32))
    if segments.ndim != 2 or segments.shape[0] == 0:
        raise CourseError("segments must have shape (n, samples) with n >= 1, got"
                          f" {segments.shape}")
    if spec["type"] == "musicnn":
        return musicnn_input(segments, sr=sr, spec=spec)
    mel = librosa.feature.melspectrogram(y=segments, sr=sr, n_fft=spec["n_fft"],
                                         hop_length=spec["hop_length"], n_mels=spec["n_mels"])
    db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)
    db = np.maximum(db, db.max(axis=(-2, -1), keepdims=True) - spec["top_db"])
    if spec["type"] == "logmel":
        return db.astype(np.float32)
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=spec["n_mfcc"])
    return np.ascontiguousarray(np.swapaxes(mfcc, 1, 2), dtype=np.float32)


def clip_segments(path: str | os.PathLike, *, sr: int = DEFAULT_SR,
                  segment_seconds: float = 3.0) -> np.ndarray:
    """Load a file (mono, at ``sr``) and cut it into back-to-back segments ``(n, samples)``; raise
    :class:`helpers.errors.AudioError` if it is missing, unreadable or shorter than a segment.

    Examples
    --------
    >>> clip_segments("data/gtzan/genres_original/jazz/jazz.00000.wav").shape  # doctest: +SKIP
    (10, 66150)
    """
    y, sr = load_audio(path, sr=sr, mono=True, max_seconds=MAX_SECONDS)
    return segment(y, sr=sr, seconds=segment_seconds, source=path)


def build_lstm(input_shape: tuple[int, int], n_classes: int, *, norm: Any = None) -> Any:
    """The classic MFCC-sequence LSTM genre classifier, compiled (notebook 07 builds it in cells).

    ``input_shape``: one sequence, e.g. ``(130, 13)``; ``norm``: an adapted
    ``keras.layers.Normalization``, then ``LSTM(64, return_sequences=True) -> LSTM(64) -> Dense(64,
    relu) -> Dropout(0.3) -> Dense(n_classes, softmax)``; Adam (1e-3), sparse categorical
    cross-entropy, accuracy.

    Examples
    --------
    >>> build_lstm((130, 13), 10).count_params()
    57802
    """
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input(shape=tuple(input_shape), name="mfcc_sequence"),
        *([norm] if norm is not None else []),
        layers.LSTM(64, return_sequences=True, name="lstm_1"), layers.LSTM(64, name="lstm_2"),
        layers.Dense(64, activation="relu", name="dense"), layers.Dropout(0.3, name="dropout"),
        layers.Dense(n_classes, activation="softmax", name="genre"),
    ], name="lstm_genre_classifier")
    # Adam: rate 1e-3
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def build_cnn(input_shape: tuple[int, int, int], n_classes: int, *, norm: Any = None) -> Any:
    """The course's spectrogram CNN, compiled (notebook 08 builds it in its cells).

    ``input_shape``: a log-mel image with a channel axis, e.g. ``(64, 130, 1)``; ``norm``: an
    adapted ``keras.layers.Normalization``, then three blocks ``Conv2D 3x3 (16, 32, 64 filters, no
    bias) -> BatchNormalization (momentum 0.9) -> ReLU -> MaxPooling2D 2x2``, ``Dropout(0.3) ->
    GlobalAveragePooling2D -> Dropout(0.3) -> Dense(n_classes, softmax)``; Adam (1e-3), sparse
    categorical cross-entropy.

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
    outputs = layers.Dense(n_classes, activation="softmax",
                           name="genre")(layers.Dropout(0.3, name="dropout2")(x))
    model = keras.Model(inputs, outputs, name="spectrogram_cnn")
    # Adam: rate 1e-3
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def model_input(X: np.ndarray, kind: str) -> np.ndarray:
    """Features as the model of ``kind`` (``"lstm"``, ``"cnn"`` or ``"transfer"``) reads them: a
    channel axis for the CNN.

    Examples
    --------
    >>> model_input(np.zeros((2, 64, 130)), "cnn").shape
    (2, 64, 130, 1)
    """
    return (np.asarray(X, dtype=np.float32)[..., None] if kind == "cnn"
            else np.asarray(X, dtype=np.float32))


def mahalanobis(x: np.ndarray, stats: dict[str, Any]) -> np.ndarray:
    """Mahalanobis distance of each row of ``x`` from ``stats`` of
    :func:`machinery.train.unsure_statistics` (lists work).

    Examples
    --------
    >>> stats = {"center": [0.0, 0.0], "scale": 4.0, "components": [[0.0, 0.0]]}
    >>> mahalanobis(np.array([[2.0, 0.0], [0.0, 6.0]]), stats)
    array([1., 3.])
    """
    x = np.atleast_2d(x) - np.asarray(stats["center"], dtype=np.float64)
    d2 = (np.sum(x ** 2, axis=1) / stats["scale"]
          - np.sum((x @ np.asarray(stats["components"]).T) ** 2, axis=1))
    return np.sqrt(np.maximum(d2, 0.0))
