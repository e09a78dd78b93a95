"""Tests of machinery.modelio: one .keras file carries the model and its metadata."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json
import zipfile

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from helpers.config import seed_everything  # noqa: E402
from helpers.errors import CourseError  # noqa: E402
from machinery.modelio import _FORMAT, _METADATA_ENTRY, load_model, read_metadata, save_model  # noqa: E402

from .conftest import dead_pid, rewrite_metadata  # noqa: E402
from helpers.models import MFCC_SPEC, build_lstm, check_spec  # noqa: E402


def predict_proba(model, x):
    return model.predict(x, verbose=0)


def _metadata():
    return {
        "kind": "lstm",
        "genres": ["blues", "rock", "jazz"],
        "sample_rate": 22050,
        "segment_seconds": 3.0,
        "feature_spec": check_spec(MFCC_SPEC),
        "test_metrics": {"segment_accuracy": np.float64(0.5)},
        "best_epoch": np.int64(4),
    }


@pytest.fixture(scope="module")
def tiny():
    import tensorflow  # noqa: F401

    seed_everything(0)
    model = build_lstm((130, 13), 3)  # the input _metadata() describes
    x = np.random.default_rng(0).standard_normal((6, 130, 13)).astype(np.float32)
    model.fit(x, np.array([0, 1, 2, 0, 1, 2]), epochs=1, verbose=0)  # weights differ from a fresh init
    return model, x


def test_round_trip_gives_identical_predictions_and_metadata(tiny, tmp_path):
    model, x = tiny
    path = save_model(model, tmp_path / "sub" / "m.keras", _metadata())
    assert path.is_file()
    back, meta = load_model(path)
    np.testing.assert_array_equal(predict_proba(back, x), predict_proba(model, x))
    assert meta["genres"] == ["blues", "rock", "jazz"] and meta["kind"] == "lstm"
    assert meta["feature_spec"] == check_spec(MFCC_SPEC)
    assert meta["test_metrics"] == {"segment_accuracy": 0.5} and meta["best_epoch"] == 4
    assert meta["keras_version"] == keras.__version__ and meta["format"] == _FORMAT
    assert read_metadata(path) == meta
    # still a normal Keras file: keras.models.load_model ignores the extra entry
    plain = keras.models.load_model(path)
    np.testing.assert_array_equal(predict_proba(plain, x), predict_proba(model, x))
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read(_METADATA_ENTRY))["sample_rate"] == 22050


def test_save_errors(tiny, tmp_path):
    model, _ = tiny
    with pytest.raises(CourseError, match=r"m\.h5: a model file name must end in \.keras"):
        save_model(model, tmp_path / "m.h5", _metadata())
    meta = _metadata()
    del meta["genres"], meta["sample_rate"]
    with pytest.raises(CourseError, match="lacks genres, sample_rate"):
        save_model(model, tmp_path / "m.keras", meta)
    with pytest.raises(CourseError, match="norm_mean/norm_std; put a keras.layers.Normalization layer"):
        save_model(model, tmp_path / "m.keras", _metadata() | {"norm_mean": [0.0], "norm_std": [1.0]})
    assert not (tmp_path / "m.keras").exists()


def test_load_errors_name_the_file(tiny, tmp_path):
    model, _ = tiny
    with pytest.raises(CourseError, match=r"missing\.keras: model file not found"):
        load_model(tmp_path / "missing.keras")
    with pytest.raises(CourseError, match="is a folder"):
        load_model(tmp_path)
    empty = tmp_path / "empty.keras"
    empty.write_bytes(b"")
    with pytest.raises(CourseError, match=r"empty\.keras: model file is empty"):
        load_model(empty)
    text = tmp_path / "text.keras"
    text.write_text("hello")
    with pytest.raises(CourseError, match=r"text\.keras: not a Keras \.keras model file"):
        load_model(text)
    plain = tmp_path / "plain.keras"
    model.save(plain)  # a Keras model, but without course metadata
    with pytest.raises(CourseError, match=r"plain\.keras: a Keras model without course_metadata\.json"):
        load_model(plain)
    other = tmp_path / "other.keras"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("a.txt", "x")
    with pytest.raises(CourseError, match="a zip archive without"):
        load_model(other)
    partial = tmp_path / "partial.keras"
    with zipfile.ZipFile(partial, "w") as zf:
        zf.writestr(_METADATA_ENTRY, json.dumps({"kind": "lstm"}))
    with pytest.raises(CourseError, match="lacks genres"):
        load_model(partial)
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr(_METADATA_ENTRY, json.dumps(_metadata() | {"format": _FORMAT, "test_metrics": None, "best_epoch": 1}))
    with pytest.raises(CourseError, match=r"broken\.keras: Keras cannot load this model"):
        load_model(broken)


def test_a_save_killed_midway_leaves_nothing_after_the_next_save(tiny, tmp_path):
    """kill -9 during a save leaves .m.keras.PID.partial.keras; the next save of m.keras removes it (issue 33)."""
    model, _ = tiny
    (tmp_path / f".m.keras.{dead_pid()}.partial.keras").write_bytes(b"PK half a model")
    save_model(model, tmp_path / "m.keras", _metadata())
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]


def test_a_model_file_of_the_older_format_is_refused(tiny, tmp_path):
    """Format 1 kept a mean/std in the metadata for predict to apply; format 2 normalises inside the model."""
    model, _ = tiny
    path = save_model(model, tmp_path / "m.keras", _metadata())
    with zipfile.ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    old = json.loads(entries[_METADATA_ENTRY]) | {"format": "waveforms-to-genres model 1", "norm_mean": [0.0] * 13}
    entries[_METADATA_ENTRY] = json.dumps(old).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    with pytest.raises(CourseError, match=r"m\.keras: written by an older version of the course .*; train it again"):
        load_model(path)


@pytest.mark.parametrize("changes, problem", [
    ({"genres": "bluesrock"}, "genres must be a list of two or more different names"),     # its letters became genres
    ({"genres": ["blues", "blues", "rock"]}, "genres must be a list of two or more different names"),
    ({"sample_rate": 0}, "sample_rate must be a whole number of Hz from 1,000 to 384,000"),  # divided by zero
    ({"sample_rate": 22050.5}, "sample_rate must be a whole number"),
    ({"segment_seconds": 1e12}, "segment_seconds must be a number from 0.1 to 600"),       # overflowed
    ({"segment_seconds": "3"}, "segment_seconds must be a number"),
])
def test_metadata_values_out_of_range_are_refused_in_one_line(tiny, tmp_path, changes, problem):
    """Issue 33: these ended in a traceback (exit 1) or, for a string of genres, were accepted."""
    model, _ = tiny
    path = save_model(model, tmp_path / "m.keras", _metadata())
    rewrite_metadata(path, **changes)
    with pytest.raises(CourseError) as caught:
        read_metadata(path)
    assert str(caught.value).startswith(f"{path}: {_METADATA_ENTRY}: {problem}")


def test_metadata_that_inflates_beyond_the_limit_is_refused_unread(tmp_path, monkeypatch):
    """A small archive whose metadata member inflates far (1.6 GB took 44 s and 3.7 GB before, issue 33)."""
    import machinery.modelio as modelio

    monkeypatch.setattr(modelio, "MAX_METADATA_BYTES", 1000)  # the same code path as 64 MB, in a small test
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_METADATA_ENTRY, json.dumps(_metadata() | {"format": _FORMAT, "padding": " " * 100_000,
                                                              "test_metrics": None, "best_epoch": 1}))
    assert path.stat().st_size < 2000  # it compresses to almost nothing
    with pytest.raises(CourseError, match=rf"bomb\.keras: {_METADATA_ENTRY} is larger than 0 MB"):
        read_metadata(path)


def test_copy_checkpoint_puts_each_scope_into_its_layer_and_reshapes_only_where_told(tmp_path):
    from helpers.config import import_tensorflow
    from machinery.modelio import copy_checkpoint

    tf = import_tensorflow()
    rng = np.random.default_rng(0)
    inputs = keras.Input(shape=(5, 2))
    x = keras.layers.Conv1D(4, 3, name="conv")(inputs)  # kernel (3, 2, 4); saved as a 2-D (3, 2, 1, 4)
    model = keras.Model(inputs, keras.layers.Dense(3, name="out")(keras.layers.BatchNormalization(name="bn")(x)))
    saved = {"c/kernel": rng.standard_normal((3, 2, 1, 4)), "c/bias": rng.standard_normal(4),
             **{f"b/{n}": rng.uniform(0.5, 2, 4) for n in ("gamma", "beta", "moving_mean", "moving_variance")},
             "d/kernel": rng.standard_normal((4, 3)), "d/bias": rng.standard_normal(3)}
    prefix = str(tmp_path / "model")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=list(saved), shape_and_slices=[""] * len(saved),
                      tensors=[tf.constant(v, tf.float32) for v in saved.values()])
    scopes = {"conv": "c", "bn": "b", "out": "d"}
    assert copy_checkpoint(prefix, model, scopes, reshaped=("conv",)) is model
    np.testing.assert_allclose(model.get_layer("conv").get_weights()[0], saved["c/kernel"].reshape(3, 2, 4), rtol=1e-6)
    np.testing.assert_allclose(model.get_layer("bn").get_weights()[3], saved["b/moving_variance"], rtol=1e-6)
    np.testing.assert_allclose(model.get_layer("out").get_weights()[1], saved["d/bias"], rtol=1e-6)
    with pytest.raises(ValueError):  # a kernel of another shape is refused unless the layer is named in `reshaped`
        copy_checkpoint(prefix, model, scopes)
