"""Tests of helpers.models and the training steps of helpers.train (splits, seeded training, metadata)."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tensorflow")

from helpers.errors import CourseError  # noqa: E402
from helpers.models import build_lstm, evaluate_segments, fit_model, fit_normaliser, normalise  # noqa: E402
from helpers.train import clip_split, model_metadata, segment_split, train_lstm, train_segment_model  # noqa: E402


def test_build_lstm_is_the_classic_architecture():
    model = build_lstm((130, 13), 10)
    kinds = [(type(layer).__name__, getattr(layer, "units", None)) for layer in model.layers]
    assert kinds == [("LSTM", 64), ("LSTM", 64), ("Dense", 64), ("Dropout", None), ("Dense", 10)]
    assert model.layers[0].return_sequences and not model.layers[1].return_sequences
    assert model.layers[2].activation.__name__ == "relu" and model.layers[-1].activation.__name__ == "softmax"
    assert model.input_shape == (None, 130, 13) and model.output_shape == (None, 10)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert model.loss == "sparse_categorical_crossentropy"
    assert [type(layer).__name__ for layer in build_lstm((5, 2), 3, dropout=0).layers].count("Dropout") == 0


def test_normaliser_known_answer():
    X = np.zeros((2, 3, 2), dtype=np.float32)
    X[0, :, 0], X[1, :, 0] = 1.0, 3.0  # coefficient 0: mean 2, std 1
    X[:, :, 1] = 5.0  # coefficient 1: constant, std replaced by 1
    mean, std = fit_normaliser(X)
    assert mean.tolist() == [2.0, 5.0] and std.tolist() == [1.0, 1.0]
    Z = normalise(X, mean.tolist(), std.tolist())
    assert Z.dtype == np.float32 and Z[0, 0].tolist() == [-1.0, 0.0] and Z[1, 2].tolist() == [1.0, 0.0]


def test_evaluate_segments_votes_per_clip():
    # clip a: segment votes 0, 1, 1 (majority says 1) but mean probability says 0
    proba = np.array([[0.95, 0.05], [0.45, 0.55], [0.45, 0.55], [0.2, 0.8], [0.3, 0.7]])
    y = np.array([0, 0, 0, 1, 1])
    out = evaluate_segments(None, None, y, ["a", "a", "a", "b", "b"], proba=proba)
    assert out["segment_accuracy"] == pytest.approx(3 / 5)
    assert out["clip_accuracy_majority"] == pytest.approx(1 / 2)
    assert out["clip_accuracy_mean"] == pytest.approx(1.0)
    assert out["n_clips"] == 2 and out["clip_pred"].tolist() == [0, 1]


def _toy(n_clips=12, per_clip=4, frames=10, seed=0):
    """Two classes of short sequences that differ in their first feature's mean."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n_clips) % 2
    X = rng.standard_normal((n_clips * per_clip, frames, 3)).astype(np.float32)
    y = np.repeat(labels, per_clip)
    X[:, :, 0] += np.where(y == 1, 2.0, -2.0)[:, None]
    cid = np.repeat([f"c{i:02d}" for i in range(n_clips)], per_clip)
    ds = {"X": X, "y": y, "clip_id": cid, "genres": np.array(["blues", "rock"]), "spec": {"type": "mfcc"},
          "sample_rate": 22050, "segment_seconds": 3.0}
    return ds


def test_fit_model_early_stopping_stops_when_validation_loss_stalls():
    import keras

    ds = _toy()
    model = build_lstm((10, 3), 2, units=4, dense_units=4, learning_rate=0.0)  # never improves
    model.optimizer = keras.optimizers.SGD(learning_rate=0.0)
    model.compile(optimizer=model.optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = fit_model(model, ds["X"], ds["y"], ds["X"][:8], ds["y"][:8], epochs=20, patience=2)
    assert len(hist["loss"]) == 3 and hist["best_epoch"] == [1]
    assert set(hist) >= {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_clip_split_keeps_clips_whole_and_uses_the_partition_only_when_it_covers_every_genre():
    ds = _toy()
    parts, text = clip_split(ds, None, seed=1)
    assert text.startswith("random split by clip")
    sets = {k: set(ds["clip_id"][v]) for k, v in parts.items()}
    assert not (sets["train"] & sets["test"] or sets["train"] & sets["val"] or sets["val"] & sets["test"])
    assert sum(len(v) for v in parts.values()) == len(ds["y"])
    # a partition covering both genres in all three parts is used; clips it excludes are left out
    split = ["train"] * 6 + ["valid"] * 2 + ["test"] * 2 + ["excluded"] * 2
    clips = pd.DataFrame({"clip_id": [f"c{i:02d}" for i in range(12)], "split": split})
    parts, text = clip_split(ds, clips)
    assert text.startswith("fault-filtered") and "6/2/2 clips, 2 excluded" in text
    assert set(ds["clip_id"][parts["test"]]) == {"c08", "c09"}
    # a lopsided partition (no genre-1 clip in test) is not used
    clips["split"] = ["train"] * 6 + ["valid"] * 2 + ["test", "excluded", "test", "excluded"]  # test: c08, c10
    _, text = clip_split(ds, clips)
    assert text.startswith("random split by clip")


def test_segment_split_leaks_clips_across_parts():
    ds = _toy()
    parts, text = segment_split(ds, seed=0)
    shared = set(ds["clip_id"][parts["train"]]) & set(ds["clip_id"][parts["test"]])
    assert shared and f"{len(shared)} of" in text
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(len(ds["y"])))


def test_seeded_training_is_reproducible_and_learns_the_toy_problem():
    ds = _toy()
    parts, text = clip_split(ds, None, seed=0)
    small = lambda shape, n: build_lstm(shape, n, units=8, dense_units=8, learning_rate=1e-2)  # noqa: E731
    a = train_segment_model(small, ds, parts, split=text, epochs=8, seed=3)
    b = train_segment_model(small, ds, parts, split=text, epochs=8, seed=3)
    assert a.history == b.history
    np.testing.assert_array_equal(a.test["proba"], b.test["proba"])
    assert a.test["clip_accuracy_mean"] == 1.0  # classes differ by 4 standard deviations
    meta = model_metadata("lstm", ds, a)
    assert meta["genres"] == ["blues", "rock"] and meta["input_ndim"] == 3
    assert np.asarray(meta["norm_mean"]).shape == (3,)
    with pytest.raises(CourseError, match="expects MFCC"):
        train_lstm({**ds, "spec": {"type": "logmel"}}, parts)
