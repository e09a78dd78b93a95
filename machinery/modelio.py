"""One ``.keras`` file per model: the network (its normalisation layer included) and what prediction needs.

:func:`save_model` writes the zip archive with ``model.save`` and adds ``course_metadata.json`` (Keras ignores
it). The schema, for every model kind: ``kind`` (``"lstm"``, ``"cnn"``, ``"transfer"``), ``genres`` (class names in label
order), ``sample_rate`` (Hz), ``segment_seconds``, ``feature_spec`` (:func:`helpers.models.check_spec`); the
command line adds ``split``, ``seed``, ``epochs_run``, ``best_epoch``, ``test_metrics`` (transfer models also
``augmentation`` and ``unsure``: :func:`machinery.train.unsure_statistics`, read by :func:`machinery.predict.is_unsure`). There is no mean/std:
the model's first layer (``keras.layers.Normalization``) normalises its input.

The pretrained musicnn tagger's weights are model files too: :func:`checkpoint` extracts them from the musicnn
wheel (verified against its record), :func:`load_tagger` puts them into :func:`helpers.pretrained.build_tagger`.
"""
from __future__ import annotations

import base64
import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pooch

from helpers.config import import_tensorflow
from helpers.datasets import REGISTRY, data_file
from helpers.errors import CourseError, not_a_command, one_line
from helpers.models import CNN_SPEC, model_input, segment_features  # noqa: F401 - CNN_SPEC: the docstring example
from helpers.pretrained import MSD_TAGS, build_tagger, musicnn_input  # noqa: F401 - the docstring example
from .store import atomic_path, cache_dir, write_atomic

__all__ = ["save_model", "read_metadata", "load_model", "prepare_features", "checkpoint", "copy_checkpoint",
           "load_tagger"]

_METADATA_ENTRY = "course_metadata.json"
_FORMAT = "waveforms-to-genres model 2"  # 2: normalisation inside the model (1 kept a mean/std in the metadata)
_REQUIRED_KEYS = ("kind", "genres", "sample_rate", "segment_seconds", "feature_spec")
MAX_METADATA_BYTES = 64 * 2**20  # a transfer model on all of GTZAN: about 30 MB (unsure statistics of 1,350 recordings)


def save_model(model: Any, path: str | os.PathLike, metadata: dict[str, Any]) -> Path:
    """Save a Keras model and its metadata (see the module docstring) as one ``.keras`` file.

    Written under a temporary name in the same folder, then renamed: a failed or interrupted save (full
    disk, Ctrl-C) never leaves a half-written file, and a previous model at ``path`` stays as it was.
    Raises :class:`CourseError` if the name does not end in ``.keras``, a required key is missing, the
    metadata has ``norm_mean``/``norm_std`` (normalise inside the model) or names another number of genres
    than the network has outputs, or the file cannot be written.

    Examples
    --------
    >>> from helpers.models import MFCC_SPEC, build_lstm
    >>> meta = dict(kind="lstm", genres=["a", "b"], sample_rate=22050, segment_seconds=3.0, feature_spec=MFCC_SPEC)
    >>> save_model(build_lstm((130, 13), 2), "build/doctest.keras", meta).name
    'doctest.keras'
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise CourseError(f"{path}: a model file name must end in .keras")
    if missing := [k for k in _REQUIRED_KEYS if k not in metadata]:
        raise CourseError(f"{path}: model metadata lacks {', '.join(missing)}")
    if {"norm_mean", "norm_std"} & set(metadata):
        raise CourseError(f"{path}: metadata has norm_mean/norm_std; put a keras.layers.Normalization layer in the model instead")
    if (units := getattr(model, "output_shape", (None,))[-1]) is not None and units != len(metadata["genres"]):
        raise CourseError(f"{path}: the metadata names {len(metadata['genres'])} genres for a network with {units} outputs")
    import keras

    # numpy arrays and scalars become plain JSON through .tolist()/.item(); NaN is refused
    text = json.dumps({"format": _FORMAT, "keras_version": keras.__version__, **metadata}, indent=1, allow_nan=False,
                      default=lambda v: v.tolist() if isinstance(v, (np.ndarray, np.generic)) else str(v))
    try:  # Keras saves only to a name ending in .keras; Ctrl-C or an error removes the partial file
        with atomic_path(path, suffix=".keras") as partial:
            model.save(partial)
            with zipfile.ZipFile(partial, "a", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(_METADATA_ENTRY, text)
            with open(partial, "rb") as f:
                os.fsync(f.fileno())
    except OSError as exc:  # full disk, read-only folder
        before = "the previous file is unchanged" if path.exists() else "nothing was written"
        raise CourseError(f"{path}: cannot write the model ({exc.strerror or exc}); {before}") from exc
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Read only the course metadata of a model file (fast: no TensorFlow); raise :class:`CourseError` if
    the file is missing, empty, a folder, not a ``.keras`` archive, not a course model, or of an older format.

    Examples
    --------
    >>> read_metadata("build/doctest.keras")["genres"]  # doctest: +SKIP
    ['a', 'b']
    """
    path = Path(path)
    if problem := ("model file not found" if not path.exists() else "is a folder, not a .keras model file"
                   if path.is_dir() else "model file is empty (0 bytes)" if path.stat().st_size == 0
                   else "not a Keras .keras model file (not a zip archive)" if not zipfile.is_zipfile(path) else None):
        raise CourseError(f"{path}: {problem}")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if _METADATA_ENTRY not in names:
                what = "a Keras model" if "config.json" in names else "a zip archive"
                raise CourseError(f"{path}: {what} without {_METADATA_ENTRY}, so not a course model; "
                                  "save models with machinery.modelio.save_model")
            with zf.open(_METADATA_ENTRY) as entry:  # read at most the limit: a small archive can inflate to GBs
                raw = entry.read(MAX_METADATA_BYTES + 1)
            if len(raw) > MAX_METADATA_BYTES:
                raise CourseError(f"{path}: {_METADATA_ENTRY} is larger than {MAX_METADATA_BYTES // 2**20} MB, "
                                  "far more than a course model's; not a course model")
            meta = json.loads(raw.decode("utf-8"))
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, OSError) as exc:
        raise CourseError(f"{path}: unreadable model file ({exc})") from exc
    if not isinstance(meta, dict):
        raise CourseError(f"{path}: {_METADATA_ENTRY} is not a JSON object")
    if missing := [k for k in _REQUIRED_KEYS if k not in meta]:
        raise CourseError(f"{path}: {_METADATA_ENTRY} lacks {', '.join(missing)}")
    if meta.get("format") != _FORMAT:
        raise CourseError(f"{path}: written by an older version of the course ({meta.get('format')}); train it again")
    genres, rate, seconds = meta["genres"], meta["sample_rate"], meta["segment_seconds"]
    names_ok = isinstance(genres, list) and all(isinstance(g, str) and g for g in genres)
    if problem := ("genres must be a list of two or more different names" if not names_ok or len(genres) < 2
                   or len(set(genres)) < len(genres)
                   else "sample_rate must be a whole number of Hz from 1,000 to 384,000"
                   if type(rate) is not int or not 1000 <= rate <= 384_000
                   else "segment_seconds must be a number from 0.1 to 600"
                   if type(seconds) not in (int, float) or not 0.1 <= seconds <= 600 else None):
        raise CourseError(f"{path}: {_METADATA_ENTRY}: {problem}")
    return meta


