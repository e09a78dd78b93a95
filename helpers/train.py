"""Train a genre classifier on 3 s GTZAN segments: the one pipeline behind ``python -m helpers.train``.

``python -m helpers.train lstm|cnn|transfer --out FILE.keras [--data-dir DIR] [--epochs N] [--seed S]`` trains on every
GTZAN clip in the data directory, prints the held-out accuracy and writes one ``.keras`` file for
:mod:`helpers.predict`. Every kind runs :func:`segment_dataset`, the 60/15/25 clip split, :func:`fit_model`
(``Normalization`` adapted on the training segments inside the model, ``EarlyStopping``), :func:`evaluate`
and :func:`helpers.modelio.save_model`. Notebooks 07 and 08 write these steps in their own cells. ``transfer``
fits a logistic regression on the embeddings of musicnn's pretrained tagger (:mod:`helpers.pretrained`,
notebook 09) of 2.992 s patches at 16 kHz, each scaled to -20 dBFS, with copies of each training clip changed as
a learner's recordings differ (noise, band limit, pitch, tempo: :data:`AUGMENTATIONS`, issue 29), and saves
tagger + regression (as Keras layers) as one model, with the statistics that :func:`helpers.predict.is_unsure` needs.
Exit status: 0 when fine, 1 when training failed (e.g. no data), 2 for usage errors, 130 on Ctrl-C.
"""
from __future__ import annotations

if __name__ == "__main__":  # first: Ctrl-C while the imports below load is one line
    __import__("helpers.errors").errors.on_interrupt("interrupted; nothing was written")

import argparse
import hashlib
import io
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from .audio import DEFAULT_SR, augment, load_audio, segment
from .config import cache_dir, file_digest, import_tensorflow, seed_everything, stop_with_parent, write_atomic
from .datasets import GTZAN_GENRES, gtzan_clips
from .errors import AudioError, CourseError, on_interrupt
from .evaluation import clip_level, group_train_val_test_split, require_classes
from .modelio import save_model
from .pretrained import MUSICNN_SPEC, PATCH_SECONDS, SAMPLE_RATE, embedding_model, load_tagger, log_mel

__all__ = ["MFCC_SPEC", "LOGMEL_SPEC", "CNN_SPEC", "BASELINE_SPEC", "TRANSFER_SPEC", "check_spec", "segment_features", "clip_segments",
           "segment_dataset", "AUGMENTATIONS", "add_augmented_copies", "unsure_statistics", "mahalanobis", "build_lstm", "build_cnn", "fit_model", "evaluate", "main"]

logger = logging.getLogger(__name__)

#: MFCC sequences, ``(frames, 13)`` per segment, for the LSTM (notebook 07).
MFCC_SPEC: dict[str, Any] = {"type": "mfcc", "n_mfcc": 13, "n_fft": 2048, "hop_length": 512}
#: Log-mel spectrograms in dB, ``(128, frames)`` per segment.
LOGMEL_SPEC: dict[str, Any] = {"type": "logmel", "n_mels": 128, "n_fft": 2048, "hop_length": 512}
#: The log-mel spec of the course's spectrogram CNN (notebook 08): 3 s segments -> 64 x 130.
CNN_SPEC: dict[str, Any] = {"type": "logmel", "n_mels": 64, "n_fft": 2048, "hop_length": 512}
#: The baseline of notebooks 07-09: an RBF SVM on the means and standard deviations of these 20 MFCCs.
BASELINE_SPEC: dict[str, Any] = {"type": "mfcc", "n_mfcc": 20, "n_fft": 2048, "hop_length": 512}
#: The transfer model's input: the tagger's log-mel of each patch scaled to an RMS of -20 dBFS (issue 29: the
#: level of a recording says nothing about its genre). A model whose spec lacks ``rms_dbfs`` saw the raw level.
TRANSFER_SPEC: dict[str, Any] = {**MUSICNN_SPEC, "rms_dbfs": -20.0}

