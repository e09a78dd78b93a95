"""Save and load a Keras model together with everything prediction needs, in one file.

A ``.keras`` file is a zip archive (``config.json``, ``metadata.json``,
``model.weights.h5``). :func:`save_model` writes it with ``model.save`` and
then adds one more entry, ``course_metadata.json``: the genre names, sample
rate, segment length, feature spec and input normalisation. Keras ignores the
extra entry, so ``keras.models.load_model`` still reads the file; and
:func:`load_model` returns the model with its metadata, so one file is enough
to classify new audio (see :mod:`helpers.predict`).
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CourseError

__all__ = ["METADATA_ENTRY", "REQUIRED_KEYS", "save_model", "read_metadata", "load_model"]

#: Name of the extra entry in the ``.keras`` zip archive.
METADATA_ENTRY = "course_metadata.json"

#: Metadata keys every course model carries.
REQUIRED_KEYS = ("kind", "genres", "sample_rate", "segment_seconds", "feature_spec")


def _jsonable(value: Any) -> Any:
    """Turn numpy arrays and scalars (also nested in dicts/lists) into plain JSON types."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def _output_units(model: Any) -> int | None:
    """How many classes the network outputs (None when Keras cannot tell)."""
    return (getattr(model, "output_shape", None) or (None,))[-1]


def save_model(model: Any, path: str | os.PathLike, metadata: dict[str, Any]) -> Path:
    """Save a Keras model and its prediction metadata as one ``.keras`` file.

    Parameters
    ----------
    model : keras.Model
        The trained model.
    path : path-like
        Output file; must end in ``.keras``. Parent folders are created.
    metadata : dict
        JSON-serialisable after numpy arrays become lists. Required keys:
        ``kind`` (``"lstm"``, ``"cnn"``, ...), ``genres`` (class names in label
        order), ``sample_rate`` (Hz), ``segment_seconds``, ``feature_spec``
        (see :func:`helpers.sequences.check_spec`). Optional: ``norm_mean`` and
        ``norm_std`` (arrays broadcastable against one batch of features;
        prediction applies ``(x - mean) / std``), ``input_ndim`` (4 adds a
        trailing channel axis to the features), and anything else worth
        keeping (``history``, ``metrics``, ``split``, ``seed``).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    CourseError
        If the name does not end in ``.keras``, a required key is missing, the
        metadata names another number of genres than the network has outputs,
        or the file cannot be written (the previous file, if any, is left as
        it was: the model is written under a temporary name and then renamed).
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise CourseError(f"{path}: a model file name must end in .keras")
    missing = [k for k in REQUIRED_KEYS if k not in metadata]
    if missing:
        raise CourseError(f"{path}: model metadata lacks {', '.join(missing)}")
    units = _output_units(model)
    if units is not None and units != len(metadata["genres"]):
        raise CourseError(f"{path}: the metadata names {len(metadata['genres'])} genres for a network "
                          f"with {units} outputs")
    import keras

    meta = _jsonable(dict(metadata))
    meta.setdefault("keras_version", keras.__version__)
    meta.setdefault("format", "waveforms-to-genres model 1")
    text = json.dumps(meta, indent=1, allow_nan=False)
    # write under a temporary name in the same folder, then rename: an interrupted or failed save
    # (Ctrl-C, full disk) never leaves a half-written file where a good model was
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.keras")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(partial)
        with zipfile.ZipFile(partial, "a", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(METADATA_ENTRY, text)
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        before = "the previous file is unchanged" if path.exists() else "nothing was written"
        raise CourseError(f"{path}: cannot write the model ({exc.strerror or exc}); {before}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Read only the course metadata of a model file (fast: no TensorFlow).

    Raises
    ------
    CourseError
        If the file is missing, empty, not a ``.keras`` archive, or not a
        course model (no readable ``course_metadata.json`` with the required keys).
    """
    path = Path(path)
    if not path.exists():
        raise CourseError(f"{path}: model file not found")
    if path.is_dir():
        raise CourseError(f"{path}: is a folder, not a .keras model file")
    if path.stat().st_size == 0:
        raise CourseError(f"{path}: model file is empty (0 bytes)")
    if not zipfile.is_zipfile(path):
        raise CourseError(f"{path}: not a Keras .keras model file (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if METADATA_ENTRY not in names:
                what = "a Keras model" if "config.json" in names else "a zip archive"
                raise CourseError(
                    f"{path}: {what} without {METADATA_ENTRY}, so not a course model; "
                    "save models with helpers.modelio.save_model"
                )
            meta = json.loads(zf.read(METADATA_ENTRY).decode("utf-8"))
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, OSError) as exc:
        raise CourseError(f"{path}: unreadable model file ({exc})") from exc
    if not isinstance(meta, dict):
        raise CourseError(f"{path}: {METADATA_ENTRY} is not a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise CourseError(f"{path}: {METADATA_ENTRY} lacks {', '.join(missing)}")
    return meta


def load_model(path: str | os.PathLike, *, compile: bool = False) -> tuple[Any, dict[str, Any]]:
    """Load a model written by :func:`save_model`, with its metadata.

    Parameters
    ----------
    path : path-like
        The ``.keras`` file.
    compile : bool
        Restore the optimizer and loss too (only needed to train further).

    Returns
    -------
    model : keras.Model
    metadata : dict
        As saved; ``norm_mean`` / ``norm_std`` stay lists (use ``np.asarray``).

    Raises
    ------
    CourseError
        If the file is missing, not a ``.keras`` archive, not a course model,
        Keras cannot rebuild the model from it, its metadata names another
        number of genres than the network has outputs, or a weight is not finite.
    """
    meta = read_metadata(path)
    import keras

    try:
        model = keras.models.load_model(path, compile=compile)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a bad archive
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CourseError(f"{path}: Keras cannot load this model ({reason})") from exc
    units = _output_units(model)
    if units is not None and units != len(meta["genres"]):
        raise CourseError(f"{path}: its metadata names {len(meta['genres'])} genres but the network has {units} outputs")
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        raise CourseError(f"{path}: the model's weights are not all finite (NaN or infinity); train it again")
    return model, meta