def load_model(path: str | os.PathLike, *, compile: bool = False) -> tuple[Any, dict[str, Any]]:
    """Load a model written by :func:`save_model`: ``(model, metadata)``. Raises :class:`CourseError` as
    :func:`read_metadata`, and if Keras cannot rebuild the model, the metadata names another number of
    genres than the network has outputs or describes inputs of another shape, or a weight is not finite.

    Examples
    --------
    >>> model, meta = load_model("build/doctest.keras")  # doctest: +SKIP
    """
    meta = read_metadata(path)
    import keras

    try:
        model = keras.models.load_model(path, compile=compile)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a bad archive
        raise CourseError(f"{path}: Keras cannot load this model ({one_line(exc)})") from exc
    if (units := getattr(model, "output_shape", (None,))[-1]) is not None and units != len(meta["genres"]):
        raise CourseError(f"{path}: its metadata names {len(meta['genres'])} genres but the network has {units} outputs")
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        raise CourseError(f"{path}: the model's weights are not all finite (NaN or infinity); train it again")
    try:  # the input the metadata describes (feature spec, sample rate, segment length) must be the network's
        n = round(float(meta["segment_seconds"]) * int(meta["sample_rate"]))
        shape = prepare_features(np.zeros((1, n), np.float32), meta).shape[1:]
    except (CourseError, ValueError, TypeError) as exc:
        raise CourseError(f"{path}: {exc}") from exc
    if shape != tuple(model.input_shape[1:]):
        raise CourseError(f"{path}: its metadata's feature spec gives inputs of shape {shape}, but the network "
                          f"takes {tuple(model.input_shape[1:])}")
    return model, meta


def prepare_features(segments: np.ndarray, metadata: dict[str, Any]) -> np.ndarray:
    """Model input for audio segments, as the model was trained: the features of ``metadata["feature_spec"]``
    (:func:`helpers.models.segment_features`), a channel axis for a CNN. The model normalises them itself.

    Examples
    --------
    >>> x = np.zeros((2, 66150), dtype=np.float32)
    >>> prepare_features(x, {"kind": "cnn", "sample_rate": 22050, "feature_spec": CNN_SPEC}).shape
    (2, 64, 130, 1)
    """
    return model_input(segment_features(segments, int(metadata["sample_rate"]), metadata["feature_spec"]), metadata["kind"])


