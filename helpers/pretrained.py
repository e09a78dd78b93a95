"""A pretrained music tagger for transfer learning: musicnn's MSD_vgg (Pons & Serra 2019), Keras 3.

The weights are data (``musicnn`` in :data:`helpers.datasets.REGISTRY`: the ``musicnn`` 0.1.0 wheel,
whose TensorFlow-1 checkpoints predict 50 Million Song Dataset tags). :func:`build_tagger` rebuilds
the network in Keras 3 layers; :func:`machinery.modelio.load_tagger` puts the checkpoint's weights
into them. Its input, :func:`musicnn_input`, is ``log10(10000 * mel + 1)`` of 16 kHz audio, 187
frames (3 s) x 96 bands. Notebook 09 writes each step in its own cells; ``python -m machinery.train
transfer`` and :mod:`machinery.predict` reuse the input and the level step, with the larger
MSD_musicnn tagger (:mod:`machinery.musicnn`). The original package is not a dependency: it is
TensorFlow-1 graph code, and its preprocessing overflows (it takes the log in float16).
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MUSICNN_SPEC", "MUSICNN_SR", "PATCH_SECONDS", "MSD_TAGS", "set_level", "musicnn_input",
           "build_tagger", "embedding_model"]

#: The tagger's input features: mel power of 512-sample frames every 256 samples, 96 bands.
MUSICNN_SPEC: dict[str, Any] = {"type": "musicnn", "n_mels": 96, "n_fft": 512, "hop_length": 256}
#: The tagger's training sample rate (Hz) and frames per patch; a patch lasts 187 * 256 / 16000 s.
MUSICNN_SR, _FRAMES = 16000, 187
PATCH_SECONDS = _FRAMES * MUSICNN_SPEC["hop_length"] / MUSICNN_SR
#: The 50 Million Song Dataset tags of the output layer, in order (``musicnn/configuration.py``).
MSD_TAGS = ("rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
            "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
            "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s",
            "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
            "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
            "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal",
            "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy")
#: (pool size, strides) after each of the five convolution blocks, on (time, mel band)
_POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4)))


def set_level(segments: np.ndarray, *, rms_dbfs: float = -20.0) -> np.ndarray:
    """Each row of ``segments`` ``(n, samples)`` scaled to an RMS of ``rms_dbfs`` dBFS, as float32.

    The gain is at most 60 dB: a row quieter than ``rms_dbfs - 60`` dBFS (near silence) stays that
    much below the target, and digital silence stays silence.

    Examples
    --------
    >>> y = set_level(np.array([[0.5, -0.5], [0.01, -0.01], [0.0, 0.0]]))
    >>> np.round(20 * np.log10(np.sqrt(np.mean(y ** 2, axis=1)) + 1e-12), 1).tolist()
    [-20.0, -20.0, -240.0]
    """
    segments = np.atleast_2d(np.asarray(segments, dtype=np.float32))
    target = 10 ** (rms_dbfs / 20)
    rms = np.sqrt(np.mean(np.square(segments, dtype=np.float64), axis=-1, keepdims=True))
    return (segments * (target / np.maximum(rms, target / 1000))).astype(np.float32)


def musicnn_input(segments: np.ndarray, *, sr: int = MUSICNN_SR,
                  spec: dict[str, Any] = MUSICNN_SPEC) -> np.ndarray:
    """The tagger's input for equal-length segments ``(n, samples)``: ``(n, samples // hop,
    n_mels)`` float32.

    ``log10(10000 * S + 1)`` of the mel power ``S`` (musicnn's own compression, not the dB log-mel
    of :func:`helpers.models.segment_features`), taken in float32 (musicnn 0.1.0 casts ``S`` to
    float16 first, where ``10000 * S`` overflows to infinity above 6.55). A segment of
    ``PATCH_SECONDS`` gives the 187 frames of one patch, the frames musicnn cuts from the whole
    clip's spectrogram. A spec with ``rms_dbfs`` (``python -m machinery.train transfer``'s) first
    scales each segment to that level (:func:`set_level`), so that a quieter or louder copy of a
    recording gives the same input.

    Examples
    --------
    >>> musicnn_input(np.zeros((2, round(PATCH_SECONDS * MUSICNN_SR)), dtype=np.float32)).shape
    (2, 187, 96)
    """
    import librosa

    segments = np.atleast_2d(np.asarray(segments, dtype=np.float32))
    segments = (segments if spec.get("rms_dbfs") is None
                else set_level(segments, rms_dbfs=spec["rms_dbfs"]))
    mel = librosa.feature.melspectrogram(y=segments, sr=sr, n_fft=spec["n_fft"],
                                         hop_length=spec["hop_length"], n_mels=spec["n_mels"])
    frames = np.swapaxes(mel, -1, -2)[:, :segments.shape[-1] // spec["hop_length"]]
    return np.log10(10000 * frames.astype(np.float32) + 1)


def build_tagger(*, n_tags: int = len(MSD_TAGS)) -> Any:
    """The MSD_vgg network in Keras 3 layers, untrained (notebook 09 builds it in its cells).

    ``(187, 96)`` log-mel -> channel axis -> ``BatchNormalization`` -> five blocks ``Conv2D(128,
    3x3, same, relu) -> BatchNormalization -> MaxPooling2D`` (dropout 0.25 before blocks 2-5) ->
    ``Flatten`` (the 256-value ``pool5_flat`` embedding) -> ``Dropout(0.5)`` -> ``Dense(n_tags,
    sigmoid)``.

    Examples
    --------
    >>> build_tagger().count_params()
    607030
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=(_FRAMES, MUSICNN_SPEC["n_mels"]), name="log_mel")
    x = layers.Reshape((_FRAMES, MUSICNN_SPEC["n_mels"], 1), name="channel")(inputs)
    x = layers.BatchNormalization(epsilon=1e-3, name="bn_input")(x)
    for i, (size, strides) in enumerate(_POOLS, start=1):
        x = x if i == 1 else layers.Dropout(0.25, name=f"dropout{i}")(x)
        x = layers.Conv2D(128, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.BatchNormalization(epsilon=1e-3, name=f"bn{i}")(x)
        x = layers.MaxPooling2D(size, strides=strides, name=f"pool{i}")(x)
    x = layers.Dropout(0.5, name="dropout_top")(layers.Flatten(name="pool5_flat")(x))
    return keras.Model(inputs, layers.Dense(n_tags, activation="sigmoid", name="tags")(x),
                       name="msd_vgg")


def embedding_model(tagger: Any) -> Any:
    """A model that maps the tagger's input to a 640-value embedding: each of its five blocks'
    outputs (after batch normalisation) averaged over time and frequency, concatenated.

    Early blocks describe timbre and texture, late ones what the tags need; averaging every block's
    activations is the transfer recipe of Choi, Fazekas, Sandler & Cho (ISMIR 2017), and on the
    course's clips it classifies genres better than the last layer alone (notebook 09 shows it).

    Examples
    --------
    >>> embedding_model(build_tagger()).output.shape
    (None, 640)
    """
    import keras
    from keras import layers

    pooled = [layers.GlobalAveragePooling2D(name=f"mean{i}")(tagger.get_layer(f"bn{i}").output)
              for i in range(1, 6)]
    return keras.Model(tagger.input, layers.Concatenate(name="embedding")(pooled),
                       name="msd_vgg_embedding")
