"""musicnn's MSD_musicnn tagger in Keras 3 layers: the transfer model's ears (issue 29).

Notebook 09 ports the simpler MSD_vgg network in its cells (:mod:`helpers.pretrained`). The command line's
``transfer`` model listens through MSD_musicnn instead, the authors' "musically motivated" network (Pons & Serra
2019), trained on the same Million Song Dataset tags from the same input (:func:`helpers.pretrained.musicnn_input`,
187 frames x 96 mel bands at 16 kHz):

- **front end**: wide filters over frequency for timbre (7 frames x 38 and x 67 bands, 204 each) and long filters
  over time for rhythm (128, 64 and 32 frames x 1 band, 51 each), each max-pooled over frequency: 561 values per frame;
- **mid end**: three 1-D convolutions over time (64 filters of 7 frames), the last two with residual connections;
  the front end's and the three layers' outputs side by side: 753 values per frame;
- **back end**: each value's maximum and mean over the patch (1,506, the ``max_pool``/``mean_pool`` features of the
  original package), a 200-unit dense layer and the 50 tags.

Measured on the 70 shared GTZAN clips (``benchmarks/taggers.py``: 5-fold cross-validation by clip, the command line's
augmented copies in training), logistic regression on the 1,506 pooled values is right more often than on MSD_vgg's
640 block averages, clean and degraded. Parity with the original package: ``tests/test_pretrained.py``.
"""
from __future__ import annotations

import os
from typing import Any

from helpers.errors import CourseError, not_a_command
from helpers.pretrained import MSD_TAGS, MUSICNN_SPEC, MUSICNN_SR, PATCH_SECONDS

from .modelio import checkpoint, copy_checkpoint

__all__ = ["load_musicnn", "musicnn_embedding_model"]

_FRAMES = round(PATCH_SECONDS * MUSICNN_SR / MUSICNN_SPEC["hop_length"])  # 187 per patch, as helpers.pretrained

_TIMBRAL = ((38, "timbral38"), (67, "timbral67"))  # filter heights: int(0.4 * 96), int(0.7 * 96) mel bands
_TEMPORAL = ((128, "temporal128"), (64, "temporal64"), (32, "temporal32"))  # filter lengths in frames
#: Keras layer -> checkpoint scope, in the order the original graph creates them
_SCOPES = {"bn_input": "batch_normalization", "timbral38": "conv2d", "bn_timbral38": "batch_normalization_1",
           "timbral67": "conv2d_1", "bn_timbral67": "batch_normalization_2", "temporal128": "conv2d_2",
           "bn_temporal128": "batch_normalization_3", "temporal64": "conv2d_3", "bn_temporal64": "batch_normalization_4",
           "temporal32": "conv2d_4", "bn_temporal32": "batch_normalization_5", "midend1": "conv2d_5",
           "bn_midend1": "batch_normalization_6", "midend2": "conv2d_6", "bn_midend2": "batch_normalization_7",
           "midend3": "conv2d_7", "bn_midend3": "batch_normalization_8", "bn_pooled": "batch_normalization_9",
           "penultimate": "dense", "bn_penultimate": "batch_normalization_10", "tags": "dense_1"}