def checkpoint(*, model: str = "MSD_vgg", root: str | os.PathLike | None = None) -> str:
    """Extract a tagger's checkpoint from the musicnn wheel (once), verify it, and return its prefix for
    ``tf.train.load_checkpoint``.

    The files go to ``<data dir>/musicnn/<model>/model.*`` (or the cache when the data directory is
    read-only), each written atomically. They are renamed from the wheel's ``.index`` and ``.data-*``: the
    wheel's ``checkpoint`` file names a folder on the authors' machine, so the folder cannot be opened. Each
    call checks them against the size and sha256 in the verified wheel's ``RECORD``: a damaged or cut-short
    file, or another model's, is extracted again with a warning.

    Examples
    --------
    >>> Path(checkpoint()).name  # doctest: +SKIP
    'model'
    """
    def recorded(path: Path, entry: str) -> bool:  # entry: "sha256=<urlsafe base64 digest>,<size>"
        digest, size = entry.removeprefix("sha256=").rsplit(",", 1)
        return path.is_file() and path.stat().st_size == int(size) and base64.urlsafe_b64encode(
            bytes.fromhex(pooch.file_hash(str(path)))).rstrip(b"=").decode() == digest

    wheel = data_file("musicnn", REGISTRY["musicnn"].files[0].path, root)
    names = {".index": "model.index", ".data-00000-of-00001": "model.data-00000-of-00001"}
    try:
        folders = (wheel.parent / model, cache_dir("musicnn", model))
    except OSError:  # the cache folder is unusable (a file, read-only): the data directory alone
        folders = (wheel.parent / model,)
    try:
        with zipfile.ZipFile(wheel) as z:
            lines = z.read("musicnn-0.1.0.dist-info/RECORD").decode().splitlines()
            record = dict(line.split(",", 1) for line in lines if "," in line)
            if None in (wanted := {new: record.get(f"musicnn/{model}/{old}") for old, new in names.items()}).values():
                raise CourseError(f"{wheel} has no model {model!r}; it has MSD_vgg, MSD_musicnn, MTT_vgg, MTT_musicnn")
            if ready := [f for f in folders if all(recorded(f / n, wanted[n]) for n in names.values())]:
                return str(ready[0] / "model")
            if found := [f for f in folders if any((f / n).exists() for n in names.values())]:
                warnings.warn(f"{found[0]}: the {model} checkpoint differs from the wheel's record; extracting it "
                              "again", stacklevel=2)
            blobs = {new: z.read(f"musicnn/{model}/{old}") for old, new in names.items()}
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise CourseError(f"{wheel}: cannot read the wheel ({exc}); delete it and fetch it again") from None
    for folder in folders:
        try:
            for name, blob in blobs.items():  # each atomic; the check above wants both, so a half is redone
                write_atomic(folder / name, blob)
            return str(folder / "model")
        except OSError:
            continue
    raise CourseError(f"cannot write the {model} checkpoint next to {wheel} or into the cache folder")


def load_tagger(*, root: str | os.PathLike | None = None) -> Any:
    """:func:`build_tagger` with the pretrained MSD_vgg weights from :func:`checkpoint`.

    Checkpoint variables map to layers by name: ``batch_normalization`` -> ``bn_input``,
    ``batch_normalization_<i>`` -> ``bn<i>`` (gamma, beta, moving mean, moving variance), ``<i>CNN`` ->
    ``conv<i>``, ``dense`` -> ``tags``.

    Examples
    --------
    >>> tagger = load_tagger()  # doctest: +SKIP
    >>> MSD_TAGS[int(tagger.predict(musicnn_input(audio)).mean(axis=0).argmax())]  # doctest: +SKIP
    'rock'
    """
    scopes = {"bn_input": "batch_normalization", "tags": "dense", **{f"conv{i}": f"{i}CNN" for i in range(1, 6)},
              **{f"bn{i}": f"batch_normalization_{i}" for i in range(1, 6)}}
    return copy_checkpoint(checkpoint(root=root), build_tagger(), scopes)


def copy_checkpoint(path: str, model: Any, scopes: dict[str, str], *, reshaped: tuple[str, ...] = ()) -> Any:
    """Copy a TensorFlow 1 checkpoint's variables into ``model``'s layers and return ``model``.

    ``scopes`` maps a layer name to its scope in the checkpoint. A layer whose name starts with ``bn``
    (batch normalisation) takes ``<scope>/gamma``, ``beta``, ``moving_mean`` and ``moving_variance``;
    any other ``<scope>/kernel`` and ``bias``. The kernels of the layers named in ``reshaped`` are
    reshaped to the layer's own kernel shape (a 2-D convolution saved for a 1-D one); every other shape
    must match, or Keras refuses it.

    Examples
    --------
    >>> copy_checkpoint(checkpoint(), build_tagger(), {"tags": "dense"}).name  # doctest: +SKIP
    'msd_vgg'
    """
    reader = import_tensorflow().train.load_checkpoint(path)
    for layer, scope in scopes.items():
        target = model.get_layer(layer)
        names = ("gamma", "beta", "moving_mean", "moving_variance") if layer.startswith("bn") else ("kernel", "bias")
        values = [reader.get_tensor(f"{scope}/{name}") for name in names]
        if layer in reshaped:
            values[0] = values[0].reshape(target.get_weights()[0].shape)
        target.set_weights(values)
    return model


if __name__ == "__main__":
    not_a_command(__spec__.name)
