"""Convolutional networks for genre classification (notebooks 08 and 09).

Model builders (all return compiled Keras 3 models):

- :func:`build_spectrogram_cnn`: a small 2-D CNN on log-mel spectrogram arrays.
- :func:`build_image_cnn`: the classic "spectrogram screenshot" recipe on 64x64 RGB PNGs.
- :func:`build_mobilenet_classifier`: MobileNetV2 (ImageNet weights when
  available) with a new head, on mel spectrograms resized to 224x224x3.
- :func:`build_waveform_cnn`: a 1-D CNN on raw waveform windows.

Plus :func:`standardize_stats`, :func:`fit_with_early_stopping`, the PNG
rendering of the image recipe (:func:`specgram_png`, :func:`png_to_rgb`) and
the ``python -m helpers.train cnn`` entry point :func:`train_cnn_cli`.

TensorFlow/Keras are imported inside the functions, so importing this module is cheap.
"""
from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = [
    "CNN_SPEC",
    "standardize_stats",
    "build_spectrogram_cnn",
    "build_image_cnn",
    "load_mobilenet_base",
    "build_mobilenet_classifier",
    "unfreeze_top_layers",
    "build_waveform_cnn",
    "fit_with_early_stopping",
    "specgram_png",
    "png_to_rgb",
    "train_cnn_cli",
    "plot_training_curves",
]

logger = logging.getLogger(__name__)

#: The log-mel feature spec the course's spectrogram CNN uses (3-s segments -> 64 x 130 frames).
CNN_SPEC: dict = {"type": "logmel", "n_mels": 64, "n_fft": 2048, "hop_length": 512}


def standardize_stats(X_train: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of the *training* features (one number each).

    Compute them on the training split only and apply them to every split,
    ``(X - mean) / std``; statistics that saw the test set leak it.

    Examples
    --------
    >>> standardize_stats(np.array([[1.0, 3.0]]))
    (2.0, 1.0)
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    if X_train.size == 0:
        raise ValueError("cannot compute statistics of an empty training set")
    std = float(X_train.std())
    return float(X_train.mean()), std if std > 0 else 1.0


def _compile(model, optimizer, learning_rate: float):
    import keras

    if optimizer == "adam":
        opt = keras.optimizers.Adam(learning_rate=learning_rate)
    elif optimizer == "sgd":
        opt = keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def build_spectrogram_cnn(
    input_shape: Sequence[int],
    n_classes: int,
    *,
    filters: Sequence[int] = (16, 32, 64),
    dropout: float = 0.3,
    learning_rate: float = 1e-3,
    bn_momentum: float = 0.9,
):
    """A small 2-D CNN for (mel bins, frames, 1) spectrogram arrays.

    Each block is Conv2D 3x3 -> BatchNormalization -> ReLU -> MaxPooling 2x2;
    then Dropout, GlobalAveragePooling2D (so the model does not care about
    the exact number of frames' worth of parameters), Dropout and a softmax
    layer. Compiled with Adam and sparse categorical cross-entropy.

    Parameters
    ----------
    input_shape : sequence of int
        ``(n_mels, n_frames, 1)``.
    n_classes : int
        Number of genres.
    filters : sequence of int
        Filters of each convolution block.
    dropout : float
        Dropout rate after the blocks and before the output layer.
    learning_rate : float
        Adam's learning rate.
    bn_momentum : float
        Momentum of the batch-normalisation moving averages. 0.9 (Keras's default is 0.99)
        lets them settle within the few steps per epoch a small data set gives, so the
        validation loss early stopping watches is meaningful from the first epochs.

    Returns
    -------
    keras.Model
    """
    import keras
    from keras import layers

    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (n_mels, n_frames, channels), got {tuple(input_shape)}")
    inputs = keras.Input(shape=tuple(input_shape), name="logmel")
    x = inputs
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"bn{i + 1}")(x)
        x = layers.ReLU(name=f"relu{i + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = layers.Dropout(dropout, name="dropout1")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout2")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="genre")(x)
    return _compile(keras.Model(inputs, outputs, name="spectrogram_cnn"), "adam", learning_rate)