#: The split every model kind uses: fractions of each genre's clips for validation and test (60/15/25).
VAL_SIZE, TEST_SIZE = 0.15, 0.25
DEFAULT_EPOCHS, DEFAULT_SEED = 40, 42

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
    in dB (an image), ``"musicnn"`` the pretrained tagger's input (:func:`helpers.pretrained.log_mel`). The
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
        return log_mel(segments, sr=sr, spec=spec)
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
    y, sr = load_audio(path, sr=sr, mono=True)
    return segment(y, sr=sr, seconds=segment_seconds, source=path)


def _clip_features(path: str, sr: int, seconds: float, spec: dict, parent: int | None = None,
                   change: tuple | None = None) -> np.ndarray | str:
    """Features of one clip (changed by :func:`helpers.audio.augment` with ``change = (kind, amount, seed)``), or
    why it cannot be used (for the parallel workers, which watch ``parent``)."""
    if parent is not None:
        stop_with_parent(parent)
    try:
        y, sr = load_audio(path, sr=sr, mono=True)
        y = y if change is None else augment(y, sr=sr, kind=change[0], amount=change[1], seed=change[2])
        return segment_features(segment(y, sr=sr, seconds=seconds, source=path), sr, spec)
    except AudioError as exc:
        return str(exc)


def _content_key(clips: pd.DataFrame, settings: list) -> str:
    """A digest of the settings and of every clip's id, genre and file bytes (a changed clip changes it)."""
    digest = hashlib.sha1(json.dumps(settings).encode())
    for clip_id, genre, path in clips[["clip_id", "genre", "path"]].itertuples(index=False):
        try:
            content = file_digest(path)
        except OSError:
            content = "unreadable"
        digest.update(f"{clip_id}\0{genre}\0{content}".encode())
    return digest.hexdigest()[:16]


