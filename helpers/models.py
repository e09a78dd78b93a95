"""Keras models for segment features, and the pieces of training them.

* :func:`build_lstm` - the classic MFCC-sequence LSTM genre classifier;
* :func:`fit_normaliser` / :func:`normalise` - per-feature standardisation
  learnt on the training part only;
* :func:`fit_model` - ``model.fit`` with early stopping on validation loss;
* :func:`evaluate_segments` - accuracy per segment and per clip (majority
  vote and mean probability, via :func:`helpers.splits.vote`).

TensorFlow is imported inside the functions, so importing this module is cheap.
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from .splits import clip_level

__all__ = ["build_lstm", "fit_normaliser", "normalise", "fit_model", "predict_proba", "evaluate_segments"]

logger = logging.getLogger(__name__)


def build_lstm(
    input_shape: tuple[int, int],
    n_classes: int,
    *,
    units: int = 64,
    dense_units: int = 64,
    dropout: float = 0.3,
    learning_rate: float = 1e-3,
) -> Any:
    """The classic LSTM genre classifier on MFCC sequences, compiled.

    ``LSTM(64, return_sequences=True) -> LSTM(64) -> Dense(64, relu) ->
    Dropout(0.3) -> Dense(n_classes, softmax)``, Adam (learning rate 1e-3),
    sparse categorical cross-entropy, accuracy metric - as in Velardo's
    "Deep Learning for Audio with Python" LSTM genre classifier.

    Parameters
    ----------
    input_shape : (frames, n_features)
        One sequence, e.g. ``(130, 13)`` for 3 s of 13 MFCCs.
    n_classes : int
        Number of genres.
    units, dense_units : int
        Sizes of the LSTM layers and of the dense layer.
    dropout : float
        Dropout rate after the dense layer (0 for none).
    learning_rate : float
        Adam's learning rate.

    Returns
    -------
    keras.Model
    """
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=tuple(input_shape), name="mfcc_sequence"),
            layers.LSTM(units, return_sequences=True, name="lstm_1"),
            layers.LSTM(units, name="lstm_2"),
            layers.Dense(dense_units, activation="relu", name="dense"),
            *([layers.Dropout(dropout, name="dropout")] if dropout else []),
            layers.Dense(n_classes, activation="softmax", name="genre"),
        ],
        name="lstm_genre_classifier",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def fit_normaliser(X: np.ndarray, *, axis: int | Sequence[int] = (0, 1)) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation for standardising features, from training data.

    Parameters
    ----------
    X : numpy.ndarray
        Training features, e.g. ``(n, frames, n_mfcc)``.
    axis : int or tuple of int
        Axes averaged over; the default ``(0, 1)`` gives one mean and std per
        MFCC coefficient (over segments and frames).

    Returns
    -------
    mean, std : numpy.ndarray
        float32, with the reduced axes dropped (``(n_mfcc,)`` by default) so
        they broadcast against features of any number of segments and frames;
        a zero std is replaced by 1.

    Examples
    --------
    >>> X = np.stack([np.ones((4, 2)), 3 * np.ones((4, 2))])
    >>> mean, std = fit_normaliser(X)
    >>> mean.tolist(), std.tolist()
    ([2.0, 2.0], [1.0, 1.0])
    """
    mean = np.mean(X, axis=axis, dtype=np.float64)
    std = np.std(X, axis=axis, dtype=np.float64)
    std = np.where(std > 0, std, 1.0)
    return mean.astype(np.float32), std.astype(np.float32)


def normalise(X: np.ndarray, mean: Any, std: Any) -> np.ndarray:
    """``(X - mean) / std`` as float32 (``mean``/``std`` may be nested lists from metadata)."""
    return ((np.asarray(X, dtype=np.float32) - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)).astype(
        np.float32
    )