def build_image_cnn(
    n_classes: int,
    *,
    image_size: int = 64,
    augment: bool = True,
    dropout: float = 0.5,
    learning_rate: float = 0.01,
    seed: int = 42,
):
    """The classic "spectrogram screenshot" CNN: 64x64 RGB PNGs, image augmentation, SGD.

    Rescaling(1/255) -> [RandomShear, RandomZoom, RandomFlip("horizontal")]
    -> Conv2D 32 (stride 2) -> AvgPool -> ReLU -> 2 x (Conv2D 64 -> AvgPool
    -> ReLU) -> Dropout -> Dense 64 -> softmax, trained with SGD (momentum 0.9).
    The augmentation layers are active only during training.

    Parameters
    ----------
    n_classes : int
        Number of genres.
    image_size : int
        Height and width of the RGB input images (uint8 values 0-255).
    augment : bool
        Include the image-style augmentation layers.
    dropout : float
        Dropout rate before the dense layer.
    learning_rate : float
        SGD's learning rate.
    seed : int
        Seed of the augmentation layers.

    Returns
    -------
    keras.Model
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=(image_size, image_size, 3), name="png_rgb")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    if augment:
        x = layers.RandomShear(x_factor=0.2, y_factor=0.0, seed=seed, name="shear")(x)
        x = layers.RandomZoom(0.2, seed=seed + 1, name="zoom")(x)
        x = layers.RandomFlip("horizontal", seed=seed + 2, name="flip")(x)
    for i, (f, stride) in enumerate([(32, 2), (64, 1), (64, 1)]):
        x = layers.Conv2D(f, 3, strides=stride, name=f"conv{i + 1}")(x)
        x = layers.AveragePooling2D(2, name=f"avgpool{i + 1}")(x)
        x = layers.ReLU(name=f"relu{i + 1}")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(64, activation="relu", name="dense")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="genre")(x)
    return _compile(keras.Model(inputs, outputs, name="image_cnn"), "sgd", learning_rate)


def load_mobilenet_base(*, weights: str | None = "imagenet", image_size: int = 224, alpha: float = 1.0):
    """MobileNetV2 without its top, with ImageNet weights when they can be had.

    Keras looks for the weights in its cache (``~/.keras/models``) and
    downloads them otherwise; offline and without a cached copy that fails
    within seconds, and this falls back to random initialisation.

    Parameters
    ----------
    weights : {"imagenet", None}
        What to try first.
    image_size : int
        Input height and width (96, 128, 160, 192 or 224 have ImageNet weights).
    alpha : float
        Width multiplier (1.0 is the standard network).

    Returns
    -------
    base : keras.Model
        Input ``(image_size, image_size, 3)`` scaled to [-1, 1]; output the
        global-average-pooled feature vector.
    weights_used : str
        ``"imagenet"`` or ``"random"``.
    note : str
        One sentence saying which weights are used and why.
    """
    import keras

    kwargs = dict(input_shape=(image_size, image_size, 3), include_top=False, alpha=alpha, pooling="avg")
    if weights == "imagenet":
        try:
            base = keras.applications.MobileNetV2(weights="imagenet", **kwargs)
            return base, "imagenet", "MobileNetV2 uses ImageNet weights (found in the Keras cache or downloaded)."
        except Exception as exc:  # noqa: BLE001 - offline: URL fetch failure, cache errors
            logger.info("ImageNet weights unavailable: %s", exc)
            note = (
                "ImageNet weights are not available here (not in the Keras cache and no network), "
                "so MobileNetV2 starts from random weights: this run shows the mechanics of transfer "
                "learning, not its benefit."
            )
    elif weights is None:
        note = "MobileNetV2 starts from random weights (asked for)."
    else:
        raise ValueError(f"weights must be 'imagenet' or None, got {weights!r}")
    return keras.applications.MobileNetV2(weights=None, **kwargs), "random", note


def build_mobilenet_classifier(
    input_shape: Sequence[int],
    n_classes: int,
    *,
    base=None,
    weights: str | None = "imagenet",
    image_size: int = 224,
    alpha: float = 1.0,
    dropout: float = 0.2,
    learning_rate: float = 1e-3,
):
    """MobileNetV2 on mel spectrograms: resize to 224x224x3, frozen base, new head.

    The model takes the same standardised ``(n_mels, n_frames, 1)`` arrays
    as :func:`build_spectrogram_cnn`; inside it, the spectrogram is resized to
    ``image_size`` x ``image_size``, copied into three channels and divided
    by 3 (standardised values lie mostly within +-3; MobileNetV2 expects [-1, 1]).
    The base is frozen (``trainable = False``) and run in inference mode so
    its batch-normalisation statistics stay as learned; only the head
    (Dropout -> Dense softmax) trains. See :func:`unfreeze_top_layers` for fine-tuning.

    Parameters
    ----------
    input_shape : sequence of int
        ``(n_mels, n_frames, 1)``.
    n_classes : int
        Number of genres.
    base : keras.Model, optional
        A base from :func:`load_mobilenet_base`; loaded here when omitted.
    weights, image_size, alpha
        Passed to :func:`load_mobilenet_base`.
    dropout : float
        Dropout before the new output layer.
    learning_rate : float
        Adam's learning rate for the head.

    Returns
    -------
    model : keras.Model
    base : keras.Model
        The (frozen) MobileNetV2 inside ``model``.
    weights_used : str
        ``"imagenet"`` or ``"random"`` (``"given"`` when ``base`` was passed).
    """
    import keras
    from keras import layers

    used = "given"
    if base is None:
        base, used, _ = load_mobilenet_base(weights=weights, image_size=image_size, alpha=alpha)
    base.trainable = False
    inputs = keras.Input(shape=tuple(input_shape), name="logmel")
    x = layers.Resizing(image_size, image_size, name="resize")(inputs)
    if input_shape[-1] == 1:
        x = layers.Concatenate(name="to_rgb")([x, x, x])
    x = layers.Rescaling(1.0 / 3.0, name="to_unit_range")(x)
    x = base(x, training=False)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="genre")(x)
    model = keras.Model(inputs, outputs, name="mobilenet_v2_genres")
    return _compile(model, "adam", learning_rate), base, used


def unfreeze_top_layers(model, base, n_layers: int = 20, *, learning_rate: float = 1e-4):
    """Make the top ``n_layers`` of the base trainable (batch norms stay frozen) and recompile.

    Fine-tuning uses a small learning rate so the pre-trained features are
    adjusted, not destroyed. Recompiling is required for the change to take effect.

    Returns
    -------
    keras.Model
        ``model``, recompiled.
    """
    from keras import layers

    if n_layers < 0:
        raise ValueError(f"n_layers must be >= 0, got {n_layers}")
    base.trainable = True
    cut = len(base.layers) - n_layers
    for i, layer in enumerate(base.layers):
        layer.trainable = i >= cut and not isinstance(layer, layers.BatchNormalization)
    return _compile(model, "adam", learning_rate)


def build_waveform_cnn(
    n_samples: int,
    n_classes: int,
    *,
    filters: Sequence[int] = (16, 32, 64, 128),
    first_kernel: int = 64,
    first_stride: int = 4,
    dense_units: int = 64,
    dropout: float = 0.5,
    learning_rate: float = 1e-3,
):
    """A 1-D CNN on raw waveform windows: Conv1D -> MaxPool blocks, then dense layers with dropout.

    The first convolution has long kernels and a stride (it must learn its own
    filter bank, the job the mel spectrogram does for free); every block
    pools by 4. Flatten -> Dense -> Dropout -> softmax.

    Parameters
    ----------
    n_samples : int
        Samples per window (3 s at 22,050 Hz: 66,150).
    n_classes : int
        Number of genres.
    filters : sequence of int
        Filters of each Conv1D block.
    first_kernel, first_stride : int
        Kernel length and stride of the first convolution.
    dense_units : int
        Width of the dense layer.
    dropout : float
        Dropout before the output layer.
    learning_rate : float
        Adam's learning rate.

    Returns
    -------
    keras.Model
        Input ``(n_samples, 1)``.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=(int(n_samples), 1), name="waveform")
    x = inputs
    for i, f in enumerate(filters):
        kernel, stride = (first_kernel, first_stride) if i == 0 else (8, 1)
        x = layers.Conv1D(f, kernel, strides=stride, activation="relu", name=f"conv{i + 1}")(x)
        x = layers.MaxPooling1D(4, name=f"pool{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="genre")(x)
    return _compile(keras.Model(inputs, outputs, name="waveform_cnn"), "adam", learning_rate)


def fit_with_early_stopping(model, train, validation, *, epochs: int = 30, patience: int = 5, **fit_kwargs):
    """``model.fit`` with early stopping on validation loss, keeping the best weights.

    Parameters
    ----------
    model : keras.Model
        A compiled model.
    train, validation
        ``tf.data`` datasets or ``(x, y)`` tuples of arrays.
    epochs : int
        Upper bound on epochs.
    patience : int
        Epochs without improvement of ``val_loss`` before stopping.
    **fit_kwargs
        Passed to ``fit`` (``verbose`` defaults to 0).

    Returns
    -------
    keras.callbacks.History
    """
    import keras

    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    fit_kwargs.setdefault("verbose", 0)
    callbacks = list(fit_kwargs.pop("callbacks", [])) + [stop]
    if isinstance(train, tuple):  # (x, y) arrays: Keras shuffles them each epoch
        x, y = train
        return model.fit(x, y, validation_data=validation, epochs=epochs, callbacks=callbacks, **fit_kwargs)
    fit_kwargs.setdefault("shuffle", False)  # a tf.data pipeline shuffles itself
    return model.fit(train, validation_data=validation, epochs=epochs, callbacks=callbacks, **fit_kwargs)


def specgram_png(y: np.ndarray, sr: int, *, pixels: int = 128, nfft: int = 1024) -> bytes:
    """Draw ``plt.specgram`` of a signal as a borderless PNG (the "screenshot" input).

    Uses matplotlib's Agg canvas directly (no pyplot state, no window).

    Parameters
    ----------
    y : numpy.ndarray
        Mono signal.
    sr : int
        Sample rate in Hz.
    pixels : int
        Width and height of the image.
    nfft : int
        FFT size of ``specgram``.

    Returns
    -------
    bytes
        PNG file contents (RGBA, ``pixels`` x ``pixels``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or len(y) < nfft:
        raise ValueError(f"need a mono signal of at least nfft={nfft} samples, got shape {y.shape}")
    dpi = 100
    fig = Figure(figsize=(pixels / dpi, pixels / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.specgram(y + 1e-10, NFFT=nfft, Fs=sr, noverlap=nfft // 2, cmap="viridis")
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def png_to_rgb(png: bytes | str | Path, size: int = 64) -> np.ndarray:
    """Decode a PNG (bytes or file) and resize it to ``size`` x ``size`` RGB uint8.

    Returns
    -------
    numpy.ndarray
        Shape ``(size, size, 3)``, dtype uint8.
    """
    from PIL import Image

    source = io.BytesIO(png) if isinstance(png, (bytes, bytearray)) else png
    with Image.open(source) as img:
        return np.asarray(img.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.uint8)


def train_cnn_cli(args) -> int:
    """``python -m helpers.train cnn``: train the spectrogram CNN on every GTZAN clip found.

    Splits by clip (stratified, 70/15/15 train/validation/test), standardises with
    training statistics, trains with early stopping, prints the held-out
    clip-level accuracy and saves the model with its metadata (feature spec,
    normalisation, 4-D input layout) so that ``python -m helpers.predict``
    can use it.

    Parameters
    ----------
    args : argparse.Namespace
        ``out`` (model path), ``data_dir`` (data directory or None),
        ``epochs`` and ``seed``.

    Returns
    -------
    int
        Exit status (0 on success).
    """
    from .config import import_tensorflow, seed_everything
    from .datasets import GTZAN_GENRES, gtzan_clips
    from .modelio import save_model
    from .sequences import build_segment_dataset
    from .splits import clip_level, group_train_val_test_split, require_classes
    from .tfdata import array_dataset

    seed = getattr(args, "seed", None)
    seed = 42 if seed is None else int(seed)
    import_tensorflow()  # before seeding, so that seed_everything also makes TensorFlow's ops deterministic
    seed_everything(seed)
    data_root = getattr(args, "data_dir", None)
    clips = gtzan_clips(Path(data_root) if data_root else None)
    data = build_segment_dataset(clips, CNN_SPEC, sr=22050, segment_seconds=3.0, progress=False)
    X, y, groups = np.asarray(data["X"], np.float32), np.asarray(data["y"]), np.asarray(data["clip_id"])
    genres = [str(g) for g in data.get("genres", GTZAN_GENRES)]
    require_classes(groups, y, names=genres)
    tr, va, te = group_train_val_test_split(groups, labels=y, val_size=0.15, test_size=0.15, seed=seed)
    mean, std = standardize_stats(X[tr])
    Xn = ((X - mean) / std)[..., np.newaxis]
    model = build_spectrogram_cnn(Xn.shape[1:], len(genres))
    epochs = int(getattr(args, "epochs", None) or 30)
    fit_with_early_stopping(
        model,
        array_dataset(Xn[tr], y[tr], batch_size=32, seed=seed),
        array_dataset(Xn[va], y[va], batch_size=64, shuffle=False),
        epochs=epochs,
        patience=5,
    )
    proba = model.predict(Xn[te], verbose=0)
    seg_acc = float((proba.argmax(1) == y[te]).mean())
    y_clip, p_clip = clip_level(proba, y[te], groups[te])
    clip_acc = float((y_clip == p_clip).mean())
    print(
        f"held-out test ({len(set(groups[te]))} clips, {len(te)} segments): "
        f"segment accuracy {seg_acc:.3f}, clip accuracy {clip_acc:.3f}"
    )
    metadata = {
        "kind": "cnn",
        "genres": genres,
        "sample_rate": 22050,
        "segment_seconds": 3.0,
        "feature_spec": data["spec"],
        "norm_mean": mean,
        "norm_std": std,
        "input_ndim": 4,
        "metrics": {"test_segment_accuracy": round(seg_acc, 3), "test_clip_accuracy": round(clip_acc, 3)},
        "split": "stratified by clip, 70/15/15 train/validation/test",
        "seed": seed,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, out, metadata)
    print(f"saved {out}")
    return 0


from .plotting import plot_training_curves  # noqa: E402,F401  (moved, issue 15)