def segment_dataset(clips: pd.DataFrame, spec: dict[str, Any], *, sr: int = DEFAULT_SR, segment_seconds: float = 3.0,
                    cache: bool = True, n_jobs: int | None = None, progress: bool = False) -> dict[str, Any]:
    """Cut every clip into segments and compute their features (cached, keyed by the clips' content).

    ``clips`` has columns ``clip_id``, ``genre``, ``path`` (:func:`helpers.datasets.gtzan_clips`), and optionally
    ``augment``: ``(kind, amount, seed)`` for each clip, changed by :func:`helpers.audio.augment`; a clip
    shorter than one segment is skipped. The cache, ``build/cache/features/segments_<key>.npz``, is reused
    when its key (settings, clip ids, genres and file contents) matches; a missing or unreadable one is
    rebuilt and written atomically. ``n_jobs``: joblib workers (default 1 below 200 clips, else 2).

    Returns a dict: ``X`` (float32, one row per segment), ``y`` (int64), ``genres``, ``clip_id``, ``spec``,
    ``sample_rate``, ``segment_seconds`` and ``skipped``: one line per clip left out, naming its file and why
    (the same lines as :func:`helpers.features.extract_features`' failures), the files that
    ``clips.attrs["unreadable"]`` lists (:func:`helpers.datasets.gtzan_clips`) first.

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
    try:
        path = cache_dir("features") / f"segments_{key}.npz" if cache else None
    except OSError as exc:  # the cache folder is a file, or cannot be made: compute without it
        logger.warning("the cache folder cannot be used (%s); computing the features without it", exc)
        path = None
    if path and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                ds = {**{k: z[k] for k in ("X", "y", "genres", "clip_id")}, **json.loads(str(z["meta"]))}
            return ds | {"skipped": listed + ds["skipped"]}
        except Exception as exc:  # noqa: BLE001 - zip, zlib, JSON or NumPy: any damage means rebuild, never stop
            logger.warning("%s: unreadable cache (%s); rebuilding it", path, exc)
    found = set(clips["genre"])
    genres = [g for g in GTZAN_GENRES if g in found] + sorted(found - set(GTZAN_GENRES))
    rows = list(clips[["clip_id", "genre", "path"]].itertuples(index=False, name=None))
    n_jobs = n_jobs or (1 if len(rows) < 200 else 2)
    # with workers, the first clip runs here first, as in extract_features: numba compiles and caches librosa's
    # code once (workers compiling it at the same time on a fresh install can crash: numba/numba#10128)
    results = [_clip_features(str(rows[0][2]), sr, segment_seconds, spec, None, changes[0])] if n_jobs != 1 and rows else []
    results += Parallel(n_jobs=n_jobs, verbose=5 if progress else 0)(
        delayed(_clip_features)(str(p), sr, segment_seconds, spec, os.getpid() if n_jobs != 1 else None, c)
        for (_, _, p), c in zip(rows[len(results):], changes[len(results):]))
    kept = [(c, g, r) for (c, g, _), r in zip(rows, results) if not isinstance(r, str)]
    meta["skipped"] = [r for r in results if isinstance(r, str)]
    if not kept:
        raise CourseError(f"none of the {len(rows)} clips gave a {segment_seconds:g} s segment: "
                          f"{'; '.join(listed + meta['skipped'])}")
    ds = {"X": np.concatenate([r for _, _, r in kept]).astype(np.float32),
          "y": np.concatenate([np.full(len(r), genres.index(g), dtype=np.int64) for _, g, r in kept]),
          "genres": np.array(genres, dtype=str),
          "clip_id": np.concatenate([np.full(len(r), c, dtype=object) for c, _, r in kept]).astype(str), **meta}
    if path:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, meta=np.array(json.dumps(meta)), **{k: ds[k] for k in ("X", "y", "genres", "clip_id")})
        try:
            write_atomic(path, buffer.getvalue())
        except OSError as exc:  # read-only or full: the features computed are used all the same
            logger.warning("%s: cannot write the cache (%s); going on without it", path, exc.strerror or exc)
    return ds | {"skipped": listed + meta["skipped"]}


#: The training copies of ``python -m helpers.train transfer`` (issue 29): one per kind for each training clip, its
#: amount drawn uniformly from the range (a pitch shift up or down): the ways a learner's recordings differ from GTZAN.
AUGMENTATIONS = {"noise": (0.0, 20.0), "band": (6000.0, 12000.0), "pitch": (0.5, 2.5), "tempo": (0.85, 1.15)}
AUGMENTED = ("copies of each training clip with white noise (0-20 dB SNR), a band limit (resampled to 6-12 kHz), "
             "a pitch shift (0.5-2.5 semitones up or down) and a tempo change (0.85-1.15 times)")


def add_augmented_copies(ds: dict[str, Any], clips: pd.DataFrame, parts: dict[str, np.ndarray], *, seed: int,
                         kinds: tuple[str, ...] = tuple(AUGMENTATIONS)) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Add a changed copy of every training clip for each of ``kinds`` (the transfer model's augmentation, issue 29).

    ``ds``: :func:`segment_dataset` of ``clips``; ``parts``: its rows' ``train`` and ``val`` indices. Each clip
    of ``parts["train"]`` (never a validation or test clip) gets, per kind, an amount drawn from
    :data:`AUGMENTATIONS` with ``seed`` (white noise at 0-20 dB SNR, a band limit of 6-12 kHz resampling, a pitch
    shift of 0.5-2.5 semitones up or down, 0.85-1.15 times the tempo: :func:`helpers.audio.augment`); its features
    are computed as ``ds``'s. Returns ``(X, y, parts)``: ``ds``'s rows, then the copies' rows (``parts["augmented"]``).

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


#: Model kinds: (feature spec, builder, sample rate, segment seconds). ``transfer``: logistic regression on musicnn's
#: embeddings (:func:`fit_model`), no network to build.
KINDS = {"lstm": (MFCC_SPEC, build_lstm, DEFAULT_SR, 3.0), "cnn": (CNN_SPEC, build_cnn, DEFAULT_SR, 3.0),
         "transfer": (TRANSFER_SPEC, None, SAMPLE_RATE, PATCH_SECONDS)}


def model_input(X: np.ndarray, kind: str) -> np.ndarray:
    """Features as the model of ``kind`` (a key of ``KINDS``: features, builder) reads them: a channel axis for the CNN.

    Examples
    --------
    >>> model_input(np.zeros((2, 64, 130)), "cnn").shape
    (2, 64, 130, 1)
    """
    return np.asarray(X, dtype=np.float32)[..., None] if kind == "cnn" else np.asarray(X, dtype=np.float32)


def fit_model(kind: str, X: np.ndarray, y: np.ndarray, parts: dict[str, np.ndarray], *, epochs: int = DEFAULT_EPOCHS,
              seed: int = DEFAULT_SEED, patience: int = 5, batch_size: int = 32,
              data_root: str | os.PathLike | None = None, groups: np.ndarray | None = None) -> tuple[Any, dict[str, list]]:
    """Build the model of ``kind`` with a Normalization layer adapted on the training rows, and fit it.

    ``Normalization(axis=-1)`` learns a mean and variance per MFCC (one for the CNN's channel) from
    ``X[parts["train"]]`` only; ``fit`` stops after ``patience`` epochs without a lower validation loss
    and keeps the best epoch's weights. ``transfer`` instead fits notebook 09's ``StandardScaler`` +
    ``LogisticRegression(C=0.1)`` on the frozen tagger's embeddings (weights from ``data_root``, default the
    data directory) of the training, validation and ``parts["augmented"]`` rows (:func:`add_augmented_copies`), and
    returns tagger + those two as Keras layers; given ``groups`` (the clip of every row), ``history["unsure"]``
    holds :func:`unsure_statistics` of the training and validation clips, with which :mod:`helpers.predict`
    tells when a recording is unlike them. Returns ``(model, history)``: per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, and
    ``best_epoch`` (1-based, one item).

    Examples
    --------
    >>> model, history = fit_model("lstm", np.zeros((12, 130, 13)), np.arange(12) % 2, {"train": np.arange(8),
    ...                            "val": np.arange(8, 12)}, epochs=1)
    >>> history["best_epoch"]
    [1]
    """
    import keras

    import_tensorflow()  # before seeding: seed_everything then also makes TensorFlow deterministic
    seed_everything(seed)
    X, y = model_input(X, kind), np.asarray(y)
    if kind == "transfer":
        return _fit_transfer(X, y, parts, data_root, groups)
    norm = keras.layers.Normalization(axis=-1, name="normalise")
    norm.adapt(X[parts["train"]])
    model = KINDS[kind][1](X.shape[1:], int(y.max()) + 1, norm=norm)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    hist = model.fit(X[parts["train"]], y[parts["train"]], validation_data=(X[parts["val"]], y[parts["val"]]),
                     epochs=epochs, batch_size=batch_size, callbacks=[stop], verbose=0)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    history["best_epoch"] = [int(np.argmin(history["val_loss"])) + 1]
    return model, history


def unsure_statistics(Z: np.ndarray, groups: np.ndarray, *, quantile: float = 0.95, folds: int = 5,
                      seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """How far from the training clips a recording may lie: a shrunk Gaussian of clips' mean embeddings.

    ``Z``: standardised embeddings, one row per patch; ``groups``: each row's clip. The clips' mean rows get a
    mean and a Ledoit-Wolf covariance (``sklearn.covariance.LedoitWolf``: ``s * mu * I + (1 - s) * S``), kept as
    ``center``, ``scale`` (``s * mu``) and ``components``, rows ``v_i * sqrt(l_i / (a (a + l_i)))`` for each
    eigenvector ``v_i`` of ``(1 - s) * S`` with eigenvalue ``l_i``, so that the squared Mahalanobis distance of
    ``x`` is ``|x - center|^2 / scale - |components @ (x - center)|^2``. ``threshold``: the ``quantile`` of the
    distances of clips held out of the fit (``folds``-fold cross-validation by clip), so that about
    ``1 - quantile`` of clips like the training clips lie beyond it; ``false_alarms``: that share, measured.

    Examples
    --------
    >>> Z = np.random.default_rng(0).standard_normal((40, 8))
    >>> stats = unsure_statistics(Z, np.arange(40) // 2)
    >>> np.shape(stats["components"])[1], stats["quantile"], stats["clips"]
    (8, 0.95, 20)
    """
    from sklearn.covariance import LedoitWolf
    from sklearn.model_selection import KFold

    ids, groups = np.unique(groups, return_inverse=True)
    M = np.stack([np.mean(Z[groups == i], axis=0) for i in range(len(ids))]).astype(np.float64)

    def fit(A: np.ndarray) -> dict[str, Any]:
        lw = LedoitWolf().fit(A)
        _, sv, vt = np.linalg.svd(A - A.mean(axis=0), full_matrices=False)
        s, lam = lw.shrinkage_, (1 - lw.shrinkage_) * sv ** 2 / len(A)
        a = s * np.sum(sv ** 2) / len(A) / A.shape[1]
        return {"center": A.mean(axis=0), "scale": float(a), "components": vt * np.sqrt(lam / (a * (a + lam)))[:, None]}

    held = np.zeros(len(M))
    for rest, out in KFold(min(folds, len(M)), shuffle=True, random_state=seed).split(M):
        held[out] = mahalanobis(M[out], fit(M[rest]))
    threshold = float(np.quantile(held, quantile))
    return {**fit(M), "threshold": threshold, "quantile": quantile, "clips": len(M),
            "false_alarms": float(np.mean(held > threshold))}


def mahalanobis(x: np.ndarray, stats: dict[str, Any]) -> np.ndarray:
    """Mahalanobis distance of each row of ``x`` from :func:`unsure_statistics`' ``stats`` (metadata lists work).

    Examples
    --------
    >>> stats = {"center": [0.0, 0.0], "scale": 4.0, "components": [[0.0, 0.0]]}
    >>> mahalanobis(np.array([[2.0, 0.0], [0.0, 6.0]]), stats)
    array([1., 3.])
    """
    x = np.atleast_2d(x) - np.asarray(stats["center"], dtype=np.float64)
    d2 = np.sum(x ** 2, axis=1) / stats["scale"] - np.sum((x @ np.asarray(stats["components"]).T) ** 2, axis=1)
    return np.sqrt(np.maximum(d2, 0.0))


def _fit_transfer(X: np.ndarray, y: np.ndarray, parts: dict[str, np.ndarray], data_root: Any,
                  groups: np.ndarray | None) -> tuple[Any, dict]:
    """Notebook 09's embeddings + logistic regression as one Keras model: the fitted scaler and classifier are
    copied into a ``Normalization`` and a softmax ``Dense`` layer on the frozen tagger's embeddings."""
    import keras
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    base = embedding_model(load_tagger(root=data_root))
    rows = np.concatenate([parts["train"], parts["val"], parts.get("augmented", [])]).astype(int)  # the validation clips train too
    if missing := sorted(set(range(n := int(y.max()) + 1)) - set(y[rows].tolist())):
        raise CourseError(f"the training clips lack genre(s) {missing}")
    embeddings = base.predict(X[rows], batch_size=64, verbose=0)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000)).fit(embeddings, y[rows])
    scaler, clf = pipe
    coef, bias = clf.coef_, clf.intercept_
    if n == 2:  # a binary regression has one weight row: softmax over (-z/2, z/2) gives its sigmoid
        coef, bias = np.vstack([-coef, coef]) / 2, np.r_[-bias, bias] / 2
    norm = keras.layers.Normalization(axis=-1, mean=scaler.mean_, variance=scaler.var_, name="normalise")
    head = keras.layers.Dense(n, activation="softmax", name="genre")
    model = keras.Model(base.input, head(norm(base.output)), name="msd_vgg_transfer")
    head.set_weights([coef.T.astype(np.float32), bias.astype(np.float32)])
    proba = pipe.predict_proba(embeddings)  # what the model gives (tests/test_cli.py), without a second pass
    loss, acc = log_loss(y[rows], proba, labels=range(n)), accuracy_score(y[rows], proba.argmax(axis=1))
    history = {"loss": [loss], "accuracy": [acc], "val_loss": [loss], "val_accuracy": [acc], "best_epoch": [1]}
    if groups is not None:  # the clean clips only: a noisy copy is not what the model should call familiar
        clean = len(parts["train"]) + len(parts["val"])
        stats = unsure_statistics(scaler.transform(embeddings[:clean]), np.asarray(groups)[rows[:clean]])
        history["unsure"] = [{**stats, "min_top_probability": min(0.5, 2 / n)}]
    return model, history