def fit_model(
    model: Any,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    epochs: int = 30,
    batch_size: int = 32,
    patience: int = 5,
    verbose: int = 0,
) -> dict[str, list[float]]:
    """Train with early stopping on validation loss (the best epoch's weights are kept).

    Parameters
    ----------
    model : keras.Model
        A compiled model.
    X_train, y_train, X_val, y_val : numpy.ndarray
        Training and validation features and integer labels.
    epochs : int
        Maximum number of epochs.
    batch_size : int
        Mini-batch size.
    patience : int
        Stop after this many epochs without a lower validation loss.
    verbose : int
        Keras' verbosity (0: silent, for reproducible notebook output).

    Returns
    -------
    dict
        The Keras history (``loss``, ``accuracy``, ``val_loss``,
        ``val_accuracy`` per epoch) plus ``best_epoch`` (1-based) as a
        one-element list.
    """
    import keras
    import tensorflow as tf

    # Feed tf.data pipelines built here: Keras' own adapter for numpy arrays uses a
    # parallel map whose graph makes TensorFlow 2.21 log a harmless error line to stderr.
    seed = int(np.random.randint(0, 2**31 - 1))  # drawn from NumPy's seeded generator
    train = (
        tf.data.Dataset.from_tensor_slices((np.asarray(X_train, np.float32), np.asarray(y_train)))
        .shuffle(len(X_train), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
    )
    val = tf.data.Dataset.from_tensor_slices((np.asarray(X_val, np.float32), np.asarray(y_val))).batch(batch_size)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    hist = model.fit(train, validation_data=val, epochs=epochs, callbacks=[stop], verbose=verbose, shuffle=False)
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    history["best_epoch"] = [int(np.argmin(history["val_loss"])) + 1]
    return history


def predict_proba(model: Any, X: np.ndarray, *, batch_size: int = 64) -> np.ndarray:
    """Class probabilities for every row of ``X`` (float64), computed batch by batch.

    Uses ``model.predict_on_batch`` (a compiled function, no progress output)
    rather than ``model.predict``, whose tf.data pipeline makes TensorFlow 2.21
    log a harmless error line to stderr. Every batch is padded to
    ``batch_size`` rows, so the compiled function sees one input shape and is
    traced once per model (TensorFlow warns about repeated retracing).
    """
    X = np.asarray(X, dtype=np.float32)
    if len(X) == 0:
        raise ValueError("predict_proba needs at least one row")
    out = []
    for i in range(0, len(X), batch_size):
        chunk = X[i : i + batch_size]
        n = len(chunk)
        if n < batch_size:
            chunk = np.concatenate([chunk, np.zeros((batch_size - n, *X.shape[1:]), dtype=np.float32)])
        out.append(np.asarray(model.predict_on_batch(chunk), dtype=np.float64)[:n])
    return np.concatenate(out)


def evaluate_segments(
    model: Any, X: np.ndarray, y: np.ndarray, clip_id: Sequence, *, proba: np.ndarray | None = None
) -> dict[str, Any]:
    """Accuracy per segment and per clip.

    Parameters
    ----------
    model : keras.Model
        Trained model (unused when ``proba`` is given).
    X, y : numpy.ndarray
        Features and integer labels of the segments.
    clip_id : sequence
        Clip of every segment.
    proba : numpy.ndarray, optional
        Precomputed probabilities.

    Returns
    -------
    dict
        ``segment_accuracy``, ``clip_accuracy_majority``, ``clip_accuracy_mean``
        (floats), ``n_segments``, ``n_clips``, and arrays ``proba``,
        ``clip_true``, ``clip_pred`` (mean-probability vote) for confusion matrices.
    """
    if proba is None:
        proba = predict_proba(model, X)
    y = np.asarray(y)
    seg_acc = float(np.mean(proba.argmax(axis=1) == y))
    true_m, pred_m = clip_level(proba, y, clip_id, method="majority")
    true_p, pred_p = clip_level(proba, y, clip_id, method="mean")
    return {
        "segment_accuracy": seg_acc,
        "clip_accuracy_majority": float(np.mean(true_m == pred_m)),
        "clip_accuracy_mean": float(np.mean(true_p == pred_p)),
        "n_segments": int(len(y)),
        "n_clips": int(len(true_p)),
        "proba": proba,
        "clip_true": true_p,
        "clip_pred": pred_p,
    }