def _build_musicnn(*, n_tags: int = len(MSD_TAGS)) -> Any:
    """The MSD_musicnn network (module docstring) in Keras 3 layers, untrained.

    Examples
    --------
    >>> tagger = _build_musicnn()
    >>> tagger.count_params(), tagger.get_layer("pooled").output.shape
    (792079, (None, 1506))
    """
    import keras
    from keras import layers

    bands = MUSICNN_SPEC["n_mels"]
    inputs = keras.Input(shape=(_FRAMES, bands), name="log_mel")
    x = layers.BatchNormalization(epsilon=1e-3, name="bn_input")(layers.Reshape((_FRAMES, bands, 1), name="channel")(inputs))
    padded = layers.ZeroPadding2D(((3, 3), (0, 0)), name="pad_time")(x)  # 'same' in time only, as the original
    branches = [(name, padded, 204, (7, height), "valid") for height, name in _TIMBRAL]
    branches += [(name, x, 51, (length, 1), "same") for length, name in _TEMPORAL]
    front = []
    for name, source, filters, size, padding in branches:
        h = layers.Conv2D(filters, size, padding=padding, activation="relu", name=name)(source)
        h = layers.BatchNormalization(epsilon=1e-3, name=f"bn_{name}")(h)
        h = layers.MaxPooling2D((1, h.shape[2]), name=f"maxfreq_{name}")(h)  # the largest over frequency
        front.append(layers.Reshape((_FRAMES, filters), name=f"frames_{name}")(h))
    h = layers.Concatenate(name="front_end")(front)  # (187, 561)
    mid = [h]
    for i in (1, 2, 3):
        out = layers.Conv1D(64, 7, activation="relu", name=f"midend{i}")(layers.ZeroPadding1D(3, name=f"pad{i}")(mid[-1]))
        out = layers.BatchNormalization(epsilon=1e-3, name=f"bn_midend{i}")(out)
        mid.append(out if i == 1 else layers.Add(name=f"residual{i}")([out, mid[-1]]))
    h = layers.Concatenate(name="mid_end")(mid)  # (187, 753)
    pools = [layers.Reshape((753, 1), name=f"{k}_column")(pool(name=k)(h))
             for k, pool in (("max_pool", layers.GlobalMaxPooling1D), ("mean_pool", layers.GlobalAveragePooling1D))]
    h = layers.Flatten(name="pooled")(layers.Concatenate(name="max_mean")(pools))  # max, mean of each value in turn
    h = layers.Dropout(0.5, name="dropout_pooled")(layers.BatchNormalization(epsilon=1e-3, name="bn_pooled")(h))
    h = layers.Dense(200, activation="relu", name="penultimate")(h)
    h = layers.Dropout(0.5, name="dropout_penultimate")(layers.BatchNormalization(epsilon=1e-3, name="bn_penultimate")(h))
    return keras.Model(inputs, layers.Dense(n_tags, activation="sigmoid", name="tags")(h), name="msd_musicnn")


def load_musicnn(*, model: str = "MSD_musicnn", root: str | os.PathLike | None = None) -> Any:
    """:func:`_build_musicnn` with a pretrained checkpoint (:func:`machinery.modelio.checkpoint`): MSD_musicnn's.

    ``model="MTT_musicnn"``: the same network trained on MagnaTagATune's 50 tags instead (its tags are not
    :data:`helpers.pretrained.MSD_TAGS`, and the Keras model keeps the name ``msd_musicnn``);
    ``benchmarks/taggers.py`` compares the two as the transfer model's ears.

    Examples
    --------
    >>> tagger = load_musicnn()  # doctest: +SKIP
    >>> MSD_TAGS[int(tagger.predict(musicnn_input(audio)).mean(axis=0).argmax())]  # doctest: +SKIP
    'metal'
    """
    # the mid-end's (7, width, 1, 64) 2-D kernels over (time, feature) are 1-D ones over time
    if model not in ("MSD_musicnn", "MTT_musicnn"):
        raise CourseError(f"load_musicnn: {model!r} is not a musicnn network; choose MSD_musicnn or MTT_musicnn")
    return copy_checkpoint(checkpoint(model=model, root=root), _build_musicnn(), _SCOPES,
                           reshaped=("midend1", "midend2", "midend3"))


def musicnn_embedding_model(tagger: Any) -> Any:
    """The transfer model's embedding: the tagger's 1,506 pooled values (each mid-end value's maximum and mean over
    the patch), before the back end's normalisation.

    Examples
    --------
    >>> musicnn_embedding_model(_build_musicnn()).output.shape
    (None, 1506)
    """
    import keras

    return keras.Model(tagger.input, tagger.get_layer("pooled").output, name="msd_musicnn_embedding")


if __name__ == "__main__":
    not_a_command(__spec__.name)