def evaluate(model: Any, X: np.ndarray, y: np.ndarray, clip_id: np.ndarray) -> dict[str, Any]:
    """Test accuracy per segment and per clip (majority vote and mean probability): a dict of
    ``segment_accuracy``, ``clip_accuracy_majority``, ``clip_accuracy_mean``, ``n_segments``,
    ``n_clips``, and ``proba``, ``clip_true``, ``clip_pred`` (mean-probability vote).

    Examples
    --------
    >>> class Fixed:  # any object with a Keras-style predict
    ...     def predict(self, X, verbose=0): return np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    >>> evaluate(Fixed(), np.zeros((3, 1)), [0, 0, 1], ["a", "a", "b"])["clip_accuracy_mean"]
    0.5
    """
    proba, y = np.asarray(model.predict(X, verbose=0), dtype=np.float64), np.asarray(y)
    true_m, pred_m = clip_level(proba, y, clip_id, method="majority")
    true_p, pred_p = clip_level(proba, y, clip_id, method="mean")
    return {"segment_accuracy": float(np.mean(proba.argmax(axis=1) == y)),
            "clip_accuracy_majority": float(np.mean(true_m == pred_m)), "clip_accuracy_mean": float(np.mean(true_p == pred_p)),
            "n_segments": int(len(y)), "n_clips": int(len(true_p)), "proba": proba, "clip_true": true_p, "clip_pred": pred_p}


