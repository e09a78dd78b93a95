"""Tests of helpers.cnn: model shapes, one training run lowers the loss, PNG recipe, save/load."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from helpers import cnn  # noqa: E402
from helpers.config import seed_everything  # noqa: E402

from .conftest import sine  # noqa: E402


def _train_losses(model, x, y, steps):
    losses = []
    for _ in range(steps):
        out = model.train_on_batch(x, y)
        losses.append(float(out[0] if isinstance(out, (list, tuple)) else out))
    return losses


@pytest.fixture(autouse=True)
def _seed():
    seed_everything(0)


def test_standardize_stats():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    mean, std = cnn.standardize_stats(X)
    assert mean == pytest.approx(2.5) and std == pytest.approx(np.sqrt(1.25))
    assert cnn.standardize_stats(np.ones((3, 3))) == (1.0, 1.0)  # constant input: std 1, no division by 0
    with pytest.raises(ValueError, match="empty"):
        cnn.standardize_stats(np.zeros((0, 4)))


def test_spectrogram_cnn_shapes_and_learning():
    model = cnn.build_spectrogram_cnn((16, 24, 1), 4)
    assert model.output_shape == (None, 4)
    types = {type(layer).__name__ for layer in model.layers}
    assert {"Conv2D", "BatchNormalization", "MaxPooling2D", "Dropout", "GlobalAveragePooling2D"} <= types
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 16, 24, 1)).astype(np.float32)
    y = np.arange(8) % 4
    proba = model.predict(x, verbose=0)
    assert proba.shape == (8, 4) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    losses = _train_losses(model, x, y, 30)
    assert np.mean(losses[-3:]) < 0.5 * losses[0]
    with pytest.raises(ValueError, match="input_shape"):
        cnn.build_spectrogram_cnn((16, 24), 4)


def test_image_cnn_recipe_layers_and_learning():
    model = cnn.build_image_cnn(3, image_size=64)
    assert model.input_shape == (None, 64, 64, 3) and model.output_shape == (None, 3)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 64, 64] and convs[0].strides == (2, 2)
    names = [type(layer).__name__ for layer in model.layers]
    assert {"RandomShear", "RandomZoom", "RandomFlip", "Rescaling", "AveragePooling2D"} <= set(names)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    plain = cnn.build_image_cnn(3, augment=False)
    assert "RandomFlip" not in {type(layer).__name__ for layer in plain.layers}
    rng = np.random.default_rng(1)
    y = np.array([0, 1, 2, 0, 1, 2])
    x = np.zeros((6, 64, 64, 3), np.float32)  # class c: a bright band in third c of the image
    for i, c in enumerate(y):
        x[i, 21 * c : 21 * c + 21] = 255
    x = np.clip(x + rng.normal(0, 20, x.shape), 0, 255).astype(np.float32)
    losses = _train_losses(plain, x, y, 40)
    assert np.mean(losses[-3:]) < 0.5 * losses[0]


def test_waveform_cnn_shapes_and_learning():
    model = cnn.build_waveform_cnn(4000, 2, filters=(8, 16), first_kernel=32)
    assert model.input_shape == (None, 4000, 1) and model.output_shape == (None, 2)
    assert sum(isinstance(layer, keras.layers.Conv1D) for layer in model.layers) == 2
    x = np.stack([sine(220, 4000 / 22050), sine(3000, 4000 / 22050)] * 3)[..., None]
    y = np.array([0, 1] * 3)
    losses = _train_losses(model, x, y, 30)
    assert np.mean(losses[-3:]) < 0.5 * losses[0]


def test_mobilenet_classifier_frozen_then_fine_tuned(monkeypatch):
    base, used, note = cnn.load_mobilenet_base(weights=None, image_size=32, alpha=0.35)
    assert used == "random" and "random" in note
    model, base, used = cnn.build_mobilenet_classifier((16, 20, 1), 3, base=base, image_size=32)
    assert used == "given" and model.output_shape == (None, 3)
    assert model.get_layer("to_rgb").output.shape[1:] == (32, 32, 3)
    assert not base.trainable
    trainable = {v.path for v in model.trainable_variables}
    assert trainable and all("genre" in p for p in trainable)  # only the new head trains
    x = np.random.default_rng(2).standard_normal((6, 16, 20, 1)).astype(np.float32)
    before = [w.copy() for w in base.get_weights()]
    model.train_on_batch(x, np.array([0, 1, 2] * 2))
    assert all(np.array_equal(a, b) for a, b in zip(before, base.get_weights()))  # frozen means frozen
    cnn.unfreeze_top_layers(model, base, n_layers=10)
    top = base.layers[-10:]
    assert all(layer.trainable != isinstance(layer, keras.layers.BatchNormalization) for layer in top)
    assert not any(layer.trainable for layer in base.layers[:-10] if layer.weights)
    assert len(model.trainable_variables) > len(trainable)
    with pytest.raises(ValueError):
        cnn.unfreeze_top_layers(model, base, n_layers=-1)


def test_transfer_head_learns_on_a_stand_in_base():
    # a random MobileNetV2's features are ~1e-12 (nothing to learn from), so the head's
    # training is checked on a small stand-in base with the same interface
    inp = keras.Input((32, 32, 3))
    out = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(8, 3, activation="relu")(inp))
    stand_in = keras.Model(inp, out)
    model, _, _ = cnn.build_mobilenet_classifier((16, 20, 1), 2, base=stand_in, image_size=32, learning_rate=0.05)
    y = np.array([0, 1] * 4)
    x = (np.where(y[:, None, None, None] == 1, 2.0, -2.0) + np.zeros((8, 16, 20, 1))).astype(np.float32)
    losses = _train_losses(model, x, y, 40)
    assert np.mean(losses[-3:]) < 0.5 * losses[0]


def test_mobilenet_falls_back_to_random_weights_offline(monkeypatch):
    real = keras.applications.MobileNetV2

    def fake(*args, weights=None, **kwargs):
        if weights == "imagenet":
            raise Exception("URL fetch failure (test)")
        return real(*args, weights=weights, **kwargs)

    monkeypatch.setattr(keras.applications, "MobileNetV2", fake)
    base, used, note = cnn.load_mobilenet_base(weights="imagenet", image_size=32, alpha=0.35)
    assert used == "random" and "not available" in note
    assert base.output_shape == (None, 1280)
    with pytest.raises(ValueError):
        cnn.load_mobilenet_base(weights="places365")


def test_fit_with_early_stopping_restores_and_stops():
    from helpers.tfdata import array_dataset

    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.integers(0, 2, 16)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
    hist = cnn.fit_with_early_stopping(model, array_dataset(x, y, batch_size=8), (x, y), epochs=40, patience=2)
    # a learning rate of 0 never improves val_loss: best at epoch 1, then 2 epochs of patience
    assert len(hist.history["loss"]) == 3


def test_specgram_png_and_rgb():
    png = cnn.specgram_png(sine(440, 1.0), 22050, pixels=100)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    rgb = cnn.png_to_rgb(png, size=64)
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    assert rgb.std() > 0  # not a blank image
    with pytest.raises(ValueError, match="mono"):
        cnn.specgram_png(np.zeros(10), 22050)


def test_saved_cnn_predicts_the_same_after_loading(tmp_path):
    modelio = pytest.importorskip("helpers.modelio")
    model = cnn.build_spectrogram_cnn((8, 10, 1), 3, filters=(4,))
    meta = {"kind": "cnn", "genres": ["a", "b", "c"], "sample_rate": 22050, "segment_seconds": 3.0,
            "feature_spec": {"type": "logmel", "n_mels": 8}, "norm_mean": -30.0, "norm_std": 12.0, "input_ndim": 4}
    path = modelio.save_model(model, tmp_path / "m.keras", meta)
    loaded, got = modelio.load_model(path)
    x = np.random.default_rng(4).standard_normal((2, 8, 10, 1)).astype(np.float32)
    assert np.allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert got["input_ndim"] == 4 and got["norm_mean"] == -30.0
