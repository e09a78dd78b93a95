"""Notebook 11's app: its callback ``show_recording(path)`` is a plain function, called here directly.

The notebook's cells tagged ``app`` (the upload handler and the functions the app and section 2 share) run in a
namespace with a tiny
Keras model in place of the trained transfer model: same input (the tagger's log-mel patches), a ``normalise``
layer and a softmax head, and unsure statistics in its metadata, so ``machinery.predict.predict_file`` takes the
same path as with the real model, including the unsure decision.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
import soundfile as sf

from helpers.pretrained import _FRAMES, MSD_TAGS, MUSICNN_SPEC, PATCH_SECONDS, MUSICNN_SR
from helpers.models import TRANSFER_SPEC

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "11_your_own_music.ipynb"
GENRES = ["calm", "busy"]


class Tagger:
    """Stands in for the musicnn tagger: 50 tag probabilities per patch, the fifth tag the strongest."""

    def predict(self, x, verbose=0):
        out = np.full((len(x), len(MSD_TAGS)), 0.01)
        out[:, 4] = 0.9
        return out


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    import keras
    import matplotlib

    matplotlib.use("Agg")
    from IPython.display import Audio
    import matplotlib.pyplot as plt

    from helpers.audio import load_audio, segment
    from helpers.pretrained import musicnn_input
    from machinery.predict import predict_file

    inputs = keras.Input(shape=(_FRAMES, MUSICNN_SPEC["n_mels"]))
    pooled = keras.layers.GlobalAveragePooling1D()(inputs)
    normalised = keras.layers.Normalization(axis=-1, mean=np.zeros(96), variance=np.ones(96), name="normalise")(pooled)
    head = keras.layers.Dense(2, activation="softmax", name="genre")
    model = keras.Model(inputs, head(normalised))
    head.set_weights([np.stack([-np.ones(96), np.ones(96)], axis=1).astype("float32") / 96, np.zeros(2, "float32")])
    stats = {"center": [0.0] * 96, "scale": 1.0, "components": [[0.0] * 96], "threshold": 1e6, "min_top_probability": 0.2}
    meta = {"kind": "transfer", "genres": GENRES, "sample_rate": MUSICNN_SR, "segment_seconds": PATCH_SECONDS,
            "feature_spec": TRANSFER_SPEC, "unsure": stats}
    import os

    import ipywidgets as widgets

    from machinery.store import write_atomic

    shown, uploads = [], tmp_path_factory.mktemp("uploads")
    namespace = {"np": np, "Path": Path, "plt": plt, "Audio": Audio, "display": shown.append, "predict_file": predict_file,
                 "os": os, "widgets": widgets, "write_atomic": write_atomic, "build_dir": lambda *parts: uploads,
                 "load_audio": load_audio, "segment": segment, "musicnn_input": musicnn_input, "MSD_TAGS": MSD_TAGS,
                 "MUSICNN_SR": MUSICNN_SR, "PATCH_SECONDS": PATCH_SECONDS, "GENRES": GENRES, "model": model,
                 "meta": meta, "tagger": Tagger()}
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if "app" in c.metadata.get("tags", [])]
    assert len(cells) == 3, "the notebook's cells tagged 'app' define the app's functions"
    for source in cells:
        exec(compile(source, str(NOTEBOOK), "exec"), namespace)  # noqa: S102 - the course's own notebook
    namespace["shown"] = shown
    shown.clear()  # the upload button, displayed when its cell ran
    return namespace


def _tone(folder: Path, seconds: float, name: str = "tone.wav") -> Path:
    t = np.arange(int(seconds * 22050)) / 22050
    path = folder / name
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * t), 22050)
    return path


def test_show_recording_gives_the_verdict_the_timeline_and_the_tags(app, tmp_path, capsys):
    path = _tone(tmp_path, 10.0)
    result = app["show_recording"](path)
    assert result["error"] is None and result["genre"] in GENRES and result["segments"] == 3
    assert result["unsure"] is False, result["unsure_reason"]
    assert result["timeline"][0]["start"] == 0 and result["timeline"][-1]["end"] == pytest.approx(10.0, abs=1e-3)
    assert result["tags"][0][0] == MSD_TAGS[4] and len(result["tags"]) == 5
    printed = capsys.readouterr().out
    assert printed.startswith(f"tone.wav: {result['genre']} (") and f"top tags: {MSD_TAGS[4]} 0.90" in printed
    assert len(app["shown"]) == 1 and "audio" in app["shown"][0]._repr_html_()


def test_show_recording_says_unsure_when_the_recording_is_far_from_the_training_music(app, tmp_path, capsys):
    far = dict(app["meta"]["unsure"], threshold=0.0)
    app["meta"]["unsure"] = far
    try:
        result = app["show_recording"](_tone(tmp_path, 4.0))
    finally:
        app["meta"]["unsure"] = dict(far, threshold=1e6)
    assert result["unsure"] is True and "not like the music it was trained on" in result["unsure_reason"]
    assert " - UNSURE: not like the music" in capsys.readouterr().out


@pytest.mark.parametrize("make, reason", [
    (lambda folder: folder / "missing.wav", "file not found"),
    (lambda folder: _tone(folder, 1.0, "short.wav"), "short"),
])
def test_show_recording_prints_one_line_for_a_file_it_cannot_classify(app, tmp_path, capsys, make, reason):
    path = make(tmp_path)
    result = app["show_recording"](path)
    assert result["genre"] is None and reason in result["error"] and str(path) in result["error"]
    assert capsys.readouterr().out == result["error"] + "\n"


@pytest.mark.parametrize("value", [
    ({"name": "song.wav", "type": "audio/wav", "size": 4, "content": memoryview(b"RIFF")},),  # ipywidgets 8
    {"song.wav": {"metadata": {"name": "song.wav", "size": 4}, "content": b"RIFF"}},  # ipywidgets 7 (older Colab)
])
def test_an_upload_is_saved_and_becomes_the_recording(app, capsys, value):
    app.pop("RECORDING", None)
    app["save_upload"]({"new": value})
    saved = Path(app["RECORDING"])
    assert saved.name == "song.wav" and saved.read_bytes() == b"RIFF"
    assert capsys.readouterr().out.startswith("saved build/uploads/song.wav: run the cells below again")