def _run(args: argparse.Namespace) -> int:
    """Train one model kind on the GTZAN clips in ``args.data_dir`` and save it (the command line's work)."""
    clips = gtzan_clips(args.data_dir)
    spec, _, sr, seconds = KINDS[args.model]
    ds = segment_dataset(clips, spec, sr=sr, segment_seconds=seconds, progress=sys.stderr.isatty())
    print(f"data: {len(clips)} GTZAN clips -> {len(ds['y'])} segments of {ds['segment_seconds']:g} s, "
          f"{len(ds['genres'])} genres; skipped {len(ds['skipped'])} clip(s)")
    print("".join(f"  skipped {line}\n" for line in ds["skipped"]), end="")
    require_classes(ds["clip_id"], ds["y"], names=ds["genres"])
    tr, va, te = group_train_val_test_split(ds["clip_id"], labels=ds["y"], val_size=VAL_SIZE, test_size=TEST_SIZE, seed=args.seed)
    split = (f"random split by clip, stratified by genre, 60/15/25 (seed {args.seed}): "
             f"{len(set(ds['clip_id'][tr]))}/{len(set(ds['clip_id'][va]))}/{len(set(ds['clip_id'][te]))} clips")
    X, y, parts = (add_augmented_copies(ds, clips, {"train": tr, "val": va}, seed=args.seed) if args.model == "transfer"
                   else (ds["X"], ds["y"], {"train": tr, "val": va}))
    model, history = fit_model(args.model, X, y, parts, epochs=args.epochs, seed=args.seed, data_root=args.data_dir,
                               groups=np.concatenate([ds["clip_id"], np.full(len(X) - len(ds["X"]), "")]))
    test = evaluate(model, model_input(ds["X"][te], args.model), ds["y"][te], ds["clip_id"][te])
    path = save_model(model, args.out, {
        "kind": args.model, "genres": [str(g) for g in ds["genres"]], "sample_rate": ds["sample_rate"],
        "segment_seconds": ds["segment_seconds"], "feature_spec": ds["spec"], "split": split, "seed": args.seed,
        "epochs_run": len(history["loss"]), "best_epoch": history["best_epoch"][0],
        **({"unsure": history["unsure"][0]} if "unsure" in history else {}),
        **({"augmentation": AUGMENTED} if "augmented" in parts else {}),
        "test_metrics": {k: v for k, v in test.items() if not isinstance(v, np.ndarray)}})
    fit = ("fit: logistic regression on the pretrained tagger's embeddings (training + validation clips, and "
           f"{AUGMENTED}: {len(set(ds['clip_id'][tr]))} clips)"
           if args.model == "transfer" else f"epochs run: {len(history['loss'])} (best by validation loss: {history['best_epoch'][0]})")
    print(f"split: {split}\n{fit}\n"
          f"test segments: {test['n_segments']}, test clips: {test['n_clips']}\n"
          f"test accuracy per segment: {test['segment_accuracy']:.3f}\n"
          f"test accuracy per clip (majority vote): {test['clip_accuracy_majority']:.3f}\n"
          f"held-out clip-level accuracy (mean probability): {test['clip_accuracy_mean']:.3f}\nmodel written to {path}")
    return 0


def _unwritable(path: Path) -> str | None:
    """Why a model cannot be written at ``path`` (a folder, under a file, not writable), or None."""
    if path.is_dir():
        return "is a folder; name a .keras file"
    parent = next(p for p in path.parents if p.exists())  # the nearest folder (or file) that exists
    if not parent.is_dir():
        return f"{parent} is a file, not a folder"
    return None if os.access(parent, os.W_OK | os.X_OK) else f"the folder {parent} is not writable"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring).

    Examples
    --------
    >>> main(["lstm", "--out", "build/models/lstm.keras", "--epochs", "30"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(prog="python -m helpers.train", description="Train a genre classifier on the "
                                     "GTZAN clips in the data directory and save it as one .keras file.")
    sub = parser.add_subparsers(dest="model", required=True, metavar="{lstm,cnn,transfer}")
    for name, text in (("lstm", "LSTM on 3 s MFCC sequences (notebook 07)"), ("cnn", "CNN on 3 s log-mel images (notebook 08)"),
                       ("transfer", "logistic regression on the pretrained musicnn tagger's embeddings (notebook 09); "
                                    "--epochs does not apply")):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--out", required=True, type=Path, help="model file to write (.keras)")
        p.add_argument("--data-dir", type=Path, default=None, help="data directory (default: $COURSE_DATA_DIR or <repo>/data)")
        p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help=f"maximum epochs, early stopping on validation loss (default {DEFAULT_EPOCHS})")
        p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    # checked before any work, so that a bad option does not waste a training run
    for bad, message in ((args.out.suffix != ".keras", f"--out must name a .keras file, got {args.out}"),
                         (args.epochs < 1, f"--epochs must be at least 1, got {args.epochs}"),
                         (args.data_dir is not None and not args.data_dir.is_dir(), f"--data-dir {args.data_dir} is not a folder"),
                         (_unwritable(args.out), f"--out {args.out}: {_unwritable(args.out)}")):
        if bad:
            parser.error(message)
    existed = args.out.exists()
    import_tensorflow()  # without its start-up log lines, so an error is the only line on stderr
    try:
        on_interrupt(None)  # from here Ctrl-C is a KeyboardInterrupt: save_model removes its partial file
        return _run(args)
    except KeyboardInterrupt:
        print("interrupted; " + ("the previous model is unchanged" if existed else "nothing was written"), file=sys.stderr)
        return 130
    except (CourseError, ValueError) as exc:  # ValueError: e.g. from Keras, for data it cannot use
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
